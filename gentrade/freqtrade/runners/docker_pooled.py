"""The docker runner's pooled containers: made ahead of jobs, each serving up to ``container_jobs`` backtests.

Why: about 2.5 s of CPU of a container backtest is importing Freqtrade. A pooled container imports it once
(:mod:`gentrade.freqtrade.pool_entry`, its PID 1) and forks a fresh child per job, so under load a worker no longer
pays the import per backtest (``GENTRADE_DOCKER_CONTAINER_JOBS``; 1 makes each container single-use).
:mod:`gentrade.freqtrade.runners.docker_pool` keeps the books; this module makes, checks, sweeps and removes the
containers (:class:`PooledContainers`, the pool's ``SlotMaker``), and
:mod:`gentrade.freqtrade.runners.docker_pooled_job` runs one job in one of them; what pooled and cold runs share
is in ``docker_parts``. A pooled container:

* it is created with its own empty job folder, ``<data>/docker-pool/<slot>/user_data``, as the read-write mount
  (the same ``/freqtrade/user_data``) and the market data read-only; limits come from the settings a job gets;
* its PID 1 is :mod:`gentrade.freqtrade.pool_entry`, passed as ``python3 -c`` source (nothing is added to the
  image): it serves the market list on loopback, imports Freqtrade, and for each ``request.json`` forks a child
  (new session, non-dumpable) that runs what ``python -m freqtrade <args>`` would with the progress hook; after
  it, the server kills every other process of the container, empties its scratch space and reports the job's end
  on the container's log;
* while idle it has the least CPU weight, so its warm-up yields to running backtests on busy CPUs;
* an idle container whose image id or settings hash (labels) no longer match the job's, or that stopped, is
  removed and replaced; a dead worker's containers (leases no longer touched) are swept by any worker.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import logging
import os
import re
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import docker
import requests
from docker.errors import APIError, NotFound
from docker.models.containers import Container

from gentrade.freqtrade import pool_entry
from gentrade.freqtrade import progress as progress_module
from gentrade.freqtrade.market_list import SERVED_DIR
from gentrade.freqtrade.runners.docker_lockdown import ContainerSpec
from gentrade.freqtrade.runners.docker_parts import (
    CONTAINER_MARKET_DATA,
    CONTAINER_USER_DATA,
    MARKETS_PORT,
)
from gentrade.freqtrade.runners.docker_pool import (
    LEASE_FILE,
    POOL_DIR,
    SLOT_USER_DATA,
    ContainerPool,
    PoolShape,
    Slot,
    lease_is_fresh,
)
from gentrade.freqtrade.userdir import USER_DATA_SUBDIRS

log = logging.getLogger(__name__)

# A pooled container's labels: which data folder's pool (the sweep of stopped workers' containers stays within it),
# the image id and the hash of the options it was made with (a change replaces it), its folder.
POOL_LABEL = "gentrade.pool"
POOL_IMAGE_LABEL = "gentrade.pool.image"
POOL_SHAPE_LABEL = "gentrade.pool.shape"
POOL_SLOT_LABEL = "gentrade.pool.slot"
# An idle pooled container's CPU weight (the least Docker takes): its warm-up yields to running backtests when the
# CPUs are busy, and takes them when they are free. Its job runs with Docker's default weight, as a cold container.
POOL_IDLE_CPU_SHARES = 2
# The server's reports go to its stdout, the container's log, which the worker reads: a log the engine keeps
# readable whatever the daemon's default driver, and small.
LOG_CONFIG = {"type": "json-file", "config": {"max-size": "1m", "max-file": "1"}}
# A pooled container's PID 1 (gentrade.freqtrade.pool_entry) and the progress hook it installs, passed as source:
# nothing is added to the image, so the pool works with any Freqtrade image the cold path works with.
POOL_ENTRY_SOURCE = inspect.getsource(pool_entry)
PROGRESS_SOURCE = inspect.getsource(progress_module)
NUMERIC_USER = re.compile(r"^(\d+):(\d+)$")
SLOT_NAME = re.compile(r"[0-9a-f]{32}")  # a slot folder's name (uuid4().hex)


def pool_container_name(slot_name: str) -> str:
    return f"gentrade-pool-{slot_name}"


class PooledContainers(ContainerSpec):
    """The pool half of the docker runner (the runner's ``SlotMaker`` for :class:`ContainerPool`, and its pooled
    runs). Its mounts and lock-down are the cold containers' (``ContainerSpec``); the client is the runner's."""

    image: str
    tail_lines: int
    pool: ContainerPool
    pool_size: int
    container_jobs: int
    pool_stale_seconds: float

    @property
    def pool_root(self) -> Path:
        """``<data>/docker-pool``: the pooled containers' own folders, never a user's."""
        return self.data_dir / POOL_DIR

    @property
    def pool_identity(self) -> str:
        """Which data folder's pool a container belongs to, as the daemon sees it (its ``gentrade.pool`` label)."""
        if self.data_volume is not None:
            return f"volume:{self.data_volume}/{POOL_DIR}"
        return str(self.host_data_dir / POOL_DIR)

    def _pool_base(self, shape: PoolShape, slot_name: str) -> dict[str, Any]:
        """A pooled container: the cold container's lock-down and limits, its own job folder read-write and the
        market data read-only; its entry imports Freqtrade, then serves jobs (``pool_entry``)."""
        return {
            "entrypoint": ["python3", "-c", POOL_ENTRY_SOURCE],
            "command": [
                PROGRESS_SOURCE,
                str(CONTAINER_MARKET_DATA / SERVED_DIR),
                str(CONTAINER_USER_DATA),
                str(MARKETS_PORT),
            ],
            **self._locked_down(shape.memory_mb, shape.cpus, dict(shape.environment)),
            "cpu_shares": POOL_IDLE_CPU_SHARES,
            "log_config": LOG_CONFIG,
            "mounts": [
                self._mount(self.pool_root / slot_name / SLOT_USER_DATA, CONTAINER_USER_DATA, False),
                self._mount(shape.datadir, CONTAINER_MARKET_DATA, True),
            ],
        }

    def shape_hash(self, shape: PoolShape) -> str:
        """A hash of every option a pooled container is made with but its own folder: settings that change any of
        them (limits, user, the image's environment, the market data, the entry's code) replace idle containers."""
        text = json.dumps({"image": self.image, **self._pool_base(shape, "-")}, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def pool_options(self, shape: PoolShape, slot_name: str) -> dict[str, Any]:
        """Everything ``containers.create`` gets for a pooled container besides the image."""
        return {
            **self._pool_base(shape, slot_name),
            "labels": {
                POOL_LABEL: self.pool_identity,
                POOL_IMAGE_LABEL: shape.image_id,
                POOL_SHAPE_LABEL: self.shape_hash(shape),
                POOL_SLOT_LABEL: slot_name,
            },
            "name": pool_container_name(slot_name),
        }

    def pool_client(self) -> tuple[docker.DockerClient, bool]:
        return self._get_client()

    def prestart(self, datadir: Path, memory_mb: int, cpus: float) -> None:
        """Start this process's pooled containers in the background (a worker process starting), for jobs shaped by
        the settings, and sweep those of stopped workers; nothing when the pool is off."""
        if self.pool_size <= 0:
            return

        def shape_of(client: docker.DockerClient) -> PoolShape:  # in the pool's thread: it may pull the image
            image = self._image(client)
            environment = tuple(sorted(image.environment.items()))
            return PoolShape(image.id, environment, Path(datadir).resolve(), memory_mb, cpus)

        self.pool.prestart(self, self.pool_size, shape_of)

    def create_slot(self, client: docker.DockerClient, shape: PoolShape) -> Slot:
        """A new pooled container, started, with its folder and lease; nothing is left if that fails."""
        name = uuid.uuid4().hex
        folder = self.pool_root / name
        self.pool_root.mkdir(mode=0o700, parents=True, exist_ok=True)
        shape.datadir.mkdir(parents=True, exist_ok=True)  # a bind mount's source must exist (a new install)
        folder.mkdir(mode=0o700)
        (folder / LEASE_FILE).touch(mode=0o600)
        (folder / SLOT_USER_DATA).mkdir(mode=0o700)
        self._lay_out(folder / SLOT_USER_DATA)
        options = self.pool_options(shape, name)
        container: Container | None = None
        try:
            container = client.containers.create(self.image, **options)
            container.start()
        except BaseException:
            if container is not None:
                self._remove(container)
            shutil.rmtree(folder, ignore_errors=True)
            raise
        log.info("started pooled backtest container %s", container.short_id)
        return Slot(name, folder, container.id, shape.image_id, options["labels"][POOL_SHAPE_LABEL], container)

    def slot_is_usable(self, client: docker.DockerClient, slot: Slot) -> bool:
        """Still running, and still labelled as made (the engine's word, not the pool's memory)."""
        try:
            container = client.containers.get(slot.container_id)
        except NotFound:
            return False
        slot.container = container  # bound to this run's client
        labels = container.labels
        return (
            container.status == "running"
            and labels.get(POOL_IMAGE_LABEL) == slot.image_id
            and labels.get(POOL_SHAPE_LABEL) == slot.shape_hash
            and labels.get(POOL_SLOT_LABEL) == slot.name
        )

    def remove_slot(self, client: docker.DockerClient, slot: Slot) -> None:
        """The container (whatever it is doing) and the folder; best effort, the sweep catches what is left."""
        try:
            client.api.remove_container(slot.container_id, force=True)
        except NotFound:
            pass
        except (APIError, requests.exceptions.RequestException):
            log.exception("could not remove pooled container %s", slot.name)
        shutil.rmtree(slot.folder, ignore_errors=True)

    def sweep(self, client: docker.DockerClient, keep: set[str]) -> int:
        """Remove the pooled containers and folders of this data folder's pool whose owner stopped touching their
        lease (a worker that died); ``keep`` are this process's own. How many containers went."""
        removed = 0
        now = time.time()

        def orphaned(name: str) -> bool:
            is_slot = SLOT_NAME.fullmatch(name) is not None
            return name not in keep and not (is_slot and lease_is_fresh(self.pool_root / name, stale, now))

        stale = self.pool_stale_seconds
        found = client.api.containers(all=True, filters={"label": f"{POOL_LABEL}={self.pool_identity}"})
        for summary in found:
            name = (summary.get("Labels") or {}).get(POOL_SLOT_LABEL, "")
            if not orphaned(name):
                continue
            with contextlib.suppress(NotFound):
                client.api.remove_container(summary["Id"], force=True)
                removed += 1
            if SLOT_NAME.fullmatch(name):
                shutil.rmtree(self.pool_root / name, ignore_errors=True)
        if self.pool_root.is_dir():
            for folder in self.pool_root.iterdir():  # a worker that died before its container existed
                if folder.is_dir() and orphaned(folder.name):
                    shutil.rmtree(folder, ignore_errors=True)
        return removed

    def _give_to_container(self, *paths: Path) -> None:
        """A worker running as root (tests) hands the job folder to the containers' uid, as a worker running as
        that uid (deployed) owns it already."""
        match = NUMERIC_USER.match(self.user)
        if os.geteuid() != 0 or match is None:
            return
        uid, gid = int(match[1]), int(match[2])
        for path in paths:
            os.chown(path, uid, gid, follow_symlinks=False)

    def _lay_out(self, user_data: Path, *, ready: bool = False) -> None:
        """An empty job folder gets what Freqtrade would make in a user's folder, and ``ready``: ``.ready`` (the
        server has imported Freqtrade, or served a job and cleaned up; benchmarks and tests wait for it)."""
        made = [user_data / sub for sub in USER_DATA_SUBDIRS]
        for path in made:
            path.mkdir(mode=0o700)
        if ready:
            (user_data / pool_entry.READY_FILE).touch(mode=0o600)
            made.append(user_data / pool_entry.READY_FILE)
        self._give_to_container(user_data, *made)
