"""The real server: gunicorn with gevent workers on PostgreSQL, driven over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from tests.clerk import Tokens

ROOT = Path(__file__).resolve().parents[2]


def test_gunicorn_gevent_serves_the_api(own_server: tuple[str, Path], tokens: Tokens) -> None:
    url, log_path = own_server
    headers = tokens.headers("user_served")
    assert requests.get(f"{url}/readyz", timeout=5).json() == {"status": "ready"}
    created = requests.post(f"{url}/api/v1/chats", json={"title": "over http"}, headers=headers, timeout=5)
    assert created.status_code == 201
    listed = requests.get(f"{url}/api/v1/chats", headers=headers, timeout=5)
    assert listed.status_code == 200
    assert [c["title"] for c in listed.json()] == ["over http"]
    assert json.loads(listed.headers["X-Pagination"])["total"] == 1
    assert requests.get(f"{url}/api/v1/chats", timeout=5).status_code == 401

    log = log_path.read_text()
    assert "Using worker: gevent" in log
    assert "MonkeyPatchWarning" not in log


def test_concurrent_requests_on_gevent_workers(own_server: tuple[str, Path], tokens: Tokens) -> None:
    url, _ = own_server
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
