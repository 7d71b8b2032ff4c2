"""A real gunicorn/gevent server for tests, a way to send many requests at the same instant, and lock probes.

Races need real concurrency: separate processes and greenlets, each request on its own
PostgreSQL connection, which one Flask test client in one thread never gives.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import psycopg
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import AUTHORIZED_PARTY, ISSUER, WEBHOOK_SECRET, public_pem

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = Path(sys.executable).with_name("gunicorn")
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_serving(url: str, process: subprocess.Popen, timeout: float = 120) -> None:
    """Each worker imports Freqtrade before it serves (a few seconds alone, far more on a busy 2-core machine)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"gunicorn exited with {process.returncode}")
        try:
            if requests.get(f"{url}/healthz", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.2)
    raise AssertionError(f"gunicorn did not start in {timeout:.0f} s")


@contextmanager
def gunicorn(
    postgres_url: str,
    data_dir: Path,
    clerk_key: rsa.RSAPrivateKey,
    log_path: Path,
    *,
    app: str = "wsgi:app",
    host: str = "127.0.0.1",
    port: int | None = None,
    prefix: Sequence[str] = (),
    **env: str,
) -> Iterator[str]:
    """gunicorn as deployed (production settings, 2 gevent workers) on the migrated test database; yields its URL.

    ``app`` is the WSGI app to serve; ``env`` adds or overrides environment variables (``GUNICORN_WORKERS``,
    ``GENTRADE_DB_POOL_SIZE``, ...). ``host`` and ``port`` (a free one by default) are where it listens;
    ``prefix`` runs it inside another command, e.g. ``nsenter ...`` to start it on a cluster host.
    """
    port = port or free_port()
    environment = {
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
        **env,
    }
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [*prefix, str(GUNICORN), "-c", "config/gunicorn.conf.py", "-b", f"{host}:{port}", app],
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://{host}:{port}"
    try:
        wait_until_serving(url, process)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def all_at_once(calls: list[Callable[[], T]], timeout: float = 60) -> list[T]:
    """Run each call in its own thread, all released by one barrier, so they really overlap; results in order."""
    barrier = threading.Barrier(len(calls), timeout=timeout)

    def run(call: Callable[[], T]) -> T:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(run, call) for call in calls]
        return [future.result(timeout=timeout) for future in futures]


def backends_waiting(postgres_url: str, query_start: str) -> int:
    """How many PostgreSQL backends are blocked on a lock while running a statement that starts so."""
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        sql = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE %s"
        return conn.execute(sql, (query_start + "%",)).fetchone()[0]


def wait_for(condition: Callable[[], bool], timeout: float = 30) -> None:
    """Poll until ``condition`` holds; fail (never hang) when it does not in time."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the expected interleaving did not happen in time"
        time.sleep(0.05)
