"""Candle-time arithmetic: which candles a backtest range needs, where a range ending today stops.

Pure functions on UTC datetimes, shared by the market-data cache, its verification and the backtest
service. Candles sit on an epoch-aligned grid and are labelled by their open time, as in Freqtrade.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

from gentrade.timeframes import TIMEFRAME_SECONDS


def timeframe_delta(timeframe: str) -> timedelta:
    if timeframe not in TIMEFRAME_SECONDS:
        raise ValueError(f"unsupported timeframe {timeframe!r:.20}; one of {', '.join(TIMEFRAME_SECONDS)}")
    return timedelta(seconds=TIMEFRAME_SECONDS[timeframe])


def _ceil_to(moment: datetime, step: timedelta) -> datetime:
    """The first candle boundary at or after ``moment`` (candles sit on an epoch-aligned grid)."""
    seconds = int(step.total_seconds())
    return datetime.fromtimestamp(-(-math.ceil(moment.timestamp()) // seconds) * seconds, tz=UTC)


def required_candles(start: datetime, end: datetime, timeframe: str) -> tuple[datetime, datetime]:
    """First and last candle (by open time) a backtest of ``[start, end)`` needs.

    Freqtrade labels a candle by its open time, so the candle opening at ``start`` is the first one
    (no slack; an unaligned ``start`` moves to the next boundary, the first candle Freqtrade would
    use). The last is the one opening before ``end``, i.e. ``end - timeframe`` for an aligned end.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware (UTC)")
    step = timeframe_delta(timeframe)
    first, last = _ceil_to(start, step), _ceil_to(end, step) - step
    if last < first:
        raise ValueError(f"{format_moment(start)} to {format_moment(end)} holds no complete {timeframe} candle")
    return first, last


def range_end(last_day: date, timeframe: str, now: datetime) -> datetime:
    """The exclusive end of a backtest whose last day (inclusive) is ``last_day``: the midnight after it,
    or, while that midnight is still ahead (a range ending today), the close of the last ``timeframe``
    candle closed at ``now``: later candles do not exist yet, and the open one is not final."""
    midnight_after = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    step = int(timeframe_delta(timeframe).total_seconds())
    last_close = datetime.fromtimestamp(int(now.timestamp()) // step * step, tz=UTC)
    return min(midnight_after, last_close)


def format_moment(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
