"""A real Celery worker process (``celery -A gentrade.tasks worker``) and celery beat, as deployed: started,
waited for until ready, killed or stopped. ``prefix`` runs either inside another command, e.g. ``nsenter ...``
on a cluster host (``tests/cluster.py``)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from celery import Celery

from tests.stack import ROOT

SETTLE_SECONDS = 60  # a cancelled backtest's task ends within a heartbeat, a poll and Freqtrade's kill grace


class Worker:
    """A real ``celery -A gentrade.tasks worker`` process (2 pool processes, embedded beat unless ``beat`` is False).

    ``prefix`` runs the command inside another one, e.g. ``nsenter ...`` to start it on a cluster host.
    """

    def __init__(self, env: dict[str, str], log_path: Path, prefix: Sequence[str] = (), *, beat: bool = True) -> None:
        self.env, self.log_path, self.prefix, self.beat = env, log_path, list(prefix), beat
        self.process: subprocess.Popen[bytes] | None = None
        self.nodename = ""

    def start(self) -> None:
        schedule = self.log_path.with_suffix(".schedule")
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        self.nodename = f"test-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
        beat = ["-B", "-s", str(schedule)] if self.beat else []
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [*self.prefix, sys.executable, "-m", "celery", "-A", "gentrade.tasks", "worker", "-c", "2", *beat,
                 "--loglevel", "INFO", "-n", self.nodename, "--without-mingle", "--without-gossip"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        wait_for_log(self.log_path, b"ready.", self.process, offset, what="the worker")

    def kill(self) -> None:
        """``kill -9`` the whole worker: its main process and its pool."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_idle(self, celery: Celery, timeout: float = SETTLE_SECONDS) -> None:
        """Wait until this worker has no task running or waiting for a pool process (asked twice in a row, so
        a task passing from waiting to running between the two questions is not missed).

        Tasks delayed by a retry's countdown, and messages still in the queue, do not count: once their
        backtest is final or gone they only try to claim it, one single-table ``UPDATE`` that fails.
        """
        inspect = celery.control.inspect(destination=[self.nodename], timeout=1.0)
        deadline = time.monotonic() + timeout
        busy: Any = "no answer yet"
        quiet = 0
        while self.running():
            try:
                active, reserved = inspect.active(), inspect.reserved()
            except Exception as exc:  # the broker restarting: ask again
                active = reserved = None
                busy = f"no answer: {exc}"
            if active is not None and reserved is not None:
                busy = [
                    task["name"] + str(task["args"])
                    for tasks in (active, reserved)
                    for task in tasks.get(self.nodename, [])
                ]
                quiet = 0 if busy else quiet + 1
                if quiet == 2:
                    return
            assert time.monotonic() < deadline, f"the worker still has tasks in hand after {timeout} s: {busy}"
            time.sleep(0.2)

    def stop(self) -> None:
        if self.running():
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def wait_for_log(
    log_path: Path, marker: bytes, process: subprocess.Popen[bytes], offset: int = 0, what: str = "the process"
) -> None:
    """Wait until the log shows ``marker`` past ``offset`` (this start's, not a previous one's); fail with the
    log's tail when the process exits first, or after a minute."""
    deadline = time.monotonic() + 60
    while marker not in log_path.read_bytes()[offset:]:
        assert process.poll() is None, log_path.read_text()[-3000:]
        assert time.monotonic() < deadline, f"{what} did not start"
        time.sleep(0.3)


def worker_env(home: Path, settings: dict[str, str]) -> dict[str, str]:
    """A worker's whole environment: PATH, a private HOME, and the settings (nothing else leaks in)."""
    return {"PATH": os.environ.get("PATH", ""), "HOME": str(home), **settings}


@contextmanager
def running_worker(settings: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    """A worker with these ``GENTRADE_*`` settings, a private HOME and its log in a fresh folder, stopped after."""
    home, logs = tmp_path_factory.mktemp("worker-home"), tmp_path_factory.mktemp("worker")
    running = Worker(worker_env(home, settings), logs / "worker.log")
    running.start()
    try:
        yield running
    finally:
        running.stop()


def start_beat(
    env: dict[str, str], log_path: Path, schedule: Path, prefix: Sequence[str] = ()
) -> subprocess.Popen[bytes]:
    """Celery beat alone (a worker runs it embedded unless told not to); returns once it has started."""
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [*prefix, sys.executable, "-m", "celery", "-A", "gentrade.tasks", "beat",
             "-s", str(schedule), "--loglevel", "INFO"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    wait_for_log(log_path, b"beat: Starting", process, what="celery beat")
    return process
