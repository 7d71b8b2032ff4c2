"""Fixtures for the tests that need a real gunicorn server (races need real concurrency), and a spy on the
Freqtrade check."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient

from tests.servers import gunicorn
from tests.spies import Calls, spy_on_checks


def module_server(
    postgres_url: str,
    data_dir: Path,
    clerk_key: rsa.RSAPrivateKey,
    tmp_path_factory: pytest.TempPathFactory,
    app: str = "wsgi:app",
    **env: str,
) -> Iterator[str]:
    """One server per module (tests clean the database through ``client``); a small pool, the machine is shared."""
    log_path = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    with gunicorn(
        postgres_url, data_dir, clerk_key, log_path, app=app, GENTRADE_DB_POOL_SIZE="10", GENTRADE_DB_MAX_OVERFLOW="5",
        **env,
    ) as url:  # fmt: skip
        yield url


@pytest.fixture(scope="module")
def small_server(
    app: Flask,
    postgres_url: str,
    data_dir: Path,
    clerk_key: rsa.RSAPrivateKey,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    yield from module_server(postgres_url, data_dir, clerk_key, tmp_path_factory)


@pytest.fixture(scope="module")
def slow_server(
    app: Flask,
    postgres_url: str,
    data_dir: Path,
    clerk_key: rsa.RSAPrivateKey,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """The app with an agent model that takes 2 s per call (``tests.slow_agent_wsgi``), keep-alives every 0.5 s."""
    yield from module_server(
        postgres_url, data_dir, clerk_key, tmp_path_factory, app="tests.slow_agent_wsgi:app", SLOW_MODEL_SECONDS="2",
        GENTRADE_AGENT_KEEPALIVE_SECONDS="0.5",
    )  # fmt: skip


@pytest.fixture
def url(small_server: str, client: FlaskClient) -> str:
    """The server's URL, on a clean database and data folder."""
    return small_server


@pytest.fixture
def check_calls(monkeypatch: pytest.MonkeyPatch) -> Calls:
    """Counts the Freqtrade checks a test's requests run, in process and in a child (the real ones run)."""
    return spy_on_checks(monkeypatch)
