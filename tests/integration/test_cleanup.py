"""The suite's own cleaning (``tests.database.clean_database``): a transaction still open on the test tables, even one
taking their locks in the opposite order (a backtest, then its user, as the worker's ``_remove_orphans`` does),
delays the ``TRUNCATE`` instead of deadlocking with it, and the warning names what held the tables."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psycopg
import pytest
from flask import Flask

from tests.database import CleanupContention, clean_database


def truncate_waiting(postgres_url: str, timeout: float = 5) -> None:
    """Return once a TRUNCATE waits for the ``backtests`` lock (after it has taken ``users``)."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(postgres_url, autocommit=True) as watcher:
        while time.monotonic() < deadline:
            waiting = watcher.execute(
                "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                " WHERE NOT l.granted AND l.relation = 'backtests'::regclass AND a.query LIKE 'TRUNCATE%'"
            ).fetchone()
            if waiting and waiting[0]:
                return
            time.sleep(0.01)
    raise AssertionError("no TRUNCATE waited for backtests")


def test_the_cleaning_gives_way_to_a_transaction_locking_child_then_parent_and_names_it(
    app: Flask, data_dir: Path, postgres_url: str
) -> None:
    holder = psycopg.connect(postgres_url, application_name="orphan-check")
    failures: list[BaseException] = []

    def then_read_the_user() -> None:
        try:
            truncate_waiting(postgres_url)
            holder.execute("SELECT count(*) FROM users")  # waits for the TRUNCATE's lock: a deadlock if it waited too
            holder.commit()
        except BaseException as exc:
            failures.append(exc)

    try:
        holder.execute("SELECT count(*) FROM backtests")  # an open transaction: ACCESS SHARE on backtests
        other_side = threading.Thread(target=then_read_the_user)
        other_side.start()
        with pytest.warns(CleanupContention) as caught:
            clean_database(app, data_dir)
        other_side.join(timeout=10)
    finally:
        holder.close()

    assert failures == []  # the other transaction was not made a deadlock's victim
    message = str(caught[0].message)
    assert "LockNotAvailable" in message
    assert "DeadlockDetected" not in message
    assert "this test process" in message
    assert "(orphan-check)" in message
    assert "AccessShareLock on backtests" in message  # the cycle, as it was
    assert "AccessShareLock (waiting) on users" in message
    assert "last statement: 'SELECT count(*) FROM users'" in message
