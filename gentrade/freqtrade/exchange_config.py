"""The config Freqtrade gets on top of the user's ``config.json`` for one command (download or backtest).

Only the exchange block and the pair list change per command. With ``GENTRADE_EXCHANGE_API_URL``
set (embedded default, tests, demo), ccxt's public API is redirected to the local stand-in and
Freqtrade is told to fetch candles only through ccxt (no archive host). Production leaves it
unset and talks to the real exchange.
"""

from __future__ import annotations

from typing import Any

EXCHANGE = "binance"


def command_overrides(
    pairs: list[str] | tuple[str, ...], stake_currency: str, exchange_api_url: str | None
) -> dict[str, Any]:
    exchange: dict[str, Any] = {"name": EXCHANGE, "pair_whitelist": list(pairs)}
    if exchange_api_url:
        exchange["only_from_ccxt"] = True
        exchange["ccxt_config"] = {
            "urls": {"api": {"public": exchange_api_url.rstrip("/")}},
            "options": {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False},
        }
        exchange["ccxt_async_config"] = exchange["ccxt_config"]
    return {
        "exchange": exchange,
        "stake_currency": stake_currency,
        "pairlists": [{"method": "StaticPairList"}],
        "max_open_trades": len(pairs),
    }
