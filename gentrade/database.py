"""How the app holds its database connections: pool options, SQLite pragmas, and dead-connection checks.

PostgreSQL connections can die while they sit in the pool (a server restart, ``pg_terminate_backend``,
an idle timeout). SQLAlchemy's ``pool_pre_ping`` finds them with a ``SELECT 1`` round trip on every
checkout, a sixth of a small request's database time. A dying PostgreSQL backend sends its error and
closes the socket, and a healthy idle connection has nothing to read; so a zero-timeout ``poll`` of the
socket finds the same dead connections without a round trip, and the pool replaces them before use.
"""

from __future__ import annotations

import select
from typing import Any

from gevent.monkey import get_original
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import Pool

from gentrade.extensions import db
from gentrade.settings import Settings

# The real poll(2), also under gevent's monkey-patching: a zero timeout never blocks, so there is
# nothing to yield for, and the patched one would cost a trip through the event loop.
_poll = get_original("select", "poll")
_READABLE = select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP


def engine_options(settings: Settings) -> dict[str, Any]:
    """SQLAlchemy engine options: pooled PostgreSQL checked by :func:`closed_by_server`; SQLite pre-pinged."""
    if not settings.sqlalchemy_url.startswith("postgresql"):
        return {"pool_pre_ping": True}
    return {
        "pool_pre_ping": False,  # replaced by the checkout check below
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_max_overflow,
        "pool_recycle": 1800,
    }


def libpq_url(settings: Settings) -> str:
    """The database URL as psycopg and libpq take it: ``postgresql://`` (the driver suffix is SQLAlchemy's)."""
    return settings.sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)


def closed_by_server(dbapi_connection: Any) -> bool:
    """True when an idle psycopg connection is closed, broken, or has bytes waiting (the server's
    farewell error, or end of file): it must not be used."""
    if dbapi_connection.closed or dbapi_connection.broken:
        return True
    poller = _poll()
    poller.register(dbapi_connection.fileno(), _READABLE)
    return bool(poller.poll(0))


def read_without_transaction() -> None:
    """Run this session's statements in autocommit: no ``BEGIN`` and ``ROLLBACK`` round trips.

    For requests that only read (GET). Under PostgreSQL's READ COMMITTED each statement sees its own
    snapshot inside a transaction too, so reads see exactly what they would have; a write (such as
    provisioning a user on first sight) commits at once, as its own commit would have. Must be called
    before the session's first statement; the pool restores the default when the connection returns.
    """
    db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


@event.listens_for(Pool, "checkout")
def _discard_connections_closed_by_server(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """PostgreSQL only: a dead connection raises DisconnectionError, and the pool then discards it and
    checks out another (a fresh one when every pooled connection died with the server)."""
    if type(dbapi_connection).__module__.startswith("psycopg") and closed_by_server(dbapi_connection):
        raise DisconnectionError("the PostgreSQL server closed this pooled connection")


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """SQLite (embedded default): enforce foreign keys (ON DELETE CASCADE), and let the API and the
    worker processes share the file (WAL; wait for a lock rather than fail)."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()
