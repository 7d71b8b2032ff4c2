"""What every backtest container gets, cold or pooled: two mounts, the paths Freqtrade is given inside them,
and the lock-down. This is the security boundary of the docker runner, so it lives in one place.

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
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from docker.types import Mount

from gentrade.freqtrade.jobs import BacktestJob
from gentrade.freqtrade.market_list import PUBLIC_API_PATH, SERVED_DIR
from gentrade.freqtrade.runners.docker_parts import (
    CONTAINER_MARKET_DATA,
    CONTAINER_USER_DATA,
    LABEL,
    MARKETS_PORT,
    NETWORK_CONFIG,
    container_name,
)
from gentrade.freqtrade.userdir import write_atomically

PIDS_LIMIT = 256
TMPFS_MB = 256
USER_BIN = "/.local/bin"  # where ``pip install --user`` puts scripts, under the user base
# The container has no network: PID 1 is a shell that serves the cached market list on loopback (Freqtrade
# loads the exchange's markets when it starts), then becomes the image's entrypoint with Freqtrade's arguments.
SERVE_MARKETS_THEN_EXEC = (
    f'python3 -m http.server --bind 127.0.0.1 --directory {{markets}} {MARKETS_PORT} >/dev/null 2>&1 & exec "$@"'
)


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


class ContainerSpec:
    """The mounts, paths and lock-down of the runner's containers (the docker runner's base; its pooled half
    uses the same, option for option)."""

    data_dir: Path
    host_data_dir: PurePosixPath
    data_volume: str | None
    user: str
    pids_limit: int
    tmpfs_mb: int
    pool_root: Path  # the pooled containers' own folders, which no job may use

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
