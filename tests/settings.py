"""The app's settings as a real deployment has them, for the tests that build an app in process."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from gentrade.settings import Settings
from tests.clerk import AUTHORIZED_PARTY, ISSUER, WEBHOOK_SECRET, public_pem

# One Celery queue per test session: parallel runs on one broker never take each other's tasks.
TASK_QUEUE = os.environ.get("GENTRADE_TEST_TASK_QUEUE") or f"gentrade-test-{uuid.uuid4().hex[:8]}"


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
