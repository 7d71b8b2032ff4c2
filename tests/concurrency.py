"""Races and waits: calls released at the same instant, backends blocked on a lock, and polling until a
condition holds (never hanging when it does not)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import psycopg

T = TypeVar("T")


def all_at_once(calls: list[Callable[[], T]], timeout: float = 60) -> list[T]:
    """Run each call in its own thread, all released by one barrier, so they really overlap; results in order."""
    barrier = threading.Barrier(len(calls), timeout=timeout)

    def run(call: Callable[[], T]) -> T:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(run, call) for call in calls]
        return [future.result(timeout=timeout) for future in futures]


def backends_waiting(postgres_url: str, query_start: str) -> int:
    """How many PostgreSQL backends are blocked on a lock while running a statement that starts so."""
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        sql = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE %s"
        return conn.execute(sql, (query_start + "%",)).fetchone()[0]


def wait_until(
    condition: Callable[[], bool], timeout: float = 30, what: str = "the expected interleaving", every: float = 0.05
) -> float:
    """Poll every ``every`` seconds until ``condition`` holds; fail (never hang) when it does not within ``timeout``.
    Returns the seconds it took."""
    began = time.monotonic()
    while not condition():
        assert time.monotonic() - began < timeout, f"{what}: not within {timeout} s"
        time.sleep(every)
    return round(time.monotonic() - began, 2)
