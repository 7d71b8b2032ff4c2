"""Deterministic synthetic candles: the same (pair, time) always gives the same candle.

Prices are a pure function of the timestamp (slow and fast cycles plus hashed noise), not a
random walk, so any slice of history can be produced on its own and two requests for
overlapping ranges agree candle for candle. They trend and oscillate enough for indicator
strategies to trade. They are synthetic, and labelled so wherever they are served.
"""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)
TIMEFRAME_SECONDS = {"1m": 60, "5m": 300, "15m": 900, "30m": 1800, "1h": 3600, "4h": 14400, "1d": 86400}
# (period in days, amplitude of log-price): a slow trend, a weekly swing and an intraday wiggle.
_CYCLES = ((90.0, 0.25), (7.0, 0.06), (0.5, 0.012))


def _uniform(keys: np.ndarray, salt: int) -> np.ndarray:
    """splitmix64 of each key: reproducible uniform noise in [0, 1)."""
    with np.errstate(over="ignore"):
        z = (keys.astype(np.uint64) + np.uint64(salt) * np.uint64(0x9E3779B97F4A7C15)) & _MASK
        z = ((z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & _MASK
        z = ((z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & _MASK
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def _seed(pair: str) -> int:
    return zlib.crc32(pair.encode())


def _close(pair: str, seconds: np.ndarray, timeframe_seconds: int) -> np.ndarray:
    seed = _seed(pair)
    base = 10 ** (1 + seed % 4) * (1 + (seed >> 8) % 9)  # 10 .. 90000: pairs differ in scale
    days = seconds / 86400.0
    log_price = np.zeros_like(days)
    for index, (period, amplitude) in enumerate(_CYCLES):
        phase = ((seed >> (4 * index)) % 360) * np.pi / 180
        log_price += amplitude * np.sin(2 * np.pi * days / period + phase)
    noise = _uniform(seconds // timeframe_seconds, seed) - 0.5
    return base * np.exp(log_price + 0.004 * noise * np.sqrt(timeframe_seconds / 300))


def synthetic_ohlcv(pair: str, timeframe: str, start_ms: int, count: int) -> np.ndarray:
    """``count`` candles from the candle opening at or after ``start_ms``: rows of [ms, o, h, l, c, v]."""
    step = TIMEFRAME_SECONDS[timeframe]
    first = -(-start_ms // (step * 1000)) * step  # align up to the timeframe
    seconds = first + step * np.arange(count, dtype=np.int64)
    close = _close(pair, seconds, step)
    open_ = _close(pair, seconds - step, step)
    seed = _seed(pair)
    wick = 0.002 * np.sqrt(step / 300)
    high = np.maximum(open_, close) * (1 + wick * _uniform(seconds, seed + 1))
    low = np.minimum(open_, close) * (1 - wick * _uniform(seconds, seed + 2))
    volume = 100 + 900 * _uniform(seconds, seed + 3)
    return np.column_stack([seconds * 1000, open_, high, low, close, volume])


def synthetic_frame(pair: str, timeframe: str, start_ms: int, count: int) -> pd.DataFrame:
    """The same candles as a Freqtrade-style dataframe (``date`` in UTC)."""
    rows = synthetic_ohlcv(pair, timeframe, start_ms, count)
    frame = pd.DataFrame(rows[:, 1:], columns=["open", "high", "low", "close", "volume"])
    frame.insert(0, "date", pd.to_datetime(rows[:, 0].astype(np.int64), unit="ms", utc=True))
    return frame
