"""P1: authenticated reads under load on the real server: gunicorn (``config/gunicorn.conf.py``, 2 gevent
workers) on PostgreSQL, 64 concurrent connections. ``GET /api/v1/chats`` (the user has 50 chats, all on
the default first page) and ``GET /api/v1/strategies/{id}``, beside ``GET /healthz`` on the same server as
the baseline (a bare Flask view: no token, no database).

Targets for each API endpoint (issue 16): throughput >= 30 % of the bare endpoint's, and p99 <= 100 ms.
Load: ``wrk`` when installed (``apt-get install wrk``), else a Python asyncio generator keeping the
same number of keep-alive connections busy (heavier on the CPU than wrk: prefer wrk). Each endpoint gets
a warm-up; then the three take turns, ROUNDS short rounds of ROUND_SECONDS each, so that whatever else runs
on the machine weighs on the baseline and the endpoints alike (a round's three runs lie seconds apart).
Figures: the median over the rounds of each round's share of the bare throughput, and of each round's p99.

Each worker's database pool is sized to its share of the connections (``POOL``), as docs/deployment.md
advises; ``--default-pool`` keeps the app's defaults (20 + 10 overflow), under which connections beyond
20 per worker are opened and closed again all the time at this load.

Run: ``.venv/bin/python -m bench.api_load`` (PostgreSQL at 127.0.0.1:5432, database ``test`` or
``GENTRADE_BENCH_DATABASE_URL``; only a private schema is used). ``--profile DIR`` then samples one
worker with py-spy during an extra, unmeasured run of each API endpoint.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from bench.common import POSTGRES_URL, bench_app, percentile, result_line
from gentrade import devkeys
from gentrade.samples import DRAFT

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).with_name("gunicorn")
WORKERS = 2
CONNECTIONS = 64
WARM_UP_SECONDS = 3
ROUNDS = 6
ROUND_SECONDS = 5
PROFILE_SECONDS = 10
CHATS = 50
TARGET_P99 = 0.100
TARGET_SHARE = 0.30
# Each worker's pool holds a connection for each of its share of the connections, as docs/deployment.md
# advises (size the pool to the concurrency per worker). With the defaults (20 + 10 overflow) and 32
# requests per worker, the overflow connections are opened and closed again at every swing of the load:
# psycopg's connect and close were about a tenth of a worker's samples, beside a PostgreSQL backend start each.
# ``--default-pool`` measures with the defaults.
POOL = {"GENTRADE_DB_POOL_SIZE": str(CONNECTIONS // WORKERS), "GENTRADE_DB_MAX_OVERFLOW": "0"}

# wrk: the token goes in with -H; this script counts every non-2xx answer (wrk itself only counts >= 400)
# and prints one machine-readable line at the end. Latencies are in microseconds.
WRK_SCRIPT = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) non2xx = 0 end
function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end
function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do bad = bad + thread:get("non2xx") end
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests": %.0f, "duration_us": %.0f, "non2xx": %.0f, "socket_errors": %.0f, '
    .. '"p50_us": %.0f, "p99_us": %.0f, "max_us": %.0f}\\n',
    summary.requests, summary.duration, bad, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


@dataclass
class Load:
    """One measured run against one endpoint."""

    label: str
    path: str
    requests: int
    seconds: float
    p50: float  # seconds
    p99: float
    max: float
    non2xx: int
    socket_errors: int  # connect/read/write errors and timeouts (10 s)

    @property
    def errors(self) -> int:
        return self.non2xx + self.socket_errors

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_wrk(url: str, headers: dict[str, str], seconds: int, script: Path) -> dict[str, float]:
    """One wrk run (1 thread: on a small machine the generator competes with the server for CPU)."""
    command = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script)]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    result = subprocess.run([*command, url], capture_output=True, text=True, check=True, timeout=seconds + 30)
    for line in result.stdout.splitlines():
        if line.startswith("WRK "):
            return json.loads(line.removeprefix("WRK "))
    raise RuntimeError(f"wrk printed no summary:\n{result.stdout}\n{result.stderr}")


async def _asyncio_load(url: str, headers: dict[str, str], seconds: float) -> tuple[list[float], int, int, float]:
    """Keep CONNECTIONS keep-alive connections busy for ``seconds``: (latencies, non-2xx, failures, elapsed).

    Plain HTTP/1.1 on asyncio streams (answers with Content-Length, as Flask sends them): an httpx
    AsyncClient with 64 connections was itself the bottleneck here (under 100 req/s on the bare endpoint).
    """
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    lines = [f"GET {parts.path or '/'} HTTP/1.1", f"Host: {parts.netloc}", *(f"{k}: {v}" for k, v in headers.items())]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    latencies: list[float] = []
    non2xx = failures = 0
    started = time.perf_counter()
    deadline = started + seconds

    async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> tuple[int, bool]:
        """One request: (status, whether the server keeps the connection)."""
        writer.write(request)
        status = int((await reader.readline()).split()[1])
        length, keep = 0, True
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
            elif name.strip().lower() == b"connection" and value.strip().lower() == b"close":
                keep = False
        await reader.readexactly(length)
        return status, keep

    async def loop() -> None:
        nonlocal non2xx, failures
        writer = None
        while time.perf_counter() < deadline:
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                sent = time.perf_counter()
                status, keep = await asyncio.wait_for(exchange(reader, writer), timeout=10)
            except (OSError, ValueError, IndexError, asyncio.IncompleteReadError, TimeoutError):
                failures += 1
                if writer is not None:
                    writer.close()
                writer = None
                continue
            latencies.append(time.perf_counter() - sent)
            non2xx += not 200 <= status < 300
            if not keep:
                writer.close()
                writer = None
        if writer is not None:
            writer.close()

    await asyncio.gather(*(loop() for _ in range(CONNECTIONS)))
    return latencies, non2xx, failures, time.perf_counter() - started


def measure(label: str, url: str, path: str, headers: dict[str, str], script: Path | None, seconds: int) -> Load:
    """``GET url+path`` at CONNECTIONS concurrent connections for ``seconds``."""
    if script is not None:
        out = run_wrk(url + path, headers, seconds, script)
        return Load(
            label=label,
            path=path,
            requests=int(out["requests"]),
            seconds=out["duration_us"] / 1e6,
            p50=out["p50_us"] / 1e6,
            p99=out["p99_us"] / 1e6,
            max=out["max_us"] / 1e6,
            non2xx=int(out["non2xx"]),
            socket_errors=int(out["socket_errors"]),
        )
    latencies, non2xx, failures, elapsed = asyncio.run(_asyncio_load(url + path, headers, seconds))
    return Load(
        label=label,
        path=path,
        requests=len(latencies),
        seconds=elapsed,
        p50=percentile(latencies, 0.5) if latencies else float("nan"),
        p99=percentile(latencies, 0.99) if latencies else float("nan"),
        max=max(latencies, default=float("nan")),
        non2xx=non2xx,
        socket_errors=failures,
    )


def combine(rounds: list[Load], bare: list[Load] | None) -> dict[str, Any]:
    """One endpoint's figures over its rounds: totals, the medians of the rounds' p50 and p99 and, beside the
    bare endpoint's rounds (``bare``), the median of each round's share of its throughput."""
    requests = sum(load.requests for load in rounds)
    seconds = sum(load.seconds for load in rounds)
    figures: dict[str, Any] = {
        "label": rounds[0].label,
        "path": rounds[0].path,
        "requests": requests,
        "seconds": seconds,
        "rps": requests / seconds if seconds else 0.0,
        "p50": statistics.median(load.p50 for load in rounds),
        "p99": statistics.median(load.p99 for load in rounds),
        "max": max(load.max for load in rounds),
        "non2xx": sum(load.non2xx for load in rounds),
        "socket_errors": sum(load.socket_errors for load in rounds),
        "rounds": [{"rps": load.rps, "p50": load.p50, "p99": load.p99} for load in rounds],
    }
    figures["errors"] = figures["non2xx"] + figures["socket_errors"]
    if bare is not None:
        shares = [load.rps / base.rps if base.rps else 0.0 for load, base in zip(rounds, bare, strict=True)]
        figures["shares"] = shares
        figures["share_of_bare"] = statistics.median(shares)
        figures["p99_met"] = figures["p99"] <= TARGET_P99
        figures["throughput_met"] = figures["share_of_bare"] >= TARGET_SHARE
    return figures


def start_server(
    data_dir: Path, database_url: str, port: int, log_path: Path, extra_env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """gunicorn as configured, 2 gevent workers, development mode, access log off; ``extra_env`` adds or
    overrides settings (a broker, a queue, an exchange stand-in)."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(data_dir),
        "GENTRADE_DATA_DIR": str(data_dir),
        "GENTRADE_DATABASE_URL": database_url,
        "GENTRADE_TASK_QUEUE": f"gentrade-bench-{uuid.uuid4().hex[:8]}",  # never the shared queue
        "GENTRADE_LOG_LEVEL": "WARNING",
        "GUNICORN_WORKERS": str(WORKERS),
        **(extra_env or {}),
    }
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [str(GUNICORN), "-c", "config/gunicorn.conf.py", "-w", str(WORKERS), "-b", f"127.0.0.1:{port}",
             "--access-logfile", "/dev/null", "wsgi:app"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def stop_server(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_until_serving(url: str, process: subprocess.Popen[bytes], log_path: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not start in time:\n{log_path.read_text()[-3000:]}")


def worker_pids(master: int) -> list[int]:
    """The gunicorn workers: the master's children."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def seed(url: str, headers: dict[str, str]) -> str:
    """50 chats and one strategy through the API; returns the strategy id."""
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        threads = []
        for index in range(CHATS):
            response = client.post("/api/v1/chats", json={"title": f"load chat {index}"})
            response.raise_for_status()
            threads.append(response.json()["thread_id"])
        response = client.post("/api/v1/strategies", json={"thread_id": threads[0], "draft": DRAFT})
        if response.status_code != 201:
            raise RuntimeError(f"deploy failed: {response.status_code} {response.text}")
        strategy_id = response.json()["id"]
        for path in ("/api/v1/chats", f"/api/v1/strategies/{strategy_id}"):
            client.get(path).raise_for_status()
        return strategy_id


def start_profile(pid: int, seconds: int, out: Path) -> subprocess.Popen[bytes] | None:
    """py-spy (collapsed stacks) on one worker, non-blocking so it barely slows it; None without py-spy."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).exists():
        print("py-spy not found (pip install py-spy): no profile", file=sys.stderr)
        return None
    command = [py_spy, "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "250", "--nonblocking",
               "--format", "raw", "--output", str(out)]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


# Frames on nearly every stack (the server and the framework's dispatch) say nothing about the cost.
SERVER_FRAMES = ("gunicorn/", "gevent/", "flask/app.py", "flask/views.py")


def summarize_profile(path: Path, top: int = 20) -> list[str]:
    """The functions on the most sampled stacks (inclusive share) and the top self times, from py-spy's
    collapsed output."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        total += int(count)
        own[frames[-1]] += int(count)
        for frame in set(frames):
            if not any(part in frame for part in SERVER_FRAMES):
                inclusive[frame] += int(count)
    if not total:
        return ["(no samples)"]
    lines = [f"{share / total:6.1%}  {frame}" for frame, share in inclusive.most_common(top)]
    lines.append("self time:")
    return lines + [f"{share / total:6.1%}  {frame}" for frame, share in own.most_common(8)]


def run(profile_dir: Path | None = None, default_pool: bool = False) -> dict[str, Any]:
    """Start the server, seed it, load the three endpoints in turns; the figures as a dict."""
    schema = f"gentrade_bench_load_{uuid.uuid4().hex[:8]}"
    generator = "wrk" if shutil.which("wrk") else "asyncio"
    with bench_app(schema) as (_app, data_dir), tempfile.TemporaryDirectory(prefix="gentrade-load-") as scratch:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log_path = Path(scratch) / "gunicorn.log"
        script = None
        if generator == "wrk":
            script = Path(scratch) / "count.lua"
            script.write_text(WRK_SCRIPT)
        database_url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
        server = start_server(data_dir, database_url, port, log_path, None if default_pool else POOL)
        try:
            wait_until_serving(url, server, log_path)
            headers = {"Authorization": f"Bearer {devkeys.mint_token(data_dir, 'user_load')}"}
            strategy_id = seed(url, headers)
            targets = [
                ("bare", "GET /healthz (bare)", "/healthz", {}),
                ("chats", "GET /api/v1/chats", "/api/v1/chats", headers),
                ("strategy", "GET /api/v1/strategies/{id}", f"/api/v1/strategies/{strategy_id}", headers),
            ]
            for _key, label, path, request_headers in targets:
                measure(label, url, path, request_headers, script, WARM_UP_SECONDS)
            rounds: dict[str, list[Load]] = {key: [] for key, *_ in targets}
            for _ in range(ROUNDS):
                for key, label, path, request_headers in targets:
                    rounds[key].append(measure(label, url, path, request_headers, script, ROUND_SECONDS))
            profiles: dict[str, list[str]] = {}
            for key, label, path, request_headers in targets[1:] if profile_dir is not None else []:
                assert profile_dir is not None
                profile_dir.mkdir(parents=True, exist_ok=True)
                out = profile_dir / f"{key}.txt"
                profiler = start_profile(worker_pids(server.pid)[0], PROFILE_SECONDS, out)
                measure(label, url, path, request_headers, script, PROFILE_SECONDS)
                if profiler is not None:
                    _, stderr = profiler.communicate(timeout=60)
                    profiles[key] = summarize_profile(out) if out.exists() else [stderr.decode()[-500:]]
        finally:
            stop_server(server)
        server_log = log_path.read_text(errors="replace")

    endpoints = {key: combine(loads, None if key == "bare" else rounds["bare"]) for key, loads in rounds.items()}
    return {
        "generator": generator,
        "workers": WORKERS,
        "pool": "the app's defaults" if default_pool else f"{POOL['GENTRADE_DB_POOL_SIZE']} per worker, no overflow",
        "connections": CONNECTIONS,
        "rounds": ROUNDS,
        "seconds": ROUND_SECONDS,
        "target_p99_ms": TARGET_P99 * 1000,
        "target_share": TARGET_SHARE,
        "endpoints": endpoints,
        "profiles": profiles,
        "server_errors": [line for line in server_log.splitlines() if "Traceback" in line or "[ERROR]" in line],
    }


def report(result: dict[str, Any]) -> list[str]:
    """A readable table of ``run()``'s figures."""
    target_p99 = f"p99 <= {result['target_p99_ms']:.0f} ms"
    target_share = f">= {result['target_share']:.0%} of bare"
    lines = [
        f"{result['connections']} connections, gunicorn {result['workers']} gevent workers (database pool: "
        f"{result['pool']}), load by "
        f"{result['generator']}; after a {WARM_UP_SECONDS} s warm-up each, {result['rounds']} rounds of "
        f"{result['seconds']} s per endpoint in turns (p50, p99 and share of bare: medians of the rounds)",
        f"{'endpoint':30} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'errors':>7} {'vs bare':>8}  targets",
    ]
    for key, figures in result["endpoints"].items():
        row = (
            f"{figures['label']:30} {figures['rps']:8.0f} {figures['p50'] * 1000:8.1f} {figures['p99'] * 1000:8.1f} "
            f"{figures['max'] * 1000:8.1f} {figures['errors']:7d}"
        )
        if key == "bare":
            lines.append(f"{row} {'':>8}  (baseline)")
            continue
        p99 = "met" if figures["p99_met"] else "MISSED"
        share = "met" if figures["throughput_met"] else "MISSED"
        lines.append(f"{row} {figures['share_of_bare']:8.1%}  {target_p99}: {p99}; {target_share}: {share}")
    for figures in result["endpoints"].values():
        shares = figures.get("shares", [None] * len(figures["rounds"]))
        rounds = ", ".join(
            f"{item['rps']:.0f}/s p99 {item['p99'] * 1000:.0f} ms" + (f" {share:.0%}" if share is not None else "")
            for item, share in zip(figures["rounds"], shares, strict=True)
        )
        lines.append(f"rounds, {figures['label']}: {rounds}")
    for figures in result["endpoints"].values():
        if figures["errors"]:
            lines.append(
                f"errors on {figures['label']}: {figures['non2xx']} non-2xx, "
                f"{figures['socket_errors']} socket errors or timeouts (10 s)"
            )
    # Closed loop: latency = connections / throughput (Little's law), so the p99 target needs at least this rate.
    needed = result["connections"] / (result["target_p99_ms"] / 1000)
    lines.append(
        f"note: {result['connections']} busy connections with a mean latency <= {result['target_p99_ms']:.0f} ms "
        f"need >= {needed:.0f} req/s"
    )
    for key, summary in result["profiles"].items():
        lines.append(f"py-spy, one worker, {key} (inclusive share of samples, an extra unmeasured run):")
        lines.extend(f"  {line}" for line in summary)
    if result["server_errors"]:
        lines.append(f"server log: {len(result['server_errors'])} error lines, first: {result['server_errors'][0]}")
    return lines


def result_lines(result: dict[str, Any]) -> list[str]:
    """The machine-readable ``RESULT {json}`` lines (``bench.common.result_line``), one per API endpoint."""
    bare = result["endpoints"]["bare"]
    baseline = f"GET /healthz {bare['rps']:.0f} req/s, p99 {bare['p99'] * 1000:.1f} ms"
    lines = []
    for key in ("chats", "strategy"):
        item = result["endpoints"][key]
        lines.append(
            result_line(
                f"P1 {item['label']}, {result['connections']} connections, {result['workers']} gevent workers",
                f"{item['rps']:.0f} req/s, p50 {item['p50'] * 1000:.1f} ms, p99 {item['p99'] * 1000:.1f} ms, "
                f"{item['errors']} errors (medians of {result['rounds']} rounds)",
                baseline,
                round(item["share_of_bare"], 3),
                f"p99 <= {TARGET_P99 * 1000:.0f} ms, req/s >= {TARGET_SHARE:.0%} of bare",
                item["p99_met"] and item["throughput_met"],
            )
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", type=Path, metavar="DIR", help="also sample a worker with py-spy into DIR")
    parser.add_argument("--default-pool", action="store_true", help="the app's database pool defaults (20 + 10)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean-up (finally blocks) on SIGTERM too
    result = run(args.profile, args.default_pool)
    print("\n".join(report(result)))
    print("\n".join(result_lines(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
