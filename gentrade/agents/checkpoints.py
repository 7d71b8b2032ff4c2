"""LangGraph checkpointers keyed by the chat's ``thread_id``: PostgreSQL in production, SQLite embedded.

One per process, created on first use (a connection pool for PostgreSQL). On PostgreSQL the tables are
migration 0004's: nothing at run time creates them, so no two processes race to (the saver's set-up
creates an index CONCURRENTLY and would wait on every open transaction). The embedded SQLite file is
set up on first use (SQLite's own file lock serialises that). ``delete_thread`` is how a deleted chat
or user loses its checkpoints (FR.16).
"""

from __future__ import annotations

import atexit
import sqlite3
import threading
from pathlib import Path
from typing import Any

import psycopg
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.sqlite import SqliteSaver
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from gentrade.database import closed_by_server, libpq_url
from gentrade.settings import Settings

_lock = threading.Lock()
_savers: dict[str, BaseCheckpointSaver] = {}


def _check_alive(connection: psycopg.Connection[Any]) -> None:
    """The pool's check on checkout: a connection the server closed (a restart, ``pg_terminate_backend``)
    is replaced before an agent turn or a deletion uses it; no round trip (see ``gentrade.database``)."""
    if closed_by_server(connection):
        connection.close()  # so the pool discards it (libpq itself has not noticed) and opens another
        raise psycopg.OperationalError("the PostgreSQL server closed this pooled connection")


def _build(settings: Settings) -> BaseCheckpointSaver:
    url = settings.sqlalchemy_url
    if url.startswith("postgresql"):
        pool = ConnectionPool(
            libpq_url(settings),
            min_size=1,
            max_size=max(4, settings.db_pool_size // 2),  # agent turns only; most requests use the main pool
            kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
            check=_check_alive,
            open=True,
        )
        # Closed while the interpreter still runs: left to its finalizer, the pool joins its worker
        # threads during shutdown, which fails under gevent ("greenlet is being finalized").
        atexit.register(pool.close)
        return PostgresSaver(pool)  # tables: migration 0004, never set up here
    path = Path(settings.resolved_data_dir) / "checkpoints.sqlite"
    connection = sqlite3.connect(path, check_same_thread=False, timeout=30)
    connection.execute("PRAGMA journal_mode=WAL")
    saver = SqliteSaver(connection)
    saver.setup()
    return saver


def checkpointer(settings: Settings) -> BaseCheckpointSaver:
    """The process's checkpointer for this database (created once, thread-safe)."""
    key = settings.sqlalchemy_url
    with _lock:
        if key not in _savers:
            _savers[key] = _build(settings)
        return _savers[key]


def delete_threads(settings: Settings, thread_ids: list[str]) -> None:
    saver = checkpointer(settings)
    for thread_id in thread_ids:
        saver.delete_thread(thread_id)


def copy_latest(settings: Settings, source: str, target: str) -> bool:
    """Give ``target`` the latest checkpoint of ``source`` (a finished turn's state is whole in it: our
    channels are plain values and reducers, no delta history). False when ``source`` has none.

    The savers do not implement ``copy_thread``; ``get_tuple`` and ``put`` are their public API."""
    saver = checkpointer(settings)
    latest = saver.get_tuple({"configurable": {"thread_id": source, "checkpoint_ns": ""}})
    if latest is None:
        return False
    saver.put(
        {"configurable": {"thread_id": target, "checkpoint_ns": ""}},
        latest.checkpoint,
        latest.metadata,
        latest.checkpoint["channel_versions"],
    )
    return True
