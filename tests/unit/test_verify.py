"""Market-data verification on hand-made candle files: every way a file can be unfit, named precisely."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gentrade.freqtrade.candle_check import (
    DATA_INVALID,
    DATA_UNAVAILABLE,
    MAX_GAP,
    MAX_MISSING_SHARE,
    DataProblem,
    check_candles,
    check_pair,
)
from gentrade.freqtrade.candle_times import range_end, required_candles
from gentrade.freqtrade.market_data import candle_file
from gentrade.freqtrade.synthetic import synthetic_frame

START = datetime(2026, 8, 1, tzinfo=UTC)
END = datetime(2026, 9, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
CANDLES = 31 * 24  # [START, END) at 1h
LAST_DAY = date(2026, 8, 31)  # END is the midnight after it
ALLOWED_IN_A_ROW = MAX_GAP // HOUR  # 6 at 1h


def frame(pair: str = "BTC/USDT", start: datetime = START, count: int = CANDLES, timeframe: str = "1h") -> pd.DataFrame:
    return synthetic_frame(pair, timeframe, int(start.timestamp() * 1000), count)


def drop_hours(data: pd.DataFrame, first: datetime, hours: int) -> pd.DataFrame:
    """``data`` without the ``hours`` candles opening at ``first`` and after."""
    gone = (data["date"] >= first) & (data["date"] < first + hours * HOUR)
    return data.loc[~gone].reset_index(drop=True)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def store(root: Path) -> Callable[..., None]:
    def write(data: pd.DataFrame, pair: str = "BTC/USDT", timeframe: str = "1h") -> None:
        data.reset_index(drop=True).to_feather(candle_file(root, pair, timeframe))

    return write


def problem_of(root: Path, pairs: list[str] | None = None, start: datetime = START, end: datetime = END) -> DataProblem:
    with pytest.raises(DataProblem) as caught:
        check_candles(root, pairs or ["BTC/USDT"], "1h", start, end)
    return caught.value


def test_complete_data_passes(root: Path, store: Callable[..., None]) -> None:
    store(frame())
    store(frame("ETH/USDT"), "ETH/USDT")
    check_candles(root, ["BTC/USDT", "ETH/USDT"], "1h", START, END)


def test_extra_candles_outside_the_range_are_fine(root: Path, store: Callable[..., None]) -> None:
    store(frame(start=START - 100 * HOUR, count=CANDLES + 300))
    check_candles(root, ["BTC/USDT"], "1h", START, END)


def test_last_candle_may_open_one_timeframe_before_the_end(root: Path, store: Callable[..., None]) -> None:
    store(frame(count=CANDLES))  # last candle 2026-08-31 23:00, which closes at END
    assert frame()["date"].iloc[-1] == END - HOUR
    check_candles(root, ["BTC/USDT"], "1h", START, END)


def test_unaligned_range_needs_the_candles_freqtrade_would_use(root: Path, store: Callable[..., None]) -> None:
    # 00:30 -> 00:30: Freqtrade's first candle is 01:00 (open times >= start), its last opens at 00:00.
    assert required_candles(START + HOUR / 2, END + HOUR / 2, "1h") == (START + HOUR, END)
    store(frame(start=START + HOUR, count=CANDLES))
    check_candles(root, ["BTC/USDT"], "1h", START + HOUR / 2, END + HOUR / 2)


def test_a_past_last_day_ends_at_the_midnight_after_it() -> None:
    assert range_end(LAST_DAY, "1h", END + timedelta(days=3, minutes=7)) == END
    assert range_end(LAST_DAY, "1d", END) == END  # at midnight the day's last candle has just closed


@pytest.mark.parametrize(
    ("timeframe", "last_close"),
    [
        ("5m", END - timedelta(hours=9, minutes=20)),  # now is on the 5m grid: the candle before it closed now
        ("1h", END - 10 * HOUR),  # 14:00: the 14:00 candle is still open
        ("4h", END - 12 * HOUR),  # 12:00
        ("1d", END - 24 * HOUR),  # today's daily candle is open all day
    ],
)
def test_a_range_ending_today_ends_at_the_last_closed_candle(timeframe: str, last_close: datetime) -> None:
    now = END - timedelta(hours=9, minutes=20)  # 2026-08-31 14:40 UTC, "today" is LAST_DAY
    assert range_end(LAST_DAY, timeframe, now) == last_close


def test_a_range_ending_today_needs_candles_up_to_the_last_closed_one_only(
    root: Path, store: Callable[..., None]
) -> None:
    end = range_end(LAST_DAY, "1h", END - timedelta(hours=9, minutes=20))  # 14:00
    store(frame(count=CANDLES - 10))  # the last candle opened at 13:00 and closed at 14:00
    check_candles(root, ["BTC/USDT"], "1h", START, end)
    store(frame(count=CANDLES - 11))  # the closed 13:00 candle is missing
    problem = problem_of(root, end=end)
    assert problem.code == DATA_UNAVAILABLE
    assert "needed until 2026-08-31 14:00 UTC" in problem.message


def test_missing_file_is_unavailable_and_names_pair_and_range(root: Path, store: Callable[..., None]) -> None:
    store(frame())
    problem = problem_of(root, ["BTC/USDT", "ETH/USDT"])
    assert problem.code == DATA_UNAVAILABLE
    assert problem.message == (
        "ETH/USDT 1h: no candle data (needed from 2026-08-01 00:00 UTC until 2026-09-01 00:00 UTC)"
    )
    [entry] = problem.detail["problems"]
    assert entry["pair"] == "ETH/USDT"
    assert (entry["missing_from"], entry["missing_until"]) == ("2026-08-01T00:00:00+00:00", "2026-09-01T00:00:00+00:00")


def test_empty_file_is_unavailable(root: Path, store: Callable[..., None]) -> None:
    store(frame().iloc[0:0])
    problem = problem_of(root)
    assert problem.code == DATA_UNAVAILABLE
    assert problem.message.startswith("BTC/USDT 1h: no candles (needed from 2026-08-01 00:00 UTC")


def test_late_start_names_the_missing_range(root: Path, store: Callable[..., None]) -> None:
    late = datetime(2026, 8, 14, tzinfo=UTC)
    store(frame("ETH/USDT", start=late, count=CANDLES), "ETH/USDT")
    problem = problem_of(root, ["ETH/USDT"])
    assert problem.code == DATA_UNAVAILABLE
    assert problem.message == "ETH/USDT 1h: no candles before 2026-08-14 00:00 UTC (needed from 2026-08-01 00:00 UTC)"
    assert problem.detail["problems"][0]["missing_until"] == late.isoformat()


def test_one_candle_late_is_already_too_late(root: Path, store: Callable[..., None]) -> None:
    # Candles are labelled by open time: the candle opening at START is needed, no slack.
    store(frame(start=START + HOUR, count=CANDLES))
    assert problem_of(root).code == DATA_UNAVAILABLE


def test_early_end_names_the_missing_range(root: Path, store: Callable[..., None]) -> None:
    store(frame(count=CANDLES - 24 * 5))  # ends 2026-08-26 23:00
    problem = problem_of(root)
    assert problem.code == DATA_UNAVAILABLE
    assert problem.message == "BTC/USDT 1h: no candles after 2026-08-26 23:00 UTC (needed until 2026-09-01 00:00 UTC)"
    entry = problem.detail["problems"][0]
    assert (entry["missing_from"], entry["missing_until"]) == ("2026-08-27T00:00:00+00:00", "2026-09-01T00:00:00+00:00")


def test_unsorted_dates_are_invalid(root: Path, store: Callable[..., None]) -> None:
    data = frame()
    swapped = data.iloc[[*range(10), 11, 10, *range(12, len(data))]]
    store(swapped)
    problem = problem_of(root)
    assert problem.code == DATA_INVALID
    assert "out of order: 2026-08-01 10:00 UTC follows 2026-08-01 11:00 UTC" in problem.message


def test_duplicate_dates_are_invalid(root: Path, store: Callable[..., None]) -> None:
    data = frame()
    store(pd.concat([data.iloc[:50], data.iloc[49:]]))
    problem = problem_of(root)
    assert problem.code == DATA_INVALID
    assert "duplicate candle at 2026-08-03 01:00 UTC" in problem.message


def test_dates_off_the_timeframe_grid_are_invalid(root: Path, store: Callable[..., None]) -> None:
    data = frame()
    data.loc[100, "date"] += pd.Timedelta(minutes=5)
    store(data)
    problem = problem_of(root)
    assert problem.code == DATA_INVALID
    assert "off the 1h grid" in problem.message


def test_gap_within_tolerance_passes(root: Path, store: Callable[..., None]) -> None:
    store(drop_hours(frame(), datetime(2026, 8, 10, tzinfo=UTC), ALLOWED_IN_A_ROW))
    check_candles(root, ["BTC/USDT"], "1h", START, END)


def test_gap_above_tolerance_is_invalid_and_named(root: Path, store: Callable[..., None]) -> None:
    gap_start = datetime(2026, 8, 10, tzinfo=UTC)
    store(drop_hours(frame(), gap_start, ALLOWED_IN_A_ROW + 1))
    problem = problem_of(root)
    assert problem.code == DATA_INVALID
    assert problem.message == (
        "BTC/USDT 1h: gap of 7 missing candles from 2026-08-10 00:00 UTC to 2026-08-10 07:00 UTC "
        "(at most 6 h of candles may be missing in a row: 6 at 1h)"
    )
    entry = problem.detail["problems"][0]
    assert entry["missing_candles"] == ALLOWED_IN_A_ROW + 1
    assert entry["gap_from"] == gap_start.isoformat()


def test_gap_tolerance_is_in_time_so_daily_candles_allow_none(root: Path, store: Callable[..., None]) -> None:
    daily = frame(count=31, timeframe="1d")
    daily.drop(index=10).to_feather(candle_file(root, "BTC/USDT", "1d"))
    with pytest.raises(DataProblem, match=r"gap of 1 missing candles .*: 0 at 1d\)"):
        check_candles(root, ["BTC/USDT"], "1d", START, END)


def test_too_many_missing_candles_in_total_are_invalid(root: Path, store: Callable[..., None]) -> None:
    data = frame()
    for day in range(2, 30, 4):  # 7 short holes of 3 candles: 21 of 744, each hole within tolerance
        data = drop_hours(data, datetime(2026, 8, day, 5, tzinfo=UTC), 3)
    store(data)
    problem = problem_of(root)
    assert problem.code == DATA_INVALID
    assert problem.message == "BTC/USDT 1h: 21 of 744 candles missing (2.8%; at most 1% allowed)"


def test_gaps_outside_the_range_do_not_matter(root: Path, store: Callable[..., None]) -> None:
    data = frame(start=START - 200 * HOUR, count=CANDLES + 200)
    store(drop_hours(data, START - 100 * HOUR, 48))
    check_candles(root, ["BTC/USDT"], "1h", START, END)


@pytest.mark.parametrize("column", ["open", "high", "low", "close", "volume"])
def test_nan_is_invalid(root: Path, store: Callable[..., None], column: str) -> None:
    data = frame()
    data.loc[200, column] = np.nan
    store(data)
    problem = problem_of(root)
    assert problem.code == DATA_INVALID
    assert problem.message == "BTC/USDT 1h: NaN in open/high/low/close/volume at 2026-08-09 08:00 UTC (1 candles)"


def test_nan_outside_the_range_does_not_matter(root: Path, store: Callable[..., None]) -> None:
    data = frame(count=CANDLES + 10)
    data.loc[CANDLES + 5, "close"] = np.nan
    store(data)
    check_candles(root, ["BTC/USDT"], "1h", START, END)


def test_low_above_open_is_invalid(root: Path, store: Callable[..., None]) -> None:
    data = frame()
    data.loc[300, "low"] = data.loc[300, "open"] * 1.001
    store(data)
    problem = problem_of(root)
    assert problem.code == DATA_INVALID
    assert problem.message == "BTC/USDT 1h: low above open or close at 2026-08-13 12:00 UTC (1 candles)"


def test_high_below_close_is_invalid(root: Path, store: Callable[..., None]) -> None:
    data = frame()
    data.loc[301, "high"] = data.loc[301, "close"] * 0.999
    store(data)
    problem = problem_of(root)
    assert problem.code == DATA_INVALID
    assert problem.message == "BTC/USDT 1h: high below open or close at 2026-08-13 13:00 UTC (1 candles)"


def test_non_positive_price_is_invalid(root: Path, store: Callable[..., None]) -> None:
    data = frame()
    data.loc[5, ["open", "low"]] = 0.0
    store(data)
    assert "non-positive price" in problem_of(root).message


def test_unreadable_file_and_missing_columns_are_invalid(root: Path, store: Callable[..., None]) -> None:
    candle_file(root, "BTC/USDT", "1h").write_bytes(b"not a feather file")
    store(frame("ETH/USDT").drop(columns=["volume"]), "ETH/USDT")
    problem = problem_of(root, ["BTC/USDT", "ETH/USDT"])
    assert problem.code == DATA_INVALID
    messages = [entry["message"] for entry in problem.detail["problems"]]
    assert messages[0].startswith("BTC/USDT 1h: unreadable candle file")
    assert messages[1] == "ETH/USDT 1h: candle file lacks the columns volume"


def test_naive_dates_are_invalid(root: Path, store: Callable[..., None]) -> None:
    data = frame()
    data["date"] = data["date"].dt.tz_localize(None)
    store(data)
    assert "not all UTC timestamps" in problem_of(root).message


def test_every_pair_is_reported_and_the_first_sets_the_code(root: Path, store: Callable[..., None]) -> None:
    store(drop_hours(frame(), datetime(2026, 8, 20, tzinfo=UTC), 48))
    store(frame("ETH/USDT", start=datetime(2026, 8, 14, tzinfo=UTC)), "ETH/USDT")
    store(frame("SOL/USDT"), "SOL/USDT")
    problem = problem_of(root, ["BTC/USDT", "SOL/USDT", "ETH/USDT", "XRP/USDT"])
    assert problem.code == DATA_INVALID  # BTC/USDT comes first
    assert [(p["pair"], p["code"]) for p in problem.detail["problems"]] == [
        ("BTC/USDT", DATA_INVALID),
        ("ETH/USDT", DATA_UNAVAILABLE),
        ("XRP/USDT", DATA_UNAVAILABLE),
    ]
    assert problem.message.count("; ") == 2
    assert problem.detail["max_gap_hours"] == 6
    assert problem.detail["max_missing_share"] == MAX_MISSING_SHARE


def test_check_pair_reports_only_the_first_problem(root: Path, store: Callable[..., None]) -> None:
    data = drop_hours(frame(start=datetime(2026, 8, 3, tzinfo=UTC)), datetime(2026, 8, 20, tzinfo=UTC), 48)
    data.loc[10, "close"] = np.nan
    store(data)
    found = check_pair(root, "BTC/USDT", "1h", START, END)
    assert found is not None
    assert found.message.startswith("BTC/USDT 1h: no candles before 2026-08-03 00:00 UTC")


def test_bad_arguments_are_refused(root: Path) -> None:
    with pytest.raises(ValueError, match="timeframe"):
        check_candles(root, ["BTC/USDT"], "7m", START, END)
    with pytest.raises(ValueError, match="timezone"):
        check_candles(root, ["BTC/USDT"], "1h", START.replace(tzinfo=None), END)
    with pytest.raises(ValueError, match="no complete 1h candle"):
        check_candles(root, ["BTC/USDT"], "1h", END, START)


def test_a_year_of_5m_candles_for_three_pairs_verifies_quickly(root: Path, store: Callable[..., None]) -> None:
    import time

    start = datetime(2025, 9, 1, tzinfo=UTC)
    count = 365 * 288
    pairs = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
    for pair in pairs:
        synthetic_frame(pair, "5m", int(start.timestamp() * 1000), count).to_feather(candle_file(root, pair, "5m"))
    began = time.perf_counter()
    check_candles(root, pairs, "5m", start, start + timedelta(days=365))
    assert time.perf_counter() - began < 2.0
