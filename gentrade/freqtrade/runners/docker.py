"""Run stock ``freqtrade backtesting`` in a pinned Freqtrade image (production): ours by default.

The worker talks to the Docker daemon with docker-py and starts one sibling container per
backtest (or hands it to a pooled one: ``docker_pooled_job``). Over 400 lines, a fifth of it this description,
because the path mapping and the lock-down are the security boundary of every container, cold or pooled, and are
read best in one place with the runner that applies them.

Only two folders are mounted: the job's ``user_data`` read-write at
``/freqtrade/user_data`` and the shared market-data cache read-only at ``/freqtrade/market_data``.
Every path handed to Freqtrade is translated into one of those; any other path is refused with
``ValueError`` before the daemon is contacted, so a job can never mount an arbitrary host path.

The daemon resolves mount sources on the host, not in the worker: ``host_data_dir`` is the
worker's ``data_dir`` as the host sees it (bind mounts), or ``data_volume`` names the Docker
volume that holds it (volume mounts with a subpath, Docker Engine 26+ / API 1.45+).

The container runs as the worker's uid:gid (files it writes stay the worker's, files the worker wrote
with mode 0600 stay readable to it) and gets no environment of ours (no secrets): only ``HOME=/tmp``
and, for an image laid out like the official ``freqtradeorg/freqtrade`` (Freqtrade installed with
``pip --user``), the ``PYTHONUSERBASE`` its own user would have, read off the image's ``PATH``.
Memory/CPU/pids limits, a read-only root file system with a tmpfs for /tmp, no capabilities, and
``no-new-privileges``. It is always removed. A missing image is the backtest's ``image_missing``.

No network (``network_mode=none``): strategy code can reach no address at all. Freqtrade still loads
the exchange's markets when it starts, so the container's first process serves the market list the
worker cached (:mod:`gentrade.freqtrade.market_list`, inside the read-only market-data mount) on the
container's own loopback, and a last config file points ccxt there; candles come from the mount.

Pooled containers (``pool_size`` > 0, ``GENTRADE_DOCKER_POOL_SIZE``, default 1 per worker process) have imported
Freqtrade before any job and serve up to ``container_jobs`` (``GENTRADE_DOCKER_CONTAINER_JOBS``) backtests each, in
a fresh child forked per job: :mod:`gentrade.freqtrade.runners.docker_pooled` makes them,
:mod:`gentrade.freqtrade.runners.docker_pooled_job` runs a job in one, :mod:`gentrade.freqtrade.runners.docker_pool`
keeps the books. Isolation is the cold container's, option for option (``_locked_down``), a pooled container never
sees a user's folder, and nothing of a job is left in it for the next.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

import docker
import requests
from docker.errors import APIError, ImageNotFound, NotFound
from docker.models.containers import Container
from docker.types import Mount

from gentrade.freqtrade.jobs import BacktestJob, RunnerProblem, RunOutcome
from gentrade.freqtrade.limits import says_out_of_memory
from gentrade.freqtrade.market_list import PUBLIC_API_PATH, SERVED_DIR, market_list_file
from gentrade.freqtrade.runners.docker_parts import (
    CONTAINER_MARKET_DATA,
    CONTAINER_USER_DATA,
    LABEL,
    MARKETS_PORT,
    NETWORK_CONFIG,
    Ended,
    Watch,
    container_name,
)
from gentrade.freqtrade.runners.docker_pool import MIN_STALE_SECONDS, POOL, STALE_SECONDS, ContainerPool
from gentrade.freqtrade.runners.docker_pooled import (
    POOL_ENTRY_SOURCE,
    POOL_IMAGE_LABEL,
    POOL_LABEL,
    POOL_SHAPE_LABEL,
    POOL_SLOT_LABEL,
    PROGRESS_SOURCE,
)
from gentrade.freqtrade.runners.docker_pooled_job import PooledJobs
from gentrade.freqtrade.userdir import write_atomically

log = logging.getLogger(__name__)

# Names other modules (tests, benchmarks) import from here.
__all__ = [
    "CONTAINER_MARKET_DATA",
    "CONTAINER_USER_DATA",
    "LABEL",
    "MARKETS_PORT",
    "NETWORK_CONFIG",
    "POOL_ENTRY_SOURCE",
    "POOL_IMAGE_LABEL",
    "POOL_LABEL",
    "POOL_SHAPE_LABEL",
    "POOL_SLOT_LABEL",
    "PROGRESS_SOURCE",
    "DockerRunner",
    "EngineUnsupported",
    "container_name",
    "image_environment",
]

TAIL_LINES = 60
PIDS_LIMIT = 256
TMPFS_MB = 256
CONTAINER_JOBS = 1  # backtests a pooled container serves (the worker's setting: GENTRADE_DOCKER_CONTAINER_JOBS)
ClientFactory = Callable[[], docker.DockerClient]
MIN_API_VERSION = (1, 41)  # Docker 20.10, the oldest engine the runner is tested on
VOLUME_SUBPATH_API_VERSION = (1, 45)  # older engines ignore a volume mount's subpath: the whole volume
USER_BIN = "/.local/bin"  # where ``pip install --user`` puts scripts, under the user base
# The container has no network: PID 1 is a shell that serves the cached market list on loopback (Freqtrade
# loads the exchange's markets when it starts), then becomes the image's entrypoint with Freqtrade's arguments.
SERVE_MARKETS_THEN_EXEC = (
    f'python3 -m http.server --bind 127.0.0.1 --directory {{markets}} {MARKETS_PORT} >/dev/null 2>&1 & exec "$@"'
)


class EngineUnsupported(RuntimeError):
    """The Docker engine cannot serve this runner (refused at the worker's start, not at a backtest)."""


def api_version(text: str) -> tuple[int, int]:
    major, minor = text.split(".")[:2]
    return int(major), int(minor)


def image_environment(image_env: list[str] | None) -> dict[str, str]:
    """The container's whole environment: a writable ``HOME`` and, for a ``pip --user`` layout, its user base.

    Running as the worker's uid (not the image's user), Python would look for user packages under the
    home of a user that does not exist there; ``PYTHONUSERBASE`` points it at the image user's."""
    environment = {"HOME": "/tmp"}  # noqa: S108 - the container's tmpfs
    for entry in image_env or []:
        name, _, value = entry.partition("=")
        if name != "PATH":
            continue
        for directory in value.split(":"):
            if directory.endswith(USER_BIN):
                environment["PYTHONUSERBASE"] = directory.removesuffix("/bin")
                break
    return environment


@dataclasses.dataclass(frozen=True)
class _Image:
    id: str
    environment: dict[str, str]
    entrypoint: list[str]


class DockerRunner(PooledJobs):
    """``Runner`` that executes Freqtrade in a locked-down sibling container: a pooled one that imported
    Freqtrade already (``pool_size`` > 0), or one created for the backtest."""

    def __init__(
        self,
        client: docker.DockerClient | ClientFactory,
        image: str,
        data_dir: Path,
        host_data_dir: PurePosixPath | str | None = None,
        *,
        data_volume: str | None = None,
        user: str | None = None,
        pids_limit: int = PIDS_LIMIT,
        tmpfs_mb: int = TMPFS_MB,
        tail_lines: int = TAIL_LINES,
        pool_size: int = 0,
        pool: ContainerPool = POOL,
        pool_stale_seconds: float = STALE_SECONDS,
        container_jobs: int = CONTAINER_JOBS,
    ) -> None:
        # A factory gives each run its own client (and HTTP session), closed afterwards.
        self._client = client
        self.image = image
        self.data_dir = Path(data_dir).resolve()
        self.host_data_dir = PurePosixPath(host_data_dir if host_data_dir is not None else self.data_dir)
        if data_volume is None and not self.host_data_dir.is_absolute():
            raise ValueError(f"host_data_dir must be an absolute host path: {host_data_dir!r}")
        self.data_volume = data_volume
        # The worker's own uid:gid by default, so files written to user_data stay the worker's.
        self.user = user or f"{os.getuid()}:{os.getgid()}"
        self.pids_limit = pids_limit
        self.tmpfs_mb = tmpfs_mb
        self.tail_lines = tail_lines
        if pool_size < 0:
            raise ValueError(f"pool_size must be 0 or more: {pool_size}")
        self.pool_size = pool_size
        if container_jobs < 1:
            raise ValueError(f"container_jobs must be 1 or more: {container_jobs}")
        self.container_jobs = container_jobs
        self.pool = pool
        # A pooled container whose owner has not touched its lease this long belongs to a worker that died.
        self.pool_stale_seconds = max(MIN_STALE_SECONDS, pool_stale_seconds)

    # --- paths -------------------------------------------------------------------------------
    def _inside_data_dir(self, path: Path, what: str) -> PurePosixPath:
        """``path`` relative to the worker's data folder, or ValueError."""
        resolved = Path(path).resolve()
        if not resolved.is_relative_to(self.data_dir):
            raise ValueError(f"{what} {path} is outside the data folder {self.data_dir}")
        return PurePosixPath(resolved.relative_to(self.data_dir).as_posix())

    def _roots(self, job: BacktestJob) -> list[tuple[Path, PurePosixPath, bool]]:
        """(worker path, container path, read-only) of the two mounts; validates the job."""
        user_data = Path(job.user_data_dir).resolve()
        market = Path(job.datadir).resolve()
        self._inside_data_dir(user_data, "user_data_dir")
        self._inside_data_dir(market, "datadir")
        if user_data.is_relative_to(market):
            raise ValueError(f"user_data_dir {user_data} must not lie inside the shared datadir {market}")
        if not Path(job.results_dir).resolve().is_relative_to(user_data):
            raise ValueError(f"results_dir {job.results_dir} must lie inside user_data_dir {user_data}")
        if user_data.is_relative_to(self.pool_root) or market.is_relative_to(self.pool_root):
            raise ValueError(f"the job's folders must not lie in the container pool's {self.pool_root}")
        return [(user_data, CONTAINER_USER_DATA, False), (market, CONTAINER_MARKET_DATA, True)]

    def path_map(self, job: BacktestJob) -> Callable[[Path], str]:
        """Worker path -> container path; ValueError for anything outside the two mounts."""
        # Most specific root first, in case the market data lives inside user_data.
        roots = sorted(self._roots(job), key=lambda root: len(root[0].parts), reverse=True)

        def to_container(path: Path) -> str:
            resolved = Path(path).resolve()
            for worker_root, container_root, _ in roots:
                if resolved.is_relative_to(worker_root):
                    return str(container_root / resolved.relative_to(worker_root).as_posix())
            raise ValueError(f"{path} is outside the job's user_data_dir and datadir: it cannot be mounted")

        return to_container

    def _mount(self, worker_root: Path, container_root: PurePosixPath, read_only: bool) -> Mount:
        """A mount of ``worker_root`` (inside the data folder) as the Docker daemon sees it."""
        relative = self._inside_data_dir(worker_root, "mount source")
        if self.data_volume is not None:
            subpath = None if str(relative) == "." else str(relative)
            return Mount(str(container_root), self.data_volume, type="volume", read_only=read_only, subpath=subpath)
        return Mount(str(container_root), str(self.host_data_dir / relative), type="bind", read_only=read_only)

    def mounts(self, job: BacktestJob) -> list[Mount]:
        """Exactly two mounts, sources as the Docker daemon sees them."""
        return [self._mount(*root) for root in self._roots(job)]

    def _locked_down(self, memory_mb: int, cpus: float, environment: dict[str, str] | None) -> dict[str, Any]:
        """What every backtest container gets, cold or pooled: no network, no environment of ours, limits,
        a read-only root, no capabilities, the worker's uid."""
        return {
            "detach": True,
            "environment": environment or image_environment(None),  # nothing of the worker's, no secret
            "network_mode": "none",  # untrusted strategy code: no route anywhere, loopback only
            "mem_limit": f"{memory_mb}m",
            "memswap_limit": f"{memory_mb}m",  # no swap on top of the memory limit
            "nano_cpus": int(cpus * 1e9),
            "pids_limit": self.pids_limit,
            "read_only": True,
            "tmpfs": {"/tmp": f"rw,noexec,nosuid,size={self.tmpfs_mb}m"},  # noqa: S108 - in the container
            "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges"],
            "user": self.user,
            "working_dir": "/freqtrade",
        }

    def container_options(
        self,
        job: BacktestJob,
        environment: dict[str, str] | None = None,
        entrypoint: list[str] | None = None,
    ) -> dict[str, Any]:
        """Everything ``containers.create`` gets besides the image; ValueError for a bad path.

        ``entrypoint`` is the image's own (Freqtrade), run after the market list is being served."""
        to_container = self.path_map(job)
        job = dataclasses.replace(job, config_files=(*job.config_files, Path(job.results_dir) / NETWORK_CONFIG))
        markets = to_container(Path(job.datadir) / SERVED_DIR)
        return {
            "entrypoint": ["/bin/sh", "-c", SERVE_MARKETS_THEN_EXEC.format(markets=markets), "gentrade-backtest"],
            "command": [*(entrypoint or ["freqtrade"]), *job.freqtrade_args(to_container)],
            **self._locked_down(job.memory_mb, job.cpus, environment),
            "mounts": self.mounts(job),
            "labels": {LABEL: str(job.backtest_id)},
            "name": container_name(job),
        }

    @staticmethod
    def write_network_config(job: BacktestJob) -> None:
        """Freqtrade in the container asks the loopback server for the markets and fetches nothing else."""
        public = f"http://127.0.0.1:{MARKETS_PORT}/{PUBLIC_API_PATH}"
        ccxt_config = {"urls": {"api": {"public": public}}, "options": {"fetchCurrencies": False}}
        exchange = {"only_from_ccxt": True, "ccxt_config": ccxt_config, "ccxt_async_config": ccxt_config}
        write_atomically(Path(job.results_dir) / NETWORK_CONFIG, json.dumps({"exchange": exchange}), mode=0o644)

    # --- the engine ------------------------------------------------------------------------
    def check_engine(self) -> str:
        """Refuse an engine this runner cannot serve; the engine's API version when it can.

        Called when the worker starts, so a wrong engine is a clear start-up error, not a failed backtest."""
        client, owned = self._get_client()
        try:
            version = str(client.version().get("ApiVersion", "0.0"))
        finally:
            if owned:
                client.close()
        needed = VOLUME_SUBPATH_API_VERSION if self.data_volume is not None else MIN_API_VERSION
        if api_version(version) < needed:
            why = "volume subpaths (GENTRADE_DOCKER_DATA_VOLUME)" if self.data_volume is not None else "the runner"
            raise EngineUnsupported(
                f"the Docker engine speaks API {version}; {why} needs {needed[0]}.{needed[1]} or newer"
            )
        return version

    def _image(self, client: docker.DockerClient) -> _Image:
        """The image's id, the container's environment and the image's entrypoint; pulled if missing, else
        ``image_missing``."""
        try:
            image = client.images.get(self.image)
        except ImageNotFound:
            log.info("pulling %s", self.image)
            try:
                image = client.images.pull(self.image)
            except (APIError, requests.exceptions.RequestException) as exc:
                raise RunnerProblem(
                    "image_missing",
                    f"the Freqtrade image {self.image} is not on the Docker engine and could not be pulled "
                    f"(build it with `make docker-images`, or set GENTRADE_FREQTRADE_IMAGE): {exc}"[:500],
                ) from exc
        config = image.attrs.get("Config") or {}
        return _Image(
            str(image.id), image_environment(config.get("Env")), list(config.get("Entrypoint") or ["freqtrade"])
        )

    # --- running -----------------------------------------------------------------------------
    def run(
        self,
        job: BacktestJob,
        *,
        should_cancel: Callable[[], bool],
        on_poll: Callable[[], None],
        poll_seconds: float = 1.0,
        progress: Callable[[float], None] | None = None,
    ) -> RunOutcome:
        """Run to completion, timeout or cancel; the container is removed whatever happens."""
        self.container_options(job)  # validates every path before any request
        if not market_list_file(Path(job.datadir)).exists():
            raise RunnerProblem("internal_error", "the exchange's market list is not in the market-data cache")
        started = time.monotonic()
        deadline = started + job.timeout_seconds
        Path(job.results_dir).mkdir(parents=True, exist_ok=True)  # as the worker's user, not root
        self.write_network_config(job)
        client, owned = self._get_client()
        try:
            image = self._image(client)
            watch = Watch(should_cancel, on_poll, poll_seconds, progress, deadline)
            if self.pool_size > 0:
                ended = self._run_pooled(client, job, image, watch)
            else:
                ended = self._run_cold(client, job, image, watch)
        finally:
            if owned:
                client.close()
        tail = ended.tail
        if ended.note:
            tail = f"{tail}\n[gentrade] killed: {ended.note}".lstrip("\n")
        stopped = ended.cancelled or ended.timed_out
        return RunOutcome(
            exit_code=None if stopped else ended.exit_code,
            timed_out=ended.timed_out,
            cancelled=ended.cancelled,
            seconds=time.monotonic() - started,
            log_tail=tail,
            out_of_memory=not stopped and ended.exit_code != 0 and (ended.oom_killed or says_out_of_memory(tail)),
        )

    def _run_cold(self, client: docker.DockerClient, job: BacktestJob, image: _Image, watch: Watch) -> Ended:
        """A container created for this backtest: the image's own entrypoint after the market-list server."""
        options = self.container_options(job, image.environment, image.entrypoint)
        container: Container | None = None
        try:
            # create, then start: a container that fails to start is still known and removed
            container = self._create(client, job, options)
            container.start()
            return self._supervise(container, job, Path(job.results_dir), watch)
        finally:
            if container is not None:
                self._remove(container)

    def _get_client(self) -> tuple[docker.DockerClient, bool]:
        if isinstance(self._client, docker.DockerClient):
            return self._client, False
        return self._client(), True

    def _create(self, client: docker.DockerClient, job: BacktestJob, options: dict[str, Any]) -> Container:
        """Create (not start); replace a leftover of the same backtest (a crashed worker)."""
        try:
            return client.containers.create(self.image, **options)
        except APIError as exc:
            if exc.status_code != 409:  # 409: the name is taken
                raise
        self._remove_leftover(client, job)
        return client.containers.create(self.image, **options)

    def _remove_leftover(self, client: docker.DockerClient, job: BacktestJob) -> None:
        """The container named after this backtest is a crashed worker's attempt at it (cold, or pooled and renamed
        in this data folder's pool): remove it; anything else of that name is not ours to touch."""
        stale = client.containers.get(container_name(job))
        labels = stale.labels
        if labels.get(LABEL) != str(job.backtest_id) and labels.get(POOL_LABEL) != self.pool_identity:
            raise RuntimeError(f"container {container_name(job)} exists and is not this backtest's")
        log.warning("removing leftover container %s of backtest %s", stale.short_id, job.backtest_id)
        stale.remove(force=True)

    def _supervise(self, container: Container, job: BacktestJob, progress_dir: Path, watch: Watch) -> Ended:
        """Wait for the container's end, the deadline or a cancel; kill it on the latter two."""
        ended = Ended()
        while True:
            remaining = watch.deadline - time.monotonic()
            status = self._wait(container, max(0.01, min(watch.poll_seconds, remaining)))
            if status is not None:
                ended.exit_code = status
                break
            if watch.tick(ended, progress_dir, job.timeout_seconds):
                break
        if ended.cancelled or ended.timed_out:
            self._kill(container)
        elif ended.exit_code != 0 and self._oom_killed(container):  # the container's cgroup limit
            ended.oom_killed, ended.note = True, f"out of memory (limit {job.memory_mb} MiB)"
        ended.tail = self._log_tail(container)
        return ended

    def _wait(self, container: Container, timeout: float) -> int | None:
        """The exit status, or None while it still runs after ``timeout`` seconds."""
        asked = time.monotonic()
        try:
            result = container.wait(timeout=timeout)
        except requests.exceptions.ReadTimeout:
            return None
        except requests.exceptions.ConnectionError:
            # docker-py over a unix socket can report the read timeout as a ConnectionError.
            # One that comes back early is a real failure: let reload() raise it if the daemon is gone.
            if time.monotonic() - asked < timeout * 0.9:
                container.reload()
                time.sleep(max(0.0, timeout - (time.monotonic() - asked)))
            return None
        return int(result.get("StatusCode", -1))

    @staticmethod
    def _kill(container: Container) -> None:
        try:
            container.kill()
        except APIError as exc:  # it exited (409) or vanished (404) meanwhile
            log.info("kill of container %s: %s", container.short_id, exc)

    @staticmethod
    def _oom_killed(container: Container) -> bool:
        try:
            container.reload()
        except APIError:
            return False
        return bool(container.attrs.get("State", {}).get("OOMKilled"))

    def _log_tail(self, container: Container) -> str:
        try:
            data = container.logs(stdout=True, stderr=True, tail=self.tail_lines)
        except APIError as exc:
            return f"[gentrade] could not read the container's log: {exc}"
        return "\n".join(data.decode("utf-8", errors="replace").splitlines()[-self.tail_lines :])

    @staticmethod
    def _remove(container: Container) -> None:
        """Best effort: a failure here must not hide the run's own result or exception."""
        try:
            container.remove(force=True)
        except NotFound:
            pass
        except (APIError, requests.exceptions.RequestException):
            log.exception("could not remove container %s", container.short_id)
