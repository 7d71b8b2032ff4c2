"""Which pairs the exchange lists, so a backtest of an unknown pair is a 422 at once, not a failure later.

Loaded with ccxt (Freqtrade's own exchange library) from the real exchange, or from the local
stand-in when ``GENTRADE_EXCHANGE_API_URL`` is set, and cached for an hour per process. If the
exchange cannot be reached the check is skipped: the worker's download and verification will
then report the pair precisely.
"""

from __future__ import annotations

import logging
import threading
import time

import ccxt

from gentrade.freqtrade.exchange_config import EXCHANGE

CACHE_SECONDS = 3600
TIMEOUT_MS = 5000
log = logging.getLogger(__name__)
_lock = threading.Lock()
_cache: dict[str | None, tuple[float, frozenset[str]]] = {}


def _load(exchange_api_url: str | None) -> frozenset[str]:
    config: dict[str, object] = {"timeout": TIMEOUT_MS, "options": {"fetchMarkets": {"types": ["spot"]}}}
    if exchange_api_url:
        config["urls"] = {"api": {"public": exchange_api_url.rstrip("/")}}
        config["options"] = {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False}
    exchange = getattr(ccxt, EXCHANGE)(config)
    markets = exchange.load_markets()
    return frozenset(symbol for symbol, market in markets.items() if market.get("spot") and market.get("active", True))


def listed_pairs(exchange_api_url: str | None) -> frozenset[str] | None:
    """The exchange's active spot pairs, or None when they cannot be loaded right now."""
    with _lock:
        cached = _cache.get(exchange_api_url)
        if cached and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        try:
            pairs = _load(exchange_api_url)
        except Exception as exc:  # ccxt raises many kinds; any of them means "unknown right now"
            log.warning("could not load the exchange's markets (pairs not checked): %s", exc)
            return None
        _cache[exchange_api_url] = (time.monotonic(), pairs)
        return pairs
