"""What GenTrade measures, and one function per event that records it.

Label values come from fixed sets (route templates, known methods, outcomes, error kinds), never from
user input, so the number of series stays bounded whatever clients send. The metric objects are made on
first use (see the package docstring for why prometheus_client is imported late).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prometheus_client import Counter, Histogram

UNMATCHED_ROUTE = "<unmatched>"  # the route label of a request that matched no URL rule (404, 405)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "other"
# How a worker's delivery of a backtest ended (the task's outcome); others (busy, final, missing) ran nothing.
RUN_OUTCOMES = frozenset({"finished", "failed", "cancelled", "retry"})
TURN_COMPLETED, TURN_FAILED = "completed", "failed"
# Seconds to tens of minutes: a backtest waits for a free worker, then downloads and runs for up to 15 min.
BACKTEST_BUCKETS = (1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0)


@dataclass(frozen=True)
class _Instruments:
    http_requests: Counter
    http_duration: Histogram
    queue_wait: Histogram
    run_duration: Histogram
    agent_turns: Counter
    llm_errors: Counter


@functools.cache
def _instruments() -> _Instruments:
    from prometheus_client import Counter, Histogram

    return _Instruments(
        http_requests=Counter("gentrade_http_requests_total", "HTTP requests answered.", ("method", "route", "status")),
        http_duration=Histogram(
            "gentrade_http_request_duration_seconds",
            "Time to the response (its start, for a stream).",
            ("method", "route"),
        ),
        queue_wait=Histogram(
            "gentrade_backtest_queue_wait_seconds",
            "From a backtest's creation to the first worker picking it up.",
            buckets=BACKTEST_BUCKETS,
        ),
        run_duration=Histogram(
            "gentrade_backtest_run_seconds",
            "A worker's run of a backtest (data, verification, Freqtrade, results) by how it ended.",
            ("outcome",),
            buckets=BACKTEST_BUCKETS,
        ),
        agent_turns=Counter("gentrade_agent_turns_total", "Agent turns by how they ended.", ("outcome",)),
        llm_errors=Counter(
            "gentrade_llm_errors_total",
            "Failed model calls (after the client's own retries) by provider and kind.",
            ("provider", "kind"),
        ),
    )


def request_served(method: str, route: str, status: int, seconds: float | None) -> None:
    """One answered request; ``route`` is the URL rule's template (or ``UNMATCHED_ROUTE``)."""
    instruments = _instruments()
    method = method if method in METHODS else OTHER_METHOD
    instruments.http_requests.labels(method, route, str(status)).inc()
    if seconds is not None:
        instruments.http_duration.labels(method, route).observe(seconds)


def backtest_picked_up(waited_seconds: float) -> None:
    _instruments().queue_wait.observe(max(waited_seconds, 0.0))


def backtest_run_ended(outcome: str, seconds: float) -> None:
    """A worker's delivery of a backtest ended; deliveries that ran nothing are not runs and are ignored."""
    if outcome in RUN_OUTCOMES:
        _instruments().run_duration.labels(outcome).observe(seconds)


def agent_turn_ended(outcome: str) -> None:
    _instruments().agent_turns.labels(outcome).inc()


def llm_failed(provider: str, kind: str) -> None:
    """``kind`` is the agent's one classification of the error (``agents.errors.error_kind``), a fixed set."""
    _instruments().llm_errors.labels(provider, kind).inc()
