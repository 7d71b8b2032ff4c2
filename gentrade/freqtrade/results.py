"""Read the zip ``freqtrade backtesting --backtest-directory`` wrote and turn it into our summary (FR.33/35).

Only the standard library is used, so the API process can read results without importing
Freqtrade. The zip holds ``backtest-result-<ts>.json`` with ``strategy.<Name>.{...}`` (the keys of
``freqtrade/optimize/optimize_reports/optimize_reports.py::generate_strategy_stats``), next to
``<stem>_config.json``, ``<stem>_<Name>.py`` and feather files we do not read. The summary has
stable key names, rounded floats and no NaN/inf (those become ``None``), so it can be stored as
JSON and shown as is. Values Freqtrade reports for undefined metrics are made honest: with no
trades the win rate, profit factor, ratios, durations and streaks are ``None``; a profit factor
without a losing trade is ``None`` (Freqtrade says 0.0, it is unbounded), as is the average
holding time of winners without a winner (and of losers without a loser; Freqtrade says 0);
Freqtrade's ``-100.0`` "denominator was zero" sentinel for Sharpe/Sortino/Calmar is ``None``.

Besides the totals, the summary carries what explains a result to a beginner: ``exit_reasons``
(how trades ended, from Freqtrade's ``exit_reason_summary``: per reason the trades, wins, draws,
losses, win rate and profit, most frequent first), ``winner_avg_duration_seconds`` /
``loser_avg_duration_seconds`` (from ``winner_holding_avg_s`` / ``loser_holding_avg_s``) and
``max_consecutive_wins`` / ``max_consecutive_losses`` (Freqtrade's streaks: a draw counts as a
loss there). Summaries stored before these keys existed lack them; readers must not assume them.
"""

from __future__ import annotations

import json
import math
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

CURVE_LIMIT = 500  # equity curve points kept for a chart
RATIO_DIGITS = 6  # profit, win rate and drawdown ratios
MONEY_DIGITS = 8  # amounts in the stake currency
METRIC_DIGITS = 4  # Sharpe, Sortino, Calmar, profit factor
MAX_JSON_BYTES = 512 * 1024 * 1024  # refuse to inflate anything bigger into memory
UNDEFINED_RATIO = -100.0  # freqtrade.data.metrics._calculate_annualized_ratio when the denominator is 0
TIMESTAMP_IN_NAME = re.compile(r"\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}")  # backtest-result-2026-11-26_11-35-10.zip
FREQTRADE_DATETIME = "%Y-%m-%d %H:%M:%S"  # freqtrade.constants.DATETIME_PRINT_FORMAT (UTC)
RESULT_JSON = re.compile(r"[^/]*" + TIMESTAMP_IN_NAME.pattern + r"\.json")
TOTAL_ROW = "TOTAL"

Point = TypeVar("Point", bound=Mapping[str, Any])


class ResultsError(Exception):
    """A backtest's results could not be read; the message says why (safe to show)."""


class ResultsMissing(ResultsError):
    """Freqtrade left no result zip in the backtest's folder."""


class ResultsInvalid(ResultsError):
    """The result zip exists but is not a readable Freqtrade result for the strategy."""


@dataclass(frozen=True)
class ParsedResults:
    archive: Path  # the zip the summary was read from (stored as the backtest's result path)
    summary: dict[str, Any]  # JSON-serialisable, see ``summarise``


def parse_results(results_dir: Path, strategy_name: str) -> ParsedResults:
    """Find the backtest's result zip in ``results_dir`` and summarise ``strategy_name``'s results."""
    archive = find_archive(results_dir)
    stats = read_strategy_stats(archive, strategy_name)
    try:
        summary = summarise(stats, strategy_name)
    except ResultsInvalid as exc:
        raise ResultsInvalid(f"{archive.name}: {exc}") from exc
    return ParsedResults(archive=archive, summary=summary)


def find_archive(results_dir: Path) -> Path:
    """The result zip; if a folder somehow holds several, the newest by the timestamp in its name."""
    archives = [path for path in results_dir.glob("*.zip") if path.is_file()] if results_dir.is_dir() else []
    if not archives:
        raise ResultsMissing(f"Freqtrade wrote no backtest result (no .zip) in {results_dir}")
    return max(archives, key=lambda path: (_name_timestamp(path), path.name))


def _name_timestamp(path: Path) -> str:
    match = TIMESTAMP_IN_NAME.search(path.name)
    return match.group(0) if match else ""  # this format sorts chronologically as text


def read_strategy_stats(archive: Path, strategy_name: str) -> dict[str, Any]:
    """``strategy.<strategy_name>`` of the result JSON inside the zip (``<zip stem>.json``)."""
    try:
        with zipfile.ZipFile(archive) as bundle:
            info = _stats_member(bundle, archive)
            if info.file_size > MAX_JSON_BYTES:
                raise ResultsInvalid(f"{archive.name}: {info.filename} is too large ({info.file_size} bytes)")
            document = json.loads(bundle.read(info))
    except ResultsInvalid:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, RuntimeError) as exc:
        raise ResultsInvalid(f"{archive.name} is not a readable Freqtrade result zip: {exc}") from exc
    strategies = document.get("strategy") if isinstance(document, dict) else None
    if not isinstance(strategies, dict):
        raise ResultsInvalid(f"{archive.name}: the result JSON has no 'strategy' section")
    stats = strategies.get(strategy_name)
    if not isinstance(stats, dict):
        found = ", ".join(sorted(map(str, strategies))) or "none"
        raise ResultsInvalid(f"{archive.name}: no results for strategy {strategy_name!r} (found: {found})")
    return stats


def _stats_member(bundle: zipfile.ZipFile, archive: Path) -> zipfile.ZipInfo:
    """The stats JSON is named like the zip; other ``.json`` members are the config and strategy parameters."""
    names = {info.filename: info for info in bundle.infolist()}
    expected = f"{archive.stem}.json"
    if expected in names:
        return names[expected]
    # A renamed zip: the one member named like a result, ``...<timestamp>.json`` (not ``_config.json``).
    candidates = [info for name, info in names.items() if RESULT_JSON.fullmatch(name)]
    if len(candidates) != 1:
        raise ResultsInvalid(f"{archive.name}: no backtest result JSON inside (members: {', '.join(names) or 'none'})")
    return candidates[0]


def summarise(stats: Mapping[str, Any], strategy_name: str) -> dict[str, Any]:
    """Our summary of one strategy's Freqtrade stats; raises ``ResultsInvalid`` when essentials are missing."""
    total_trades = _required_int(stats, "total_trades")
    starting_balance = _required_number(stats, "starting_balance")
    final_balance = _required_number(stats, "final_balance")
    trades = stats.get("trades")
    if not isinstance(trades, list):
        raise ResultsInvalid("the result has no trade list")
    start, end = _moment(stats, "backtest_start"), _moment(stats, "backtest_end")
    if start is None or end is None:
        raise ResultsInvalid("the result has no backtest start or end")
    traded = total_trades > 0
    pair_rows = [row for row in _list(stats.get("results_per_pair")) if row.get("key") != TOTAL_ROW]
    total_row = next((row for row in _list(stats.get("results_per_pair")) if row.get("key") == TOTAL_ROW), {})
    losses = _int(total_row.get("losses", stats.get("losses")))
    avg_seconds = _average_duration_seconds(stats, trades) if traded else None
    wins, trade_losses = _int(stats.get("wins")) or 0, _int(stats.get("losses")) or 0
    return {
        "strategy": strategy_name,
        "timeframe": stats.get("timeframe") if isinstance(stats.get("timeframe"), str) else None,
        "timerange": {"start": _iso(start), "end": _iso(end)},
        "stake_currency": stats.get("stake_currency") if isinstance(stats.get("stake_currency"), str) else None,
        "total_trades": total_trades,
        "wins": wins,
        "draws": _int(stats.get("draws")) or 0,
        "losses": trade_losses,
        "win_rate": _number(stats.get("winrate"), RATIO_DIGITS) if traded else None,
        "profit_total": _number(stats.get("profit_total"), RATIO_DIGITS),
        "profit_total_abs": _number(stats.get("profit_total_abs"), MONEY_DIGITS),
        "starting_balance": _round(starting_balance, MONEY_DIGITS),
        "final_balance": _round(final_balance, MONEY_DIGITS),
        "max_drawdown": _number(stats.get("max_drawdown_account"), RATIO_DIGITS),
        "max_drawdown_abs": _number(stats.get("max_drawdown_abs"), MONEY_DIGITS),
        "sharpe": _annualized_ratio(stats.get("sharpe")) if traded else None,
        "sortino": _annualized_ratio(stats.get("sortino")) if traded else None,
        "calmar": _annualized_ratio(stats.get("calmar")) if traded else None,
        "profit_factor": _number(stats.get("profit_factor"), METRIC_DIGITS) if traded and losses else None,
        "avg_trade_duration_seconds": avg_seconds,
        "avg_trade_duration": _human_duration(avg_seconds),
        "winner_avg_duration_seconds": _whole_seconds(stats.get("winner_holding_avg_s")) if wins else None,
        "loser_avg_duration_seconds": _whole_seconds(stats.get("loser_holding_avg_s")) if trade_losses else None,
        "max_consecutive_wins": _count(stats.get("max_consecutive_wins")) if traded else None,
        "max_consecutive_losses": _count(stats.get("max_consecutive_losses")) if traded else None,
        "exit_reasons": _exit_reasons(stats.get("exit_reason_summary")) if traded else [],
        "best_pair": _pair_key(stats.get("best_pair")) if traded else None,
        "worst_pair": _pair_key(stats.get("worst_pair")) if traded else None,
        "pairs": [_pair_summary(row) for row in pair_rows],
        "equity_curve": sample_curve(equity_curve(trades, starting_balance, start, end), CURVE_LIMIT),
    }


def _pair_summary(row: Mapping[str, Any]) -> dict[str, Any]:
    """One row of Freqtrade's ``results_per_pair`` (``profit_total`` is relative to the starting balance)."""
    trades = _int(row.get("trades")) or 0
    return {
        "pair": str(row.get("key")),
        **_outcomes(row, trades),
        "avg_duration_seconds": _duration_text_seconds(row.get("duration_avg")) if trades else None,
    }


def _outcomes(row: Mapping[str, Any], trades: int) -> dict[str, Any]:
    """How a group of trades (a pair's, an exit reason's) ended, as Freqtrade's summary tables give it."""
    return {
        "trades": trades,
        "wins": _int(row.get("wins")) or 0,
        "draws": _int(row.get("draws")) or 0,
        "losses": _int(row.get("losses")) or 0,
        "win_rate": _number(row.get("winrate"), RATIO_DIGITS) if trades else None,
        "profit_total": _number(row.get("profit_total"), RATIO_DIGITS),
        "profit_total_abs": _number(row.get("profit_total_abs"), MONEY_DIGITS),
    }


def _exit_reasons(rows: Any) -> list[dict[str, Any]]:
    """Freqtrade's ``exit_reason_summary`` without its TOTAL row, most frequent reason first.

    A coach explains a loss by how trades ended (stop loss, ROI, exit signal, force exit at the end);
    ``profit_total`` is relative to the starting balance, as in ``pairs``.
    """
    reasons: list[dict[str, Any]] = []
    for row in _list(rows):
        if row.get("key") == TOTAL_ROW or row.get("key") is None:
            continue
        reasons.append({"reason": str(row.get("key")), **_outcomes(row, _int(row.get("trades")) or 0)})
    return sorted(reasons, key=lambda reason: (-reason["trades"], reason["reason"]))


def equity_curve(
    trades: Sequence[Any], starting_balance: float, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """Balance after each trade close (trades closing at the same moment make one point), from start to end."""
    closes: list[tuple[datetime, float]] = []
    for index, trade in enumerate(trades):
        if not isinstance(trade, Mapping):
            raise ResultsInvalid(f"trade {index} is not an object")
        closed = _moment(trade, "close_date", "close_timestamp")
        profit = _number(trade.get("profit_abs"))
        if closed is None or profit is None:
            raise ResultsInvalid(f"trade {index} ({trade.get('pair')}) has no close time or profit")
        closes.append((closed, profit))
    closes.sort(key=lambda close: close[0])  # stable: Freqtrade's order within one moment
    points = [{"time": _iso(start), "balance": _round(starting_balance, MONEY_DIGITS)}]
    balance, last_time = starting_balance, None
    for closed, profit in closes:
        balance += profit
        if closed == last_time:
            points[-1]["balance"] = _round(balance, MONEY_DIGITS)
        else:
            points.append({"time": _iso(closed), "balance": _round(balance, MONEY_DIGITS)})
            last_time = closed
    if last_time is None or last_time < end:
        points.append({"time": _iso(end), "balance": _round(balance, MONEY_DIGITS)})
    return points


def sample_curve(points: Sequence[Point], limit: int = CURVE_LIMIT, key: str = "balance") -> list[Point]:
    """At most ``limit`` points, keeping the first, last, lowest and highest; the rest evenly spaced by index."""
    if limit < 4:
        raise ValueError("limit must be at least 4 (first, last, min and max are always kept)")
    if len(points) <= limit:
        return list(points)
    values = [point[key] for point in points]
    kept = {0, len(points) - 1, values.index(min(values)), values.index(max(values))}
    others = [index for index in range(len(points)) if index not in kept]
    slots = limit - len(kept)
    kept.update(others[slot * len(others) // slots] for slot in range(slots))
    return [points[index] for index in sorted(kept)]


def _average_duration_seconds(stats: Mapping[str, Any], trades: Sequence[Any]) -> int | None:
    """Freqtrade's ``holding_avg_s``; from the trades' minutes when absent (Freqtrade omits it without trades)."""
    seconds = _number(stats.get("holding_avg_s"))
    if seconds is not None:
        return round(seconds)
    minutes = [_number(trade.get("trade_duration")) for trade in trades if isinstance(trade, Mapping)]
    known = [value for value in minutes if value is not None]
    return round(sum(known) / len(known)) * 60 if known else None


def _whole_seconds(value: Any) -> int | None:
    """A non-negative duration in whole seconds (Freqtrade's ``*_s`` are floats of whole minutes)."""
    seconds = _number(value)
    return round(seconds) if seconds is not None and seconds >= 0 else None


def _count(value: Any) -> int | None:
    """A non-negative whole number, else None (a streak cannot be negative or fractional)."""
    number = _int(value)
    return number if number is not None and number >= 0 else None


def _human_duration(seconds: int | None) -> str | None:
    return None if seconds is None else str(timedelta(seconds=seconds))  # "4:35:00", "1 day, 2:00:00"


_DURATION_TEXT = re.compile(r"^(?:(\d+) days?, )?(\d+):(\d{2})(?::(\d{2}))?$")


def _duration_text_seconds(text: Any) -> int | None:
    """Seconds of Freqtrade's per-pair ``duration_avg`` (``str(timedelta)``: "10:08:00", "1 day, 2:00:00")."""
    match = _DURATION_TEXT.match(text) if isinstance(text, str) else None
    if not match:
        return None
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def _annualized_ratio(value: Any) -> float | None:
    number = _number(value)
    return None if number is None or number == UNDEFINED_RATIO else round(number, METRIC_DIGITS)


def _pair_key(row: Any) -> str | None:
    return row.get("key") if isinstance(row, Mapping) and isinstance(row.get("key"), str) else None


def _moment(source: Mapping[str, Any], text_key: str, ms_key: str | None = None) -> datetime | None:
    """A UTC time from ``<key>_ts`` / ``ms_key`` (epoch ms), else from Freqtrade's text form."""
    milliseconds = _number(source.get(ms_key or f"{text_key}_ts"))
    if milliseconds is not None:
        return datetime.fromtimestamp(milliseconds / 1000, tz=UTC)
    text = source.get(text_key)
    if not isinstance(text, str):
        return None
    for parse in (lambda: datetime.strptime(text, FREQTRADE_DATETIME), lambda: datetime.fromisoformat(text)):
        try:
            moment = parse()
        except ValueError:
            continue
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _list(value: Any) -> list[Mapping[str, Any]]:
    return [row for row in value if isinstance(row, Mapping)] if isinstance(value, list) else []


def _number(value: Any, digits: int | None = None) -> float | None:
    """A finite float (numbers and numeric strings), else None; rounded when ``digits`` is given."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    if not math.isfinite(number):
        return None
    return number if digits is None else _round(number, digits)


def _round(number: float, digits: int) -> float:
    return round(number, digits) + 0.0  # + 0.0 turns -0.0 into 0.0


def _int(value: Any) -> int | None:
    number = _number(value)
    return int(number) if number is not None and number.is_integer() else None


def _required_number(stats: Mapping[str, Any], key: str) -> float:
    number = _number(stats.get(key))
    if number is None:
        raise ResultsInvalid(f"the result has no valid {key!r}")
    return number


def _required_int(stats: Mapping[str, Any], key: str) -> int:
    number = _int(stats.get(key))
    if number is None or number < 0:
        raise ResultsInvalid(f"the result has no valid {key!r}")
    return number
