"""The ``GENTRADE_*`` environment the stack's processes run with: production settings on the test database,
Clerk as the tests play it (``tests/clerk.py``), and the backtest pipeline's limits."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa

from tests.clerk import AUTHORIZED_PARTY, ISSUER, WEBHOOK_SECRET, public_pem
from tests.settings import TASK_QUEUE

TIMEOUT_SECONDS = 40
STALE_SECONDS = 6


def deployment_env(postgres_url: str, broker_url: str, data_dir: Path, clerk_key: rsa.RSAPrivateKey) -> dict[str, str]:
    """What every process of a production deployment is given: the database, the broker, the data folder, Clerk."""
    return {
        "GENTRADE_ENV": "production",
        "GENTRADE_DATA_DIR": str(data_dir),
        "GENTRADE_DATABASE_URL": postgres_url,
        "GENTRADE_BROKER_URL": broker_url,
        "GENTRADE_CLERK_JWT_KEY": public_pem(clerk_key),
        "GENTRADE_CLERK_ISSUER": ISSUER,
        "GENTRADE_CLERK_AUTHORIZED_PARTIES": AUTHORIZED_PARTY,
        "GENTRADE_CLERK_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }


def settings_env(
    postgres_url: str, broker_url: str, data_dir: Path, clerk_key: rsa.RSAPrivateKey, api_url: str, **extra: str
) -> dict[str, str]:
    """The ``GENTRADE_*`` environment of the API and the worker; ``extra`` adds or overrides variables."""
    return {
        **deployment_env(postgres_url, broker_url, data_dir, clerk_key),
        "GENTRADE_EXCHANGE_API_URL": api_url,
        "GENTRADE_BACKTEST_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS),
        "GENTRADE_BACKTEST_STALE_SECONDS": str(STALE_SECONDS),
        "GENTRADE_BACKTEST_MAX_ACTIVE_PER_USER": "3",
        "GENTRADE_LOG_LEVEL": "INFO",
        "GENTRADE_TASK_QUEUE": TASK_QUEUE,
        **extra,
    }
