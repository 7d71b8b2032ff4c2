"""The offline coach (:mod:`gentrade.agents.offline.coach`): answers grounded in a backtest's figures, and the one
change they point to, as words and as a valid revised draft."""

from __future__ import annotations

from typing import Any

import pytest

from gentrade.agents.offline import draft_from_text
from gentrade.agents.offline.coach import NO_BACKTEST_ANSWER, advise
from gentrade.strategies.draft import StrategyDraft, parse_draft

REQUEST = "RSI dip buyer on BTC and ETH 1h: buy when RSI below 30, sell above 70, stop loss 4%"


@pytest.fixture
def coach_draft() -> StrategyDraft:
    return draft_from_text(REQUEST, None)[0]


def finished_backtest(coach_draft: StrategyDraft, **figures: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "timeframe": "1h",
        "timerange": {"start": "2024-01-01 00:00:00", "end": "2024-03-01 00:00:00"},
        "stake_currency": "USDT",
        "total_trades": 20,
        "win_rate": 0.35,
        "profit_total": -0.06,
        "profit_total_abs": -60.0,
        "max_drawdown": 0.08,
        "exit_reasons": [
            {"reason": "stop_loss", "trades": 12},
            {"reason": "roi", "trades": 6},
            {"reason": "exit_signal", "trades": 2},
        ],
        "pairs": [
            {"pair": "BTC/USDT", "trades": 10, "win_rate": 0.4, "profit_total": -0.02},
            {"pair": "ETH/USDT", "trades": 10, "win_rate": 0.3, "profit_total": -0.04},
        ],
        "avg_trade_duration_seconds": 18600,
        "winner_avg_duration_seconds": 7200,
        "loser_avg_duration_seconds": 25200,
    }
    return {
        "strategy": coach_draft.name,
        "pairs": ["BTC/USDT", "ETH/USDT"],
        "timeframe": "1h",
        "figures": base | figures,
        "draft": coach_draft.model_dump(mode="json"),
    }


def test_without_a_backtest_the_coach_says_how_to_get_one(coach_draft: StrategyDraft) -> None:
    advice = advise("why did it lose?", None, coach_draft)
    assert advice.answer == NO_BACKTEST_ANSWER
    assert advice.change is None
    assert advice.revised is None


def test_the_answer_quotes_the_figures(coach_draft: StrategyDraft) -> None:
    answer = advise("why did it lose?", finished_backtest(coach_draft), coach_draft).answer
    for figure in ("20 trades", "win rate 35%", "-6%", "-60.00 USDT", "max drawdown 8%", "12 at the stop loss"):
        assert figure in answer
    assert "BTC/USDT -2% (10)" in answer
    assert "5 h 10 min" in answer
    assert "winners 2 h 0 min, losers 7 h 0 min" in answer


def test_stopped_out_trades_widen_a_tight_stop(coach_draft: StrategyDraft) -> None:
    advice = advise("why did it lose?", finished_backtest(coach_draft), coach_draft)
    assert advice.change == "widen the stop loss from 4% to 6%"
    assert advice.revised is not None
    assert advice.revised.stoploss == -0.06
    assert advice.revised.model_copy(update={"stoploss": coach_draft.stoploss}) == coach_draft  # nothing else changed
    assert advice.notes == ["Changed after the backtest: the stop loss is 6% (was 4%), as 12 of 20 hit it"]


def test_stopped_out_trades_with_a_wide_stop_get_a_trend_filter() -> None:
    wide = draft_from_text(REQUEST.replace("stop loss 4%", "stop loss 12%"), None)[0]
    advice = advise("how can I improve this?", finished_backtest(wide), wide)
    assert advice.revised is not None
    assert "EMA 200" in str(advice.change)
    assert {i.id for i in advice.revised.indicators} == {"rsi", "ema200"}
    entry = advice.revised.model_dump(mode="json")["entry_conditions"]
    assert entry["all"][-1] == {"left": "close", "op": ">", "right": "ema200"}
    assert parse_draft(advice.revised.model_dump(mode="json")) == advice.revised


def test_a_lone_losing_pair_is_dropped(coach_draft: StrategyDraft) -> None:
    pairs = [
        {"pair": "BTC/USDT", "trades": 10, "win_rate": 0.6, "profit_total": 0.03},
        {"pair": "ETH/USDT", "trades": 10, "win_rate": 0.2, "profit_total": -0.05},
    ]
    advice = advise("why did it lose?", finished_backtest(coach_draft, pairs=pairs, profit_total=-0.02), coach_draft)
    assert advice.change == "drop ETH/USDT and keep the other pairs"
    assert advice.revised is not None
    assert advice.revised.pairs == ["BTC/USDT"]


def test_a_question_about_one_pair_is_answered_about_that_pair(coach_draft: StrategyDraft) -> None:
    advice = advise("what went wrong with ETH?", finished_backtest(coach_draft), coach_draft)
    assert advice.answer.split("\n\n")[1].startswith("ETH/USDT: 10 trades, win rate 30%, profit -4%")
    assert advice.change == "widen the stop loss from 4% to 6%"  # the other pair did no better: the overall advice
    absent = advise("what went wrong with SOL?", finished_backtest(coach_draft), coach_draft)
    assert "SOL was not in this backtest (its pairs: BTC/USDT, ETH/USDT)" in absent.answer
    assert absent.change is None


def test_no_trade_loosens_the_entry_level(coach_draft: StrategyDraft) -> None:
    advice = advise(
        "why didn't it trade?", finished_backtest(coach_draft, total_trades=0, exit_reasons=[], pairs=[]), coach_draft
    )
    assert "made no trade at all" in advice.answer
    assert advice.revised is not None
    assert advice.revised.model_dump(mode="json")["entry_conditions"] == {
        "all": [{"left": "rsi", "op": "<", "right": 35}]
    }
    assert advice.change == "loosen the entry: RSI(14) is below 35 (instead of 30)"


def test_a_winner_is_left_alone(coach_draft: StrategyDraft) -> None:
    exits = [{"reason": "roi", "trades": 15}, {"reason": "stop_loss", "trades": 5}]
    advice = advise(
        "how can I improve this?", finished_backtest(coach_draft, profit_total=0.04, exit_reasons=exits), coach_draft
    )
    assert "It did not lose: it made +4%" in advice.answer
    assert "Nothing in the figures points to one change" in advice.answer
    assert advice.change is None


def test_a_winner_stopped_out_most_of_the_time_gets_a_wider_stop(coach_draft: StrategyDraft) -> None:
    advice = advise("why did it lose?", finished_backtest(coach_draft, profit_total=0.04), coach_draft)
    assert "It did not lose: it made +4%. But 12 of 20 trades ended at the stop loss" in advice.answer
    assert advice.change == "widen the stop loss from 4% to 6%"


def test_few_losing_trades_without_stops_loosen_the_entry(coach_draft: StrategyDraft) -> None:
    figures = {"total_trades": 4, "exit_reasons": [{"reason": "exit_signal", "trades": 4}]}
    advice = advise("why did it lose?", finished_backtest(coach_draft, **figures), coach_draft)
    assert "only 4 trades" in advice.answer
    assert advice.change is not None
    assert "loosen" in advice.change


def test_a_strategy_brought_as_code_gets_advice_without_a_draft(coach_draft: StrategyDraft) -> None:
    figures = finished_backtest(coach_draft) | {"draft": None}
    advice = advise("why did it lose?", figures, None)
    assert advice.change is None
    assert advice.revised is None
    assert "Suggested change: widen" not in advice.answer
    assert "12 of 20 trades ended at the stop loss" in advice.answer


def test_older_summaries_without_exit_reasons_still_get_an_answer(coach_draft: StrategyDraft) -> None:
    figures = finished_backtest(coach_draft)
    for key in ("exit_reasons", "winner_avg_duration_seconds", "loser_avg_duration_seconds"):
        figures["figures"].pop(key)
    advice = advise("why did it lose?", figures, coach_draft)
    assert "20 trades" in advice.answer
    assert advice.revised is not None
