"""A local stand-in for Binance's public REST API, serving deterministic SYNTHETIC candles.

Freqtrade (through ccxt) loads markets from ``GET /api/v3/exchangeInfo`` and downloads candles
from ``GET /api/v3/klines``. Pointing ccxt's public URL here lets the stock, unpatched
``freqtrade download-data`` and ``freqtrade backtesting`` run with no outside connection. Tests
tell it to list a pair late, leave gaps, fail or hang, to exercise data verification.
"""

from gentrade.exchange_sim.server import ExchangeSimulator, SimulatorConfig

__all__ = ["ExchangeSimulator", "SimulatorConfig"]
