"""The exchange's market list (Binance's ``exchangeInfo``), kept beside the candles for backtests without a network.

Why: Freqtrade loads the exchange's markets when it starts, even to backtest on local candles, and a
backtest container has no network at all (its strategy code is untrusted). The worker fetches the list
from the exchange (or the local stand-in) and keeps it in the market-data cache; the docker runner
serves that file to Freqtrade inside the container, on the container's own loopback.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import ccxt
import requests

from gentrade.freqtrade.exchange_config import EXCHANGE
from gentrade.freqtrade.userdir import write_atomically

log = logging.getLogger(__name__)

SERVED_DIR = ".exchange"  # under the cache root; served as the root of the exchange's public API
PUBLIC_API_PATH = "api/v3"  # ccxt's binance public API, relative to its host
MAX_AGE_SECONDS = 3600.0
TIMEOUT_SECONDS = 30.0


class MarketListUnavailable(Exception):
    """No market list could be fetched and none is cached."""


def served_root(cache_root: Path) -> Path:
    return cache_root / SERVED_DIR


def market_list_file(cache_root: Path) -> Path:
    return served_root(cache_root) / PUBLIC_API_PATH / "exchangeInfo"


def public_api_url(exchange_api_url: str | None) -> str:
    """Where the exchange's public REST API is: the stand-in's, or ccxt's own for the real exchange."""
    if exchange_api_url:
        return exchange_api_url.rstrip("/")
    return str(getattr(ccxt, EXCHANGE)().urls["api"]["public"]).rstrip("/")


def ensure_market_list(cache_root: Path, exchange_api_url: str | None, max_age: float = MAX_AGE_SECONDS) -> Path:
    """The cached market list, fetched again when older than ``max_age``. A stale copy is used (with a
    warning) while the exchange cannot be reached: listings change rarely, and the candles are local."""
    path = market_list_file(cache_root)
    if path.exists() and time.time() - path.stat().st_mtime < max_age:
        return path
    url = f"{public_api_url(exchange_api_url)}/exchangeInfo"
    try:
        response = requests.get(url, timeout=TIMEOUT_SECONDS)
        response.raise_for_status()
        response.json()  # a list that does not parse is no list
    except (requests.RequestException, ValueError) as exc:
        if path.exists():
            log.warning("could not refresh the market list from %s (using the cached one): %s", url, exc)
            return path
        raise MarketListUnavailable(f"the exchange's market list could not be fetched from {url}: {exc}") from exc
    write_atomically(path, response.text, mode=0o644)  # public data, read by the containers' own user
    return path
