"""A job in a pooled container: hand it over, watch it, take the results back, then reset or remove the container.

One job in a slot: the worker renames the container after the backtest and gives it a backtest's CPU weight, copies
in only what the job reads (the strategy file, the configs, an empty results folder: the paths Freqtrade gets are
the cold container's), writes ``request.json`` atomically, then watches: the server's ``done`` line on the
container's stdout (which no process of the job can write to) ends the job, with its exit code and the cgroup's
OOM kills during it; on_poll, progress, cancel and the deadline as a cold run; a container that stopped is a
dead one, reported as a cold container that died. Freqtrade's log comes from the job's own log file. The regular
files Freqtrade wrote are moved into the user's results folder. Then, if the server reported the end (so nothing
of the job runs any more: the server killed every other process of the container and emptied its scratch space)
and the container has jobs left, the worker empties the job folder, renames the container back and returns it to
the pool; otherwise (timeout, cancel, a container that died, its last job, any failure) it removes container and
folder, and the pool starts a replacement.

:class:`PooledJobs` is a base of :class:`gentrade.freqtrade.runners.docker.DockerRunner`, over the pooled
containers it makes and removes (:class:`gentrade.freqtrade.runners.docker_pooled.PooledContainers`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import json
import logging
import os
import shutil
import stat
import time
from pathlib import Path
from typing import Any

import docker
import requests
from docker.errors import APIError, NotFound
from docker.models.containers import Container

from gentrade.freqtrade import pool_entry
from gentrade.freqtrade.jobs import BacktestJob
from gentrade.freqtrade.runners.docker_parts import NETWORK_CONFIG, Ended, Watch, container_name
from gentrade.freqtrade.runners.docker_pool import PoolShape, Slot
from gentrade.freqtrade.runners.docker_pooled import POOL_IDLE_CPU_SHARES, PooledContainers, pool_container_name
from gentrade.freqtrade.userdir import write_atomically

log = logging.getLogger(__name__)

JOB_CPU_SHARES = 1024  # a job's CPU weight: Docker's default, as a cold container's
# How often the worker looks for the end of a pooled job (a stat of the server's hint file; the engine is asked
# after the hint changed, and every poll anyway).
HINT_POLL_SECONDS = 0.02
# Once the hint changed, the log is asked this often for this long (a forged hint costs no more than that).
HINT_ASK_INTERVAL = 0.05
HINT_ASK_SECONDS = 2.0
JOB_LOG_TAIL_BYTES = 256 * 1024


class PooledJobs(PooledContainers):
    """The docker runner's pooled runs: one job at a time in a pooled container. Uses the runner's container
    helpers (kill, remove, log tail, path map)."""

    def _run_pooled(self, client: docker.DockerClient, job: BacktestJob, image: Any, watch: Watch) -> Ended:
        """A pooled container: hand it the job's files and request, watch it, take the results back; then return it
        to the pool, clean, or remove it.

        It sees its own folder (only what this job reads: the strategy, the configs, an empty results folder) and
        the market data, as the cold container sees the user's folder and the market data."""
        shape = PoolShape(
            image.id, tuple(sorted(image.environment.items())), Path(job.datadir).resolve(), job.memory_mb, job.cpus
        )
        slot = self.pool.acquire(self, client, shape, self.pool_size, self.container_jobs)
        container: Container = slot.container
        ended: Ended | None = None
        try:
            self._claim_name(client, container, job)
            container.update(cpu_shares=JOB_CPU_SHARES)  # from a warm-up's weight to a backtest's
            results = self._stage(job, slot)
            slot.jobs += 1
            request = {"args": self._pooled_args(job), "progress": self.path_map(job)(Path(job.results_dir))}
            write_atomically(slot.user_data / pool_entry.REQUEST_FILE, json.dumps(request), mode=0o644)
            ended = self._supervise_pooled(container, job, slot, results, watch)
            return ended
        finally:
            served = ended is not None and ended.served
            if not served:
                self._remove(container)  # nothing of the job may write while its results are taken
            try:
                self._collect(job, slot)
            finally:
                self._after_job(container, slot, served)

    def _after_job(self, container: Container, slot: Slot, served: bool) -> None:
        """Back to the pool, clean, while it has jobs left and its server reported the end; else removed."""
        kept = (
            served
            and slot.jobs < self.container_jobs
            and self._reset(container, slot)
            and self.pool.give_back(self, slot)
        )
        if kept:
            return
        if served:
            self._remove(container)
        shutil.rmtree(slot.folder, ignore_errors=True)
        self.pool.release(slot)

    def _reset(self, container: Container, slot: Slot) -> bool:
        """The job folder as a new container's, the pool's name and an idle weight: whether all of it worked.

        Only after the server's report: no process of the job is left to write in the folder meanwhile."""
        try:
            slot.user_data.chmod(0o700)  # the job's own uid may have taken the modes away
            for entry in list(slot.user_data.iterdir()):
                pool_entry.remove(entry)
            if any(True for _ in slot.user_data.iterdir()):
                raise OSError("the job folder could not be emptied")
            self._lay_out(slot.user_data, ready=True)
            container.rename(pool_container_name(slot.name))
            container.update(cpu_shares=POOL_IDLE_CPU_SHARES)
        except Exception as exc:  # whatever went wrong, the container is not reused
            log.warning("removing pooled container %s instead of reusing it: %s", slot.name, exc)
            return False
        return True

    def _supervise_pooled(
        self, container: Container, job: BacktestJob, slot: Slot, results: Path, watch: Watch
    ) -> Ended:
        """Until the server reports this job's end, the container stops, the deadline or a cancel (the container is
        then killed: the pool replaces it). The exit and OOM kills are the server's report, never a file's."""
        ended = Ended()
        asking = _ReportAsking(slot.user_data / pool_entry.EXIT_HINT)
        next_poll = 0.0
        while True:
            now = time.monotonic()
            polling = now >= next_poll
            if asking.due(now, polling) and self._took_report(container, job, slot, ended):
                break
            if polling:
                next_poll = now + watch.poll_seconds
                if self._took_stop(container, job, ended) or watch.tick(ended, results, job.timeout_seconds):
                    break
            time.sleep(HINT_POLL_SECONDS)
        if ended.cancelled or ended.timed_out:
            self._kill(container)
        ended.tail = self._job_log_tail(slot) or ("" if ended.served else self._log_tail(container))
        return ended

    def _took_report(self, container: Container, job: BacktestJob, slot: Slot, ended: Ended) -> bool:
        """Whether the server reported the end of this job; its exit and OOM kills noted in ``ended``."""
        report = self._report(container, slot.jobs)
        if report is None:
            return False
        ended.exit_code = int(report.get("exit", 1))
        ended.served = report.get("clean") is True  # else something stayed: no next job in it
        if ended.exit_code != 0 and int(report.get("oom_kills", 0)) > 0:
            ended.oom_killed, ended.note = True, f"out of memory (limit {job.memory_mb} MiB)"
        return True

    def _took_stop(self, container: Container, job: BacktestJob, ended: Ended) -> bool:
        """Whether the container stopped (its server died: a dead container, as a cold one that died), noted in
        ``ended``."""
        stopped = self._stopped(container)
        if stopped is None:
            return False
        ended.exit_code = stopped
        if stopped != 0 and self._oom_killed(container):
            ended.oom_killed, ended.note = True, f"out of memory (limit {job.memory_mb} MiB)"
        return True

    @staticmethod
    def _report(container: Container, job_number: int) -> dict[str, Any] | None:
        """The server's ``done`` line for this job, from the container's stdout (only the server writes there)."""
        try:
            data = container.logs(stdout=True, stderr=False, tail=20)
        except (APIError, requests.exceptions.RequestException):
            return None
        for line in reversed(data.decode("utf-8", errors="replace").splitlines()):
            with contextlib.suppress(ValueError):
                message = json.loads(line)
                if isinstance(message, dict) and message.get("done") == job_number:
                    return message
        return None

    @staticmethod
    def _stopped(container: Container) -> int | None:
        """The container's exit code once it stopped (its server died), else None."""
        try:
            container.reload()
        except NotFound:
            return 137
        state = container.attrs.get("State", {})
        if state.get("Running", container.status == "running"):
            return None
        return int(state.get("ExitCode", 137))

    def _job_log_tail(self, slot: Slot) -> str:
        """The last lines of the job's own log (its child's stdout and stderr): a regular file, no link followed."""
        try:
            fd = os.open(slot.user_data / pool_entry.JOB_LOG, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            return ""
        with os.fdopen(fd, "rb") as file:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return ""
            size = os.fstat(fd).st_size
            file.seek(max(0, size - JOB_LOG_TAIL_BYTES))
            data = file.read(JOB_LOG_TAIL_BYTES)
        return "\n".join(data.decode("utf-8", errors="replace").splitlines()[-self.tail_lines :])

    def _pooled_args(self, job: BacktestJob) -> list[str]:
        """The cold container's Freqtrade arguments: the job folder mirrors the user's, so the paths are the same."""
        with_network = dataclasses.replace(
            job, config_files=(*job.config_files, Path(job.results_dir) / NETWORK_CONFIG)
        )
        return with_network.freqtrade_args(self.path_map(job))

    def _inputs(self, job: BacktestJob) -> list[Path]:
        """The files of the user's folder this job reads: its configs and its strategy (resolved, inside it)."""
        user_data = Path(job.user_data_dir).resolve()
        configs = [Path(path).resolve() for path in (*job.config_files, Path(job.results_dir) / NETWORK_CONFIG)]
        strategies = user_data / "strategies"
        named = (strategies / f"{job.strategy_name}.py").resolve()
        if named.is_relative_to(strategies) and named.is_file():
            chosen = [named]
        else:  # a class in a file of another name: Freqtrade looks through them all, as in the user's folder
            chosen = sorted(path.resolve() for path in strategies.glob("*.py"))
        wanted = dict.fromkeys(path for path in (*configs, *chosen) if path.is_relative_to(user_data))
        return [path for path in wanted if path.is_file()]

    def _stage(self, job: BacktestJob, slot: Slot) -> Path:
        """Copy this job's inputs into the slot's folder, at the same places as in the user's; the results folder
        it writes to. Nothing else of the user (nor of anyone else) is ever there."""
        user_data = Path(job.user_data_dir).resolve()
        target = slot.user_data
        results = target / Path(job.results_dir).resolve().relative_to(user_data)
        made = _make_folders(target, results)
        copied = []
        for source in self._inputs(job):
            destination = target / source.relative_to(user_data)
            made += _make_folders(target, destination.parent)
            with source.open("rb") as reader, _open_new(destination) as writer:
                shutil.copyfileobj(reader, writer)
            copied.append(destination)
        self._give_to_container(*made, *copied)
        return results

    def _collect(self, job: BacktestJob, slot: Slot) -> None:
        """Move what Freqtrade wrote into the job's results folder: regular files only (a link the strategy made
        must not lead the worker anywhere), never over the inputs the worker wrote."""
        user_data = Path(job.user_data_dir).resolve()
        results_dir = Path(job.results_dir)
        source_dir = slot.user_data / Path(job.results_dir).resolve().relative_to(user_data)
        if not results_dir.is_dir() or not source_dir.is_dir() or source_dir.is_symlink():
            return  # the user or the backtest was deleted meanwhile: recreate nothing
        inputs = {path.name for path in self._inputs(job) if path.parent == results_dir.resolve()}
        for entry in source_dir.iterdir():
            if entry.name in inputs or entry.is_symlink() or not entry.is_file():
                continue
            destination = results_dir / entry.name
            try:
                os.replace(entry, destination)
            except OSError as exc:
                if exc.errno != errno.EXDEV:
                    raise
                shutil.copyfile(entry, destination)

    def _claim_name(self, client: docker.DockerClient, container: Container, job: BacktestJob) -> None:
        """Name the pooled container after the backtest, as a cold one is: ``docker ps`` shows what runs, and the
        next attempt of a backtest whose worker died finds and removes it."""
        name = container_name(job)
        try:
            container.rename(name)
            return
        except APIError as exc:
            if exc.status_code != 409:
                raise
        self._remove_leftover(client, job)
        container.rename(name)


@dataclasses.dataclass
class _ReportAsking:
    """When to ask the engine for the server's report: every poll, and often for a while after the server's exit
    hint changed (the engine may log the report a moment after the hint)."""

    hint: Path
    seen: tuple[int, int] | None = None
    next_ask: float = 0.0
    ask_until: float = 0.0

    def due(self, now: float, polling: bool) -> bool:
        current = _stamp(self.hint)
        if current is not None and current != self.seen:
            self.seen, self.ask_until = current, now + HINT_ASK_SECONDS
        if polling or (now < self.ask_until and now >= self.next_ask):
            self.next_ask = now + HINT_ASK_INTERVAL
            return True
        return False


def _stamp(path: Path) -> tuple[int, int] | None:
    """A file's inode and modification time, or None when it is not there."""
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_ino, status.st_mtime_ns


def _open_new(path: Path) -> Any:
    """A new file for writing that may not exist yet, and is no link: a copied input, private to its owner."""
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600), "wb")


def _make_folders(root: Path, folder: Path) -> list[Path]:
    """Make ``folder`` and its missing parents below ``root``; the ones made."""
    made = []
    for relative in [*reversed(folder.relative_to(root).parents), folder.relative_to(root)]:
        path = root / relative
        if path != root and not path.exists():
            path.mkdir(mode=0o700)
            made.append(path)
    return made
