"""A small cluster of real hosts on this one machine, sharing nothing but PostgreSQL and RabbitMQ (issue 17).

Each host is a Linux network namespace joined to the root namespace by a veth pair (its own /30), and a
disk that only its processes see: every host is configured with the same data folder path, ``<tmp>/view``,
and each of its processes runs in a private mount namespace where that path is a bind mount of the host's
own disk, ``<tmp>/disks/<host>``, and an empty tmpfs covers ``<tmp>/disks`` (the process's HOME), so no
host sees another's disk. The test, in the root namespace, reads each disk at ``<tmp>/disks/<host>``.

PostgreSQL, RabbitMQ and the exchange stand-in listen on 127.0.0.1 only: a host reaches them through TCP
forwarders of the test process, listening on its link's root-side address. A host has no route anywhere
else, not even to the other hosts. The test reaches the API at the api host's own address.

Hosts: ``api`` (gunicorn with gevent workers as in production, and celery beat, whose reaper takes over the
backtests of a worker host that died), ``w1`` and ``w2`` (``celery worker -c 2`` each). The database is a
private schema and the task queue a private one, both removed afterwards, as are the namespaces and links.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import random
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask

from gentrade import create_app
from gentrade.exchange_sim import ExchangeSimulator, SimulatorConfig
from gentrade.freqtrade.userdir import UserDirectories
from gentrade.tasks.celery_app import remove_queue
from tests.database import reset_schema
from tests.services import require_service
from tests.settings import production_settings
from tests.stack.environment import settings_env
from tests.stack.gunicorn import gunicorn
from tests.stack.worker import Worker, start_beat, worker_env

HOSTS = ("api", "w1", "w2")
WORKER_HOSTS = ("w1", "w2")
API_PORT = 8000
PAIRS = ("BTC/USDT", "ETH/USDT")
# The mount namespace of a host's process: its disk at the configured path, the other disks out of sight.
MOUNT_DISK = 'mount --bind "$1" "$2" && mount -t tmpfs tmpfs "$3" && shift 3 && exec "$@"'
HTTP_TIMEOUT = 30
DEFAULT_PORTS = {"database": 5432, "broker": 5672, "exchange": 80}  # of the services' URLs that name none


def namespaces_unavailable_reason() -> str | None:
    """Why network namespaces cannot be made here, or None."""
    if os.geteuid() != 0:
        return "the cluster test needs root for its network namespaces"
    missing = [tool for tool in ("ip", "nsenter", "unshare", "mount") if shutil.which(tool) is None]
    if missing:
        return f"the cluster test needs {', '.join(missing)}"
    probe = f"gt-{uuid.uuid4().hex[:6]}-probe"
    added = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if added.returncode != 0:
        return f"ip netns add failed: {added.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def require_namespaces() -> None:
    """Skip without namespaces (fail under ``CI=true``, as the other services' checks do)."""
    require_service(namespaces_unavailable_reason(), "", "network namespace")


def _ip(*args: str) -> str:
    done = subprocess.run(["ip", *args], capture_output=True, text=True)
    assert done.returncode == 0, f"ip {' '.join(args)}: {done.stderr.strip()}"
    return done.stdout


def free_subnet() -> str:
    """A random 10.231-239.x /24 (its first three octets) that no address or route of this machine uses."""
    taken = _ip("-4", "-o", "addr", "show") + _ip("-4", "route", "show")
    for _ in range(100):
        prefix = f"10.{random.randint(231, 239)}.{random.randint(0, 255)}"
        if f"{prefix}." not in taken:
            return prefix
    raise AssertionError("no free 10.231-239.x subnet")


@dataclass
class Host:
    """One machine: a network namespace linked to the root namespace, and a disk only its processes see."""

    name: str
    netns: str
    link: str  # the root side of the veth pair: down, the host is cut off
    root_ip: str  # where the host reaches the forwarders
    ip: str  # the host's own address
    disk: Path  # what the host's processes see at ``view``
    view: Path  # the data folder every host is configured with
    private: Path  # covered by an empty tmpfs in the host's processes: their HOME
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def prefix(self) -> list[str]:
        """The command prefix that runs a command on this host. ``nsenter --net``, not ``ip netns exec``: that
        remounts /sys and hides the cgroup file system the worker limits backtests' memory with."""
        return ["nsenter", f"--net=/run/netns/{self.netns}", "unshare", "--mount", "--propagation", "private",
                "sh", "-c", MOUNT_DISK, "sh", str(self.disk), str(self.view), str(self.private)]  # fmt: skip

    def plug(self) -> None:
        _ip("netns", "add", self.netns)
        _ip("link", "add", self.link, "type", "veth", "peer", "name", "eth0", "netns", self.netns)
        _ip("addr", "add", f"{self.root_ip}/30", "dev", self.link)
        _ip("link", "set", self.link, "up")
        _ip("-n", self.netns, "addr", "add", f"{self.ip}/30", "dev", "eth0")
        _ip("-n", self.netns, "link", "set", "eth0", "up")
        _ip("-n", self.netns, "link", "set", "lo", "up")

    def unplug(self) -> None:
        """Remove the link and the namespace (after ``kill``: a process left in it would keep it alive)."""
        subprocess.run(["ip", "link", "del", self.link], capture_output=True)
        subprocess.run(["ip", "netns", "del", self.netns], capture_output=True)

    def pids(self) -> list[int]:
        listed = subprocess.run(["ip", "netns", "pids", self.netns], capture_output=True, text=True).stdout
        return [int(pid) for pid in listed.split()]

    def kill(self) -> None:
        """Die as a machine does: the network goes first (no FIN reaches the services, which must notice by
        themselves), then every process in the namespace gets SIGKILL."""
        subprocess.run(["ip", "link", "set", self.link, "down"], capture_output=True)
        deadline = time.monotonic() + 15
        while pids := self.pids():
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            for process in self.processes:
                process.poll()  # reap our children: a zombie is out of the namespace already
            assert time.monotonic() < deadline, f"{self.name}: processes {pids} survived SIGKILL"
            time.sleep(0.05)
        for process in self.processes:
            process.wait(timeout=10)
        self.processes.clear()

    def revive(self) -> None:
        """The link back up: the host is reachable again (its processes are started separately)."""
        _ip("link", "set", self.link, "up")

    def alive(self) -> bool:
        return bool(self.pids())


class Forwarder:
    """TCP forwarders in the root namespace, on an asyncio loop in a daemon thread: a host's only way to the
    services, which listen on 127.0.0.1. A dead host's connections stay open, as a real network leaves them."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._servers: list[asyncio.Server] = []
        self._writers: set[asyncio.StreamWriter] = set()  # both ends of every forwarded connection
        self._thread = threading.Thread(target=self._loop.run_forever, name="cluster-forwarder", daemon=True)
        self._thread.start()

    def listen(self, address: str, target: tuple[str, int]) -> int:
        """Forward connections to ``address`` (on a free port, returned) to ``target``."""
        return asyncio.run_coroutine_threadsafe(self._listen(address, target), self._loop).result(timeout=10)

    async def _listen(self, address: str, target: tuple[str, int]) -> int:
        server = await asyncio.start_server(functools.partial(self._connect, target), address, 0)
        self._servers.append(server)
        return server.sockets[0].getsockname()[1]

    async def _connect(
        self, target: tuple[str, int], reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*target)
        except OSError:
            writer.transport.abort()
            return
        ends = {writer, upstream_writer}
        self._writers |= ends
        try:
            await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))
        finally:
            for end in ends:
                end.transport.abort()
            self._writers -= ends

    def stop(self) -> None:
        """Close every listener and connection (PostgreSQL then ends their sessions), then the loop."""
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _close(self) -> None:
        """Abort the connections, so each forwarding ends by itself (cancelled, asyncio would log each one)."""
        for server in self._servers:
            server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        pending = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        if pending:
            await asyncio.wait(pending, timeout=5)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy one direction until its end, then pass the end on (a half-close), as the kernel would."""
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except OSError:
        writer.transport.abort()


class HttpReply:
    """A ``requests`` response read like Flask's test response (``json`` a property), so the helpers of
    ``tests/backtests.py`` (``deploy_strategy``, ``start_backtest``, ``wait_for_backtest``) drive the API over
    HTTP unchanged."""

    def __init__(self, response: requests.Response) -> None:
        self.status_code = response.status_code
        self.headers = response.headers
        self.data = response.content

    @property
    def json(self) -> Any:
        return json.loads(self.data) if self.data else None


@dataclass
class HttpApi:
    """The API of the api host, over its link: a new connection per request (no idle keep-alive to go stale),
    never through a proxy of the environment (the host's address is on this machine)."""

    url: str

    def get(self, path: str, **kwargs: Any) -> HttpReply:
        return self._request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> HttpReply:
        return self._request("POST", path, **kwargs)

    def _request(self, method: str, path: str, **kwargs: Any) -> HttpReply:
        with requests.Session() as session:
            session.trust_env = False
            return HttpReply(session.request(method, self.url + path, timeout=HTTP_TIMEOUT, **kwargs))


@dataclass
class Cluster:
    """The running cluster: its hosts, their settings and logs, and the API over the api host's link."""

    hosts: dict[str, Host]
    settings: dict[str, dict[str, str]]  # each host's GENTRADE_* environment
    logs: Path
    api: HttpApi

    def disk(self, name: str) -> Path:
        return self.hosts[name].disk

    def user_folder(self, name: str, clerk_id: str) -> Path:
        """``ft_userdata/user_<clerk_id>`` on the host's disk."""
        return UserDirectories(self.disk(name), "unused").path_for(clerk_id)

    def results(self, name: str, clerk_id: str, backtest_id: str) -> Path:
        """A backtest's results folder on the host's disk."""
        return UserDirectories(self.disk(name), "unused").backtest_results(clerk_id, uuid.UUID(backtest_id))

    def ran_on(self, clerk_id: str, backtest_id: str) -> list[str]:
        """The worker hosts whose disk holds the backtest's results folder."""
        return [name for name in WORKER_HOSTS if self.results(name, clerk_id, backtest_id).is_dir()]

    def start_worker(self, name: str) -> None:
        host = self.hosts[name]
        env = worker_env(host.private, self.settings[name])
        worker = Worker(env, self.logs / f"{name}-worker.log", host.prefix, beat=False)
        worker.start()
        assert worker.process is not None
        host.processes.append(worker.process)

    def start_beat(self) -> None:
        """Celery beat on the api host: it schedules the reaper, which re-queues a dead worker's backtests."""
        host = self.hosts["api"]
        env = worker_env(host.private, self.settings["api"])
        beat = start_beat(env, self.logs / "api-beat.log", host.private / "beat-schedule", host.prefix)
        host.processes.append(beat)

    def kill(self, name: str) -> None:
        self.hosts[name].kill()

    def restart_worker(self, name: str) -> None:
        """The host back on its old disk, its link up, a new worker started (a live one is killed first)."""
        host = self.hosts[name]
        host.kill()
        host.revive()
        self.start_worker(name)

    def kill_all(self) -> None:
        for host in self.hosts.values():
            host.kill()

    def log_tails(self, lines: int = 40) -> str:
        tails = []
        for path in sorted(self.logs.glob("*.log")):
            tail = path.read_text(errors="replace").splitlines()[-lines:]
            tails.append(f"----- {path.name} (last {len(tail)} lines) -----\n" + "\n".join(tail))
        return "\n".join(tails)

    @contextmanager
    def explained(self) -> Iterator[None]:
        """A failure inside carries the tails of every host's logs."""
        try:
            yield
        except BaseException as exc:
            exc.add_note(self.log_tails())
            raise


def _hosts(tmp: Path, run: str) -> dict[str, Host]:
    """The hosts' addresses (a /30 each in a free /24) and disks."""
    subnet = free_subnet()
    (tmp / "view").mkdir()
    hosts = {}
    for index, name in enumerate(HOSTS):
        disk = tmp / "disks" / name
        disk.mkdir(parents=True)
        hosts[name] = Host(
            name=name,
            netns=f"gt-{run}-{name}",
            link=f"gt{run}{index}",
            root_ip=f"{subnet}.{4 * index + 1}",
            ip=f"{subnet}.{4 * index + 2}",
            disk=disk,
            view=tmp / "view",
            private=tmp / "disks",
        )
    return hosts


def _moved(url: str, address: str, port: int) -> str:
    """``url`` pointing at ``address:port`` (user, password, path and query kept)."""
    parts = urlsplit(url)
    user = parts.netloc.rpartition("@")[0]
    return urlunsplit(parts._replace(netloc=f"{user}@{address}:{port}" if user else f"{address}:{port}"))


def _target(url: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or default_port


def _in_schema(url: str, schema: str) -> str:
    """The database URL whose connections use ``schema`` (as bench/backtest_stack.py does)."""
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


def _migrated_app(
    tmp: Path, postgres_url: str, broker_url: str, clerk_key: rsa.RSAPrivateKey, schema: str, queue: str
) -> Flask:
    """The app in the test process, on the private schema (created and migrated) and queue."""
    from flask_migrate import upgrade

    reset_schema(postgres_url, schema)
    app = create_app(
        production_settings(
            tmp / "migrate", _in_schema(postgres_url, schema), clerk_key, broker_url=broker_url, task_queue=queue
        )
    )
    with app.app_context():
        upgrade()
    return app


def _forget(app: Flask, queue: str) -> None:
    """Close the test process's connections; delete the private queue and its exchanges (the queue's own and the
    worker hosts' fanout, which outlive their queues)."""
    from gentrade.extensions import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()
        remove_queue(app.extensions["celery"], queue)


def _drop_schema(postgres_url: str, schema: str) -> None:
    """Every host's connection is closed by now (the forwarders are gone), so nothing holds the tables."""
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _host_settings(
    host: Host,
    forwarder: Forwarder,
    urls: dict[str, str],
    clerk_key: rsa.RSAPrivateKey,
    extra: dict[str, str],
) -> dict[str, str]:
    """The host's settings: every service at a forwarder on its own link's root side."""
    moved = {
        key: _moved(url, host.root_ip, forwarder.listen(host.root_ip, _target(url, DEFAULT_PORTS[key])))
        for key, url in urls.items()
    }
    return settings_env(moved["database"], moved["broker"], host.view, clerk_key, moved["exchange"], **extra)


@contextmanager
def run_cluster(
    tmp: Path,
    postgres_url: str,
    broker_url: str,
    clerk_key: rsa.RSAPrivateKey,
    **settings: str,
) -> Iterator[Cluster]:
    """Build the cluster and start its processes; afterwards everything is killed and removed, even on failure.

    ``settings`` add or override every host's ``GENTRADE_*`` variables (``tests.stack.environment.settings_env``).
    """
    run = uuid.uuid4().hex[:6]
    schema, queue = f"gentrade_cluster_{run}", f"gentrade-cluster-{run}"
    logs = tmp / "logs"
    logs.mkdir()
    with ExitStack() as stack:
        exchange = stack.enter_context(ExchangeSimulator(SimulatorConfig(pairs=PAIRS)))
        stack.callback(_drop_schema, postgres_url, schema)
        stack.callback(_forget, _migrated_app(tmp, postgres_url, broker_url, clerk_key, schema, queue), queue)
        forwarder = Forwarder()
        stack.callback(forwarder.stop)
        hosts = _hosts(tmp, run)
        for host in hosts.values():
            stack.callback(host.unplug)
            host.plug()
        urls = {"database": _in_schema(postgres_url, schema), "broker": broker_url, "exchange": exchange.api_url}
        extra = {"GENTRADE_TASK_QUEUE": queue, **settings}
        envs = {name: _host_settings(host, forwarder, urls, clerk_key, extra) for name, host in hosts.items()}
        built = Cluster(hosts, envs, logs, HttpApi(f"http://{hosts['api'].ip}:{API_PORT}"))
        stack.callback(built.kill_all)
        with ThreadPoolExecutor(max_workers=len(WORKER_HOSTS)) as pool:
            starting = [pool.submit(built.start_worker, name) for name in WORKER_HOSTS]
            api = hosts["api"]
            stack.enter_context(
                gunicorn(
                    envs["api"]["GENTRADE_DATABASE_URL"], api.view, clerk_key, logs / "api-gunicorn.log",
                    host=api.ip, port=API_PORT, prefix=api.prefix, **envs["api"], HOME=str(api.private),
                    GUNICORN_WORKERS="1",
                )
            )  # fmt: skip
            built.start_beat()
            for started in starting:
                started.result()
        yield built
