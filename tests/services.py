"""The backing services the tests need (PostgreSQL, RabbitMQ): where they are, and a skip with the reason when
one is unreachable, or a failure under ``CI=true``, where every test must run."""

from __future__ import annotations

import os
from typing import NoReturn

import psycopg
import pytest

POSTGRES_URL = os.environ.get("GENTRADE_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
RABBITMQ_URL = os.environ.get("GENTRADE_TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")


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


def unavailable(reason: str, must_run: str) -> NoReturn:
    """Skip with the reason; under ``CI=true`` fail instead, saying what must run there (``must_run``)."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: {must_run})")
    pytest.skip(reason)


def require_service(reason: str | None, url: str, what: str) -> str:
    """The service's URL, or skip with the reason (fail under ``CI=true``: CI must run these tests)."""
    if reason is None:
        return url
    unavailable(reason, f"{what} tests must run")


def require_postgres() -> str:
    return require_service(postgres_unreachable_reason(), POSTGRES_URL, "PostgreSQL")


def require_rabbitmq() -> str:
    return require_service(rabbitmq_unreachable_reason(), RABBITMQ_URL, "RabbitMQ")
