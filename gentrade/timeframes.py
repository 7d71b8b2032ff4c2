"""The candle timeframes GenTrade supports, and their lengths: one table for drafts, candle arithmetic,
market data and the exchange stand-in (Freqtrade's spelling, shortest first)."""

from __future__ import annotations

TIMEFRAME_SECONDS: dict[str, int] = {
    "1m": 60,
    "5m": 300,
    "15m": 900,
    "30m": 1800,
    "1h": 3600,
    "4h": 14400,
    "1d": 86400,
}
TIMEFRAME_MINUTES: dict[str, int] = {name: seconds // 60 for name, seconds in TIMEFRAME_SECONDS.items()}
TIMEFRAMES: tuple[str, ...] = tuple(TIMEFRAME_SECONDS)
