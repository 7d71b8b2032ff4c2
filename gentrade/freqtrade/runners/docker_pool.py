"""A worker process's pool of pre-started backtest containers (the docker runner's warm start).

Why: about 2.5 s of every container backtest is importing Freqtrade. A pooled container has done that before any
job exists and then serves up to ``container_jobs`` jobs, each in a fresh forked child
(:mod:`gentrade.freqtrade.pool_entry`). This module only keeps the books; the runner
(:mod:`gentrade.freqtrade.runners.docker_pooled`) makes, hands over, resets and removes the containers.

* A slot is one pooled container and its own folder ``<data>/docker-pool/<slot>/``: ``user_data/`` (mounted
  read-write, the container's job folder, empty until its job) and ``lease`` (never mounted).
* Each worker process owns its slots (``size`` idle ones, default 1). ``acquire`` hands out an idle slot that still
  matches the job's image and settings and still runs (the others are removed); when that job is the slot's last,
  it starts its replacement in the background, which imports Freqtrade while the job runs. ``give_back`` returns a
  slot the runner cleaned after a job (it has jobs left); ``release`` forgets one the runner removed, and starts a
  replacement if none is on its way.
* The owner touches every slot's ``lease`` every few seconds. A slot whose lease went stale belongs to a worker
  that died (killed, OOM, redeployed): any worker's sweep removes its container and folder.
* A process forked from the owner (Celery's pool) starts its own slots; the parent's are not its to use or remove.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

POOL_DIR = "docker-pool"  # under the data folder
LEASE_FILE = "lease"  # in a slot's folder, beside (not in) the mounted user_data
SLOT_USER_DATA = "user_data"
# A lease untouched this long: its owner is gone (the runner's ``pool_stale_seconds``, the worker's
# GENTRADE_BACKTEST_STALE_SECONDS but never under MIN_STALE_SECONDS). Touched six times as often; swept twice as often.
STALE_SECONDS = 60.0
MIN_STALE_SECONDS = 20.0


@dataclass(frozen=True)
class PoolShape:
    """Everything of a job that shapes its container besides its own files: the image (by id, so a rebuilt tag
    counts as a change), the container's environment read off that image, the market data it mounts, its limits."""

    image_id: str
    environment: tuple[tuple[str, str], ...]
    datadir: Path
    memory_mb: int
    cpus: float


@dataclass
class Slot:
    """One pooled container and its folder."""

    name: str  # the folder's name under <data>/docker-pool/, also in the container's labels and name
    folder: Path
    container_id: str
    image_id: str
    shape_hash: str
    container: Any = field(default=None, repr=False, compare=False)  # docker-py's, bound to the run's client
    jobs: int = 0  # jobs handed to it so far

    @property
    def user_data(self) -> Path:
        return self.folder / SLOT_USER_DATA

    def touch(self) -> None:
        with contextlib.suppress(OSError):  # a folder already removed needs no lease
            os.utime(self.folder / LEASE_FILE)


def lease_is_fresh(folder: Path, stale_seconds: float, now: float | None = None) -> bool:
    """Whether the slot in ``folder`` has an owner that touched its lease within ``stale_seconds`` (a folder still
    without a lease: made that recently)."""
    try:
        touched = (folder / LEASE_FILE).stat().st_mtime
    except OSError:
        try:
            touched = folder.stat().st_mtime
        except OSError:
            return False
    return (now if now is not None else time.time()) - touched < stale_seconds


class SlotMaker(Protocol):
    """The runner's side: what the pool needs done on the engine and the data folder."""

    pool_stale_seconds: float

    def pool_client(self) -> tuple[Any, bool]: ...
    def shape_hash(self, shape: PoolShape) -> str: ...
    def create_slot(self, client: Any, shape: PoolShape) -> Slot: ...
    def slot_is_usable(self, client: Any, slot: Slot) -> bool: ...
    def remove_slot(self, client: Any, slot: Slot) -> None: ...
    def sweep(self, client: Any, keep: set[str]) -> int: ...


class ContainerPool:
    """This process's slots: ``acquire`` one per job, ``release`` it afterwards; replacements come in the background."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: list[Slot] = []
        self._busy: dict[str, Slot] = {}
        self._pending: list[concurrent.futures.Future[None]] = []
        self._maker: SlotMaker | None = None
        self._shape: PoolShape | None = None
        self._size = 0
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._leases: threading.Thread | None = None
        self._stop = threading.Event()
        self._owner = os.getpid()
        self._closed = False
        self._swept_at = 0.0
        self._at_exit = False

    # --- what the runner calls ------------------------------------------------------------------
    def prestart(self, maker: SlotMaker, size: int, shape_of: Callable[[Any], PoolShape]) -> None:
        """Fill the pool ahead of the first job, without waiting (a worker process starting), after sweeping the
        slots of stopped workers; ``shape_of(client)`` works out the jobs' shape in the background (it may pull)."""
        with self._lock:
            self._forget_inherited()
            self._maker, self._size, self._closed = maker, size, False
            self._pending.append(self._submit(self._fill_in_background, shape_of))

    def acquire(self, maker: SlotMaker, client: Any, shape: PoolShape, size: int, container_jobs: int = 1) -> Slot:
        """An idle slot of ``shape`` whose container still runs, else a new one (made now). Idle slots of another
        image or shape are removed; whatever is still being started is waited for first. A slot serves
        ``container_jobs`` jobs: one taken for its last starts its replacement now."""
        with self._lock:
            self._forget_inherited()
            self._maker, self._shape, self._size, self._closed = maker, shape, size, False
            pending, self._pending = self._pending, []
        concurrent.futures.wait(pending)
        wanted = maker.shape_hash(shape)
        with self._lock:
            candidates, self._idle = self._idle, []
        chosen: Slot | None = None
        keep: list[Slot] = []
        for slot in candidates:
            if slot.image_id != shape.image_id or slot.shape_hash != wanted:
                log.info("removing pooled container %s: the image or the settings changed", slot.name)
                maker.remove_slot(client, slot)
            elif chosen is None:
                if maker.slot_is_usable(client, slot):
                    chosen = slot
                else:
                    log.info("removing pooled container %s: it is no longer running", slot.name)
                    maker.remove_slot(client, slot)
            else:
                keep.append(slot)
        if chosen is None:
            chosen = maker.create_slot(client, shape)
            self._track()
        with self._lock:
            self._idle = keep + self._idle
            self._busy[chosen.name] = chosen
            if chosen.jobs + 1 >= container_jobs:
                # Its replacement imports Freqtrade while this job runs: a worker with a queue finds it ready too.
                self._pending.append(self._submit(self._fill_in_background, None))
        return chosen

    def give_back(self, maker: SlotMaker, slot: Slot) -> bool:
        """A used slot the runner cleaned, idle again (first in line: it is warm); False when the pool has no room
        for it (closed, another process's, a new shape meanwhile, enough idle ones): the runner removes it."""
        with self._lock:
            shape = self._shape
        wanted = maker.shape_hash(shape) if shape is not None else None
        with self._lock:
            fits = shape is not None and slot.image_id == shape.image_id and slot.shape_hash == wanted
            if self._owner != os.getpid() or self._closed or not fits or len(self._idle) >= self._size:
                return False
            self._busy.pop(slot.name, None)
            self._idle.insert(0, slot)
            return True

    def release(self, slot: Slot) -> None:
        """The runner removed the slot's container and folder: forget it (and start a replacement, if the one
        started when it was acquired failed)."""
        with self._lock:
            self._busy.pop(slot.name, None)
            if self._owner == os.getpid() and not self._closed and self._maker is not None:
                self._pending.append(self._submit(self._fill_in_background, None))

    def wait_ready(self, timeout: float = 120.0) -> bool:
        """Until every replacement is started and every idle container has imported Freqtrade (benchmarks, tests)."""
        from gentrade.freqtrade.pool_entry import READY_FILE

        deadline = time.monotonic() + timeout
        with self._lock:
            pending = list(self._pending)
        concurrent.futures.wait(pending, timeout=timeout)
        while time.monotonic() < deadline:
            with self._lock:
                idle = list(self._idle)
            if len(idle) >= self._size and all((slot.user_data / READY_FILE).exists() for slot in idle):
                return True
            time.sleep(0.05)
        return False

    def idle(self) -> list[Slot]:
        with self._lock:
            return list(self._idle)

    def close(self) -> None:
        """Remove this process's idle containers (the worker process ends); busy ones are their runs' to remove."""
        with self._lock:
            if self._owner != os.getpid():
                return
            self._closed = True
            self._stop.set()
            pending, self._pending = self._pending, []
            executor, self._executor = self._executor, None
            leases, self._leases = self._leases, None
        concurrent.futures.wait(pending, timeout=60)
        if executor is not None:
            executor.shutdown(wait=True)
        if leases is not None:
            leases.join(timeout=5)
        with self._lock:
            idle, self._idle = self._idle, []
            maker = self._maker
        if not idle or maker is None:
            return
        client, owned = maker.pool_client()
        try:
            for slot in idle:
                maker.remove_slot(client, slot)
        finally:
            if owned:
                client.close()

    # --- in the background -----------------------------------------------------------------------
    def _fill_in_background(self, shape_of: Callable[[Any], PoolShape] | None) -> None:
        """Start slots until ``size`` idle ones of the latest shape wait; first a sweep and the shape, at prestart."""
        maker = self._maker
        if maker is None:
            return
        try:
            client, owned = maker.pool_client()
        except Exception:
            log.exception("the container pool cannot reach the Docker engine")
            return
        try:
            shape = self._current_shape(maker, client, shape_of)
            if shape is not None:
                self._remove_stale_idle(maker, client, shape)
                self._fill(maker, client, shape)
        except Exception:  # the next job makes its own container and says what is wrong
            log.exception("could not start a pooled backtest container")
        finally:
            if owned:
                client.close()

    def _current_shape(
        self, maker: SlotMaker, client: Any, shape_of: Callable[[Any], PoolShape] | None
    ) -> PoolShape | None:
        """The shape to fill with; at prestart (``shape_of`` given) sweep first and learn it, unless a job came
        meanwhile and set it (it knows better)."""
        if shape_of is not None:
            self._sweep(maker, client)
            shape = shape_of(client)
            with self._lock:
                self._shape = self._shape or shape
        with self._lock:
            return self._shape

    def _remove_stale_idle(self, maker: SlotMaker, client: Any, shape: PoolShape) -> None:
        """Idle containers of an older image or other settings make room for current ones."""
        wanted = maker.shape_hash(shape)
        with self._lock:
            stale = [s for s in self._idle if s.image_id != shape.image_id or s.shape_hash != wanted]
            self._idle = [s for s in self._idle if s not in stale]
        for slot in stale:
            log.info("removing pooled container %s: the image or the settings changed", slot.name)
            maker.remove_slot(client, slot)

    def _fill(self, maker: SlotMaker, client: Any, shape: PoolShape) -> None:
        """Make slots of ``shape`` until ``size`` are idle, or the pool closed or belongs to another process."""
        while True:
            with self._lock:
                if self._closed or self._owner != os.getpid() or len(self._idle) >= self._size:
                    return
            slot = maker.create_slot(client, shape)
            self._track()
            with self._lock:
                if not self._closed:
                    self._idle.append(slot)
                    continue
            maker.remove_slot(client, slot)  # closed meanwhile
            return

    def _sweep(self, maker: SlotMaker, client: Any) -> None:
        with self._lock:
            keep = {slot.name for slot in [*self._idle, *self._busy.values()]}
        self._swept_at = time.monotonic()
        try:
            removed = maker.sweep(client, keep)
        except Exception as exc:  # the engine away for a moment: the next sweep tries again
            log.warning("could not sweep the pooled containers of stopped workers: %s", exc)
            return
        if removed:
            log.warning("removed %d pooled backtest container(s) of stopped workers", removed)

    def _lease_loop(self, stop: threading.Event) -> None:
        """Touch every slot's lease while this process lives; sweep dead workers' slots now and then."""
        stale = STALE_SECONDS
        while not stop.wait(max(1.0, stale / 6)):
            with self._lock:
                if self._owner != os.getpid():
                    return
                slots = [*self._idle, *self._busy.values()]
                maker = self._maker
            for slot in slots:
                slot.touch()
            stale = maker.pool_stale_seconds if maker is not None else STALE_SECONDS
            if maker is not None and time.monotonic() - self._swept_at >= stale / 2:
                with contextlib.suppress(Exception):
                    client, owned = maker.pool_client()
                    try:
                        self._sweep(maker, client)
                    finally:
                        if owned:
                            client.close()

    # --- housekeeping ----------------------------------------------------------------------------
    def _track(self) -> None:
        """The lease thread runs once this process has a slot; idle containers go when the process exits."""
        with self._lock:
            if self._leases is None or not self._leases.is_alive() or self._stop.is_set():
                self._stop = threading.Event()
                self._leases = threading.Thread(
                    target=self._lease_loop, args=(self._stop,), name="docker-pool-leases", daemon=True
                )
                self._leases.start()
            if not self._at_exit:
                atexit.register(self.close)
                self._at_exit = True

    def _submit(self, function: Any, *args: Any) -> concurrent.futures.Future[None]:
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="docker-pool")
        return self._executor.submit(function, *args)

    def _forget_inherited(self) -> None:
        """A process forked from the owner (Celery's pool) keeps no slot of its parent: it starts its own."""
        if self._owner != os.getpid():
            self._stop.set()  # the parent's lease thread, had it come along
            self._idle, self._busy, self._pending = [], {}, []
            self._executor, self._leases, self._stop = None, None, threading.Event()
            self._owner, self._closed, self._at_exit = os.getpid(), False, False


POOL = ContainerPool()
