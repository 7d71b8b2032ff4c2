"""A real gunicorn/gevent server for tests, as deployed (``config/gunicorn.conf.py``).

Races need real concurrency: separate processes and greenlets, each request on its own
PostgreSQL connection, which one Flask test client in one thread never gives.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.stack import ROOT
from tests.stack.environment import deployment_env

GUNICORN = Path(sys.executable).with_name("gunicorn")


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
        **deployment_env(postgres_url, "memory://", data_dir, clerk_key),
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
