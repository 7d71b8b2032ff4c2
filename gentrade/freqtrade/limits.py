"""The memory and time limits of one backtest's process: what they are, how the child applies them, how a run that
hit one is told apart, and what a user is told. One module, so the cold runner (between fork and exec), the warm
runner's fork server (in its child) and the API's up-front check all use the same figures.

Memory is limited by what a run really uses, its resident memory:

* **A cgroup** where the worker can make one (root, or a delegated subtree; cgroup v1's memory controller or
  cgroup v2's ``memory.max``): the runner makes one per backtest with the limit, the child moves itself into it
  before anything else runs, and the runner removes it afterwards. Over the limit the kernel's OOM killer ends the
  run (SIGKILL) and counts it (v1 ``memory.oom_control``, v2 ``memory.events``: ``oom_kill``).
* **Otherwise RLIMIT_DATA, calibrated** (:func:`data_limit_bytes`). RLIMIT_DATA counts private writable address
  space (VmData), not resident memory, and Freqtrade's VmData runs a constant ~1.1 GiB above its resident peak
  (VmHWM): pyarrow's mimalloc reserves a 1 GiB arena when the candles are read, and each CPU adds thread stacks
  and allocator buffers. A plain RLIMIT_DATA of ``memory_mb`` therefore failed a one-year, 8-pair 5m backtest
  (1.04 GB resident) with ``_ArrayMemoryError``; the limit is ``memory_mb`` plus that measured allowance
  (docs/performance.md). A run over it gets ``MemoryError``.

How big a backtest may be is estimated from its candles (:func:`estimated_peak_mib`, fitted on measured peaks), so
the API refuses up front what would not fit ``memory_mb``, and the runners accept everything it lets through.

Standard library only: the fork server imports this without Flask or the application.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import resource
import signal
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MIB = 1024 * 1024
BACKTEST_NICENESS = 10  # below the API and the worker: a backtest is batch work, a request is someone waiting
# RLIMIT_CPU backstop: the wall-clock timeout normally fires first. A backtest is single-threaded
# enough that CPU time tracks wall time (measured: 3.3 s CPU for a 3.4 s run).
CPU_EXTRA_SECONDS = 10

# --- RLIMIT_DATA where no cgroup can be made (measured, docs/performance.md "Backtest memory") ------------------
MIMALLOC_ARENA_MIB = 1024  # pyarrow's mimalloc reserves 1 GiB read-write (counted in VmData, never resident)
PER_CPU_MIB = 96  # thread stacks and BLAS/allocator buffers: +72 MiB of VmData measured from 1 to 2 CPUs
DATA_MARGIN_MIB = 128  # heap fragmentation and fixed threads; the measured excess was 1,051-1,109 MiB on 2 CPUs

# --- the size of a backtest (read off measured peaks of real backtests, rounded up) ----------------------------
BASE_MIB = 400  # Freqtrade, pandas, TA-Lib and ccxt imported, a strategy loaded (measured 386-389 MiB)
MIB_PER_CANDLE = 0.00088  # each candle of each pair (~0.9 KiB: Freqtrade keeps every row as a Python list)
MIB_PER_LARGEST_PAIR_CANDLE = 0.00045  # the temporaries of one pair's DataFrame while it is analysed

GUIDANCE = "backtest fewer pairs, a shorter date range or a longer timeframe (fewer candles)"

# What a process says when an allocation failed: Python, numpy, C++ (TA-Lib, pyarrow), the OS, a thread's stack.
OUT_OF_MEMORY = re.compile(
    r"\bMemoryError\b|Unable to allocate|std::bad_alloc|Cannot allocate memory|can't start new thread|"
    r"\[gentrade\] killed: out of memory"
)


def cpus() -> int:
    """The CPUs this process may run on (as BLAS counts them), not the machine's."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def data_limit_bytes(memory_mb: int, cpu_count: int | None = None) -> int:
    """RLIMIT_DATA for a run that may use ``memory_mb`` MiB of resident memory, where no cgroup limits it.

    ``memory_mb`` + 1024 MiB (mimalloc's arena) + 96 MiB per CPU + 128 MiB: on 2 CPUs 1,344 MiB above
    ``memory_mb``, where the measured VmData peaks ran 1,051-1,109 MiB above the resident peak. A run stays
    inside it while its resident memory stays inside ``memory_mb``; a runaway allocation still stops, a little
    later than a cgroup would stop it.
    """
    allowance = MIMALLOC_ARENA_MIB + PER_CPU_MIB * (cpu_count or cpus()) + DATA_MARGIN_MIB
    return (max(1, memory_mb) + allowance) * MIB


def cpu_limit_seconds(timeout_seconds: int) -> int:
    """RLIMIT_CPU slightly above the wall-clock timeout: a backstop if the poll loop is gone."""
    return max(1, timeout_seconds) + max(CPU_EXTRA_SECONDS, math.ceil(timeout_seconds * 0.1))


def estimated_peak_mib(pairs: int, candles_per_pair: int) -> float:
    """The resident peak of a backtest of ``pairs`` pairs of ``candles_per_pair`` candles each (start-up included).

    Read off real backtests (1-8 pairs, 30-730 days, 5m and 1m, 390-2,519 MiB measured) and rounded up: no
    measured run was above its estimate, and the largest run the API accepts by default (8 pairs, 730 days of 5m,
    1,867 MiB measured) is estimated at 1,975 MiB, inside the default 2,048 MiB.
    """
    candles = max(0, pairs) * max(0, candles_per_pair)
    return BASE_MIB + MIB_PER_CANDLE * candles + MIB_PER_LARGEST_PAIR_CANDLE * max(0, candles_per_pair)


def candles_per_pair(days: int, timeframe_seconds: int, startup_candles: int = 0) -> int:
    """The candles of one pair a backtest of ``days`` whole days reads: the range's and the strategy's start-up."""
    return math.ceil(max(0, days) * 86400 / timeframe_seconds) + max(0, startup_candles)


def fits(pairs: int, candles: int, memory_mb: int) -> bool:
    """Whether a backtest of ``pairs`` pairs of ``candles`` candles each fits ``memory_mb`` (the API's check)."""
    return estimated_peak_mib(pairs, candles) <= memory_mb


def memory_limit_message(memory_mb: int) -> str:
    """What a user is told when a run hit the memory limit."""
    return f"The backtest needed more than the {memory_mb} MiB of memory a backtest may use: {GUIDANCE}."


def time_limit_message(seconds: int) -> str:
    """What a user is told when a run hit the time limit."""
    return f"The backtest ran longer than the {seconds} s a backtest may take: {GUIDANCE}."


def too_big_message(pairs: int, candles_per_pair: int, memory_mb: int) -> str:
    """What the API answers (422) for a request it can tell will not fit the memory limit."""
    return (
        f"This backtest would need about {estimated_peak_mib(pairs, candles_per_pair):,.0f} MiB of memory "
        f"({pairs} pairs x {candles_per_pair:,} candles), more than the {memory_mb} MiB a backtest may use: "
        f"{GUIDANCE}."
    )


def says_out_of_memory(log_tail: str) -> bool:
    """Whether a failed run's log says an allocation failed (RLIMIT_DATA, or the kernel refused)."""
    return OUT_OF_MEMORY.search(log_tail) is not None


# --- what the child applies to itself -----------------------------------------------------------------------


@dataclass(frozen=True)
class ChildLimits:
    """The limits a backtest's process applies to itself before anything else runs; plain values, so they cross
    the fork server's JSON pipe as they are."""

    nice: int
    data_bytes: int  # RLIMIT_DATA, when no cgroup limits memory (or joining it failed)
    cpu_seconds: int
    cgroup: str | None = None  # the per-backtest cgroup folder to join, with the memory limit already set

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ChildLimits:
        return cls(
            nice=int(values["nice"]),
            data_bytes=int(values["data_bytes"]),
            cpu_seconds=int(values["cpu_seconds"]),
            cgroup=values.get("cgroup"),
        )


def apply_in_child(limits: ChildLimits) -> None:
    """In the backtest's own process, before it runs anything: system calls only (it may run between fork and exec).

    Memory: join the cgroup; only when there is none, or joining fails, RLIMIT_DATA. Never both: RLIMIT_DATA would
    stop a run long before its resident memory reached the cgroup's limit.
    """
    os.nice(limits.nice)
    if limits.cgroup is None or not _join(limits.cgroup):
        resource.setrlimit(resource.RLIMIT_DATA, (limits.data_bytes, limits.data_bytes))
    # SIGXCPU at the soft limit, SIGKILL from the kernel 5 s later if that is ignored.
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core files of a crashed backtest


def _join(cgroup: str) -> bool:
    try:
        fd = os.open(os.path.join(cgroup, "cgroup.procs"), os.O_WRONLY)
        try:
            os.write(fd, str(os.getpid()).encode())
        finally:
            os.close(fd)
    except OSError:
        return False
    return True


# --- per-backtest cgroups ------------------------------------------------------------------------------------

CGROUP_PREFIX = "gentrade-backtest-"
REMOVE_SECONDS = 3.0  # the processes of a killed cgroup leave it within milliseconds


@dataclass(frozen=True)
class CgroupPlace:
    """Where this process can make per-backtest memory cgroups: a folder of a cgroup hierarchy, and its version."""

    parent: Path
    version: int  # 1: the v1 memory controller; 2: the unified hierarchy


def _mounts(mountinfo: Path = Path("/proc/self/mountinfo")) -> list[tuple[str, str, str, str]]:
    """(root in the hierarchy, mount point, file system type, super options) of each cgroup mount."""
    found = []
    try:
        lines = mountinfo.read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        before, _, after = line.partition(" - ")
        fields, tail = before.split(), after.split()
        if len(fields) >= 5 and len(tail) >= 3 and tail[0] in ("cgroup", "cgroup2"):
            found.append((fields[3], fields[4], tail[0], tail[2]))
    return found


def _own_cgroups(cgroups: Path = Path("/proc/self/cgroup")) -> dict[str, str]:
    """This process's cgroup per hierarchy: ``{"memory": "/a/b", "": "/c"}`` (``""`` is the unified one)."""
    own = {}
    with contextlib.suppress(OSError):
        for line in cgroups.read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for controller in controllers.split(",") if controllers else [""]:
                own[controller] = path
    return own


def _inside(mount_point: str, mount_root: str, path: str) -> Path:
    relative = path.removeprefix(mount_root.rstrip("/")) if path.startswith(mount_root) else path
    return Path(mount_point) / relative.lstrip("/")


def find_cgroup_place(setting: str = "auto") -> CgroupPlace | None:
    """Where per-backtest cgroups go, or None (then RLIMIT_DATA): ``setting`` is ``auto``, ``off`` or a folder.

    ``auto``: v1, under this process's own memory cgroup; v2, under this process's own cgroup when it is the
    root, else beside it (a cgroup with processes cannot give its children controllers), where ``memory`` is
    already enabled for children (``cgroup.subtree_control``; this never enables it). Only a folder this process
    may write counts.
    """
    if setting == "off":
        return None
    if setting != "auto":
        folder = Path(setting)
        version = 1 if (folder / "memory.limit_in_bytes").exists() else 2
        return CgroupPlace(folder, version) if _usable(folder, version) else None
    own = _own_cgroups()
    for mount_root, point, kind, options in _mounts():
        if kind == "cgroup" and "memory" in options.split(",") and "memory" in own:
            folder = _inside(point, mount_root, own["memory"])
            if _usable(folder, 1):
                return CgroupPlace(folder, 1)
        elif kind == "cgroup2" and "" in own:
            mine = _inside(point, mount_root, own[""])
            folder = mine if own[""] == "/" else mine.parent
            if _usable(folder, 2):
                return CgroupPlace(folder, 2)
    return None


def _usable(folder: Path, version: int) -> bool:
    if not os.access(folder, os.W_OK):
        return False
    if version == 1:
        return (folder / "memory.limit_in_bytes").exists()
    try:
        return "memory" in (folder / "cgroup.subtree_control").read_text().split()
    except OSError:
        return False


class MemoryCgroup:
    """One backtest's cgroup with its memory limit: made before the child starts, removed after it ended."""

    def __init__(self, path: Path, version: int, memory_mb: int) -> None:
        self.path = path
        self.version = version
        self.memory_mb = memory_mb

    @classmethod
    def make(cls, place: CgroupPlace, memory_mb: int) -> MemoryCgroup | None:
        """A new cgroup under ``place`` limited to ``memory_mb`` MiB (no swap), or None when the kernel refuses."""
        sweep(place)
        path = place.parent / f"{CGROUP_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:12]}"
        limit = str(max(1, memory_mb) * MIB)
        try:
            path.mkdir()
        except OSError as exc:
            log.warning("cannot make a backtest cgroup in %s (%s): RLIMIT_DATA limits memory", place.parent, exc)
            return None
        cgroup = cls(path, place.version, memory_mb)
        try:
            if place.version == 1:
                cgroup._write("memory.limit_in_bytes", limit)
                with contextlib.suppress(OSError):  # without swap accounting there is no swap to limit
                    cgroup._write("memory.memsw.limit_in_bytes", limit)
            else:
                cgroup._write("memory.max", limit)
                with contextlib.suppress(OSError):
                    cgroup._write("memory.swap.max", "0")
                with contextlib.suppress(OSError):  # the OOM killer ends the whole backtest, not one process of it
                    cgroup._write("memory.oom.group", "1")
        except OSError as exc:
            log.warning("cannot limit the backtest cgroup %s (%s): RLIMIT_DATA limits memory", path, exc)
            cgroup.remove()
            return None
        return cgroup

    def _write(self, name: str, value: str) -> None:
        (self.path / name).write_text(value)

    def _counters(self, name: str) -> dict[str, int]:
        counters = {}
        with contextlib.suppress(OSError):
            for line in (self.path / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                with contextlib.suppress(ValueError):
                    counters[key] = int(value)
        return counters

    def _number(self, name: str) -> int | None:
        try:
            return int((self.path / name).read_text().strip())
        except (OSError, ValueError):
            return None

    def oom_killed(self) -> bool:
        """Whether the kernel killed a process of this cgroup for want of memory."""
        counters = self._counters("memory.oom_control" if self.version == 1 else "memory.events")
        if "oom_kill" in counters:
            return counters["oom_kill"] > 0
        # Kernels before 4.13 (v1) count no kills: the limit was hit, and the caller saw a SIGKILL.
        return (self._number("memory.failcnt") or 0) > 0 if self.version == 1 else counters.get("oom", 0) > 0

    def peak_bytes(self) -> int | None:
        """The most memory the run held at once (v2 before Linux 5.19 does not say)."""
        return self._number("memory.max_usage_in_bytes" if self.version == 1 else "memory.peak")

    def pids(self) -> list[int]:
        try:
            return [int(pid) for pid in (self.path / "cgroup.procs").read_text().split()]
        except (OSError, ValueError):
            return []

    def kill(self) -> None:
        """SIGKILL whatever still runs in it (a process that left the backtest's process group too)."""
        if self.version == 2:
            with contextlib.suppress(OSError):  # Linux 5.14+
                self._write("cgroup.kill", "1")
                return
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)

    def remove(self) -> None:
        """Kill what is left, then remove the cgroup (its processes leave it within milliseconds)."""
        deadline = time.monotonic() + REMOVE_SECONDS
        while True:
            self.kill()
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError as exc:
                if time.monotonic() >= deadline:
                    log.warning("could not remove the backtest cgroup %s: %s", self.path, exc)
                    return
                time.sleep(0.02)


def sweep(place: CgroupPlace) -> None:
    """Remove the empty cgroups of worker processes that died without removing theirs (``kill -9``)."""
    with contextlib.suppress(OSError):
        for path in place.parent.glob(f"{CGROUP_PREFIX}*"):
            pid = path.name.removeprefix(CGROUP_PREFIX).partition("-")[0]
            if not pid.isdigit() or int(pid) == os.getpid() or _alive(int(pid)):
                continue
            with contextlib.suppress(OSError):  # not empty (still running): the next sweep tries again
                path.rmdir()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
