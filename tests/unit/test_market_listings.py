"""The exchange's pair listings under load (``gentrade.freqtrade.markets.PairListings``), with a fake loader and
clock: one load per exchange at a time, a stale list served while it refreshes or while refreshes fail (for a
bounded time), failures remembered briefly, and ``ListingUnavailable`` only when no list can be served."""

from __future__ import annotations

import threading
import time

import pytest

from gentrade.freqtrade.markets import (
    FAILURE_SECONDS,
    FRESH_SECONDS,
    STALE_LIMIT_SECONDS,
    ListingUnavailable,
    PairListings,
)

URL = "http://exchange.test/api/v3"
PAIRS = frozenset({"BTC/USDT", "ETH/USDT"})
NEWER = frozenset({"BTC/USDT", "ETH/USDT", "SOL/USDT"})
WAIT = 5.0  # seconds a test waits for another thread at most


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeExchange:
    """Loads ``answers`` in turn (an exception is raised); ``gate``, when set, holds each load until it opens."""

    def __init__(self, *answers: frozenset[str] | Exception, gated: bool = False) -> None:
        self.answers = list(answers)
        self.calls = 0
        self.started = threading.Event()
        self.gate = threading.Event()
        if not gated:
            self.gate.set()

    def __call__(self, exchange_api_url: str | None) -> frozenset[str]:
        self.calls += 1
        self.started.set()
        assert self.gate.wait(WAIT), "the test never let the load finish"
        answer = self.answers[min(self.calls, len(self.answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer


def in_thread(work: object) -> tuple[threading.Thread, dict[str, object]]:
    """Run ``work()`` in a thread; the dict gets its ``result`` or ``error``."""
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["result"] = work()  # type: ignore[operator]
        except Exception as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def test_a_fresh_list_is_loaded_once() -> None:
    exchange, clock = FakeExchange(PAIRS), Clock()
    listings = PairListings(exchange, clock)
    assert listings.pairs(URL) == PAIRS
    clock.now += FRESH_SECONDS - 1
    assert listings.pairs(URL) == PAIRS
    assert exchange.calls == 1
    clock.now += 2  # no longer fresh: loaded again
    assert listings.pairs(URL) == PAIRS
    assert exchange.calls == 2


def test_concurrent_callers_without_a_list_share_one_load() -> None:
    exchange = FakeExchange(PAIRS, gated=True)
    listings = PairListings(exchange, Clock())
    callers = [in_thread(lambda: listings.pairs(URL)) for _ in range(8)]
    assert exchange.started.wait(WAIT)
    time.sleep(0.1)  # the others are waiting for that load, not starting their own
    exchange.gate.set()
    for thread, outcome in callers:
        thread.join(WAIT)
        assert outcome == {"result": PAIRS}
    assert exchange.calls == 1


def test_a_slow_refresh_does_not_hold_up_a_caller_that_has_a_stale_list() -> None:
    exchange, clock = FakeExchange(NEWER, gated=True), Clock()
    listings = PairListings(exchange, clock, good={URL: (clock.now, PAIRS)})
    clock.now += FRESH_SECONDS + 1
    refresher, refreshed = in_thread(lambda: listings.pairs(URL))
    assert exchange.started.wait(WAIT)
    began = time.monotonic()
    assert listings.pairs(URL) == PAIRS  # the stale list, at once
    assert time.monotonic() - began < 1.0
    assert exchange.calls == 1
    exchange.gate.set()
    refresher.join(WAIT)
    assert refreshed == {"result": NEWER}
    assert listings.pairs(URL) == NEWER


def test_a_failure_is_remembered_briefly_then_the_exchange_is_asked_again() -> None:
    exchange, clock = FakeExchange(OSError("connection refused"), PAIRS), Clock()
    listings = PairListings(exchange, clock)
    with pytest.raises(ListingUnavailable) as first:
        listings.pairs(URL)
    assert "connection refused" in str(first.value)
    assert first.value.retry_after == FAILURE_SECONDS
    clock.now += FAILURE_SECONDS - 10
    with pytest.raises(ListingUnavailable) as again:
        listings.pairs(URL)
    assert again.value.retry_after == 10  # what is left of the failure's time
    assert exchange.calls == 1  # not asked again meanwhile
    clock.now += 11
    assert listings.pairs(URL) == PAIRS
    assert exchange.calls == 2


def test_the_last_good_list_is_served_while_refreshes_fail_for_a_bounded_time() -> None:
    exchange, clock = FakeExchange(TimeoutError("timed out")), Clock()
    loaded_at = clock.now
    listings = PairListings(exchange, clock, good={URL: (loaded_at, PAIRS)})
    clock.now = loaded_at + FRESH_SECONDS + 1
    assert listings.pairs(URL) == PAIRS  # the refresh failed: stale
    assert listings.pairs(URL) == PAIRS  # the failure is remembered: not asked again
    assert exchange.calls == 1
    clock.now = loaded_at + STALE_LIMIT_SECONDS + 1
    with pytest.raises(ListingUnavailable):
        listings.pairs(URL)
    assert exchange.calls == 2


def test_a_caller_waiting_for_a_failed_load_is_refused_with_its_reason() -> None:
    exchange = FakeExchange(OSError("exchange down"), gated=True)
    listings = PairListings(exchange, Clock())
    leader, led = in_thread(lambda: listings.pairs(URL))
    assert exchange.started.wait(WAIT)
    follower, followed = in_thread(lambda: listings.pairs(URL))
    time.sleep(0.1)
    exchange.gate.set()
    for thread in (leader, follower):
        thread.join(WAIT)
    assert isinstance(led["error"], ListingUnavailable)
    assert isinstance(followed["error"], ListingUnavailable)
    assert "exchange down" in str(followed["error"])
    assert exchange.calls == 1


def test_exchanges_are_listed_apart() -> None:
    exchange = FakeExchange(PAIRS, NEWER)
    listings = PairListings(exchange, Clock())
    assert listings.pairs(URL) == PAIRS
    assert listings.pairs(None) == NEWER  # the real exchange: its own list
    assert exchange.calls == 2
