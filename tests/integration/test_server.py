"""The real server: gunicorn with gevent workers on PostgreSQL, driven over HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from flask.testing import FlaskClient

from tests.conftest import AUTHORIZED_PARTY, ISSUER, WEBHOOK_SECRET, Tokens, public_pem

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_serving(url: str, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"gunicorn exited with {process.returncode}")
        try:
            if requests.get(f"{url}/healthz", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.2)
    raise AssertionError("gunicorn did not start in time")


@pytest.fixture
def server(
    client: FlaskClient, postgres_url: str, data_dir: Path, clerk_key: rsa.RSAPrivateKey, tmp_path: Path
) -> Iterator[tuple[str, Path]]:
    """gunicorn as deployed (production settings, 2 gevent workers) on the migrated test database."""
    port = free_port()
    log_path = tmp_path / "gunicorn.log"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "GENTRADE_ENV": "production",
        "GENTRADE_DATA_DIR": str(data_dir),
        "GENTRADE_DATABASE_URL": postgres_url,
        "GENTRADE_BROKER_URL": "memory://",
        "GENTRADE_CLERK_JWT_KEY": public_pem(clerk_key),
        "GENTRADE_CLERK_ISSUER": ISSUER,
        "GENTRADE_CLERK_AUTHORIZED_PARTIES": AUTHORIZED_PARTY,
        "GENTRADE_CLERK_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "GUNICORN_WORKERS": "2",
    }
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(GUNICORN), "-c", "config/gunicorn.conf.py", "-b", f"127.0.0.1:{port}", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, process)
        yield url, log_path
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def test_gunicorn_gevent_serves_the_api(server: tuple[str, Path], tokens: Tokens) -> None:
    url, log_path = server
    headers = tokens.headers("user_served")
    assert requests.get(f"{url}/readyz", timeout=5).json() == {"status": "ready"}
    created = requests.post(f"{url}/api/v1/chats", json={"title": "over http"}, headers=headers, timeout=5)
    assert created.status_code == 201
    listed = requests.get(f"{url}/api/v1/chats", headers=headers, timeout=5)
    assert listed.status_code == 200
    assert [c["title"] for c in listed.json()["items"]] == ["over http"]
    assert requests.get(f"{url}/api/v1/chats", timeout=5).status_code == 401

    log = log_path.read_text()
    assert "Using worker: gevent" in log
    assert "MonkeyPatchWarning" not in log


def test_concurrent_requests_on_gevent_workers(server: tuple[str, Path], tokens: Tokens) -> None:
    url, _ = server
    headers = tokens.headers("user_busy")
    requests.get(f"{url}/api/v1/chats", headers=headers, timeout=5)  # provision once

    def list_chats(_: int) -> int:
        return requests.get(f"{url}/api/v1/chats", headers=headers, timeout=10).status_code

    with ThreadPoolExecutor(max_workers=32) as pool:
        statuses = list(pool.map(list_chats, range(200)))
    assert statuses == [200] * 200


def test_production_start_without_required_settings_names_them(tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "GENTRADE_ENV": "production", "GENTRADE_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    for name in ("GENTRADE_DATABASE_URL", "GENTRADE_CLERK_WEBHOOK_SECRET", "GENTRADE_CLERK_JWKS_URL"):
        assert name in result.stderr
