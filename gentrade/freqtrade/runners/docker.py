"""Run stock ``freqtrade backtesting`` in a pinned Freqtrade image (production): ours by default.

The worker talks to the Docker daemon with docker-py and starts one sibling container per
backtest (or hands it to a pooled one: ``docker_pooled_job``). This module checks the engine, finds the image and
runs a cold container to its end.

What every container gets, cold or pooled (the two mounts, the path mapping, the lock-down, no network) is
:mod:`gentrade.freqtrade.runners.docker_lockdown`: the security boundary, in one place.

Pooled containers (``pool_size`` > 0, ``GENTRADE_DOCKER_POOL_SIZE``, default 1 per worker process) have imported
Freqtrade before any job and serve up to ``container_jobs`` (``GENTRADE_DOCKER_CONTAINER_JOBS``) backtests each, in
a fresh child forked per job: :mod:`gentrade.freqtrade.runners.docker_pooled` makes them,
:mod:`gentrade.freqtrade.runners.docker_pooled_job` runs a job in one, :mod:`gentrade.freqtrade.runners.docker_pool`
keeps the books. Isolation is the cold container's, option for option (``_locked_down``), a pooled container never
sees a user's folder, and nothing of a job is left in it for the next.
"""

from __future__ import annotations

import dataclasses
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

from gentrade.freqtrade.jobs import BacktestJob, RunnerProblem, RunOutcome
from gentrade.freqtrade.limits import says_out_of_memory
from gentrade.freqtrade.market_list import market_list_file
from gentrade.freqtrade.runners.docker_lockdown import PIDS_LIMIT, TMPFS_MB, image_environment
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
CONTAINER_JOBS = 1  # backtests a pooled container serves (the worker's setting: GENTRADE_DOCKER_CONTAINER_JOBS)
ClientFactory = Callable[[], docker.DockerClient]
MIN_API_VERSION = (1, 41)  # Docker 20.10, the oldest engine the runner is tested on
VOLUME_SUBPATH_API_VERSION = (1, 45)  # older engines ignore a volume mount's subpath: the whole volume


class EngineUnsupported(RuntimeError):
    """The Docker engine cannot serve this runner (refused at the worker's start, not at a backtest)."""


def api_version(text: str) -> tuple[int, int]:
    major, minor = text.split(".")[:2]
    return int(major), int(minor)


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
