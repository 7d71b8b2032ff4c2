"""Issue 7 "Load": many concurrent users on the whole stack, for correctness under concurrency.

The stack: the API on gunicorn (``config/gunicorn.conf.py``, 2 gevent workers) on PostgreSQL (a private
schema), RabbitMQ (a private queue), one Celery worker with 2 pool processes (``celery -A gentrade.tasks
worker -c 2``, from ``bench.backtest_stack``), the local exchange stand-in, the offline LLM provider.

The users: ``--users`` virtual users (asyncio + aiohttp, one development token each) loop for
``--seconds`` over a journey with a seeded random think time between requests: create a chat, list the
chats, read it, stream an agent turn (SSE, read to ``end``), rename it. ``--deployers`` of them also
deploy the turn's draft once and start backtests (short: 1 pair, 1h, 30 days) while a shared budget of
``--backtests`` lasts, polling each to a final state; at the end every backtest gets a bounded time to end.

Measured: requests and errors per route (any 5xx, connection error, timeout or unexpected status is an
error; 429 on a backtest start is expected), p50/p95/p99 per CRUD route, SSE first byte, backtests
started/finished/failed/stuck (the API, the table and the queue), database connections of the API and
worker processes (their sockets to PostgreSQL, joined with ``pg_stat_activity``) before/peak/after an idle
period, RSS of the Celery worker processes (not the Freqtrade subprocesses) and of the API workers, and
the load generator's own CPU and event-loop lag (it must not be the bottleneck).

Exit status 1 when a request failed, a backtest failed, was lost or stuck, connections leaked, the
Celery worker's memory grew by more than 20 % after warm-up, or the API's log shows an error or traceback.

Run: ``.venv/bin/python -m bench.load_users [--users 200 --seconds 120]`` (PostgreSQL at 127.0.0.1:5432,
database ``test``, a private schema dropped afterwards; RabbitMQ at 127.0.0.1:5672, a private queue deleted
afterwards). Everything it starts is stopped, also on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import psycopg

from bench.api_server import ROOT, WORKERS, start_server, stop_server, wait_until_serving, worker_pids
from bench.backtest_stack import END, BacktestStack, backtest_stack
from bench.common import POSTGRES_URL, percentile
from bench.figures import Figure, parser, run_benchmark
from gentrade import devkeys
from gentrade.demo import free_port
from gentrade.runtime import EXTENSION_KEY
from gentrade.settings import Settings
from gentrade.tasks.celery_app import remove_queue

API_WORKERS = WORKERS  # as bench.api_load starts it
CELERY_PROCESSES = 2
PAIRS = ("BTC/USDT", "ETH/USDT")
BACKTEST_START = END - timedelta(days=30)
MESSAGES = ("an RSI strategy on BTC/USDT 1h with a 5% stop", "use EMA 50 as a trend filter")
FINAL = frozenset({"finished", "failed", "cancelled"})
SEED = 7
RAMP_SECONDS = 10.0  # users start spread over this, not all in the same millisecond
REQUEST_TIMEOUT = 120.0  # an answer later than this counts as an error (a timeout)
DRAIN_SECONDS = 300.0  # after the load: every backtest must reach a final state within this
IDLE_SECONDS = 5.0  # then the API idles this long before the "after" connection count
SAMPLE_EVERY = 2.0
FLAT_SHARE = 0.20  # "flat": the end RSS within 20 % of the RSS after warm-up
POSTGRES_PORT = 5432
# A pool process uses one connection for the task and one for its heartbeat thread; its pool keeps both.
WORKER_CONNECTIONS_PER_PROCESS = 2
CRUD_ROUTES = (
    "POST /api/v1/chats",
    "GET /api/v1/chats",
    "GET /api/v1/chats/{id}",
    "PATCH /api/v1/chats/{id}",
    "POST /api/v1/strategies",
    "POST /api/v1/backtests",
    "GET /api/v1/backtests/{id}",
)
STREAM_ROUTE = "POST /api/v1/agent/stream"


# --- What the users saw ---------------------------------------------------------------------------------


@dataclass
class Stats:
    """Every request's outcome, by route."""

    statuses: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))  # answered as expected
    errors: dict[str, int] = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    first_bytes: list[float] = field(default_factory=list)
    turns: list[tuple[float, float]] = field(default_factory=list)  # (monotonic start, seconds to `end`)

    def record(
        self, route: str, outcome: str, seconds: float, ok: bool, tolerated: bool = False, note: str = ""
    ) -> None:
        self.statuses[route][outcome] += 1
        if ok:
            self.latencies[route].append(seconds)
        elif not tolerated:
            self.errors[route] += 1
            if len(self.error_samples) < 20:
                self.error_samples.append(f"{route}: {outcome} after {seconds:.2f} s {note.strip()[:300]}")

    @property
    def requests(self) -> int:
        return sum(sum(counter.values()) for counter in self.statuses.values())

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


@dataclass
class Backtests:
    """The shared backtest budget and what became of each backtest started."""

    budget: int
    owners: dict[str, dict[str, str]] = field(default_factory=dict)  # id -> the owner's headers
    final: dict[str, str] = field(default_factory=dict)  # id -> final status
    finished_at: list[float] = field(default_factory=list)  # monotonic times of the final states seen


class User:
    """One virtual user: its own token, its own seeded think times, a bounded journey in a loop."""

    def __init__(
        self,
        index: int,
        session: aiohttp.ClientSession,
        token: str,
        stats: Stats,
        backtests: Backtests,
        deployer: bool,
        think: tuple[float, float],
    ) -> None:
        self.index = index
        self.session = session
        self.headers = {"Authorization": f"Bearer {token}"}
        self.stats = stats
        self.backtests = backtests
        self.deployer = deployer
        self.think_range = think
        self.rng = random.Random(SEED * 10_000 + index)  # noqa: S311 - think times, not secrets
        self.strategy_id: str | None = None
        self.pending: str | None = None  # this user's backtest in flight

    async def request(
        self, method: str, path: str, route: str, expected: int, body: Any = None, tolerated: tuple[int, ...] = ()
    ) -> dict[str, Any] | None:
        """One request, recorded; the JSON body when the status is the expected one."""
        started = time.perf_counter()
        try:
            async with self.session.request(method, path, json=body, headers=self.headers) as response:
                payload = await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.stats.record(route, type(exc).__name__, time.perf_counter() - started, ok=False, note=str(exc))
            return None
        elapsed = time.perf_counter() - started
        ok = status == expected
        self.stats.record(route, str(status), elapsed, ok, status in tolerated, payload.decode(errors="replace"))
        return json.loads(payload) if ok and payload else None

    async def stream(self, thread_id: str, message: str) -> dict[str, Any] | None:
        """One agent turn read to its ``end`` event; the draft from ``tool_start`` if there was one."""
        started = time.perf_counter()
        first: float | None = None
        event, draft, problem, ended = "", None, "", False
        status = "no answer"
        try:
            body = {"thread_id": thread_id, "message": message}
            async with self.session.post("/api/v1/agent/stream", json=body, headers=self.headers) as response:
                status = str(response.status)
                if response.status != 200:
                    problem = (await response.read()).decode(errors="replace")
                else:
                    async for raw in response.content:
                        if first is None:
                            first = time.perf_counter() - started
                        line = raw.decode().rstrip("\r\n")
                        if line.startswith("event: "):
                            event = line.removeprefix("event: ")
                            ended = ended or event == "end"
                        elif line.startswith("data: ") and event == "tool_start":
                            draft = json.loads(line.removeprefix("data: "))["draft"]
                        elif line.startswith("data: ") and event == "error":
                            problem = line
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            status, problem = type(exc).__name__, str(exc)
        elapsed = time.perf_counter() - started
        if status == "200" and not ended:
            status, problem = "no end event", problem or "the stream stopped before `end`"
        elif status == "200" and problem:
            status = "error event"
        ok = status == "200"
        self.stats.record(STREAM_ROUTE, status, elapsed, ok, note=problem)
        if ok and first is not None:
            self.stats.first_bytes.append(first)
            self.stats.turns.append((time.monotonic() - elapsed, elapsed))
        return draft if ok else None

    async def think(self, deadline: float) -> bool:
        """Wait like a person reading the answer; False once the run's time is up."""
        await asyncio.sleep(self.rng.uniform(*self.think_range))
        return time.monotonic() < deadline

    async def run(self, deadline: float) -> None:
        await asyncio.sleep(self.rng.uniform(0, RAMP_SECONDS))
        turn = 0
        while time.monotonic() < deadline:
            chat = await self.request("POST", "/api/v1/chats", "POST /api/v1/chats", 201, {"title": f"u{self.index}"})
            if not await self.think(deadline) or chat is None:
                continue
            thread_id = chat["thread_id"]
            await self.request("GET", "/api/v1/chats", "GET /api/v1/chats", 200)
            if not await self.think(deadline):
                break
            await self.request("GET", f"/api/v1/chats/{thread_id}", "GET /api/v1/chats/{id}", 200)
            if not await self.think(deadline):
                break
            draft = await self.stream(thread_id, MESSAGES[turn % len(MESSAGES)])
            if not await self.think(deadline):
                break
            rename = {"title": f"u{self.index} turn {turn}"}
            await self.request("PATCH", f"/api/v1/chats/{thread_id}", "PATCH /api/v1/chats/{id}", 200, rename)
            if self.deployer:
                await self.deploy_and_backtest(thread_id, draft)
            turn += 1
            await self.think(deadline)

    async def deploy_and_backtest(self, thread_id: str, draft: dict[str, Any] | None) -> None:
        """Deploy once; then poll the backtest in flight, or start one while the shared budget lasts."""
        if self.strategy_id is None and draft is not None:
            body = {"thread_id": thread_id, "draft": draft}
            deployed = await self.request("POST", "/api/v1/strategies", "POST /api/v1/strategies", 201, body)
            self.strategy_id = deployed["id"] if deployed else None
        if self.pending is not None:
            await self.poll(self.pending)
            return
        if self.strategy_id is None or self.backtests.budget <= 0:
            return
        self.backtests.budget -= 1
        body = {
            "strategy_id": self.strategy_id,
            "start_date": BACKTEST_START.isoformat(),
            "end_date": END.isoformat(),
            "pairs": [PAIRS[self.index % len(PAIRS)]],
            "timeframe": "1h",
        }
        started = await self.request("POST", "/api/v1/backtests", "POST /api/v1/backtests", 202, body, (429,))
        if started is None:
            self.backtests.budget += 1  # refused (the per-user limit) or failed: the budget is not spent
            return
        self.pending = started["id"]
        self.backtests.owners[self.pending] = self.headers

    async def poll(self, backtest_id: str) -> None:
        """Read the backtest; note its final state once it has one."""
        body = await self.request("GET", f"/api/v1/backtests/{backtest_id}", "GET /api/v1/backtests/{id}", 200)
        if body is not None and body["status"] in FINAL:
            self.backtests.final[backtest_id] = body["status"]
            self.backtests.finished_at.append(time.monotonic())
            if body["status"] != "finished":
                self.stats.error_samples.append(f"backtest {backtest_id} {body['status']}: {body.get('error')}")
            if self.pending == backtest_id:
                self.pending = None


# --- What the processes did: memory and database connections ---------------------------------------------


@dataclass
class Sample:
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


def _connections(states: Counter[str]) -> int:
    return sum(count for state, count in states.items() if state != "client sockets")


# --- The stack ------------------------------------------------------------------------------------------


def start_api(settings: Settings, port: int, log_path: Path) -> subprocess.Popen[bytes]:
    """The API as ``bench.api_load`` starts it, on the stack's database, broker, queue and exchange."""
    stack_env = {
        "GENTRADE_BROKER_URL": str(settings.broker_url),
        "GENTRADE_TASK_QUEUE": settings.task_queue,
        "GENTRADE_EXCHANGE_API_URL": str(settings.exchange_api_url),
    }
    return start_server(settings.data_dir, str(settings.database_url), port, log_path, stack_env)


def celery_pid(stack: BacktestStack) -> int:
    """The stack's Celery worker: the child of this process started in the stack's data folder."""
    for child in psutil.Process().children(recursive=False):
        if "celery" in " ".join(child.cmdline()) and Path(child.cwd()) == ROOT:
            return child.pid
    raise RuntimeError(f"no Celery worker among this process's children ({stack.data_dir})")


def queue_depth(stack: BacktestStack) -> int:
    """Messages left in the stack's queue (a backtest published but never acknowledged stays there)."""
    celery = stack.app.extensions["celery"]
    queue = stack.app.extensions[EXTENSION_KEY].settings.task_queue
    with celery.connection_for_write() as connection:
        return connection.default_channel.queue_declare(queue=queue, passive=True).message_count


def delete_queue(stack: BacktestStack) -> None:
    """``bench.backtest_stack`` purges its queue; the queue itself goes too."""
    remove_queue(stack.app.extensions["celery"], stack.app.extensions[EXTENSION_KEY].settings.task_queue)


def table_statuses(settings: Settings) -> Counter[str]:
    """Backtest rows by status, straight from the private schema (a backtest the API lost shows here)."""
    with psycopg.connect(str(settings.database_url)) as conn:
        return Counter(dict(conn.execute("SELECT status, count(*) FROM backtests GROUP BY status").fetchall()))


# --- The run --------------------------------------------------------------------------------------------


@dataclass
class Options:
    users: int
    seconds: float
    deployers: int
    backtests: int
    think: tuple[float, float]


async def load(url: str, tokens: list[str], options: Options, stats: Stats, backtests: Backtests) -> dict[str, Any]:
    """Run the users until the deadline, then wait (bounded) for every backtest; the generator's own cost."""
    every = max(1, options.users // max(1, options.deployers))
    lags: list[float] = []
    done = asyncio.Event()

    async def watch_loop() -> None:
        """How late the event loop wakes up: the generator is a bottleneck when this grows."""
        while not done.is_set():
            planned = time.perf_counter() + 0.25
            await asyncio.sleep(0.25)
            lags.append(time.perf_counter() - planned)

    connector = aiohttp.TCPConnector(limit=options.users + 20, keepalive_timeout=4)  # under gunicorn's 5 s
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    async with aiohttp.ClientSession(url, connector=connector, timeout=timeout) as session:
        users = [
            User(i, session, token, stats, backtests, i % every == 0 and i // every < options.deployers, options.think)
            for i, token in enumerate(tokens)
        ]
        watcher = asyncio.create_task(watch_loop())
        cpu, started = time.process_time(), time.monotonic()
        await asyncio.gather(*(user.run(started + options.seconds) for user in users))
        cpu, wall = time.process_time() - cpu, time.monotonic() - started
        done.set()
        await watcher
        await drain(users, backtests)
    return {"cpu_seconds": cpu, "wall_seconds": wall, "loop_lag": lags, "started": started}


async def drain(users: list[User], backtests: Backtests) -> None:
    """Every started backtest polled by its owner until final, within DRAIN_SECONDS."""
    deadline = time.monotonic() + DRAIN_SECONDS
    by_owner = {user.headers["Authorization"]: user for user in users}
    while time.monotonic() < deadline:
        pending = [bid for bid in backtests.owners if bid not in backtests.final]
        if not pending:
            return
        for backtest_id in pending:
            await by_owner[backtests.owners[backtest_id]["Authorization"]].poll(backtest_id)
        await asyncio.sleep(1.0)


def run(options: Options) -> dict[str, Any]:
    """Start the stack, load it, measure; the figures as a dict."""
    stats = Stats()
    backtests = Backtests(budget=options.backtests)
    stacks: list[BacktestStack] = []
    try:
        with (
            backtest_stack(PAIRS, worker_processes=CELERY_PROCESSES) as stack,
            tempfile.TemporaryDirectory() as scratch,
        ):
            stacks.append(stack)
            settings: Settings = stack.app.extensions[EXTENSION_KEY].settings
            port, log_path = free_port(), Path(scratch) / "gunicorn.log"
            url = f"http://127.0.0.1:{port}"
            server = start_api(settings, port, log_path)
            sampler = None
            try:
                wait_until_serving(url, server, log_path)
                tokens = [devkeys.mint_token(stack.data_dir, f"user_load{i:03d}") for i in range(options.users)]
                sampler = Sampler(server.pid, celery_pid(stack))
                sampler.take()
                sampler.phase = "load"
                sampler.start()
                generator = asyncio.run(load(url, tokens, options, stats, backtests))
                sampler.phase = "idle"
                time.sleep(IDLE_SECONDS)
                sampler.stop()
                sampler.phase = "after"
                sampler.take()
            finally:
                if sampler is not None:
                    sampler.stop()
                    sampler.conn.close()
                stop_server(server)
            rows = table_statuses(settings)
            depth = queue_depth(stack)
            server_log = log_path.read_text(errors="replace")
            worker_log = (stack.data_dir / "worker.log").read_text(errors="replace")
    finally:
        for stack in stacks:
            try:
                delete_queue(stack)
            except Exception as exc:  # never hide the run's own error
                print(f"could not delete the queue: {exc!r}", file=sys.stderr)
    return assess(options, settings, stats, backtests, sampler.samples, generator, rows, depth, server_log, worker_log)


def assess(
    options: Options,
    settings: Settings,
    stats: Stats,
    backtests: Backtests,
    samples: list[Sample],
    generator: dict[str, Any],
    rows: Counter[str],
    depth: int,
    server_log: str,
    worker_log: str,
) -> dict[str, Any]:
    """Turn the raw observations into the figures and verdicts."""
    routes = {}
    for route in (*CRUD_ROUTES, STREAM_ROUTE):
        latencies = stats.latencies.get(route, [])
        routes[route] = {
            "requests": sum(stats.statuses[route].values()),
            "errors": stats.errors.get(route, 0),
            "statuses": dict(stats.statuses[route]),
            **{f"p{q}": percentile(latencies, q / 100) if latencies else None for q in (50, 95, 99)},
            "max": max(latencies, default=None),
        }
    # Memory: "after warm-up" is once each pool process has run a backtest (as many finished as there are
    # processes), else a quarter into the load.
    load_start = next(s.at for s in samples if s.phase != "before")
    warm_at = (
        sorted(backtests.finished_at)[CELERY_PROCESSES - 1] if len(backtests.finished_at) >= CELERY_PROCESSES else None
    )
    warm_at = warm_at or load_start + options.seconds / 4
    warm = next((s for s in samples if s.at >= warm_at), samples[-1])
    api_warm = next((s for s in samples if s.at >= load_start + options.seconds / 4), samples[-1])
    before, after = samples[0], samples[-1]
    # Connections: each API worker holds at most pool + overflow (SQLAlchemy) + the checkpointer pool's
    # maximum (max(4, pool // 2), gentrade.agents.checkpoints); idle, the overflow is gone.
    checkpointer = max(4, settings.db_pool_size // 2)
    peak_bound = API_WORKERS * (settings.db_pool_size + settings.db_max_overflow + checkpointer)
    idle_bound = API_WORKERS * (settings.db_pool_size + checkpointer)
    api_peak = max(_connections(s.api_connections) for s in samples)
    worker_peak = max(_connections(s.worker_connections) for s in samples)
    stuck_states = ("idle in transaction", "idle in transaction (aborted)", "active")
    held = sum(after.api_connections[s] + after.worker_connections[s] for s in stuck_states)
    connections_ok = api_peak <= peak_bound and _connections(after.api_connections) <= idle_bound and held == 0
    worker_bound = CELERY_PROCESSES * WORKER_CONNECTIONS_PER_PROCESS
    connections_ok = connections_ok and _connections(after.worker_connections) <= worker_bound
    started = len(backtests.owners)
    finished = sum(status == "finished" for status in backtests.final.values())
    failed = sum(status != "finished" for status in backtests.final.values())
    stuck = started - len(backtests.final)
    active_rows = sum(count for status, count in rows.items() if status not in FINAL)
    backtests_ok = not failed and not stuck and not active_rows and depth == 0 and sum(rows.values()) == started
    flat = after.worker_rss <= warm.worker_rss * (1 + FLAT_SHARE)
    lags = generator["loop_lag"] or [0.0]
    loading = [s for s in samples if s.phase == "load"] or samples
    span = (loading[-1].at - loading[0].at) or 1.0
    return {
        "users": options.users,
        "seconds": options.seconds,
        "think": options.think,
        "requests": stats.requests,
        "errors": stats.error_count,
        "error_samples": stats.error_samples,
        "routes": routes,
        "first_byte": {"p50": _maybe(stats.first_bytes, 0.5), "p99": _maybe(stats.first_bytes, 0.99)},
        "turns_by_start": _turns_by_start(stats.turns, generator["started"], options.seconds),
        "backtests": {
            "budget": options.backtests,
            "started": started,
            "finished": finished,
            "failed": failed,
            "stuck": stuck,
            "rows": dict(rows),
            "queue_depth": depth,
            "ok": backtests_ok,
        },
        "connections": {
            "api": {"before": dict(before.api_connections), "peak": api_peak, "after": dict(after.api_connections)},
            "worker": {
                "before": dict(before.worker_connections),
                "peak": worker_peak,
                "after": dict(after.worker_connections),
            },
            "database_total": {
                "before": before.database_connections,
                "peak": max(s.database_connections for s in samples),
                "after": after.database_connections,
            },
            "peak_bound": peak_bound,
            "idle_bound": idle_bound,
            "worker_bound": worker_bound,
            "held_after": held,
            "ok": connections_ok,
        },
        "memory": {
            "worker": _memory(samples, before, warm, after, lambda s: s.worker_rss),
            "api": _memory(samples, before, api_warm, after, lambda s: s.api_rss),
            "worker_flat": flat,
        },
        "generator": {
            "cpu_share": generator["cpu_seconds"] / generator["wall_seconds"],
            "lag_p99": percentile(lags, 0.99),
            "lag_max": max(lags),
        },
        "cpu": {  # during the load, from the samples
            "api_cores": (loading[-1].api_cpu - loading[0].api_cpu) / span,
            "machine_share": (loading[-1].machine_busy - loading[0].machine_busy) / span / (psutil.cpu_count() or 1),
        },
        "server_errors": _error_lines(server_log),
        "worker_errors": _error_lines(worker_log),
        "samples": len(samples),
    }


def _turns_by_start(turns: list[tuple[float, float]], started: float, seconds: float) -> list[dict[str, Any]]:
    """Whole-turn latency by when the turn started, in tenths of the run: a cold start shows apart."""
    width = seconds / 10
    buckets: dict[int, list[float]] = defaultdict(list)
    for at, elapsed in turns:
        buckets[min(9, max(0, int((at - started) // width)))].append(elapsed)
    return [
        {"from": index * width, "turns": len(values), "p50": percentile(values, 0.5), "p99": percentile(values, 0.99)}
        for index, values in sorted(buckets.items())
    ]


def _maybe(samples: list[float], share: float) -> float | None:
    return percentile(samples, share) if samples else None


def _memory(samples: list[Sample], before: Sample, warm: Sample, after: Sample, rss: Any) -> dict[str, float]:
    mb = 1024 * 1024
    return {
        "start": rss(before) / mb,
        "warm": rss(warm) / mb,
        "max": max(rss(s) for s in samples) / mb,
        "end": rss(after) / mb,
        "end_vs_warm": rss(after) / rss(warm) - 1 if rss(warm) else 0.0,
    }


def _error_lines(log: str) -> list[str]:
    """The log's errors, each with its traceback (the line before it, the frames, the exception)."""
    lines, blocks, index = log.splitlines(), [], 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("Traceback"):
            end = index + 1
            while end < len(lines) and (lines[end].startswith(" ") or not lines[end].strip()):
                end += 1
            blocks.append("\n".join(lines[max(0, index - 1) : end + 1]))
            index = end + 1
            continue
        followed = index + 1 < len(lines) and lines[index + 1].startswith("Traceback")  # kept with it
        if any(mark in line for mark in (" ERROR ", "[ERROR]", "CRITICAL")) and not followed:
            blocks.append(line)
        index += 1
    return blocks


def passed(result: dict[str, Any]) -> bool:
    return (
        result["errors"] == 0
        and result["backtests"]["ok"]
        and result["connections"]["ok"]
        and result["memory"]["worker_flat"]
        and not result["server_errors"]
    )


# --- Output ---------------------------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f}"


def report(result: dict[str, Any]) -> list[str]:
    """A readable table of the figures."""
    lines = [
        f"{result['users']} users x {result['seconds']:.0f} s, think {result['think'][0]}-{result['think'][1]} s; "
        f"gunicorn {API_WORKERS} gevent workers, Celery 1 worker x {CELERY_PROCESSES} processes, PostgreSQL, RabbitMQ",
        f"{'route':28} {'requests':>8} {'errors':>6} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7}  statuses",
    ]
    for route, item in result["routes"].items():
        statuses = ", ".join(f"{code}: {count}" for code, count in sorted(item["statuses"].items()))
        lines.append(
            f"{route:28} {item['requests']:8d} {item['errors']:6d} {_ms(item['p50']):>7} {_ms(item['p95']):>7} "
            f"{_ms(item['p99']):>7} {_ms(item['max']):>7}  {statuses}"
        )
    error_rate = result["errors"] / result["requests"] if result["requests"] else 0.0
    lines.append(f"all: {result['requests']} requests, {result['errors']} errors ({error_rate:.3%})")
    first = result["first_byte"]
    lines.append(f"SSE first byte: p50 {_ms(first['p50'])} ms, p99 {_ms(first['p99'])} ms (stream rows: whole turn)")
    lines.append(
        "whole turn by start time: "
        + ", ".join(
            f"{b['from']:.0f}s+ p50 {_ms(b['p50'])}/p99 {_ms(b['p99'])} ms ({b['turns']})"
            for b in result["turns_by_start"]
        )
    )
    bt = result["backtests"]
    lines.append(
        f"backtests: budget {bt['budget']}, started {bt['started']}, finished {bt['finished']}, failed {bt['failed']}, "
        f"stuck {bt['stuck']}; table {bt['rows']}; queue depth {bt['queue_depth']}"
    )
    conn = result["connections"]
    lines.append(
        f"API connections: before {conn['api']['before']}, peak {conn['api']['peak']} (bound {conn['peak_bound']}), "
        f"after {IDLE_SECONDS:.0f} s idle {conn['api']['after']} (bound {conn['idle_bound']})"
    )
    lines.append(
        f"worker connections: before {conn['worker']['before']}, peak {conn['worker']['peak']}, "
        f"after {conn['worker']['after']} (bound {conn['worker_bound']}); "
        f"busy or in a transaction after: {conn['held_after']}"
    )
    total = conn["database_total"]
    lines.append(
        f"database `test`, all clients: before {total['before']}, peak {total['peak']}, after {total['after']}"
    )
    for name in ("worker", "api"):
        memory = result["memory"][name]
        label = "Celery worker RSS (main + 2)" if name == "worker" else "API workers RSS (2)"
        lines.append(
            f"{label}: start {memory['start']:.0f} MB, after warm-up {memory['warm']:.0f} MB, "
            f"max {memory['max']:.0f} MB, "
            f"end {memory['end']:.0f} MB ({memory['end_vs_warm']:+.1%} vs warm-up)"
        )
    gen = result["generator"]
    lines.append(
        f"load generator: {gen['cpu_share']:.0%} of one core, event-loop lag p99 {gen['lag_p99'] * 1000:.0f} ms, "
        f"max {gen['lag_max'] * 1000:.0f} ms ({result['samples']} samples of the processes)"
    )
    cpu = result["cpu"]
    lines.append(
        f"CPU during the load: API workers {cpu['api_cores']:.2f} cores; the machine (every process, other users "
        f"included) {cpu['machine_share']:.0%} busy of {psutil.cpu_count()} CPUs"
    )
    if gen["cpu_share"] > 0.8 or gen["lag_p99"] > 0.1:
        lines.append("WARNING: the load generator may have been a bottleneck")
    shown = (("errors", result["error_samples"], 10), ("server log", result["server_errors"], 3))
    for title, items, count in shown:
        if items:
            lines.append(f"{title} ({len(items)}), first ones:")
            lines.extend(f"  {line}" for item in items[:count] for line in item.splitlines())
    if result["worker_errors"]:
        lines.append(f"worker log: {len(result['worker_errors'])} errors, first:\n{result['worker_errors'][0]}")
    lines.append("verdict: " + ("PASS" if passed(result) else "FAIL"))
    return lines


def figures(result: dict[str, Any]) -> list[Figure]:
    """The figures of :func:`run`'s result, each with its verdict."""
    who = f"Load {result['users']} users x {result['seconds']:.0f} s"
    error_rate = result["errors"] / result["requests"] if result["requests"] else 0.0
    lines = [
        Figure(
            f"{who}: errors",
            f"{result['requests']} requests, {result['errors']} errors ({error_rate:.3%})",
            "",
            round(error_rate, 5),
            "error rate 0 (5xx, connection errors, timeouts, unexpected statuses)",
            result["errors"] == 0,
        )
    ]
    for route in CRUD_ROUTES:
        item = result["routes"][route]
        lines.append(
            Figure(
                f"{who}: {route}",
                f"{item['requests']} requests, p50 {_ms(item['p50'])} ms, p95 {_ms(item['p95'])} ms, "
                f"p99 {_ms(item['p99'])} ms",
                "",
                None,
                "p99 recorded; no errors",
                item["errors"] == 0,
            )
        )
    first, stream = result["first_byte"], result["routes"][STREAM_ROUTE]
    lines.append(
        Figure(
            f"{who}: agent stream (SSE)",
            f"{stream['requests']} turns, first byte p50 {_ms(first['p50'])} ms, p99 {_ms(first['p99'])} ms; "
            f"whole turn p99 {_ms(stream['p99'])} ms",
            "",
            None,
            "every turn read to `end`",
            stream["errors"] == 0,
        )
    )
    bt = result["backtests"]
    lines.append(
        Figure(
            f"{who}: backtests",
            f"{bt['started']} started, {bt['finished']} finished, {bt['failed']} failed, {bt['stuck']} lost or stuck",
            f"budget {bt['budget']}",
            None,
            "all finished, none lost or stuck, queue empty",
            bt["ok"],
        )
    )
    conn = result["connections"]
    api_after = _connections(Counter(conn["api"]["after"]))
    lines.append(
        Figure(
            f"{who}: database connections (API workers)",
            f"before {_connections(Counter(conn['api']['before']))}, peak {conn['api']['peak']}, "
            f"after {api_after}; worker peak {conn['worker']['peak']}, after "
            f"{_connections(Counter(conn['worker']['after']))}; {conn['held_after']} busy after",
            f"bounds: API peak {conn['peak_bound']}, API idle {conn['idle_bound']}, worker {conn['worker_bound']}",
            None,
            "no leak: within the pool bounds, none busy or in a transaction after",
            conn["ok"],
        )
    )
    for name, label, gated in (("worker", "Celery worker RSS", True), ("api", "API workers RSS", False)):
        memory = result["memory"][name]
        lines.append(
            Figure(
                f"{who}: {label}",
                f"start {memory['start']:.0f} MB, warm {memory['warm']:.0f} MB, max {memory['max']:.0f} MB, "
                f"end {memory['end']:.0f} MB",
                f"after warm-up {memory['warm']:.0f} MB",
                round(memory["end"] / memory["warm"], 3) if memory["warm"] else None,
                f"end within {FLAT_SHARE:.0%} of warm-up" + ("" if gated else " (recorded)"),
                memory["end_vs_warm"] <= FLAT_SHARE,
            )
        )
    cpu = result["cpu"]
    lines.append(
        Figure(
            f"{who}: CPU during the load",
            f"API workers {cpu['api_cores']:.2f} cores; machine {cpu['machine_share']:.0%} busy (shared machine)",
            "",
            None,
            "recorded",
            True,
        )
    )
    gen = result["generator"]
    lines.append(
        Figure(
            f"{who}: load generator",
            f"{gen['cpu_share']:.0%} of one core, loop lag p99 {gen['lag_p99'] * 1000:.0f} ms",
            "",
            None,
            "not the bottleneck (< 80 % of a core, lag p99 < 100 ms)",
            gen["cpu_share"] <= 0.8 and gen["lag_p99"] <= 0.1,
        )
    )
    return lines


def main(argv: list[str] | None = None) -> int:
    arguments = parser(__doc__.splitlines()[0])
    arguments.add_argument("--users", type=int, default=200)
    arguments.add_argument("--seconds", type=float, default=120)
    arguments.add_argument("--deployers", type=int, default=20, help="users who deploy and backtest")
    arguments.add_argument("--backtests", type=int, default=12, help="backtests started in total")
    arguments.add_argument("--think", type=float, nargs=2, default=(1.0, 3.0), metavar=("MIN", "MAX"))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean-up (finally blocks) on SIGTERM too
    return run_benchmark(arguments, argv, lambda args: run(options(args)), report, figures, passed)


def options(args: argparse.Namespace) -> Options:
    return Options(args.users, args.seconds, min(args.deployers, args.users), args.backtests, tuple(args.think))


if __name__ == "__main__":
    sys.exit(main())
