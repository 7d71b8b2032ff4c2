"""A fake Docker Engine API for the docker runner's tests: a small HTTP server that answers the endpoints
docker-py calls (version, image inspect and pull, create/start/wait/logs/kill/remove/rename/update) from
containers it keeps, plays a pooled container's job server, records every request, and can fail as an
engine does (``down``, ``fail_start``, exit codes, out of memory)."""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

API = "1.43"
IMAGE = "freqtradeorg/freqtrade:2026.9"
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
    image_id: str = "sha256:" + "0" * 64
    body: dict[str, Any] = field(default_factory=dict)  # as created
    # A pooled container's job folder (its user_data mount's source): it is ``.ready`` once started; a job starts
    # when ``request.json`` appears there (``on_job`` plays Freqtrade's part), and ends ``run_seconds`` later with
    # the server's report on stdout (``reports``), the exit hint and the job's log. The container keeps running.
    job_folder: Path | None = None
    job_started_at: float | None = None
    on_job: Any = None
    requests_seen: list[dict[str, Any]] = field(default_factory=list)
    reports: list[str] = field(default_factory=list)
    clean: bool = True  # the server emptied its scratch space after the job

    def finished(self) -> bool:
        if self.killed:
            return True
        if self.started_at is None or self.run_seconds is None or self.job_folder is not None:
            return False
        return time.monotonic() >= self.started_at + self.run_seconds

    def tick(self) -> None:
        """A pooled container's server: take a request, end the job on time."""
        if self.job_folder is None or self.started_at is None or self.killed:
            return
        if self.job_started_at is None:
            request = self.job_folder / "request.json"
            if not request.exists():
                return
            self.requests_seen.append(json.loads(request.read_text()))
            self.job_started_at = time.monotonic()
            if self.on_job is not None:
                self.on_job(self)
            request.unlink()
        if self.run_seconds is None or time.monotonic() < self.job_started_at + self.run_seconds:
            return
        (self.job_folder / ".gentrade-job.log").write_text("\n".join(LOG_LINES) + "\n")
        report = {
            "done": len(self.requests_seen),
            "exit": self.exit_code,
            "oom_kills": int(self.oom_killed),
            "clean": self.clean,
        }
        self.reports.append(json.dumps(report))
        (self.job_folder / ".gentrade-exit").write_text(str(len(self.requests_seen)))
        self.job_started_at = None

    def status_code(self) -> int:
        return 137 if self.killed else self.exit_code

    def inspect(self) -> dict[str, Any]:
        done = self.finished()
        state = "exited" if done else ("running" if self.started_at is not None else "created")
        return {
            "Id": self.id,
            "Name": f"/{self.name}",
            "Image": self.image_id,
            "Config": {"Tty": False, "Labels": self.labels, "Image": IMAGE},
            "State": {
                "Status": state,
                "Running": state == "running",
                "ExitCode": self.status_code() if done else 0,
                "OOMKilled": self.oom_killed and done,
            },
        }

    def summary(self) -> dict[str, Any]:
        """As ``GET /containers/json`` lists it."""
        return {
            "Id": self.id,
            "Names": [f"/{self.name}"],
            "Labels": self.labels,
            "State": self.inspect()["State"]["Status"],
        }


class FakeEngine:
    """Records requests; each created container runs ``run_seconds`` then exits with ``exit_code``."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.containers: dict[str, FakeContainer] = {}
        self.containers_seen: dict[str, FakeContainer] = {}  # removed ones too
        self.run_seconds: float | None = 0.0
        self.exit_code = 0
        self.oom_killed = False
        self.down = False  # drop every connection without an answer (daemon gone)
        self.fail_start = False
        self.api_version = API
        # Images on the engine, by name: their environment (``Config.Env``) and id. Pulls always fail (no registry).
        self.images: dict[str, list[str]] = {IMAGE: ["PATH=/opt/freqtrade/bin:/usr/bin:/bin"]}
        self.image_ids: dict[str, str] = {IMAGE: "sha256:" + "0" * 64}
        self.on_job: Any = None  # what a pooled container does with its job (writes Freqtrade's results)
        self.lock = threading.Lock()
        self.stopped = threading.Event()
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

    def tick_forever(self) -> None:
        """Pooled containers' servers run on their own, not only when the runner asks the engine."""
        while not self.stopped.wait(0.005):
            for container in list(self.containers.values()):
                with contextlib.suppress(OSError):  # its folder removed meanwhile
                    container.tick()

    def add(self, name: str, labels: dict[str, str]) -> FakeContainer:
        container = FakeContainer(uuid.uuid4().hex * 2, name, labels, self.run_seconds, self.exit_code, self.oom_killed)
        self.containers[container.id] = container
        self.containers_seen[container.id] = container
        return container

    def listed(self, query: dict[str, list[str]]) -> list[FakeContainer]:
        """``GET /containers/json``: all of them (``all=1``), filtered by ``label=key=value`` or ``name``."""
        filters = json.loads(query.get("filters", ["{}"])[0])
        found = []
        for container in list(self.containers.values()):
            labels = [f"{key}={value}" for key, value in container.labels.items()] + list(container.labels)
            if all(wanted in labels for wanted in filters.get("label", [])) and all(
                wanted in container.name for wanted in filters.get("name", [])
            ):
                found.append(container)
        return found

    def find(self, ident: str) -> FakeContainer | None:
        for container in self.containers.values():
            if ident in (container.id, container.name) or (len(ident) >= 12 and container.id.startswith(ident)):
                return container
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        return type("Handler", (EngineHandler,), {"engine": self})


class EngineHandler(BaseHTTPRequestHandler):
    """The Engine API's endpoints docker-py calls, answered from ``engine``'s containers (a subclass sets it)."""

    engine: FakeEngine

    def do_GET(self) -> None:
        self.route("GET")

    def do_POST(self) -> None:
        self.route("POST")

    def do_DELETE(self) -> None:
        self.route("DELETE")

    def route(self, method: str) -> None:
        if self.engine.down:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        url = urlparse(self.path)
        path = url.path.removeprefix(f"/v{API}")
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        query = parse_qs(url.query)
        with self.engine.lock:
            self.engine.requests.append(Request(method, path, query, body))
        parts = path.strip("/").split("/")
        # The client may have given up waiting (its read timeout): expected for /wait.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.dispatch(method, parts, query, body)

    def dispatch(self, method: str, parts: list[str], query: dict[str, list[str]], body: Any) -> None:
        if parts == ["_ping"] or parts == ["version"]:
            return self.json(200, {"ApiVersion": self.engine.api_version, "Version": "26.1.0"})
        if parts[:1] == ["images"]:
            return self.image_route(method, parts)
        if parts[:1] != ["containers"] or len(parts) < 2:
            return self.json(404, {"message": "page not found"})
        if parts == ["containers", "json"] and method == "GET":
            return self.json(200, [c.summary() for c in self.engine.listed(query)])
        if parts[1] == "create" and method == "POST":
            return self.create(query, body)
        container = self.engine.find(parts[1])
        if container is None:
            return self.json(404, {"message": f"No such container: {parts[1]}"})
        return self.container_route(method, parts[2] if len(parts) > 2 else "", container, query, body)

    def image_route(self, method: str, parts: list[str]) -> None:
        if parts[-1] == "json" and method == "GET":
            name = "/".join(parts[1:-1])
            if name not in self.engine.images:
                return self.json(404, {"message": f"No such image: {name}"})
            return self.json(200, {"Id": self.engine.image_ids[name], "Config": {"Env": self.engine.images[name]}})
        if parts == ["images", "create"] and method == "POST":
            return self.json(404, {"message": "pull access denied: repository does not exist"})
        return self.json(404, {"message": "page not found"})

    def create(self, query: dict[str, list[str]], body: Any) -> None:
        name = query.get("name", [""])[0]
        if any(c.name == name for c in self.engine.containers.values()):
            return self.json(409, {"message": f'Conflict. The container name "/{name}" is already in use'})
        container = self.engine.add(name, body.get("Labels") or {})
        container.body = body
        container.image_id = self.engine.image_ids.get(body["Image"], container.image_id)
        if "gentrade.pool" in container.labels:
            mounts = body["HostConfig"]["Mounts"]
            [source] = [m["Source"] for m in mounts if m["Target"] == "/freqtrade/user_data"]
            container.job_folder, container.on_job = Path(source), self.engine.on_job
        return self.json(201, {"Id": container.id, "Warnings": []})

    def container_route(
        self, method: str, action: str, container: FakeContainer, query: dict[str, list[str]], body: Any
    ) -> None:
        """One container's endpoint: its action, and the method the action needs (None: any)."""
        actions: dict[str, tuple[str | None, Callable[[FakeContainer, dict[str, list[str]], Any], None]]] = {
            "": ("DELETE", self.remove),
            "json": (None, lambda container, query, body: self.json(200, container.inspect())),
            "start": (None, self.start),
            "update": ("POST", self.update),
            "rename": ("POST", self.rename),
            "kill": (None, self.kill),
            "wait": (None, self.wait),
            "logs": (None, self.logs),
        }
        needs, handle = actions.get(action, ("", None))
        if handle is None or needs not in (None, method):
            return self.json(404, {"message": f"unexpected {method} {self.path}"})
        return handle(container, query, body)

    def remove(self, container: FakeContainer, query: dict[str, list[str]], body: Any) -> None:
        container.killed = container.killed or not container.finished()
        del self.engine.containers[container.id]
        container.removed.set()
        return self.empty(204)

    def start(self, container: FakeContainer, query: dict[str, list[str]], body: Any) -> None:
        if self.engine.fail_start:
            return self.json(500, {"message": "OCI runtime create failed"})
        container.started_at = time.monotonic()
        if container.job_folder is not None:  # the entry imported Freqtrade (at once, here)
            (container.job_folder / ".ready").touch()
        return self.empty(204)

    def update(self, container: FakeContainer, query: dict[str, list[str]], body: Any) -> None:
        container.body["HostConfig"].update(body)
        return self.json(200, {"Warnings": []})

    def rename(self, container: FakeContainer, query: dict[str, list[str]], body: Any) -> None:
        name = query["name"][0]
        if any(c.name == name for c in self.engine.containers.values()):
            return self.json(409, {"message": f'Conflict. The container name "/{name}" is already in use'})
        container.name = name
        return self.empty(204)

    def kill(self, container: FakeContainer, query: dict[str, list[str]], body: Any) -> None:
        if container.finished():
            return self.json(409, {"message": f"Container {container.id} is not running"})
        container.killed = True
        return self.empty(204)

    def wait(self, container: FakeContainer, query: dict[str, list[str]], body: Any) -> None:
        give_up = time.monotonic() + 10
        while not container.finished() and not container.removed.is_set():
            if time.monotonic() > give_up:
                return
            time.sleep(0.01)
        return self.json(200, {"StatusCode": container.status_code(), "Error": None})

    def logs(self, container: FakeContainer, query: dict[str, list[str]], body: Any) -> None:
        tail = int(query.get("tail", ["all"])[0]) if query.get("tail", ["all"])[0] != "all" else None
        stream = 1 if query.get("stderr") == ["0"] else 2  # the server's reports, or Freqtrade's log
        lines = container.reports if stream == 1 else LOG_LINES
        lines = lines[-tail:] if tail else lines
        frames = b"".join(struct.pack(">BxxxL", stream, len(line) + 1) + line.encode() + b"\n" for line in lines)
        return self.send(200, frames, "application/vnd.docker.raw-stream")

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
