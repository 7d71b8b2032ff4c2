"""Run stock ``freqtrade backtesting`` as a local subprocess (embedded default and tests).

The child gets a scrubbed environment (no secret of the worker can leak into a strategy),
its own session (so cancel and timeout kill every process it started), the limits of
:mod:`gentrade.freqtrade.limits` (a per-backtest memory cgroup where one can be made), and
writes its output to ``<results_dir>/freqtrade.log`` instead of a pipe that could fill up and
block it. Only blocking-with-timeout calls are used (``Popen.wait(timeout)``, ``time``), so the
runner works the same in a gevent-monkey-patched worker: no SIGCHLD handler, no threads.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
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
from gentrade.freqtrade.limits import (
    BACKTEST_NICENESS,
    ChildLimits,
    MemoryCgroup,
    apply_in_child,
    cpu_limit_seconds,
    data_limit_bytes,
    find_cgroup_place,
    says_out_of_memory,
)
from gentrade.freqtrade.progress import read_progress
from gentrade.process_guard import die_with_parent

log = logging.getLogger(__name__)

LOG_FILE = "freqtrade.log"
TAIL_LINES = 60
TAIL_BYTES = 64 * 1024  # enough for 60 lines of Freqtrade output; never read a whole big log
KILL_GRACE_SECONDS = 5.0
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
        memory_cgroup: str = "auto",
    ) -> None:
        # The command prefix is configurable so tests can run something other than Freqtrade.
        self.command = list(command) if command is not None else freqtrade_command()
        self.kill_grace_seconds = kill_grace_seconds
        self.tail_lines = tail_lines
        self.memory_cgroup = memory_cgroup  # "auto", "off" (RLIMIT_DATA) or a cgroup folder: see limits

    def run(
        self,
        job: BacktestJob,
        *,
        should_cancel: Callable[[], bool],
        on_poll: Callable[[], None],
        poll_seconds: float = 1.0,
        progress: Callable[[float], None] | None = None,
    ) -> RunOutcome:
        """Run to completion, timeout or cancel; the process group never outlives this call, nor its cgroup."""
        started = time.monotonic()
        job.results_dir.mkdir(parents=True, exist_ok=True)
        log_path = job.results_dir / LOG_FILE
        home = Path(tempfile.mkdtemp(prefix="gentrade-freqtrade-"))
        oom_killed = False
        peak: int | None = None
        cgroup = self._make_cgroup(job)
        try:
            process = self._start(job, log_path, home, child_limits(job, cgroup))
            try:
                poll = _Poll(should_cancel, on_poll, progress, poll_seconds, started + job.timeout_seconds)
                timed_out, cancelled = poll.until_stopped(process, job.results_dir)
            finally:
                # Also on an exception from on_poll/should_cancel: never leave the group running.
                if process.returncode is None:
                    self._stop(process)
                _signal_group(process.pid, signal.SIGKILL)  # stragglers the leader left behind
        finally:
            shutil.rmtree(home, ignore_errors=True)
            if cgroup is not None:
                oom_killed, peak = cgroup.oom_killed(), cgroup.peak_bytes()
                cgroup.remove()  # kills whatever left the process group, then the cgroup goes

        if peak is not None:
            log.info("backtest %s: at most %d MiB of its %d MiB", job.backtest_id, peak // MIB, job.memory_mb)
        ending = _ending(job, process.returncode, timed_out, cancelled)
        tail = read_tail(log_path, self.tail_lines)
        out_of_memory = not ending.note and ending.exit_code != 0 and (oom_killed or says_out_of_memory(tail))
        return RunOutcome(
            exit_code=ending.exit_code,
            timed_out=ending.timed_out,
            cancelled=cancelled,
            seconds=time.monotonic() - started,
            log_tail=_with_kill_note(tail, ending.note, job.memory_mb if out_of_memory and oom_killed else None),
            out_of_memory=out_of_memory,
            peak_memory_bytes=peak,
        )

    def _make_cgroup(self, job: BacktestJob) -> MemoryCgroup | None:
        """The run's memory cgroup, or None where none can be made (RLIMIT_DATA then limits memory)."""
        place = find_cgroup_place(self.memory_cgroup)
        return MemoryCgroup.make(place, job.memory_mb) if place is not None else None

    def _start(self, job: BacktestJob, log_path: Path, home: Path, limits: ChildLimits) -> Child:
        """Start Freqtrade for ``job`` in a new interpreter, writing to ``log_path``, in ``home``, within ``limits``."""
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
                preexec_fn=_make_preexec(limits),  # system calls only, see limits.apply_in_child
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


@dataclasses.dataclass(frozen=True)
class _Poll:
    """The run loop's watch over a running child: what it calls each poll, and when it gives up."""

    should_cancel: Callable[[], bool]
    on_poll: Callable[[], None]
    progress: Callable[[float], None] | None
    poll_seconds: float
    deadline: float

    def until_stopped(self, process: Child, results_dir: Path) -> tuple[bool, bool]:
        """Wait for the child to exit, polling; ``(timed_out, cancelled)`` when it had to be stopped instead."""
        reported: float | None = None
        while True:
            remaining = self.deadline - time.monotonic()
            try:
                process.wait(timeout=max(0.01, min(self.poll_seconds, remaining)))
                return False, False
            except subprocess.TimeoutExpired:
                pass
            self.on_poll()
            reported = self._pass_on_progress(results_dir, reported)
            if self.should_cancel():
                return False, True
            if time.monotonic() >= self.deadline:
                return True, False

    def _pass_on_progress(self, results_dir: Path, reported: float | None) -> float | None:
        """Report Freqtrade's progress when it moved; the value last reported."""
        current = read_progress(results_dir) if self.progress is not None else None
        if self.progress is not None and current is not None and current != reported:
            self.progress(current)
            return current
        return reported


@dataclasses.dataclass(frozen=True)
class _Ending:
    """How the run ended, as told to the caller: a killed run has no exit code and a note saying why."""

    exit_code: int | None
    timed_out: bool
    note: str


def _ending(job: BacktestJob, returncode: int | None, timed_out: bool, cancelled: bool) -> _Ending:
    if timed_out:
        return _Ending(None, True, f"timeout of {job.timeout_seconds} s reached")
    if cancelled:
        return _Ending(None, False, "cancelled")
    if returncode == -signal.SIGXCPU:  # the RLIMIT_CPU backstop fired before the wall clock
        return _Ending(None, True, f"CPU time limit of {cpu_limit_seconds(job.timeout_seconds)} s reached")
    return _Ending(returncode, False, "")


def _with_kill_note(tail: str, note: str, oom_limit_mb: int | None) -> str:
    """The log tail, with a line saying why we killed the run, or that the kernel did (its SIGKILL leaves no word of
    it in the log): ``oom_limit_mb`` is the limit of a run the cgroup killed for memory."""
    if note:
        return f"{tail}\n[gentrade] killed: {note}".lstrip("\n")
    if oom_limit_mb is not None:
        return f"{tail}\n[gentrade] killed: out of memory (limit {oom_limit_mb} MiB)".lstrip("\n")
    return tail


def child_limits(job: BacktestJob, cgroup: MemoryCgroup | None) -> ChildLimits:
    """The limits ``job``'s process applies to itself: the cgroup's memory limit, else RLIMIT_DATA."""
    return ChildLimits(
        nice=BACKTEST_NICENESS,
        data_bytes=data_limit_bytes(job.memory_mb),
        cpu_seconds=cpu_limit_seconds(job.timeout_seconds),
        cgroup=str(cgroup.path) if cgroup is not None else None,
    )


def _make_preexec(limits: ChildLimits) -> Callable[[], None]:
    """Runs in the child between fork and exec: only system calls, everything computed before the fork."""

    def preexec() -> None:
        die_with_parent()
        apply_in_child(limits)

    return preexec
