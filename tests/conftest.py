"""Shared fixtures: the real PostgreSQL database, a production-configured app, real tokens and svix signatures.

PostgreSQL tests skip with the reason when the server is unreachable, except under ``CI=true``,
where an unreachable database fails the run instead of hiding it.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import psutil
import psycopg
import psycopg.errors
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from svix.webhooks import Webhook

from gentrade import create_app
from gentrade.extensions import db
from gentrade.settings import Settings

POSTGRES_URL = os.environ.get("GENTRADE_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
RABBITMQ_URL = os.environ.get("GENTRADE_TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
ISSUER = "https://clerk.gentrade.test"
AUTHORIZED_PARTY = "https://app.gentrade.test"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"gentrade-test-webhook-secret-32b").decode()
# One Celery queue per test session: parallel runs on one broker never take each other's tasks.
TASK_QUEUE = os.environ.get("GENTRADE_TEST_TASK_QUEUE") or f"gentrade-test-{uuid.uuid4().hex[:8]}"


def postgres_unreachable_reason(url: str = POSTGRES_URL) -> str | None:
    try:
        psycopg.connect(url, connect_timeout=3).close()
    except psycopg.Error as exc:
        return f"PostgreSQL unreachable at {url}: {exc}".strip()
    return None


def rabbitmq_unreachable_reason(url: str = RABBITMQ_URL) -> str | None:
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=1, timeout=3)
    except Exception as exc:
        return f"RabbitMQ unreachable at {url}: {exc}"
    return None


def _require(reason: str | None, url: str, what: str) -> str:
    """The service's URL, or skip with the reason (fail under ``CI=true``: CI must run these tests)."""
    if reason is None:
        return url
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: {what} tests must run)")
    pytest.skip(reason)


def require_postgres() -> str:
    return _require(postgres_unreachable_reason(), POSTGRES_URL, "PostgreSQL")


def require_rabbitmq() -> str:
    return _require(rabbitmq_unreachable_reason(), RABBITMQ_URL, "RabbitMQ")


def reset_schema(url: str, schema: str = "public") -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture(scope="session")
def clerk_key() -> rsa.RSAPrivateKey:
    return new_rsa_key()


@pytest.fixture(scope="session")
def postgres_url() -> str:
    return require_postgres()


def production_settings(data_dir: Path, database_url: str, clerk_key: rsa.RSAPrivateKey, **extra: Any) -> Settings:
    """Settings as a real deployment has them: PEM key, issuer, authorized party, webhook secret."""
    values: dict[str, Any] = {
        "env": "production",
        "data_dir": data_dir,
        "database_url": database_url,
        "broker_url": "memory://",
        "clerk_jwt_key": public_pem(clerk_key),
        "clerk_issuer": ISSUER,
        "clerk_authorized_parties": [AUTHORIZED_PARTY],
        "clerk_webhook_secret": WEBHOOK_SECRET,
        "task_queue": TASK_QUEUE,
        "log_level": "WARNING",
    }
    values.update(extra)
    return Settings(_env_file=None, **values)


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def app(postgres_url: str, data_dir: Path, clerk_key: rsa.RSAPrivateKey) -> Flask:
    from flask_migrate import upgrade

    reset_schema(postgres_url)
    application = create_app(production_settings(data_dir, postgres_url, clerk_key))
    with application.app_context():
        upgrade()
    return application


# The clean gives way instead of waiting: below PostgreSQL's deadlock_timeout (1 s by default), so when
# another transaction holds a table the TRUNCATE needs, the TRUNCATE times out and is tried again before
# a deadlock can even be detected, and the other side carries on unharmed.
CLEAN_LOCK_TIMEOUT_SECONDS = 0.5
CLEAN_LOOK_AFTER_SECONDS = 0.3  # a TRUNCATE still waiting this long: note what holds the tables, while it does
CLEAN_GIVE_UP_SECONDS = 30  # then the tables are held for good (a leaked transaction): fail, naming it
CLEAN_RETRY_SECONDS = 0.1


class CleanupContention(UserWarning):
    """Another connection held the test tables while a test cleaned up: work that outlived its test."""


def _clean(app: Flask, data_dir: Path) -> None:
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


@pytest.fixture
def client(app: Flask, data_dir: Path) -> Iterator[FlaskClient]:
    """A test client on a clean database and data folder."""
    _clean(app, data_dir)
    yield app.test_client()
    _clean(app, data_dir)


@dataclass
class Tokens:
    """Mints Clerk-shaped RS256 session tokens; every field can be bent to test a refusal."""

    key: rsa.RSAPrivateKey

    def __call__(self, sub: str = "user_alice", *, key: Any = None, algorithm: str = "RS256", **claims: Any) -> str:
        now = int(time.time())
        payload: dict[str, Any] = {
            "sub": sub,
            "iss": ISSUER,
            "azp": AUTHORIZED_PARTY,
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "sid": "sess_test",
        }
        payload.update(claims)
        payload = {name: value for name, value in payload.items() if value is not None}
        return jwt.encode(payload, key or self.key, algorithm=algorithm, headers={"kid": "ins_test"})

    def headers(self, sub: str = "user_alice", **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self(sub, **claims)}"}


@pytest.fixture(scope="session")
def tokens(clerk_key: rsa.RSAPrivateKey) -> Tokens:
    return Tokens(clerk_key)


@dataclass
class Svix:
    """Signs webhook deliveries exactly as svix does."""

    secret: str = WEBHOOK_SECRET

    def headers(self, body: str, *, msg_id: str | None = None, at: datetime | None = None) -> dict[str, str]:
        msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
        at = at or datetime.now(UTC)
        signature = Webhook(self.secret).sign(msg_id, at, body)
        return {
            "svix-id": msg_id,
            "svix-timestamp": str(int(at.timestamp())),
            "svix-signature": signature,
            "Content-Type": "application/json",
        }


@pytest.fixture(scope="session")
def svix() -> Svix:
    return Svix()


def clerk_user_event(event_type: str, clerk_id: str, email: str | None = "trader@example.com") -> str:
    """A Clerk webhook body in Clerk's own shape."""
    if event_type == "user.deleted":
        data: dict[str, Any] = {"deleted": True, "id": clerk_id, "object": "user"}
    else:
        data = {
            "id": clerk_id,
            "object": "user",
            "primary_email_address_id": "idn_primary",
            "email_addresses": [
                {"id": "idn_other", "email_address": "other@example.com", "object": "email_address"},
                {"id": "idn_primary", "email_address": email, "object": "email_address"},
            ],
            "first_name": "Test",
            "created_at": 1_700_000_000_000,
        }
    return json.dumps({"data": data, "object": "event", "type": event_type, "timestamp": 1_700_000_000_000})
