"""Which pairs the exchange lists, so a backtest of an unknown pair is a 422 at once, not a failure later.

Loaded with ccxt (Freqtrade's own exchange library) from the real exchange, or from the local stand-in when
``GENTRADE_EXCHANGE_API_URL`` is set. Every backtest request asks, so one slow or failing exchange must not
stall them all:

- a loaded list is fresh for ``FRESH_SECONDS``;
- one load per exchange URL at a time (single flight): meanwhile the other callers use the last good list if
  there is one, else wait for that load (at most ``LOAD_WAIT_SECONDS``); the lock guards the bookkeeping only,
  never the network call, so nobody queues behind it;
- a failed load is remembered for ``FAILURE_SECONDS``: a down exchange is not asked again by every request;
- while refreshes fail, the last good list is still served (stale) until ``STALE_LIMIT_SECONDS`` after it
  was loaded.

Without a usable list :func:`listed_pairs` raises :class:`ListingUnavailable`, which the API answers with a
503 and ``Retry-After`` ("the exchange's market list is unavailable, try again shortly"), distinct from the
422 for a pair the exchange does not list. Until issue 18 the check was skipped then, and the worker reported
the pair later.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable

import ccxt

from gentrade.freqtrade.exchange_config import EXCHANGE

FRESH_SECONDS = 3600
STALE_LIMIT_SECONDS = 6 * 3600
FAILURE_SECONDS = 30
TIMEOUT_MS = 5000
LOAD_WAIT_SECONDS = 2 * TIMEOUT_MS / 1000  # a load may take a request or two
STILL_LOADING_RETRY_SECONDS = 5
log = logging.getLogger(__name__)

Loader = Callable[[str | None], frozenset[str]]


class ListingUnavailable(Exception):
    """No usable list of the exchange's pairs: its load failed (or is still running) and none is cached."""

    def __init__(self, reason: str, retry_after: float) -> None:
        super().__init__(reason)
        self.retry_after = max(1, math.ceil(retry_after))


def load_spot_pairs(exchange_api_url: str | None) -> frozenset[str]:
    """The exchange's active spot pairs, asked over the network (ccxt's ``load_markets``)."""
    config: dict[str, object] = {"timeout": TIMEOUT_MS, "options": {"fetchMarkets": {"types": ["spot"]}}}
    if exchange_api_url:
        config["urls"] = {"api": {"public": exchange_api_url.rstrip("/")}}
        config["options"] = {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False}
    exchange = getattr(ccxt, EXCHANGE)(config)
    markets = exchange.load_markets()
    return frozenset(symbol for symbol, market in markets.items() if market.get("spot") and market.get("active", True))


class PairListings:
    """The lists of pairs per exchange URL, loaded by ``load`` as the module docstring says (``clock`` in seconds)."""

    def __init__(
        self,
        load: Loader,
        clock: Callable[[], float] = time.monotonic,
        good: dict[str | None, tuple[float, frozenset[str]]] | None = None,
    ) -> None:
        self._load = load
        self._clock = clock
        self._lock = threading.Lock()  # for the three dicts only: never held across a load
        self.good = good if good is not None else {}  # the last good list per URL, and when it was loaded
        self._failed: dict[str | None, tuple[float, str]] = {}  # the last failed load per URL: when, and why
        self._loading: dict[str | None, threading.Event] = {}  # the load under way per URL, set when it ends

    def pairs(self, exchange_api_url: str | None) -> frozenset[str]:
        """The exchange's active spot pairs; :class:`ListingUnavailable` when there is no usable list."""
        with self._lock:
            now = self._clock()
            loaded_at, last_good = self.good.get(exchange_api_url, (-math.inf, None))
            if last_good is not None and now - loaded_at < FRESH_SECONDS:
                return last_good
            usable = last_good if now - loaded_at < STALE_LIMIT_SECONDS else None
            failure = self._failed.get(exchange_api_url)
            if failure is not None and now - failure[0] < FAILURE_SECONDS:
                return _stale_or_refuse(usable, failure[1], failure[0] + FAILURE_SECONDS - now)
            under_way = self._loading.get(exchange_api_url)
            if under_way is None:
                mine = self._loading[exchange_api_url] = threading.Event()
        if under_way is None:
            return self._load_now(exchange_api_url, mine, usable)
        if usable is not None:
            return usable  # stale, while another caller refreshes it
        return self._wait_for(exchange_api_url, under_way)

    def _load_now(
        self, exchange_api_url: str | None, flight: threading.Event, usable: frozenset[str] | None
    ) -> frozenset[str]:
        """This caller loads, for everyone asking meanwhile; the outcome is recorded before they are woken."""
        try:
            pairs = self._load(exchange_api_url)
        except Exception as exc:  # ccxt raises many kinds; any of them means "unknown right now"
            reason = f"{type(exc).__name__}: {exc}"
            log.warning("could not load the exchange's markets from %s: %s", exchange_api_url or EXCHANGE, reason)
            self._remember_failure(exchange_api_url, reason)
            if usable is not None:
                log.warning("serving the last good market list of %s meanwhile", exchange_api_url or EXCHANGE)
            return _stale_or_refuse(usable, reason, FAILURE_SECONDS)
        else:
            self._remember_success(exchange_api_url, pairs)
            return pairs
        finally:
            with self._lock:
                del self._loading[exchange_api_url]
            flight.set()

    def _remember_success(self, exchange_api_url: str | None, pairs: frozenset[str]) -> None:
        with self._lock:
            self.good[exchange_api_url] = (self._clock(), pairs)
            self._failed.pop(exchange_api_url, None)

    def _remember_failure(self, exchange_api_url: str | None, reason: str) -> None:
        with self._lock:
            self._failed[exchange_api_url] = (self._clock(), reason)

    def _wait_for(self, exchange_api_url: str | None, flight: threading.Event) -> frozenset[str]:
        """Without any list: wait for the load under way, then take what it left."""
        if not flight.wait(LOAD_WAIT_SECONDS):
            raise ListingUnavailable("the exchange's market list is still loading", STILL_LOADING_RETRY_SECONDS)
        with self._lock:
            now = self._clock()
            loaded_at, last_good = self.good.get(exchange_api_url, (-math.inf, None))
            failure = self._failed.get(exchange_api_url)
        if last_good is not None and now - loaded_at < FRESH_SECONDS:
            return last_good
        reason = failure[1] if failure is not None else "the load was interrupted"
        raise ListingUnavailable(reason, FAILURE_SECONDS)


def _stale_or_refuse(usable: frozenset[str] | None, reason: str, retry_after: float) -> frozenset[str]:
    if usable is None:
        raise ListingUnavailable(reason, retry_after)
    return usable


# The last good list per exchange URL and when it was loaded (``time.monotonic``), for the whole process.
_cache: dict[str | None, tuple[float, frozenset[str]]] = {}
_LISTINGS = PairListings(load_spot_pairs, good=_cache)


def listed_pairs(exchange_api_url: str | None) -> frozenset[str]:
    """The exchange's active spot pairs (see the module docstring); :class:`ListingUnavailable` without any."""
    return _LISTINGS.pairs(exchange_api_url)
