"""Run stock ``freqtrade backtesting`` as a local subprocess (embedded default and tests).

The child gets a scrubbed environment (no secret of the worker can leak into a strategy),
its own session (so cancel and timeout kill every process it started), resource limits, and
writes its output to ``<results_dir>/freqtrade.log`` instead of a pipe that could fill up and
block it. Only blocking-with-timeout calls are used (``Popen.wait(timeout)``, ``time``), so the
runner works the same in a gevent-monkey-patched worker: no SIGCHLD handler, no threads.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from gentrade.freqtrade.jobs import BacktestJob, RunOutcome
from gentrade.freqtrade.progress import read_progress
from gentrade.process_guard import die_with_parent

log = logging.getLogger(__name__)

LOG_FILE = "freqtrade.log"
TAIL_LINES = 60
TAIL_BYTES = 64 * 1024  # enough for 60 lines of Freqtrade output; never read a whole big log
KILL_GRACE_SECONDS = 5.0
# RLIMIT_CPU backstop: the wall-clock timeout normally fires first. A backtest is single-threaded
# enough that CPU time tracks wall time (measured: 3.3 s CPU for a 3.4 s run).
CPU_EXTRA_SECONDS = 10
MIB = 1024 * 1024


def freqtrade_command() -> list[str]:
    """The pinned Freqtrade package of this interpreter's environment."""
    return [sys.executable, "-m", "freqtrade"]


def child_environment(home: Path) -> dict[str, str]:
    """The child's whole environment: nothing inherited but PATH, so no secret can leak."""
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",  # no __pycache__ next to the user's strategies
        "TZ": "UTC",
    }


def memory_limit_bytes(memory_mb: int) -> int:
    """RLIMIT_DATA, not RLIMIT_AS, for ``memory_mb``: why, with the figures measured.

    A real backtest (Freqtrade 2026.9, 2 pairs, 1h, 2 months, 2 CPUs) peaks at ~330 MiB resident
    but reserves ~2.3 GiB of address space (VmPeak): a 1 GiB private reservation made at import,
    64 MiB glibc malloc arenas and 8 MiB stacks per thread, shared libraries. RLIMIT_AS at the
    default 2048 MiB therefore fails at random ("can't start new thread" was seen at 768 and 1280
    MiB while 1024 MiB passed) and grows with the core count (one thread per core for BLAS).
    RLIMIT_DATA counts only private writable memory (heap, anonymous mmap, thread stacks), not
    PROT_NONE reservations or library code; allocators shrink their reservations when it is low.
    Measured: VmData peaks at ~1.47 GiB unconstrained; runs pass with RLIMIT_DATA of 512 MiB and
    more; at 200 MiB the import fails, at 300 MiB Freqtrade spun at 100 % CPU without finishing
    (the wall-clock timeout and RLIMIT_CPU still end such a run). An allocation beyond the limit
    raises MemoryError in the child, so the default 2048 MiB is generous for a normal backtest
    and still stops a runaway one.
    """
    return max(1, memory_mb) * MIB


def cpu_limit_seconds(timeout_seconds: int) -> int:
    """RLIMIT_CPU slightly above the wall-clock timeout: a backstop if the poll loop is gone."""
    return max(1, timeout_seconds) + max(CPU_EXTRA_SECONDS, math.ceil(timeout_seconds * 0.1))


BACKTEST_NICENESS = 10  # below the API and the worker: a backtest is batch work, a request is someone waiting


def _limit_resources(data_bytes: int, cpu_seconds: int) -> None:
    """Runs in the child between fork and exec: only simple system calls here."""
    die_with_parent()
    os.nice(BACKTEST_NICENESS)
    resource.setrlimit(resource.RLIMIT_DATA, (data_bytes, data_bytes))
    # SIGXCPU at the soft limit, SIGKILL from the kernel 5 s later if that is ignored.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core files of a crashed backtest


def read_tail(path: Path, lines: int = TAIL_LINES) -> str:
    """The last ``lines`` lines of a log file (read from its end only)."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - TAIL_BYTES))
            data = handle.read()
    except FileNotFoundError:
        return ""
    return "\n".join(data.decode("utf-8", errors="replace").splitlines()[-lines:])


class Child(Protocol):
    """What the run loop needs of a backtest's process: ``subprocess.Popen``'s, or a forked child's."""

    pid: int
    returncode: int | None

    def wait(self, timeout: float | None = None) -> int: ...


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


class LocalRunner:
    """``Runner`` that executes Freqtrade in a child process of the worker."""

    def __init__(
        self,
        command: Sequence[str] | None = None,
        *,
        kill_grace_seconds: float = KILL_GRACE_SECONDS,
        tail_lines: int = TAIL_LINES,
    ) -> None:
        # The command prefix is configurable so tests can run something other than Freqtrade.
        self.command = list(command) if command is not None else freqtrade_command()
        self.kill_grace_seconds = kill_grace_seconds
        self.tail_lines = tail_lines

    def run(
        self,
        job: BacktestJob,
        *,
        should_cancel: Callable[[], bool],
        heartbeat: Callable[[], None],
        poll_seconds: float = 1.0,
        progress: Callable[[float], None] | None = None,
    ) -> RunOutcome:
        """Run to completion, timeout or cancel; the process group never outlives this call."""
        started = time.monotonic()
        deadline = started + job.timeout_seconds
        job.results_dir.mkdir(parents=True, exist_ok=True)
        log_path = job.results_dir / LOG_FILE
        home = Path(tempfile.mkdtemp(prefix="gentrade-freqtrade-"))
        timed_out = cancelled = False
        reported: float | None = None
        try:
            process = self._start(job, log_path, home)
            try:
                while True:
                    remaining = deadline - time.monotonic()
                    try:
                        process.wait(timeout=max(0.01, min(poll_seconds, remaining)))
                        break
                    except subprocess.TimeoutExpired:
                        pass
                    heartbeat()
                    current = read_progress(job.results_dir) if progress is not None else None
                    if progress is not None and current is not None and current != reported:
                        reported = current
                        progress(current)
                    if should_cancel():
                        cancelled = True
                        break
                    if time.monotonic() >= deadline:
                        timed_out = True
                        break
            finally:
                # Also on an exception from heartbeat/should_cancel: never leave the group running.
                if process.returncode is None:
                    self._stop(process)
                _signal_group(process.pid, signal.SIGKILL)  # stragglers the leader left behind
        finally:
            shutil.rmtree(home, ignore_errors=True)

        exit_code: int | None = process.returncode
        note = ""
        if timed_out:
            note = f"timeout of {job.timeout_seconds} s reached"
        elif cancelled:
            note = "cancelled"
        elif exit_code == -signal.SIGXCPU:  # the RLIMIT_CPU backstop fired before the wall clock
            timed_out = True
            note = f"CPU time limit of {cpu_limit_seconds(job.timeout_seconds)} s reached"
        tail = read_tail(log_path, self.tail_lines)
        if note:
            exit_code = None  # killed, not exited
            tail = f"{tail}\n[gentrade] killed: {note}".lstrip("\n")
        return RunOutcome(
            exit_code=exit_code,
            timed_out=timed_out,
            cancelled=cancelled,
            seconds=time.monotonic() - started,
            log_tail=tail,
        )

    def _start(self, job: BacktestJob, log_path: Path, home: Path) -> Child:
        """Start Freqtrade for ``job`` in a new interpreter, writing to ``log_path``, in ``home``."""
        with log_path.open("wb") as output:
            return subprocess.Popen(  # noqa: S603 - fixed command, arguments from a validated job
                [*self.command, *job.freqtrade_args()],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                env=child_environment(home),
                cwd=home,
                close_fds=True,
                start_new_session=True,  # its own process group: killpg reaches its children too
                preexec_fn=_make_preexec(job),  # setrlimit only, see _limit_resources
            )
        # Our copy of the log file descriptor is closed; the child keeps its own.

    def _stop(self, process: Child) -> None:
        """SIGTERM to the whole group, SIGKILL after the grace period; reap the leader."""
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=self.kill_grace_seconds)
        except subprocess.TimeoutExpired:
            log.warning("freqtrade (pid %s) ignored SIGTERM for %.0f s; killing", process.pid, self.kill_grace_seconds)
            _signal_group(process.pid, signal.SIGKILL)
            process.wait()


def _make_preexec(job: BacktestJob) -> Callable[[], None]:
    """Compute the limits before the fork so the child only makes system calls."""
    data_bytes = memory_limit_bytes(job.memory_mb)
    cpu_seconds = cpu_limit_seconds(job.timeout_seconds)

    def preexec() -> None:
        _limit_resources(data_bytes, cpu_seconds)

    return preexec
