"""The warm local runner: the local runner's run loop and isolation, with each backtest forked from a fork server
(:mod:`gentrade.freqtrade.forkserver`) that has imported Freqtrade already, instead of a new interpreter.

Each worker process owns its servers (one per backtest it runs at the same time; a Celery prefork process runs
one). A server is started from a long-lived thread, since a child's "die with the parent" is tied to the thread
that started it; a server found dead, or inherited from the process a worker forked from, is replaced.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from gentrade.freqtrade.jobs import BacktestJob
from gentrade.freqtrade.limits import ChildLimits
from gentrade.freqtrade.progress import PROGRESS_FILE
from gentrade.freqtrade.runners.local import Child, LocalRunner, child_environment, freqtrade_command
from gentrade.process_guard import die_with_parent

PROJECT_ROOT = Path(__file__).resolve().parents[3]
BOOT = (
    f"import sys; sys.path.insert(0, {str(PROJECT_ROOT)!r}); from gentrade.freqtrade.forkserver import serve; serve()"
)
# Room for a child's process title (its backtest's command line): setproctitle writes into the argv area.
TITLE_ROOM = " " * 4096
READY_SECONDS = 120.0  # importing Freqtrade on a loaded machine
ANSWER_SECONDS = 30.0  # a fork answers at once


class ForkServerDown(Exception):
    """The fork server stopped or did not answer."""


class ForkServer:
    """One fork server process and its pipes; serves one backtest at a time."""

    def __init__(self) -> None:
        home = tempfile.mkdtemp(prefix="gentrade-forkserver-")
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-c", BOOT, TITLE_ROOM],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=child_environment(Path(home)),
            cwd=home,
            close_fds=True,
            preexec_fn=die_with_parent,
        )
        self.busy = False
        self._buffer = b""
        ready = self.read(READY_SECONDS)
        if not ready.get("ready"):
            raise ForkServerDown(f"the fork server did not start: {ready}")
        self.cold_modules: list[str] = ready.get("cold", [])

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def fork(self, request: dict[str, Any]) -> ForkedChild:
        """Start a backtest's child; it runs until :meth:`ForkedChild.wait` sees it end."""
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(request).encode() + b"\n")
        self.process.stdin.flush()
        answer = self.read(ANSWER_SECONDS)
        if "pid" not in answer:
            raise ForkServerDown(f"the fork server did not fork: {answer}")
        return ForkedChild(self, int(answer["pid"]))

    def read(self, timeout: float | None) -> dict[str, Any]:
        """The server's next answer; ``{}`` when none came within ``timeout``; ForkServerDown when it is gone."""
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        deadline = None if timeout is None else time.monotonic() + timeout
        while b"\n" not in self._buffer:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            readable, _, _ = select.select([fd], [], [], remaining)
            if not readable:
                return {}
            chunk = os.read(fd, 65536)
            if not chunk:
                raise ForkServerDown("the fork server exited")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return json.loads(line)

    def close(self) -> None:
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                pipe.close()
        self.process.kill()
        self.process.wait()


class ForkedChild:
    """A backtest's process forked by the server, with ``subprocess.Popen``'s ``pid``, ``returncode`` and
    ``wait(timeout)``: the run loop treats both alike."""

    def __init__(self, server: ForkServer, pid: int) -> None:
        self.server = server
        self.pid = pid
        self.returncode: int | None = None

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is not None:
            return self.returncode
        try:
            answer = self.server.read(timeout)
        except ForkServerDown:  # the server died, and its child with it (PDEATHSIG)
            answer = {"exit": -signal.SIGKILL}
        if "exit" not in answer:
            raise subprocess.TimeoutExpired("backtest", timeout or 0)
        self.returncode = int(answer["exit"])
        self.server.busy = False
        return self.returncode


class ForkServers:
    """This process's servers: an idle live one is reused, a dead one replaced, a new one started when all are busy."""

    def __init__(self) -> None:
        self._servers: list[ForkServer] = []
        self._pending: list[concurrent.futures.Future[ForkServer]] = []
        self._lock = threading.Lock()
        self._starter: concurrent.futures.ThreadPoolExecutor | None = None
        self._owner = os.getpid()

    def acquire(self) -> ForkServer:
        with self._lock:
            self._forget_inherited()
            self._servers += [future.result() for future in self._pending]  # a server started ahead: wait for it
            self._pending = []
            self._servers = [server for server in self._servers if server.alive or self._discard(server)]
            idle = next((server for server in self._servers if not server.busy), None)
            if idle is None:
                idle = self._submit().result()
                self._servers.append(idle)
            idle.busy = True
            return idle

    def prestart(self) -> None:
        """Start a server ahead of the first backtest, without waiting for it (a worker process starting)."""
        with self._lock:
            self._forget_inherited()
            if not self._pending and not any(server.alive for server in self._servers):
                self._pending.append(self._submit())

    def _forget_inherited(self) -> None:
        """A process forked from the one that started them (Celery's pool) must start its own servers."""
        if self._owner != os.getpid():
            self._servers, self._pending, self._starter, self._owner = [], [], None, os.getpid()

    def _submit(self) -> concurrent.futures.Future[ForkServer]:
        # A long-lived thread starts every server: PDEATHSIG fires when the starting *thread* ends.
        if self._starter is None:
            self._starter = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="forkserver")
        return self._starter.submit(ForkServer)

    @staticmethod
    def _discard(server: ForkServer) -> bool:
        server.close()
        return False


SERVERS = ForkServers()


class WarmRunner(LocalRunner):
    """``LocalRunner`` whose backtests are forked from a warm fork server; the command must run Python
    (``[python, "-m", "freqtrade"]`` by default; tests pass ``[python, "-c", code]``)."""

    def __init__(self, command: list[str] | None = None, *, servers: ForkServers = SERVERS, **options: Any) -> None:
        super().__init__(command, **options)
        if self.command[0] != sys.executable:
            raise ValueError("the warm runner runs Python programs in its own interpreter only")
        self.servers = servers

    def _start(self, job: BacktestJob, log_path: Path, home: Path, limits: ChildLimits) -> Child:
        request = {
            "program": [*self.command[1:], *job.freqtrade_args()],
            "cwd": str(home),
            "env": child_environment(home),
            "log": str(log_path),
            "progress": str(job.results_dir) if self.command == freqtrade_command() else None,
            "limits": limits.as_dict(),  # the child applies them itself (limits.apply_in_child), as a cold one does
        }
        (job.results_dir / PROGRESS_FILE).unlink(missing_ok=True)
        server = self.servers.acquire()
        try:
            return server.fork(request)
        except BaseException:
            server.busy = False
            raise
