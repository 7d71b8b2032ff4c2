"""DockerRunner against a fake Docker Engine API, through the real docker-py client.

A small HTTP server answers the endpoints docker-py calls (version, image inspect and pull,
create/start/wait/logs/kill/remove) and records every request: the exact request bodies and the
engine's failure modes, fast. tests/docker runs the runner on a real engine. The client is
a real ``docker.DockerClient`` with a fixed API version (no negotiation request).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import struct
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import docker
import pytest
import requests

from gentrade.freqtrade.jobs import BacktestJob, RunnerProblem
from gentrade.freqtrade.market_list import market_list_file
from gentrade.freqtrade.runners import DockerRunner, LocalRunner, build_runner
from gentrade.freqtrade.runners.docker import EngineUnsupported

API = "1.43"
IMAGE = "freqtradeorg/freqtrade:2026.9"
HOST_DATA = "/srv/gentrade/data"
LOG_LINES = [f"2026-11-01 00:00:{i:02d},000 - freqtrade - INFO - line {i}" for i in range(80)]


@dataclass
class Request:
    method: str
    path: str  # without the /v1.43 prefix
    query: dict[str, list[str]]
    body: Any


@dataclass
class FakeContainer:
    id: str
    name: str
    labels: dict[str, str]
    run_seconds: float | None  # None: runs until killed
    exit_code: int
    oom_killed: bool = False
    started_at: float | None = None
    killed: bool = False
    removed: threading.Event = field(default_factory=threading.Event)

    def finished(self) -> bool:
        if self.killed:
            return True
        if self.started_at is None or self.run_seconds is None:
            return False
        return time.monotonic() >= self.started_at + self.run_seconds

    def status_code(self) -> int:
        return 137 if self.killed else self.exit_code

    def inspect(self) -> dict[str, Any]:
        done = self.finished()
        state = "exited" if done else ("running" if self.started_at is not None else "created")
        return {
            "Id": self.id,
            "Name": f"/{self.name}",
            "Image": "sha256:" + "0" * 64,
            "Config": {"Tty": False, "Labels": self.labels, "Image": IMAGE},
            "State": {
                "Status": state,
                "Running": state == "running",
                "ExitCode": self.status_code() if done else 0,
                "OOMKilled": self.oom_killed and done,
            },
        }


class FakeEngine:
    """Records requests; each created container runs ``run_seconds`` then exits with ``exit_code``."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.containers: dict[str, FakeContainer] = {}
        self.run_seconds: float | None = 0.0
        self.exit_code = 0
        self.oom_killed = False
        self.down = False  # drop every connection without an answer (daemon gone)
        self.fail_start = False
        self.api_version = API
        # Images on the engine, by name: their environment (``Config.Env``). Pulls always fail (no registry).
        self.images: dict[str, list[str]] = {IMAGE: ["PATH=/opt/freqtrade/bin:/usr/bin:/bin"]}
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.server.handle_error = lambda request, address: None  # type: ignore[method-assign]

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.server.server_address[1]}"

    def calls(self, method: str, suffix: str = "") -> list[Request]:
        return [r for r in self.requests if r.method == method and r.path.endswith(suffix)]

    def creates(self) -> list[Request]:
        return self.calls("POST", "/containers/create")

    def add(self, name: str, labels: dict[str, str]) -> FakeContainer:
        container = FakeContainer(uuid.uuid4().hex * 2, name, labels, self.run_seconds, self.exit_code, self.oom_killed)
        self.containers[container.id] = container
        return container

    def find(self, ident: str) -> FakeContainer | None:
        for container in self.containers.values():
            if ident in (container.id, container.name) or (len(ident) >= 12 and container.id.startswith(ident)):
                return container
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        engine = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.route("GET")

            def do_POST(self) -> None:
                self.route("POST")

            def do_DELETE(self) -> None:
                self.route("DELETE")

            def route(self, method: str) -> None:
                if engine.down:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                url = urlparse(self.path)
                path = url.path.removeprefix(f"/v{API}")
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                query = parse_qs(url.query)
                with engine.lock:
                    engine.requests.append(Request(method, path, query, body))
                parts = path.strip("/").split("/")
                # The client may have given up waiting (its read timeout): expected for /wait.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.dispatch(method, parts, query, body)

            def dispatch(self, method: str, parts: list[str], query: dict[str, list[str]], body: Any) -> None:
                if parts == ["_ping"] or parts == ["version"]:
                    return self.json(200, {"ApiVersion": engine.api_version, "Version": "26.1.0"})
                if parts[:1] == ["images"] and parts[-1] == "json" and method == "GET":
                    name = "/".join(parts[1:-1])
                    if name not in engine.images:
                        return self.json(404, {"message": f"No such image: {name}"})
                    return self.json(200, {"Id": f"sha256:{'0' * 64}", "Config": {"Env": engine.images[name]}})
                if parts == ["images", "create"] and method == "POST":
                    return self.json(404, {"message": "pull access denied: repository does not exist"})
                if parts[:1] != ["containers"] or len(parts) < 2:
                    return self.json(404, {"message": "page not found"})
                if parts[1] == "create" and method == "POST":
                    name = query.get("name", [""])[0]
                    if any(c.name == name for c in engine.containers.values()):
                        return self.json(409, {"message": f'Conflict. The container name "/{name}" is already in use'})
                    container = engine.add(name, body.get("Labels") or {})
                    return self.json(201, {"Id": container.id, "Warnings": []})
                container = engine.find(parts[1])
                if container is None:
                    return self.json(404, {"message": f"No such container: {parts[1]}"})
                action = parts[2] if len(parts) > 2 else ""
                if method == "DELETE" and not action:
                    container.killed = container.killed or not container.finished()
                    del engine.containers[container.id]
                    container.removed.set()
                    return self.empty(204)
                if action == "json":
                    return self.json(200, container.inspect())
                if action == "start":
                    if engine.fail_start:
                        return self.json(500, {"message": "OCI runtime create failed"})
                    container.started_at = time.monotonic()
                    return self.empty(204)
                if action == "kill":
                    if container.finished():
                        return self.json(409, {"message": f"Container {container.id} is not running"})
                    container.killed = True
                    return self.empty(204)
                if action == "wait":
                    give_up = time.monotonic() + 10
                    while not container.finished() and not container.removed.is_set():
                        if time.monotonic() > give_up:
                            return
                        time.sleep(0.01)
                    return self.json(200, {"StatusCode": container.status_code(), "Error": None})
                if action == "logs":
                    tail = int(query.get("tail", ["all"])[0]) if query.get("tail", ["all"])[0] != "all" else None
                    lines = LOG_LINES[-tail:] if tail else LOG_LINES
                    frames = b"".join(struct.pack(">BxxxL", 2, len(line) + 1) + line.encode() + b"\n" for line in lines)
                    return self.send(200, frames, "application/vnd.docker.raw-stream")
                return self.json(404, {"message": f"unexpected {method} {self.path}"})

            def json(self, status: int, payload: Any) -> None:
                self.send(status, json.dumps(payload).encode(), "application/json")

            def empty(self, status: int) -> None:
                self.send_response(status)
                self.end_headers()

            def send(self, status: int, data: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def engine() -> Iterator[FakeEngine]:
    fake = FakeEngine()
    thread = threading.Thread(target=fake.server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield fake
    for container in fake.containers.values():
        container.removed.set()
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
def client(engine: FakeEngine) -> Iterator[docker.DockerClient]:
    value = docker.DockerClient(base_url=engine.url, version=API, timeout=10)
    yield value
    value.close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def make_job(data_dir: Path, **changes: Any) -> BacktestJob:
    backtest_id = uuid.UUID("11111111-2222-3333-4444-555555555555")
    user_data = data_dir / "ft_userdata" / "user_alice" / "user_data"
    results = user_data / "backtest_results" / str(backtest_id)
    values: dict[str, Any] = {
        "backtest_id": backtest_id,
        "strategy_name": "RsiDipBuyer",
        "user_data_dir": user_data,
        "config_files": (user_data / "config.json", results / "overrides.json"),
        "datadir": data_dir / "market" / "binance",
        "results_dir": results,
        "timerange": "20260701-20260901",
        "timeframe": "1h",
        "pairs": ("BTC/USDT", "ETH/USDT"),
        "timeout_seconds": 30,
        "memory_mb": 2048,
        "cpus": 1.5,
    }
    values.update(changes)
    market_list = market_list_file(values["datadir"])
    market_list.parent.mkdir(parents=True, exist_ok=True)
    market_list.write_text('{"symbols": []}')
    return BacktestJob(**values)


@dataclass
class Calls:
    heartbeats: int = 0
    cancel_after: int | None = None  # heartbeats before should_cancel turns True

    def heartbeat(self) -> None:
        self.heartbeats += 1

    def should_cancel(self) -> bool:
        return self.cancel_after is not None and self.heartbeats >= self.cancel_after


def run(runner: DockerRunner, job: BacktestJob, calls: Calls | None = None, poll: float = 0.05) -> Any:
    calls = calls or Calls()
    return runner.run(job, should_cancel=calls.should_cancel, heartbeat=calls.heartbeat, poll_seconds=poll)


def runner_for(client: Any, data_dir: Path, **options: Any) -> DockerRunner:
    return DockerRunner(client, IMAGE, data_dir, HOST_DATA, user="10001:10001", **options)


def assert_removed(engine: FakeEngine) -> None:
    deletes = engine.calls("DELETE")
    assert len(deletes) == 1
    assert deletes[0].query.get("force") == ["True"]
    assert engine.containers == {}


def test_create_body_and_removal_after_success(engine: FakeEngine, client: docker.DockerClient, data_dir: Path) -> None:
    engine.run_seconds = 0.3
    job = make_job(data_dir)
    calls = Calls()
    outcome = run(runner_for(client, data_dir), job, calls)

    assert outcome.succeeded
    assert outcome.exit_code == 0
    assert not outcome.timed_out
    assert not outcome.cancelled
    assert calls.heartbeats >= 2  # wait() timed out at least twice before the exit
    assert job.results_dir.is_dir()  # created by the worker, not by the daemon as root

    [create] = engine.creates()
    assert create.query["name"] == [f"gentrade-backtest-{job.backtest_id}"]
    body = create.body
    results = f"/freqtrade/user_data/backtest_results/{job.backtest_id}"
    assert body["Image"] == IMAGE
    assert body["Entrypoint"][:2] == ["/bin/sh", "-c"]
    assert "--directory /freqtrade/market_data/.exchange 8765" in body["Entrypoint"][2]
    assert body["Entrypoint"][2].endswith('exec "$@"')
    assert body["Cmd"] == [
        "freqtrade",
        "backtesting",
        "--config", "/freqtrade/user_data/config.json",
        "--config", f"{results}/overrides.json",
        "--config", f"{results}/container-exchange.json",
        "--userdir", "/freqtrade/user_data",
        "--datadir", "/freqtrade/market_data",
        "--strategy", "RsiDipBuyer",
        "--timeframe", "1h",
        "--timerange", "20260701-20260901",
        "--cache", "none",
        "--export", "trades",
        "--backtest-directory", results,
    ]  # fmt: skip
    network_config = json.loads((job.results_dir / "container-exchange.json").read_text())
    assert network_config["exchange"]["ccxt_config"]["urls"]["api"]["public"] == "http://127.0.0.1:8765/api/v3"
    assert body["Env"] == ["HOME=/tmp"]  # nothing of the worker's: a writable home only
    assert body["User"] == "10001:10001"
    assert body["WorkingDir"] == "/freqtrade"
    assert body["Labels"] == {"gentrade.backtest": str(job.backtest_id)}
    host = body["HostConfig"]
    assert host["NetworkMode"] == "none"
    assert host["Memory"] == 2048 * 1024 * 1024
    assert host["MemorySwap"] == 2048 * 1024 * 1024
    assert host["NanoCpus"] == 1_500_000_000
    assert host["PidsLimit"] == 256
    assert host["ReadonlyRootfs"] is True
    assert set(host["Tmpfs"]) == {"/tmp"}
    assert host["CapDrop"] == ["ALL"]
    assert host["SecurityOpt"] == ["no-new-privileges"]
    assert not host.get("Binds")
    assert not host.get("Privileged")
    assert sorted(host["Mounts"], key=lambda m: m["Target"]) == [
        {"Target": "/freqtrade/market_data", "Source": f"{HOST_DATA}/market/binance", "Type": "bind", "ReadOnly": True},
        {
            "Target": "/freqtrade/user_data",
            "Source": f"{HOST_DATA}/ft_userdata/user_alice/user_data",
            "Type": "bind",
            "ReadOnly": False,
        },
    ]

    assert engine.calls("POST", "/start")
    assert not engine.calls("POST", "/kill")
    [logs] = engine.calls("GET", "/logs")
    assert logs.query["tail"] == ["60"]
    assert outcome.log_tail.splitlines() == LOG_LINES[-60:]
    assert_removed(engine)


def test_failed_run_reports_exit_code_and_is_removed(
    engine: FakeEngine, client: docker.DockerClient, data_dir: Path
) -> None:
    engine.exit_code = 2
    outcome = run(runner_for(client, data_dir), make_job(data_dir))

    assert outcome.exit_code == 2
    assert not outcome.succeeded
    assert not outcome.timed_out
    assert "line 79" in outcome.log_tail
    assert not engine.calls("POST", "/kill")
    assert_removed(engine)


def test_out_of_memory_is_named(engine: FakeEngine, client: docker.DockerClient, data_dir: Path) -> None:
    engine.exit_code, engine.oom_killed = 137, True
    outcome = run(runner_for(client, data_dir), make_job(data_dir, memory_mb=512))

    assert outcome.exit_code == 137
    assert outcome.out_of_memory
    assert "out of memory (limit 512 MiB)" in outcome.log_tail
    assert_removed(engine)


def test_timeout_kills_and_removes(engine: FakeEngine, client: docker.DockerClient, data_dir: Path) -> None:
    engine.run_seconds = None
    started = time.monotonic()
    outcome = run(runner_for(client, data_dir), make_job(data_dir, timeout_seconds=1))

    assert 1 <= time.monotonic() - started < 5
    assert outcome.timed_out
    assert not outcome.cancelled
    assert outcome.exit_code is None
    assert "timeout of 1 s reached" in outcome.log_tail
    assert len(engine.calls("POST", "/kill")) == 1
    assert_removed(engine)


def test_cancel_kills_and_removes(engine: FakeEngine, client: docker.DockerClient, data_dir: Path) -> None:
    engine.run_seconds = None
    calls = Calls(cancel_after=1)
    started = time.monotonic()
    outcome = run(runner_for(client, data_dir), make_job(data_dir), calls)

    assert time.monotonic() - started < 2
    assert outcome.cancelled
    assert not outcome.timed_out
    assert outcome.exit_code is None
    assert calls.heartbeats == 1
    assert len(engine.calls("POST", "/kill")) == 1
    assert_removed(engine)


def test_an_exception_in_heartbeat_still_removes_the_container(
    engine: FakeEngine, client: docker.DockerClient, data_dir: Path
) -> None:
    engine.run_seconds = None

    def heartbeat() -> None:
        raise RuntimeError("database gone")

    with pytest.raises(RuntimeError, match="database gone"):
        runner_for(client, data_dir).run(
            make_job(data_dir), should_cancel=lambda: False, heartbeat=heartbeat, poll_seconds=0.05
        )
    assert_removed(engine)


def test_engine_gone_mid_run_raises_instead_of_polling_forever(
    engine: FakeEngine, client: docker.DockerClient, data_dir: Path
) -> None:
    engine.run_seconds = None
    calls = Calls()

    def heartbeat() -> None:
        calls.heartbeat()
        engine.down = True

    started = time.monotonic()
    with pytest.raises(requests.exceptions.ConnectionError):
        runner_for(client, data_dir).run(
            make_job(data_dir), should_cancel=lambda: False, heartbeat=heartbeat, poll_seconds=0.05
        )
    assert time.monotonic() - started < 5


def test_leftover_container_of_the_same_backtest_is_replaced(
    engine: FakeEngine, client: docker.DockerClient, data_dir: Path
) -> None:
    job = make_job(data_dir)
    stale = engine.add(f"gentrade-backtest-{job.backtest_id}", {"gentrade.backtest": str(job.backtest_id)})
    stale.started_at, stale.run_seconds = time.monotonic(), None  # still running: a crashed worker's

    outcome = run(runner_for(client, data_dir), job)

    assert outcome.succeeded
    assert len(engine.creates()) == 2  # 409, then again after removing the leftover
    deletes = engine.calls("DELETE")
    assert len(deletes) == 2
    assert deletes[0].path == f"/containers/{stale.id}"  # the leftover first, then the new one
    assert engine.containers == {}


def test_foreign_container_with_the_name_is_left_alone(
    engine: FakeEngine, client: docker.DockerClient, data_dir: Path
) -> None:
    job = make_job(data_dir)
    engine.add(f"gentrade-backtest-{job.backtest_id}", {"something": "else"})

    with pytest.raises(RuntimeError, match="not this backtest's"):
        run(runner_for(client, data_dir), job)
    assert not engine.calls("DELETE")
    assert len(engine.containers) == 1


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param(lambda d, j: {"config_files": (*j.config_files, d.parent / "elsewhere.json")}, id="config"),
        pytest.param(lambda d, j: {"config_files": (Path("/etc/passwd"),)}, id="absolute-config"),
        pytest.param(lambda d, j: {"config_files": (j.user_data_dir / ".." / ".." / "x.json",)}, id="dotdot-config"),
        pytest.param(lambda d, j: {"datadir": d.parent / "market"}, id="datadir-outside-data-dir"),
        pytest.param(lambda d, j: {"user_data_dir": d.parent / "ud"}, id="userdir-outside-data-dir"),
        pytest.param(lambda d, j: {"results_dir": d / "market" / "binance" / "r"}, id="results-in-market"),
        pytest.param(lambda d, j: {"results_dir": d / "other"}, id="results-outside-user-data"),
        pytest.param(lambda d, j: {"user_data_dir": j.datadir / "ud"}, id="userdir-inside-market"),
    ],
)
def test_paths_outside_the_mounts_are_refused_before_any_request(
    engine: FakeEngine, client: docker.DockerClient, data_dir: Path, changes: Any
) -> None:
    base = make_job(data_dir)
    job = make_job(data_dir, **changes(data_dir, base))

    with pytest.raises(ValueError, match=r"outside|inside"):
        run(runner_for(client, data_dir), job)
    assert engine.requests == []


def test_a_symlink_out_of_user_data_is_refused(
    engine: FakeEngine, client: docker.DockerClient, data_dir: Path, tmp_path: Path
) -> None:
    job = make_job(data_dir)
    job.user_data_dir.mkdir(parents=True)
    (tmp_path / "secrets").mkdir()
    (job.user_data_dir / "link").symlink_to(tmp_path / "secrets", target_is_directory=True)

    with pytest.raises(ValueError, match="outside"):
        run(runner_for(client, data_dir), make_job(data_dir, config_files=(job.user_data_dir / "link" / "c.json",)))
    assert engine.requests == []


def test_a_container_that_fails_to_start_is_removed(
    engine: FakeEngine, client: docker.DockerClient, data_dir: Path
) -> None:
    engine.fail_start = True

    with pytest.raises(docker.errors.APIError, match="OCI runtime create failed"):
        run(runner_for(client, data_dir), make_job(data_dir))
    assert_removed(engine)


def test_named_volume_mounts_use_subpaths(engine: FakeEngine, client: docker.DockerClient, data_dir: Path) -> None:
    runner = DockerRunner(client, IMAGE, data_dir, data_volume="gentrade-data")
    outcome = run(runner, make_job(data_dir))

    assert outcome.succeeded
    host = engine.creates()[0].body["HostConfig"]
    mounts = {m["Target"]: m for m in host["Mounts"]}
    assert mounts["/freqtrade/user_data"]["Type"] == "volume"
    assert mounts["/freqtrade/user_data"]["Source"] == "gentrade-data"
    assert mounts["/freqtrade/user_data"]["VolumeOptions"] == {"Subpath": "ft_userdata/user_alice/user_data"}
    assert mounts["/freqtrade/user_data"]["ReadOnly"] is False
    assert mounts["/freqtrade/market_data"]["VolumeOptions"] == {"Subpath": "market/binance"}
    assert mounts["/freqtrade/market_data"]["ReadOnly"] is True


def test_default_user_and_host_dir_and_client_factory(engine: FakeEngine, data_dir: Path) -> None:
    made: list[docker.DockerClient] = []

    def factory() -> docker.DockerClient:
        made.append(docker.DockerClient(base_url=engine.url, version=API))
        return made[-1]

    runner = DockerRunner(factory, IMAGE, data_dir)
    assert run(runner, make_job(data_dir)).succeeded
    assert run(runner, make_job(data_dir)).succeeded

    assert len(made) == 2  # one client per run
    body = engine.creates()[0].body
    assert body["User"] == f"{os.getuid()}:{os.getgid()}"
    sources = {m["Source"] for m in body["HostConfig"]["Mounts"]}
    assert sources == {
        str(data_dir.resolve() / "ft_userdata/user_alice/user_data"),
        str(data_dir.resolve() / "market/binance"),
    }


def test_build_runner(data_dir: Path, client: docker.DockerClient) -> None:
    assert isinstance(build_runner("local"), LocalRunner)
    runner = build_runner("docker", client=client, image=IMAGE, data_dir=data_dir, host_data_dir=HOST_DATA)
    assert isinstance(runner, DockerRunner)
    assert runner.image == IMAGE
    with pytest.raises(ValueError, match="unknown Freqtrade runner"):
        build_runner("kubernetes")


def test_an_official_layout_image_gets_its_user_base(
    engine: FakeEngine, client: docker.DockerClient, data_dir: Path
) -> None:
    """Freqtrade installed with ``pip --user`` for the image's user: run as the worker's uid, Python must
    still find it, so the container gets that user's ``PYTHONUSERBASE`` (read off the image's PATH)."""
    engine.images[IMAGE] = ["PATH=/home/ftuser/.local/bin:/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"]
    assert run(runner_for(client, data_dir), make_job(data_dir)).succeeded
    [create] = engine.creates()
    assert sorted(create.body["Env"]) == ["HOME=/tmp", "PYTHONUSERBASE=/home/ftuser/.local"]


def test_a_missing_image_that_cannot_be_pulled_is_image_missing(
    engine: FakeEngine, client: docker.DockerClient, data_dir: Path
) -> None:
    engine.images.clear()
    with pytest.raises(RunnerProblem) as raised:
        run(runner_for(client, data_dir), make_job(data_dir))
    assert raised.value.code == "image_missing"
    assert IMAGE in raised.value.message
    assert "make docker-images" in raised.value.message
    assert not engine.creates()


def test_the_engine_check_refuses_engines_too_old(
    engine: FakeEngine, client: docker.DockerClient, data_dir: Path
) -> None:
    assert runner_for(client, data_dir).check_engine() == API
    engine.api_version = "1.40"
    with pytest.raises(EngineUnsupported, match=r"API 1\.40; the runner needs 1\.41"):
        runner_for(client, data_dir).check_engine()
    engine.api_version = "1.44"  # volume subpaths are ignored before 1.45: the whole volume would be mounted
    volume_runner = DockerRunner(client, IMAGE, data_dir, data_volume="gentrade-data", user="10001:10001")
    with pytest.raises(EngineUnsupported, match="volume subpaths"):
        volume_runner.check_engine()
