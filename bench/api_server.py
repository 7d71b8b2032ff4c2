"""The API on gunicorn for load benchmarks (``bench.api_load``, ``bench.load_users``): started as
configured (``config/gunicorn.conf.py``, gevent workers) in a process group of its own and waited for; the
demo's ``stop_stack`` stops that group again."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).with_name("gunicorn")
WORKERS = 2


def start_server(
    data_dir: Path, database_url: str, port: int, log_path: Path, extra_env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """gunicorn as configured, WORKERS gevent workers, development mode, access log off; ``extra_env`` adds or
    overrides settings (a broker, a queue, an exchange stand-in)."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(data_dir),
        "GENTRADE_DATA_DIR": str(data_dir),
        "GENTRADE_DATABASE_URL": database_url,
        "GENTRADE_TASK_QUEUE": f"gentrade-bench-{uuid.uuid4().hex[:8]}",  # never the shared queue
        "GENTRADE_LOG_LEVEL": "WARNING",
        "GUNICORN_WORKERS": str(WORKERS),
        **(extra_env or {}),
    }
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [str(GUNICORN), "-c", "config/gunicorn.conf.py", "-w", str(WORKERS), "-b", f"127.0.0.1:{port}",
             "--access-logfile", "/dev/null", "wsgi:app"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def wait_until_serving(url: str, process: subprocess.Popen[bytes], log_path: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not start in time:\n{log_path.read_text()[-3000:]}")


def worker_pids(master: int) -> list[int]:
    """The gunicorn workers: the master's children."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]
