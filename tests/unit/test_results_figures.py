"""Edge cases of the coach's figures in ``summarise``: exit reasons, winner/loser durations, streaks.

The real Freqtrade shapes are checked in tests/integration/test_results.py; these are the cases a real
two-month run does not reach (no loser, rows Freqtrade could not fill, results from an older Freqtrade).
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from gentrade.freqtrade.results import summarise

START_MS = 1_782_864_000_000  # 2026-07-01 00:00 UTC


def stats(**overrides: Any) -> dict[str, Any]:
    """The essentials ``summarise`` needs, three winning trades, plus ``overrides``."""
    trades = [{"pair": "BTC/USDT", "close_timestamp": START_MS + i * 3_600_000, "profit_abs": 1.0} for i in (1, 2, 3)]
    return {
        "total_trades": 3,
        "starting_balance": 1000,
        "final_balance": 1003,
        "trades": trades,
        "backtest_start_ts": START_MS,
        "backtest_end_ts": START_MS + 86_400_000,
        "wins": 3,
        "draws": 0,
        "losses": 0,
        "holding_avg_s": 3600.0,
        **overrides,
    }


def reason_row(key: str, trades: int, wins: int, losses: int, profit: float = 1.0) -> dict[str, Any]:
    return {
        "key": key,
        "trades": trades,
        "wins": wins,
        "draws": trades - wins - losses,
        "losses": losses,
        "winrate": wins / trades if trades else 0.0,
        "profit_total": profit / 1000,
        "profit_total_abs": profit,
    }


def test_only_winners_leave_the_loser_figures_undefined() -> None:
    summary = summarise(
        stats(
            winner_holding_avg_s=5400.0,
            loser_holding_avg_s=0.0,  # Freqtrade's value without a loser
            max_consecutive_wins=3,
            max_consecutive_losses=0,
        ),
        "S",
    )
    assert summary["winner_avg_duration_seconds"] == 5400
    assert summary["loser_avg_duration_seconds"] is None
    assert (summary["max_consecutive_wins"], summary["max_consecutive_losses"]) == (3, 0)  # 0 is a true count


def test_only_losers_leave_the_winner_figures_undefined() -> None:
    summary = summarise(
        stats(wins=0, losses=3, winner_holding_avg_s=0.0, loser_holding_avg_s=7200.0, max_consecutive_losses=3),
        "S",
    )
    assert summary["winner_avg_duration_seconds"] is None
    assert summary["loser_avg_duration_seconds"] == 7200


def test_a_result_from_an_older_freqtrade_without_the_figures() -> None:
    summary = summarise(stats(), "S")
    assert summary["exit_reasons"] == []
    for key in ("winner_avg_duration_seconds", "loser_avg_duration_seconds", "max_consecutive_wins",
                "max_consecutive_losses"):  # fmt: skip
        assert summary[key] is None, key


def test_no_trades_in_freqtrades_shape() -> None:
    summary = summarise(
        stats(
            total_trades=0,
            final_balance=1000,
            trades=[],
            wins=0,
            holding_avg_s=None,
            max_consecutive_wins=0,
            max_consecutive_losses=0,
            exit_reason_summary=[reason_row("TOTAL", 0, 0, 0, 0.0)],
        ),
        "S",
    )
    assert summary["exit_reasons"] == []
    for key in ("winner_avg_duration_seconds", "loser_avg_duration_seconds", "max_consecutive_wins",
                "max_consecutive_losses"):  # fmt: skip
        assert summary[key] is None, key


def test_exit_reasons_are_sorted_by_trades_then_reason_without_the_total() -> None:
    rows = [
        reason_row("stop_loss", 2, 0, 2, -30.0),
        reason_row("roi", 5, 5, 0, 20.0),
        reason_row("exit_signal", 2, 1, 1, 0.5),
        reason_row("TOTAL", 9, 6, 3, -9.5),
    ]
    summary = summarise(stats(exit_reason_summary=rows), "S")
    assert [(row["reason"], row["trades"]) for row in summary["exit_reasons"]] == [
        ("roi", 5),
        ("exit_signal", 2),
        ("stop_loss", 2),
    ]
    assert summary["exit_reasons"][1] == {
        "reason": "exit_signal",
        "trades": 2,
        "wins": 1,
        "draws": 0,
        "losses": 1,
        "win_rate": 0.5,
        "profit_total": 0.0005,
        "profit_total_abs": 0.5,
    }


def test_exit_reason_rows_freqtrade_could_not_fill_become_none() -> None:
    broken = {**reason_row("roi", 2, 1, 1), "winrate": math.nan, "profit_total": math.inf, "profit_total_abs": "x"}
    empty = reason_row("force_exit", 0, 0, 0, 0.0)
    summary = summarise(stats(exit_reason_summary=[broken, empty, "not a row", {"trades": 1}]), "S")
    roi, force_exit = summary["exit_reasons"]
    assert roi["win_rate"] is roi["profit_total"] is roi["profit_total_abs"] is None
    assert force_exit["win_rate"] is None  # undefined without trades, not Freqtrade's 0.0
    json.dumps(summary, allow_nan=False)


@pytest.mark.parametrize(("value", "expected"), [(4, 4), (4.0, 4), ("4", 4), (-1, None), (2.5, None), (None, None)])
def test_streaks_are_whole_non_negative_counts(value: Any, expected: int | None) -> None:
    summary = summarise(stats(max_consecutive_wins=value), "S")
    assert summary["max_consecutive_wins"] == expected


def test_durations_are_whole_seconds() -> None:
    summary = summarise(stats(winner_holding_avg_s=5400.4, losses=1, loser_holding_avg_s=-60.0), "S")
    assert summary["winner_avg_duration_seconds"] == 5400
    assert summary["loser_avg_duration_seconds"] is None
