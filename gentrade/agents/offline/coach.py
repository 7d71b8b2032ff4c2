"""The offline coach: what a finished backtest's figures say, and the one change they point to.

Why rules: the answer must be grounded in the figures, and the same backtest must always get the same
advice. The rules, first match wins:

1. it never traded -> loosen the entry levels (a quarter of the way toward the indicator's middle);
2. a pair the question names -> that pair's row; drop it when it lost while the others made money;
3. it made money -> say so; nothing to change (test a longer range before trusting it), unless most trades ended
   at a stop tighter than 10 %: then widen it by half, as in 5;
4. one pair lost while the others made money -> drop that pair;
5. most trades ended at the stop loss -> a stop tighter than 10 % is widened by half, a wider one gets a
   trend filter (close above the EMA 200) instead;
6. too few trades to judge -> loosen the entry;
7. otherwise -> a trend filter, unless the draft already has one.

The change comes back in words (for the drafting node) and as the revised draft, built from the draft the
backtest ran and checked like any other.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from typing import Any

from gentrade.agents.offline.pairs import bases_named
from gentrade.agents.offline.text import fmt_percent, normalize
from gentrade.agents.offline.wording import join_words
from gentrade.strategies.card import conditions_text, indicator_map
from gentrade.strategies.catalogue import CATALOGUE
from gentrade.strategies.draft import DraftInvalid, StrategyDraft, parse_draft
from gentrade.strategies.trees import conditions, series_name

log = logging.getLogger(__name__)
MIN_TRADES = 10  # fewer trades than this prove little either way
STOP_SHARE = 0.5  # "most trades ended at the stop loss"
WIDE_STOP = 0.10  # a stop at least this wide is not widened further; a trend filter helps instead
STOP_WIDENING = 1.5
LOOSENING = 0.25  # how far an entry level moves toward the middle of its indicator's range
TREND_PERIOD = 200
TREND_IDS = tuple(f"ema{TREND_PERIOD}{suffix}" for suffix in ("", "_trend", "_t2", "_t3", "_t4"))
STOP_EXITS = frozenset({"stop_loss", "trailing_stop_loss", "liquidation"})
LOWER, UPPER = frozenset({"<", "<=", "crosses_below"}), frozenset({">", ">=", "crosses_above"})
EXIT_WORDS = {
    "stop_loss": "at the stop loss",
    "trailing_stop_loss": "at the trailing stop",
    "roi": "at the take-profit (ROI) target",
    "exit_signal": "by the exit signal",
    "force_exit": "still open when the backtest ended",
    "liquidation": "by liquidation",
}
CHANGED = "Changed after the backtest:"  # how each note on a revised draft starts
NO_BACKTEST_ANSWER = (
    "This chat's strategy has no finished backtest yet, so I have no figures to go on. Deploy the draft "
    "(the Deploy button on its card), run a backtest over a date range, and ask me again when it has finished."
)


@dataclass(frozen=True)
class Advice:
    """The coach's answer, and the change it recommends (in words and as a draft), if any."""

    answer: str
    change: str | None = None
    revised: StrategyDraft | None = None
    notes: list[str] = field(default_factory=list)  # why the revised draft differs: the announcement's assumptions


@dataclass(frozen=True)
class _Change:
    words: str
    draft: StrategyDraft
    note: str


def advise(question: str, backtest: dict[str, Any] | None, draft: StrategyDraft | None) -> Advice:
    """The coach's answer to ``question`` about ``backtest`` (the graph's backtest block; None: there is none)."""
    if not backtest or not isinstance(backtest.get("figures"), dict):
        return Advice(NO_BACKTEST_ANSWER)
    figures: dict[str, Any] = backtest["figures"]
    base = _base_draft(backtest, draft)
    overview = _overview(backtest, figures)
    diagnosis, change = _diagnose(normalize(question), figures, base)
    if change is None:
        return Advice(f"{overview}\n\n{diagnosis}")
    follow = "I've drafted that change below: deploy it and backtest the same dates to compare."
    return Advice(f"{overview}\n\n{diagnosis} {follow}", change.words, change.draft, [change.note])


def _base_draft(backtest: dict[str, Any], draft: StrategyDraft | None) -> StrategyDraft | None:
    """The draft to change: the chat's own, else the one the backtest ran (None for a strategy brought as code)."""
    if draft is not None:
        return draft
    try:
        return parse_draft(backtest.get("draft") or {}) if backtest.get("draft") else None
    except DraftInvalid:
        return None


# --- the figures in words --------------------------------------------------------------------------------


def _pct(ratio: float | None) -> str:
    """A ratio as a percentage a trader reads at a glance: 0.448276 -> "44.8%"."""
    return "n/a" if ratio is None else f"{round(abs(ratio) * 100, 1):g}%"


def _signed(ratio: float | None) -> str:
    if ratio is None:
        return "n/a"
    return f"{'+' if ratio > 0 else '-' if ratio < 0 else ''}{_pct(ratio)}"


def _overview(backtest: dict[str, Any], figures: dict[str, Any]) -> str:
    trades = int(figures.get("total_trades") or 0)
    span = figures.get("timerange") or backtest.get("timerange") or {}
    where = (
        f"{backtest.get('strategy', 'The strategy')} on {', '.join(backtest.get('pairs') or [])} "
        f"({figures.get('timeframe') or backtest.get('timeframe')} candles, "
        f"{str(span.get('start', '?'))[:10]} to {str(span.get('end', '?'))[:10]})"
    )
    if not trades:
        return f"The backtest of {where} made no trade at all."
    money = figures.get("profit_total_abs")
    currency = figures.get("stake_currency") or ""
    parts = [
        f"The backtest of {where} made {trades} trade{'s' if trades != 1 else ''}: win rate "
        f"{_pct(figures.get('win_rate') or 0)}, total profit {_signed(figures.get('profit_total'))}"
        + (f" ({money:+.2f} {currency})".rstrip() if isinstance(money, int | float) else "")
        + f", max drawdown {_pct(figures.get('max_drawdown') or 0)}."
    ]
    exits = _exit_counts(figures)
    if exits:
        listed = [f"{count} {EXIT_WORDS.get(reason, f'by the exit signal “{reason}”')}" for reason, count in exits]
        parts.append(f"Of these, {join_words(listed)}.")
    rows = _pair_rows(figures)
    if len(rows) > 1:
        listed = ", ".join(f"{row['pair']} {_signed(row.get('profit_total'))} ({row.get('trades', 0)})" for row in rows)
        parts.append(f"By pair (profit, trades): {listed}.")
    held = _duration(figures.get("avg_trade_duration_seconds"))
    if held:
        won, lost = (
            _duration(figures.get("winner_avg_duration_seconds")),
            _duration(figures.get("loser_avg_duration_seconds")),
        )
        split = f" (winners {won}, losers {lost})" if won and lost else ""
        parts.append(f"A trade lasted {held} on average{split}.")
    return " ".join(parts)


def _duration(seconds: Any) -> str | None:
    """ "2 days 3 h", "5 h 10 min", "45 min": how long a trade was held, for a trader."""
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
        return None
    minutes = int(seconds) // 60
    days, hours, minutes = minutes // 1440, minutes // 60 % 24, minutes % 60
    if days:
        return f"{days} day{'s' if days != 1 else ''} {hours} h"
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def _exit_counts(figures: dict[str, Any]) -> list[tuple[str, int]]:
    rows = figures.get("exit_reasons") or []
    return [(str(row.get("reason")), int(row.get("trades") or 0)) for row in rows if isinstance(row, dict)]


def _pair_rows(figures: dict[str, Any]) -> list[dict[str, Any]]:
    return [row for row in figures.get("pairs") or [] if isinstance(row, dict) and row.get("pair")]


# --- the diagnosis ----------------------------------------------------------------------------------------


def _diagnose(question: str, figures: dict[str, Any], draft: StrategyDraft | None) -> tuple[str, _Change | None]:
    trades = int(figures.get("total_trades") or 0)
    if not trades:
        return _loosen(draft, "It never entered: the entry conditions never held together on these candles.")
    focus, change, settled = _focus_row(question, figures, draft)
    if settled:
        return focus, change
    diagnosis, change = _overall(figures, draft, trades)
    return (f"{focus} {diagnosis}" if focus else diagnosis), change


def _overall(figures: dict[str, Any], draft: StrategyDraft | None, trades: int) -> tuple[str, _Change | None]:
    profit = figures.get("profit_total") or 0
    stopped = sum(count for reason, count in _exit_counts(figures) if reason in STOP_EXITS)
    stopped_out = stopped >= STOP_SHARE * trades > 0
    if profit >= 0:
        made = f"It did not lose: it made {_signed(profit)}."
        if stopped_out and draft is not None and abs(draft.stoploss) < WIDE_STOP:
            return _stopped_out(draft, stopped, trades, lead=f"{made} But")
        note = " With so few trades that proves little." if trades < MIN_TRADES else ""
        return (
            f"{made}{note} Nothing in the figures points to one change; "
            "backtest a longer range, or other pairs, before trusting it.",
            None,
        )
    loser = _lone_loser(figures)
    if loser is not None:
        return _drop_pair(draft, loser)
    if stopped_out:
        return _stopped_out(draft, stopped, trades)
    if trades < MIN_TRADES:
        return _loosen(draft, f"It lost {_signed(profit)} on only {trades} trades: too few to judge.")
    return _trend_filter(draft, f"It lost {_signed(profit)} with a win rate of {_pct(figures['win_rate'])}.")


def _focus_row(question: str, figures: dict[str, Any], draft: StrategyDraft | None) -> tuple[str, _Change | None, bool]:
    """What to say first about the pair the question names ("what went wrong with ETH?"): "" when it names none.
    Settled (True) when that is the whole diagnosis: the pair was not traded, or dropping it is the advice."""
    bases = bases_named(question)
    if not bases:
        return "", None, False
    rows = _pair_rows(figures)
    row = next((r for r in rows if str(r["pair"]).split("/")[0] in bases), None)
    if row is None:
        traded = ", ".join(str(r["pair"]) for r in rows) or "none"
        return f"{bases[0]} was not in this backtest (its pairs: {traded}).", None, True
    text = (
        f"{row['pair']}: {row.get('trades', 0)} trades, win rate {_pct(row.get('win_rate') or 0)}, "
        f"profit {_signed(row.get('profit_total'))} of the starting balance."
    )
    others = sum(r.get("profit_total") or 0 for r in rows if r is not row)
    if (row.get("profit_total") or 0) < 0 and others > 0:
        words, change = _drop_pair(draft, row)
        return f"{text} {words}", change, True
    verdict = "It made money." if (row.get("profit_total") or 0) >= 0 else "The other pairs did no better."
    return f"{text} {verdict}", None, False


def _lone_loser(figures: dict[str, Any]) -> dict[str, Any] | None:
    """The pair that lost while the others, together, made money."""
    rows = _pair_rows(figures)
    if len(rows) < 2:
        return None
    worst = min(rows, key=lambda r: r.get("profit_total") or 0)
    others = sum(r.get("profit_total") or 0 for r in rows if r is not worst)
    return worst if (worst.get("profit_total") or 0) < 0 and others > 0 else None


# --- the changes ------------------------------------------------------------------------------------------


def _revised(draft: StrategyDraft | None, edit: Any) -> StrategyDraft | None:
    """The draft with ``edit`` applied to its JSON, if it is still a valid draft."""
    if draft is None:
        return None
    data = copy.deepcopy(draft.model_dump(mode="json"))
    edit(data)
    try:
        return parse_draft(data)
    except DraftInvalid as exc:
        log.info("the coach's change does not make a valid draft: %s", exc)
        return None


def _drop_pair(draft: StrategyDraft | None, row: dict[str, Any]) -> tuple[str, _Change | None]:
    pair = str(row["pair"])
    why = f"{pair} lost {_signed(row.get('profit_total'))} while the other pairs made money together."
    words = f"drop {pair} and keep the other pairs"
    if draft is None or pair not in draft.pairs or len(draft.pairs) < 2:
        return f"{why} Suggested change: {words}.", None
    revised = _revised(draft, lambda data: data.update(pairs=[p for p in data["pairs"] if p != pair]))
    lost = _signed(row.get("profit_total"))
    note = f"{CHANGED} {pair} is dropped, as it lost {lost} while the others made money"
    return f"{why} Suggested change: {words}.", _Change(words, revised, note) if revised else None


def _stopped_out(draft: StrategyDraft | None, stopped: int, trades: int, lead: str = "") -> tuple[str, _Change | None]:
    why = f"{stopped} of {trades} trades ended at the stop loss: entries were followed by moves against them."
    why = f"{lead} {why}" if lead else why
    stop = abs(draft.stoploss) if draft is not None else None
    if stop is not None and stop < WIDE_STOP:
        wider = round(min(stop * STOP_WIDENING, WIDE_STOP * 2.5), 3)
        words = f"widen the stop loss from {fmt_percent(stop)} to {fmt_percent(wider)}"
        revised = _revised(draft, lambda data: data.update(stoploss=-wider))
        was = f"(was {fmt_percent(stop)})"
        note = f"{CHANGED} the stop loss is {fmt_percent(wider)} {was}, as {stopped} of {trades} hit it"
        detail = f"A {fmt_percent(stop)} stop is tight for these swings."
        return f"{why} {detail} Suggested change: {words}.", _Change(words, revised, note) if revised else None
    return _trend_filter(draft, why)


def _trend_filter(draft: StrategyDraft | None, why: str) -> tuple[str, _Change | None]:
    words = f"only enter long trades while the close is above the EMA {TREND_PERIOD} (the trend is up)"
    if draft is None:
        return f"{why} Suggested change: {words}.", None
    if _has_trend_filter(draft):
        return (
            f"{why} It already trades with a trend filter; try other pairs, a longer range or another timeframe.",
            None,
        )

    def add(data: dict[str, Any]) -> None:
        taken = {indicator["id"] for indicator in data["indicators"]}
        ident = next(
            f"ema{TREND_PERIOD}{suffix}"
            for suffix in ("", "_trend", "_t2", "_t3")
            if f"ema{TREND_PERIOD}{suffix}" not in taken
        )
        data["indicators"].append({"id": ident, "type": "ema", "params": {"period": TREND_PERIOD}})
        data["entry_conditions"] = {"all": [data["entry_conditions"], {"left": "close", "op": ">", "right": ident}]}
        if data.get("entry_short_conditions"):
            short = {"left": "close", "op": "<", "right": ident}
            data["entry_short_conditions"] = {"all": [data["entry_short_conditions"], short]}
        data["startup_candle_count"] = None

    revised = _revised(draft, add)
    note = f"{CHANGED} entries only while the close is above the EMA {TREND_PERIOD} (a trend filter)"
    return f"{why} Suggested change: {words}.", _Change(words, revised, note) if revised else None


def _has_trend_filter(draft: StrategyDraft) -> bool:
    """Whether an entry already compares the price with a moving average of 100 candles or more."""
    slow = {
        i.id for i in draft.indicators if i.type in {"ema", "sma", "wma", "dema", "tema", "hma"} and _period(i) >= 100
    }
    prices = {"close", "open", "high", "low"}
    for condition in conditions(draft.model_dump(mode="json")["entry_conditions"]):
        names = {series_name(condition["left"]), series_name(condition["right"])}
        if names & prices and names & slow:
            return True
    return False


def _period(indicator: Any) -> int:
    return int(getattr(indicator.params, "period", 0) or 0)


def _loosen(draft: StrategyDraft | None, why: str) -> tuple[str, _Change | None]:
    """Move each entry level on a bounded indicator a quarter of the way toward the middle of its range."""
    if draft is None:
        return f"{why} Suggested change: loosen the entry levels so they are reached more often.", None
    data = draft.model_dump(mode="json")
    indicators = indicator_map(data)
    moves: list[str] = []
    for condition in conditions(data["entry_conditions"]):
        before = condition.get("right")
        if _loosened_level(data, condition):
            moves.append(f"{conditions_text(condition, indicators)} (instead of {before:g})")
    if not moves:
        return f"{why} Its entry has no level I can loosen; describe a looser entry and I'll redraft it.", None
    words = "loosen the entry: " + "; ".join(moves)
    revised = _revised(draft, lambda target: target.update(entry_conditions=data["entry_conditions"]))
    note = f"{CHANGED} a looser entry ({'; '.join(moves)}), so it triggers more often"
    return f"{why} Suggested change: {words}.", _Change(words, revised, note) if revised else None


def _loosened_level(data: dict[str, Any], condition: dict[str, Any]) -> bool:
    """Loosen one ``series op number`` condition in place; False when it has no such level."""
    left, right, op = condition["left"], condition["right"], condition["op"]
    if not isinstance(right, int | float) or isinstance(right, bool) or op not in LOWER | UPPER:
        return False
    name = series_name(left)
    if name is None or not isinstance(left, str):
        return False
    ident, _, output = name.partition(".")
    indicator = next((i for i in data["indicators"] if i["id"] == ident), None)
    if indicator is None:
        return False
    low, high = CATALOGUE[indicator["type"]].range_of(output)
    if low is None or high is None:
        return False
    middle = (low + high) / 2
    level = right + (middle - right) * LOOSENING
    level = round(level) if high - low >= 10 else round(level, 2)
    if level == right or (op in LOWER and level <= right) or (op in UPPER and level >= right):
        return False
    condition["right"] = level
    return True
