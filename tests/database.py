"""The test database: a fresh schema, and the clean between tests (``client`` runs it), which gives way to
other connections instead of deadlocking with them and says who held the tables when it had to wait."""

from __future__ import annotations

import os
import shutil
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import psutil
import psycopg
import psycopg.errors
from flask import Flask
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from gentrade.extensions import db


def reset_schema(url: str, schema: str = "public") -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')


# The clean gives way instead of waiting: below PostgreSQL's deadlock_timeout (1 s by default), so when
# another transaction holds a table the TRUNCATE needs, the TRUNCATE times out and is tried again before
# a deadlock can even be detected, and the other side carries on unharmed.
CLEAN_LOCK_TIMEOUT_SECONDS = 0.5
CLEAN_LOOK_AFTER_SECONDS = 0.3  # a TRUNCATE still waiting this long: note what holds the tables, while it does
CLEAN_GIVE_UP_SECONDS = 30  # then the tables are held for good (a leaked transaction): fail, naming it
CLEAN_RETRY_SECONDS = 0.1


class CleanupContention(UserWarning):
    """Another connection held the test tables while a test cleaned up: work that outlived its test."""


def clean_database(app: Flask, data_dir: Path) -> None:
    with app.app_context():
        db.session.remove()
        _truncate_all(db.engine, [table.name for table in db.metadata.sorted_tables])
    shutil.rmtree(data_dir / "ft_userdata", ignore_errors=True)


def _truncate_all(engine: Engine, tables: list[str]) -> None:
    """TRUNCATE every table, taking its locks under ``lock_timeout`` and trying again when another connection
    holds one (or, should it come to that, when PostgreSQL picks this TRUNCATE as a deadlock's victim).

    Nothing should be running by now (the fixtures that start background work wait for it), so a wait is
    reported with what held the tables, from ``pg_stat_activity`` and ``pg_locks``: a ``CleanupContention``
    warning in the run's summary, or the error when the tables stay held for ``CLEAN_GIVE_UP_SECONDS``.
    """
    holders: dict[tuple[Any, ...], str] = {}  # each holder as first seen
    refusals: list[str] = []
    began = time.monotonic()
    while True:
        try:
            _truncate_once(engine, tables, holders)
            break
        except OperationalError as exc:
            if not isinstance(exc.orig, psycopg.errors.LockNotAvailable | psycopg.errors.DeadlockDetected):
                raise
            refusals.append(type(exc.orig).__name__)
            if time.monotonic() - began > CLEAN_GIVE_UP_SECONDS:
                raise RuntimeError(
                    f"could not clean the test database: {_contention(refusals, holders, began)}"
                ) from exc
            time.sleep(CLEAN_RETRY_SECONDS)
    if refusals:
        warnings.warn(CleanupContention(f"the cleaning TRUNCATE {_contention(refusals, holders, began)}"), stacklevel=3)


def _truncate_once(engine: Engine, tables: list[str], holders: dict[tuple[Any, ...], str]) -> None:
    """One TRUNCATE under ``lock_timeout``. While it waits for a lock, a watcher notes in ``holders`` who holds
    or waits for the tables: afterwards they may be gone, their transaction carried on once this one gave way."""
    statement = "TRUNCATE {} CASCADE".format(", ".join(f'"{table}"' for table in tables))
    finished = threading.Event()
    with engine.begin() as conn:
        own_pid = conn.connection.dbapi_connection.info.backend_pid  # type: ignore[union-attr]

        def note_holders() -> None:
            if finished.wait(CLEAN_LOOK_AFTER_SECONDS):
                return
            try:
                for key, description in lock_holders(engine, tables, besides=own_pid):
                    holders.setdefault(key, description)
            except Exception as exc:
                holders.setdefault(("error",), f"(could not look: {exc})")

        watcher = threading.Thread(target=note_holders, name="clean-lock-watcher", daemon=True)
        watcher.start()
        try:
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{int(CLEAN_LOCK_TIMEOUT_SECONDS * 1000)}ms'")
            conn.exec_driver_sql(statement)
        finally:
            finished.set()
            watcher.join()


def _contention(refusals: list[str], holders: dict[tuple[Any, ...], str], began: float) -> str:
    kinds = ", ".join(f"{refusals.count(kind)} {kind}" for kind in dict.fromkeys(refusals))
    held_by = "\n".join(holders.values()) or "nothing that was still there when looked at"
    return f"waited {time.monotonic() - began:.1f} s ({kinds}) for the tables, held by:\n{held_by}"


def lock_holders(engine: Engine, tables: list[str], besides: int) -> list[tuple[tuple[Any, ...], str]]:
    """The connections (but ``besides``) holding or waiting for locks on ``tables``: each with the local process
    it belongs to, its state, how long its transaction has been open, its locks and its last statement."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                """
                SELECT a.pid, a.application_name, a.client_port, a.state, now() - a.xact_start AS open_for,
                       left(a.query, 300) AS query,
                       string_agg(DISTINCT l.mode || CASE WHEN l.granted THEN ' on ' ELSE ' (waiting) on ' END
                                  || c.relname, ', ') AS locks
                FROM pg_locks l
                JOIN pg_class c ON c.oid = l.relation
                JOIN pg_stat_activity a ON a.pid = l.pid
                WHERE a.datname = current_database() AND a.pid NOT IN (pg_backend_pid(), :besides)
                  AND c.relname = ANY(:tables)
                GROUP BY a.pid, a.application_name, a.client_port, a.state, a.xact_start, a.query
                """
            ),
            {"tables": tables, "besides": besides},
        ).all()
    return [
        (
            (row.pid, row.query, row.locks),
            f"backend {row.pid} of {_local_process(row.client_port)}"
            f"{f' ({row.application_name})' if row.application_name else ''}: {row.state}"
            f"{f', in a transaction open for {row.open_for}' if row.open_for is not None else ''}; {row.locks};"
            f" last statement: {' '.join(row.query.split())!r}",
        )
        for row in rows
    ]


def _local_process(client_port: int | None) -> str:
    """Which process on this machine owns the connection whose client port is ``client_port``."""
    if client_port is None:
        return "a server process"  # autovacuum, say
    if client_port < 0:
        return "a Unix-socket client"
    try:
        for connection in psutil.net_connections(kind="tcp"):
            if connection.laddr and connection.laddr.port == client_port and connection.pid:
                if connection.pid == os.getpid():
                    return f"this test process (pid {connection.pid})"
                command = " ".join(psutil.Process(connection.pid).cmdline()[:8])
                return f"pid {connection.pid} ({command})"
    except psutil.Error:
        pass
    return f"client port {client_port}"
