"""Deterministic synthetic candles: the same (pair, time) always gives the same candle.

A price is a pure function of its timestamp, so any slice of history can be produced on its
own and overlapping requests agree candle for candle. Two parts: slow cycles (days to months)
for trends, and a random walk pinned to zero every ``BRIDGE_CANDLES`` candles (a Brownian
bridge, from hashed increments) for the jagged dips and rallies indicators react to. They are
synthetic, and labelled so wherever they are served.
"""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

from gentrade.timeframes import TIMEFRAME_SECONDS

_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)
# (period in days, amplitude of log-price): cycles from a day to four months.
_CYCLES = tuple((1.0 * 1.7**k, 0.006 * (1.7**k) ** 0.5) for k in range(10))
BRIDGE_CANDLES = 96
STEP_VOLATILITY = 0.0025  # per 5-minute candle; scales with the square root of the timeframe


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
    phases = 2 * np.pi * _uniform(np.arange(len(_CYCLES)), seed)
    for (period, amplitude), phase in zip(_CYCLES, phases, strict=True):
        log_price += amplitude * np.sin(2 * np.pi * days / period + phase)
    walk = _bridge(seconds // timeframe_seconds, seed) * STEP_VOLATILITY * np.sqrt(timeframe_seconds / 300)
    return base * np.exp(log_price + walk)


def _bridge(candles: np.ndarray, seed: int) -> np.ndarray:
    """A random walk over each block of ``BRIDGE_CANDLES`` candles, pinned to 0 at both ends."""
    blocks = candles // BRIDGE_CANDLES
    result = np.empty(len(candles))
    for block in np.unique(blocks):
        keys = block * BRIDGE_CANDLES + np.arange(BRIDGE_CANDLES + 1)
        # Two uniforms -> a standard normal step (Box-Muller), reproducible per candle.
        u1, u2 = np.maximum(_uniform(keys, seed + 7), 1e-12), _uniform(keys, seed + 11)
        steps = np.sqrt(-2 * np.log(u1)) * np.cos(2 * np.pi * u2)
        steps[0] = 0.0
        walk = np.cumsum(steps)
        pinned = walk - np.arange(BRIDGE_CANDLES + 1) / BRIDGE_CANDLES * walk[-1]
        selected = blocks == block
        result[selected] = pinned[candles[selected] % BRIDGE_CANDLES]
    return result


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
