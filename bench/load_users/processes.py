"""What the stack's processes did, sampled on a thread of its own: memory, CPU and database connections."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass

import psutil
import psycopg

from bench.api_server import worker_pids
from bench.common import POSTGRES_URL

SAMPLE_EVERY = 2.0
POSTGRES_PORT = 5432


@dataclass
class Sample:
    """The processes at one moment of the run."""

    at: float  # monotonic
    phase: str  # before, load, drain, after
    api_rss: int  # bytes, the gunicorn workers together
    worker_rss: int  # bytes, the Celery main process and its pool processes (not their Freqtrade children)
    api_cpu: float  # CPU seconds (user + system) of the gunicorn workers so far
    machine_busy: float  # CPU seconds of the whole machine (all CPUs, not idle) so far: other work shows here
    api_connections: Counter[str]  # pg_stat_activity state -> count, for the API workers' sockets
    worker_connections: Counter[str]
    database_connections: int  # all of database ``test`` (other users included)


class Sampler(threading.Thread):
    """Samples the processes every SAMPLE_EVERY seconds on its own thread (and its own connection)."""

    def __init__(self, gunicorn: int, celery: int) -> None:
        super().__init__(daemon=True, name="load-sampler")
        self.gunicorn, self.celery = gunicorn, celery
        self.phase = "before"
        self.samples: list[Sample] = []
        self.stopped = threading.Event()
        self.conn = psycopg.connect(POSTGRES_URL, autocommit=True)

    def api_processes(self) -> list[psutil.Process]:
        return [psutil.Process(pid) for pid in worker_pids(self.gunicorn)]

    def worker_processes(self) -> list[psutil.Process]:
        main = psutil.Process(self.celery)
        return [main, *main.children(recursive=False)]

    def sample(self) -> Sample:
        api, workers = self.api_processes(), self.worker_processes()
        return Sample(
            at=time.monotonic(),
            phase=self.phase,
            api_rss=_rss(api),
            worker_rss=_rss(workers),
            api_cpu=_cpu(api),
            machine_busy=_machine_busy(),
            api_connections=self.connection_states(api),
            worker_connections=self.connection_states(workers),
            database_connections=self.conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            ).fetchone()[0],
        )

    def connection_states(self, processes: list[psutil.Process]) -> Counter[str]:
        """The processes' open sockets to PostgreSQL, by their server-side state (idle, active, ...)."""
        ports = []
        for process in processes:
            try:
                sockets = process.net_connections(kind="tcp")
            except psutil.NoSuchProcess:
                continue
            ports += [s.laddr.port for s in sockets if s.raddr and s.raddr.port == POSTGRES_PORT]
        rows = self.conn.execute(
            "SELECT coalesce(state, 'unknown'), count(*) FROM pg_stat_activity "
            "WHERE client_port = ANY(%s) AND client_addr IN ('127.0.0.1', '::1') GROUP BY 1",
            (ports,),
        ).fetchall()
        states = Counter({state: count for state, count in rows})
        states["client sockets"] = len(ports)
        return states

    def run(self) -> None:
        while not self.stopped.wait(SAMPLE_EVERY):
            try:
                self.take()
            except (psutil.Error, psycopg.Error) as exc:  # a process gone between two calls: the next one
                print(f"sample skipped: {exc!r}", file=sys.stderr)

    def take(self) -> Sample:
        sample = self.sample()
        self.samples.append(sample)
        return sample

    def stop(self) -> None:
        self.stopped.set()
        if self.is_alive():
            self.join(timeout=30)


def _rss(processes: list[psutil.Process]) -> int:
    total = 0
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += process.memory_info().rss
    return total


def _cpu(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = process.cpu_times()
            total += times.user + times.system
    return total


def _machine_busy() -> float:
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


def connection_count(states: Counter[str]) -> int:
    """Connections in ``states`` (one of :meth:`Sampler.connection_states`), without the socket count."""
    return sum(count for state, count in states.items() if state != "client sockets")
