"""The exchange stand-in the backtest pipeline downloads from: its pairs (healthy ones and faulty ones) and
the dates a test backtests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gentrade.exchange_sim import SimulatorConfig

PAIRS = ("BTC/USDT", "ETH/USDT", "LATE/USDT", "GAPPY/USDT", "FAILS/USDT", "SOL/USDT", "ADA/USDT")
TODAY = datetime.now(UTC).date()
END = TODAY - timedelta(days=2)
START = END - timedelta(days=30)


def exchange_config() -> SimulatorConfig:
    """The stand-in's pairs: two healthy ones, a late listing, a gap, one whose klines answer HTTP 500."""
    listed = {"LATE/USDT": datetime.combine(END - timedelta(days=10), datetime.min.time(), tzinfo=UTC)}
    gap_start = datetime.combine(END - timedelta(days=12), datetime.min.time(), tzinfo=UTC)
    return SimulatorConfig(
        pairs=PAIRS,
        listed=listed,
        gaps={"GAPPY/USDT": [(gap_start, gap_start + timedelta(days=2))]},
        failing={"FAILS/USDT"},
    )
