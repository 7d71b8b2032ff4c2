"""Is the cached market data fit to backtest on? Decided by reading the files, never by exit codes.

``freqtrade download-data`` exits 0 for unknown pairs, late listings, gaps and HTTP 500s, and
``backtesting`` then runs on whatever is there with at most a warning. So before a backtest every
pair's file is read and checked: it exists and has candles, dates are sorted, unique and on the
timeframe's grid, the candles cover the range, gaps stay within tolerance, no NaN, and
``low <= open, close <= high``. Nothing is backtested on data that fails.

Tolerances (real exchanges do have holes; Freqtrade fills them with flat zero-volume candles):

* ``MAX_GAP``: no hole longer than 6 hours of candles in a row (6 at 1h, 72 at 5m, none at 1d).
  Exchange maintenance windows last minutes to a few hours; a longer hole is missing history,
  and flat filler candles over it would distort indicators and trades.
* ``MAX_MISSING_SHARE``: at most 1 % of the range's candles missing in total. Freqtrade itself
  treats more than 1 % filled-up candles as worth reporting (``ohlcv_fill_up_missing_data``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gentrade.freqtrade.candle_times import format_moment, required_candles, timeframe_delta
from gentrade.freqtrade.market_data import candle_file

DATA_UNAVAILABLE = "data_unavailable"
DATA_INVALID = "data_invalid"
MAX_GAP = timedelta(hours=6)
MAX_MISSING_SHARE = 0.01
PRICES = ("open", "high", "low", "close")
COLUMNS = ("date", *PRICES, "volume")


class DataProblem(Exception):
    """The data cannot be backtested on; ``code`` is ``data_unavailable`` or ``data_invalid``."""

    def __init__(self, code: str, message: str, detail: dict[str, Any]) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail = detail


@dataclass(frozen=True)
class PairProblem:
    """The first problem found in one pair's file (``extra`` holds JSON-ready specifics)."""

    pair: str
    code: str
    message: str
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"pair": self.pair, "code": self.code, "message": self.message, **self.extra}


def check_candles(cache_root: Path, pairs: Iterable[str], timeframe: str, start: datetime, end: datetime) -> None:
    """Raise :class:`DataProblem` unless every pair's candles are fit for a backtest of ``[start, end)``.

    Every pair is checked; the error's code is that of the first pair with a problem, its message
    joins one sentence per bad pair, and ``detail["problems"]`` lists them all.
    """
    first, last = required_candles(start, end, timeframe)
    problems = [
        problem
        for pair in dict.fromkeys(pairs)
        if (problem := check_pair(cache_root, pair, timeframe, start, end)) is not None
    ]
    if problems:
        raise DataProblem(
            problems[0].code,
            "; ".join(problem.message for problem in problems),
            {
                "timeframe": timeframe,
                "start": _iso(start),
                "end": _iso(end),
                "first_candle_needed": _iso(first),
                "last_candle_needed": _iso(last),
                "max_gap_hours": MAX_GAP.total_seconds() / 3600,
                "max_missing_share": MAX_MISSING_SHARE,
                "problems": [problem.as_dict() for problem in problems],
            },
        )


def check_pair(cache_root: Path, pair: str, timeframe: str, start: datetime, end: datetime) -> PairProblem | None:
    """The first problem of one pair's file, or None when it is fit for ``[start, end)``."""
    needs = _Needs.of(pair, timeframe, start, end)
    frame = _read(cache_root, needs)
    if isinstance(frame, PairProblem):
        return frame
    dates = frame["date"]
    if not isinstance(dates.dtype, pd.DatetimeTZDtype) or dates.isna().any():
        return needs.problem(DATA_INVALID, f"dates are not all UTC timestamps (column type {dates.dtype})")
    ns = dates.dt.tz_convert(UTC).dt.as_unit("ns").astype("int64").to_numpy()
    window = (ns >= needs.first_ns) & (ns <= needs.end_ns)
    return (
        _structure_problem(needs, ns)
        or _coverage_problem(needs, ns)
        or _continuity_problem(needs, ns[window])
        or _value_problem(needs, frame, window, ns[window])
    )


@dataclass(frozen=True)
class _Needs:
    """The candles a backtest of ``[start, end)`` needs from one pair's file, and how to word a problem with them."""

    pair: str
    timeframe: str
    step: timedelta
    first: datetime  # the first candle the range needs
    end: datetime
    first_ns: int
    last_ns: int  # the last candle the range needs
    end_ns: int

    @classmethod
    def of(cls, pair: str, timeframe: str, start: datetime, end: datetime) -> _Needs:
        step = timeframe_delta(timeframe)
        first, last = required_candles(start, end, timeframe)
        return cls(pair, timeframe, step, first, end, _moment_ns(first), _moment_ns(last), _moment_ns(end))

    @property
    def step_ns(self) -> int:
        return _ns(self.step)

    def problem(self, code: str, text: str, **extra: Any) -> PairProblem:
        return PairProblem(self.pair, code, f"{self.pair} {self.timeframe}: {text}", extra)

    def unavailable(self, what: str) -> PairProblem:
        """No candles at all: ``what`` is missing over the whole range."""
        needed = f"needed from {format_moment(self.first)} until {format_moment(self.end)}"
        return self.problem(
            DATA_UNAVAILABLE, f"{what} ({needed})", missing_from=_iso(self.first), missing_until=_iso(self.end)
        )


def _read(cache_root: Path, needs: _Needs) -> pd.DataFrame | PairProblem:
    """The pair's candle file with every column a backtest reads, or the problem with it."""
    try:
        frame = pd.read_feather(candle_file(cache_root, needs.pair, needs.timeframe))
    except FileNotFoundError:
        return needs.unavailable("no candle data")
    except Exception as exc:
        return needs.problem(DATA_INVALID, f"unreadable candle file ({type(exc).__name__}: {exc})"[:300])
    absent = [column for column in COLUMNS if column not in frame.columns]
    if absent:
        return needs.problem(DATA_INVALID, f"candle file lacks the columns {', '.join(absent)}")
    if frame.empty:
        return needs.unavailable("no candles")
    return frame


def _structure_problem(needs: _Needs, ns: np.ndarray) -> PairProblem | None:
    """One candle per grid point, in order."""
    steps = np.diff(ns)
    if (where := np.flatnonzero(steps < 0)).size:
        i = where[0]
        return needs.problem(
            DATA_INVALID,
            f"dates out of order: {_fmt(ns[i + 1])} follows {_fmt(ns[i])} ({where.size} places)",
            at=_iso_ns(ns[i + 1]),
        )
    if (where := np.flatnonzero(steps == 0)).size:
        return needs.problem(
            DATA_INVALID,
            f"duplicate candle at {_fmt(ns[where[0]])} ({where.size} duplicates)",
            at=_iso_ns(ns[where[0]]),
        )
    if (where := np.flatnonzero(ns % needs.step_ns)).size:
        return needs.problem(
            DATA_INVALID,
            f"candle at {_fmt(ns[where[0]])} is off the {needs.timeframe} grid ({where.size} candles)",
            at=_iso_ns(ns[where[0]]),
        )
    return None


def _coverage_problem(needs: _Needs, ns: np.ndarray) -> PairProblem | None:
    """The first and last candle the range needs."""
    if ns[0] > needs.first_ns:
        return needs.problem(
            DATA_UNAVAILABLE,
            f"no candles before {_fmt(ns[0])} (needed from {format_moment(needs.first)})",
            missing_from=_iso(needs.first),
            missing_until=_iso_ns(ns[0]),
        )
    if ns[-1] < needs.last_ns:
        return needs.problem(
            DATA_UNAVAILABLE,
            f"no candles after {_fmt(ns[-1])} (needed until {format_moment(needs.end)})",
            missing_from=_iso_ns(ns[-1] + needs.step_ns),
            missing_until=_iso(needs.end),
        )
    return None


def _continuity_problem(needs: _Needs, inside: np.ndarray) -> PairProblem | None:
    """Holes inside the range (Freqtrade's trim keeps candles with start <= date <= end): none too long, few overall."""
    step_ns = needs.step_ns
    allowed = MAX_GAP // needs.step
    holes = np.diff(inside) // step_ns - 1
    if (where := np.flatnonzero(holes > allowed)).size:
        i = where[0]
        gap_from, gap_until = inside[i] + step_ns, inside[i + 1]
        return needs.problem(
            DATA_INVALID,
            f"gap of {holes[i]} missing candles from {_fmt(gap_from)} to {_fmt(gap_until)} "
            f"(at most {_hours(MAX_GAP)} h of candles may be missing in a row: {allowed} at {needs.timeframe})",
            gap_from=_iso_ns(gap_from),
            gap_until=_iso_ns(gap_until),
            missing_candles=int(holes[i]),
        )
    expected = (needs.last_ns - needs.first_ns) // step_ns + 1
    present = int(np.count_nonzero(inside <= needs.last_ns))
    if (missing := expected - present) > MAX_MISSING_SHARE * expected:
        return needs.problem(
            DATA_INVALID,
            f"{missing} of {expected} candles missing ({missing / expected:.1%}; "
            f"at most {MAX_MISSING_SHARE:.0%} allowed)",
            missing_candles=int(missing),
            expected_candles=int(expected),
        )
    return None


def _value_problem(needs: _Needs, frame: pd.DataFrame, window: np.ndarray, inside: np.ndarray) -> PairProblem | None:
    """Prices and volumes inside the range: numbers, positive, ``low <= open, close <= high``."""
    try:
        values = frame.loc[window, [*PRICES, "volume"]].to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as exc:
        return needs.problem(DATA_INVALID, f"non-numeric candle values ({exc})"[:300])
    open_, high, low, close, volume = values.T
    checks: tuple[tuple[np.ndarray, str], ...] = (
        (np.isnan(values).any(axis=1), "NaN in open/high/low/close/volume"),
        ((values[:, :4] <= 0).any(axis=1) | (volume < 0), "non-positive price or negative volume"),
        (low > np.minimum(open_, close), "low above open or close"),
        (np.maximum(open_, close) > high, "high below open or close"),
    )
    for bad, what in checks:
        if (where := np.flatnonzero(bad)).size:
            at = inside[where[0]]
            return needs.problem(DATA_INVALID, f"{what} at {_fmt(at)} ({where.size} candles)", at=_iso_ns(at))
    return None


def _ns(delta: timedelta) -> int:
    return int(delta.total_seconds()) * 1_000_000_000


def _moment_ns(moment: datetime) -> int:
    return int(pd.Timestamp(moment).as_unit("ns").value)


def _fmt(ns: int | np.integer) -> str:
    return format_moment(pd.Timestamp(int(ns), tz=UTC).to_pydatetime())


def _iso_ns(ns: int | np.integer) -> str:
    return pd.Timestamp(int(ns), tz=UTC).isoformat()


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:g}"
