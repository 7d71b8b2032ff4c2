"""The virtual users: a journey in a loop with seeded think times, the backtests they start, and what
they saw.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import aiohttp

from bench.backtest_stack import END
from bench.load_users.plan import FINAL, PAIRS, STREAM_ROUTE, Options
from gentrade.sse_reader import Reader

BACKTEST_START = END - timedelta(days=30)
MESSAGES = ("an RSI strategy on BTC/USDT 1h with a 5% stop", "use EMA 50 as a trend filter")
SEED = 7
RAMP_SECONDS = 10.0  # users start spread over this, not all in the same millisecond
REQUEST_TIMEOUT = 120.0  # an answer later than this counts as an error (a timeout)
DRAIN_SECONDS = 300.0  # after the load: every backtest must reach a final state within this


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


@dataclass
class Turn:
    """What one streamed agent turn showed: its HTTP status, seconds to its first line, its events."""

    status: str = "no answer"
    first: float | None = None
    draft: dict[str, Any] | None = None
    problem: str = ""
    ended: bool = False

    async def read(self, lines: aiohttp.StreamReader, started: float) -> None:
        """The response's lines through the SSE reader, as they arrive (``started``: when the request went)."""
        reader = Reader()
        async for raw in lines:
            if self.first is None:
                self.first = time.perf_counter() - started
            event = reader.feed(raw.decode())
            if event is not None:
                self.see(*event)
        last = reader.feed("")  # a stream cut off after its last line
        if last is not None:
            self.see(*last)

    def see(self, event: str, data: Any) -> None:
        if event == "end":
            self.ended = True
        elif event == "tool_start":
            self.draft = data["draft"]
        elif event == "error":
            self.problem = f"data: {json.dumps(data)}"

    def outcome(self) -> tuple[str, str]:
        """(the outcome recorded for the turn: "200" when it ended cleanly, the problem noted with it)."""
        if self.status == "200" and not self.ended:
            return "no end event", self.problem or "the stream stopped before `end`"
        if self.status == "200" and self.problem:
            return "error event", self.problem
        return self.status, self.problem


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
        turn = Turn()
        try:
            body = {"thread_id": thread_id, "message": message}
            async with self.session.post("/api/v1/agent/stream", json=body, headers=self.headers) as response:
                turn.status = str(response.status)
                if response.status != 200:
                    turn.problem = (await response.read()).decode(errors="replace")
                else:
                    await turn.read(response.content, started)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            turn.status, turn.problem = type(exc).__name__, str(exc)
        elapsed = time.perf_counter() - started
        outcome, problem = turn.outcome()
        ok = outcome == "200"
        self.stats.record(STREAM_ROUTE, outcome, elapsed, ok, note=problem)
        if ok and turn.first is not None:
            self.stats.first_bytes.append(turn.first)
            self.stats.turns.append((time.monotonic() - elapsed, elapsed))
        return turn.draft if ok else None

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
