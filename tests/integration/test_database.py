"""How the app holds PostgreSQL connections: dead pooled connections are replaced before use without a
ping round trip, and read-only requests run without a transaction that could leak into the next one."""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from sqlalchemy import select, text

from gentrade import create_app
from gentrade.agents.checkpoints import delete_threads
from gentrade.database import closed_by_server
from gentrade.extensions import db
from gentrade.models import Strategy, User
from gentrade.runtime import runtime
from gentrade.samples import DRAFT
from tests.clerk import Tokens
from tests.settings import production_settings

CHATS = "/api/v1/chats"


@pytest.fixture
def one_connection_app(app: Flask, postgres_url: str, tmp_path: Path, clerk_key: rsa.RSAPrivateKey) -> Iterator[Flask]:
    """An app whose pool holds exactly one connection, so each request reuses the previous one's
    (the session ``app`` has migrated the database)."""
    single = create_app(production_settings(tmp_path, postgres_url, clerk_key, db_pool_size=1, db_max_overflow=0))
    yield single
    with single.app_context():
        db.engine.dispose()


def backend_pid(application: Flask) -> int:
    with application.app_context():
        try:
            return db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        finally:
            db.session.remove()


def terminate(postgres_url: str, pid: int) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        # pg_terminate_backend only signals: wait until the backend is gone.
        admin.execute(
            "DO $$ BEGIN FOR i IN 1..200 LOOP EXIT WHEN NOT EXISTS "
            f"(SELECT 1 FROM pg_stat_activity WHERE pid = {int(pid)}); PERFORM pg_sleep(0.01); END LOOP; END $$"
        )


def test_a_healthy_idle_connection_is_not_flagged(postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as connection:
        connection.execute("SELECT 1").fetchall()
        connection.rollback()
        assert not closed_by_server(connection)


def test_a_connection_the_server_ended_is_flagged(postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as connection:
        pid = connection.execute("SELECT pg_backend_pid()").fetchone()[0]
        connection.rollback()
        terminate(postgres_url, pid)
        assert closed_by_server(connection)


def test_a_request_after_the_server_ended_the_pooled_connection_succeeds(
    one_connection_app: Flask, postgres_url: str, tokens: Tokens
) -> None:
    client = one_connection_app.test_client()
    headers = tokens.headers()
    assert client.get(CHATS, headers=headers).status_code == 200
    old_pid = backend_pid(one_connection_app)

    terminate(postgres_url, old_pid)

    for _ in range(3):
        assert client.get(CHATS, headers=headers).status_code == 200
    assert client.post(CHATS, json={"title": "after"}, headers=headers).status_code == 201
    assert backend_pid(one_connection_app) != old_pid


@contextmanager
def protocol_trace(application: Flask) -> Iterator[list[str]]:
    """libpq's own trace of the app's single pooled connection: every message it sends and receives."""
    with application.app_context():
        pgconn = db.session.connection().connection.dbapi_connection.pgconn
        db.session.remove()
    lines: list[str] = []
    with tempfile.TemporaryFile() as trace:
        pgconn.trace(trace.fileno())
        try:
            yield lines
        finally:
            pgconn.untrace()
            trace.seek(0)
            lines.extend(trace.read().decode().splitlines())


def add_strategy_row(application: Flask, clerk_id: str = "user_alice") -> uuid.UUID:
    with application.app_context():
        try:
            user_id = db.session.scalar(select(User.id).where(User.clerk_id == clerk_id))
            strategy = Strategy(user_id=user_id, name="S", code="", file_path="S.py", draft=DRAFT)
            db.session.add(strategy)
            db.session.commit()
            return strategy.id
        finally:
            db.session.remove()


@pytest.mark.parametrize("read", ["chats", "strategy"])
def test_a_hot_read_costs_one_round_trip(one_connection_app: Flask, tokens: Tokens, read: str) -> None:
    """The caller's user row and the response's JSON in one statement: no user lookup of its own, no
    ``SELECT 1`` ping, no ``BEGIN``/``ROLLBACK``."""
    client = one_connection_app.test_client()
    headers = tokens.headers()
    client.get(CHATS, headers=headers)  # provisions the user
    path = CHATS if read == "chats" else f"/api/v1/strategies/{add_strategy_row(one_connection_app)}"

    with protocol_trace(one_connection_app) as trace:
        assert client.get(path, headers=headers).status_code == 200

    assert sum("\tB\t" in line and "ReadyForQuery" in line for line in trace) == 1, trace
    sent = [line for line in trace if "\tF\t" in line]
    assert not [line for line in sent if '"BEGIN"' in line or '"ROLLBACK"' in line or '"SELECT 1"' in line], sent


def test_a_read_only_request_leaves_the_connection_transactional(one_connection_app: Flask, tokens: Tokens) -> None:
    """Autocommit is for the GET alone: the pooled connection goes back to transactions for the next request."""
    client = one_connection_app.test_client()
    headers = tokens.headers()
    assert client.get(CHATS, headers=headers).status_code == 200

    with one_connection_app.app_context():
        connection = db.session.connection()
        try:
            assert connection.connection.dbapi_connection.autocommit is False
            assert connection.get_isolation_level() == "READ COMMITTED"
        finally:
            db.session.remove()


def test_a_first_get_provisions_the_user_durably(one_connection_app: Flask, postgres_url: str, tokens: Tokens) -> None:
    client = one_connection_app.test_client()
    assert client.get(CHATS, headers=tokens.headers("user_firstget")).status_code == 200

    with psycopg.connect(postgres_url) as connection:
        assert connection.execute("SELECT count(*) FROM users WHERE clerk_id = 'user_firstget'").fetchone() == (1,)


def test_a_query_whose_connection_is_killed_is_a_503_then_the_next_request_succeeds(
    one_connection_app: Flask, postgres_url: str, tokens: Tokens
) -> None:
    """The query is held on a lock, its backend terminated mid-statement: a JSON 503 to retry, not a 500."""
    client = one_connection_app.test_client()
    headers = tokens.headers()
    assert client.get(CHATS, headers=headers).status_code == 200
    with psycopg.connect(postgres_url) as blocker, ThreadPoolExecutor(max_workers=1) as pool:
        blocker.execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
        in_flight = pool.submit(client.get, CHATS, headers=headers)
        waiting = wait_for_lock_waiter(postgres_url)
        terminate(postgres_url, waiting)
        response = in_flight.result(timeout=30)
        blocker.rollback()

    assert response.status_code == 503, response.json
    assert response.headers["Retry-After"] == "1"
    assert response.json["message"] == "The database is unavailable; try again shortly."
    assert client.get(CHATS, headers=headers).status_code == 200


def wait_for_lock_waiter(postgres_url: str, timeout: float = 30) -> int:
    """The pid of the one backend waiting for a lock (bounded wait)."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        while time.monotonic() < deadline:
            row = admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            ).fetchone()
            if row is not None:
                return row[0]
            time.sleep(0.02)
    raise AssertionError("no request waited for the lock")


def test_the_checkpointer_replaces_connections_the_server_ended(app: Flask, postgres_url: str) -> None:
    """The agent's checkpoint pool has the same check: a deletion after a database restart works."""
    with app.app_context():
        settings = runtime().settings
    delete_threads(settings, [str(uuid.uuid4())])  # the pool is open and holds a connection
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        others = admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    for (pid,) in others:
        terminate(postgres_url, pid)

    delete_threads(settings, [str(uuid.uuid4())])
