"""Shared fixtures: the real PostgreSQL database, a production-configured app, real tokens and svix signatures.

PostgreSQL tests skip with the reason when the server is unreachable, except under ``CI=true``,
where an unreachable database fails the run instead of hiding it (``tests/services.py``). The helpers
behind these fixtures live in ``tests/clerk.py``, ``tests/settings.py`` and ``tests/database.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient

from gentrade import create_app
from tests.clerk import Svix, Tokens, new_rsa_key
from tests.database import clean_database, reset_schema
from tests.services import require_postgres
from tests.settings import production_settings


@pytest.fixture(scope="session")
def clerk_key() -> rsa.RSAPrivateKey:
    return new_rsa_key()


@pytest.fixture(scope="session")
def postgres_url() -> str:
    return require_postgres()


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


@pytest.fixture
def client(app: Flask, data_dir: Path) -> Iterator[FlaskClient]:
    """A test client on a clean database and data folder."""
    clean_database(app, data_dir)
    yield app.test_client()
    clean_database(app, data_dir)


@pytest.fixture(scope="session")
def tokens(clerk_key: rsa.RSAPrivateKey) -> Tokens:
    return Tokens(clerk_key)


@pytest.fixture(scope="session")
def svix() -> Svix:
    return Svix()
