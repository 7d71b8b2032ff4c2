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

The server: ``bench.api_server``; the load generators: ``bench.http_load``; py-spy: ``bench.py_spy``.
"""

from __future__ import annotations

import shutil
import signal
import statistics
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any, NamedTuple

import httpx

from bench.api_server import WORKERS, start_server, wait_until_serving, worker_pids
from bench.common import POSTGRES_URL, bench_app
from bench.figures import Figure, parser, run_benchmark
from bench.http_load import WRK_SCRIPT, Load, measure
from bench.py_spy import start_profile, summarize_profile
from gentrade import devkeys
from gentrade.demo import free_port, stop_stack
from gentrade.samples import DRAFT

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


class Endpoint(NamedTuple):
    key: str
    label: str
    path: str
    headers: dict[str, str]


def load_in_turns(url: str, endpoints: list[Endpoint], script: Path | None) -> dict[str, list[Load]]:
    """A warm-up of each endpoint, then ROUNDS rounds in which each is loaded in turn: its loads by key."""
    for endpoint in endpoints:
        measure(endpoint.label, url, endpoint.path, endpoint.headers, CONNECTIONS, WARM_UP_SECONDS, script)
    rounds: dict[str, list[Load]] = {endpoint.key: [] for endpoint in endpoints}
    for _ in range(ROUNDS):
        for key, label, path, headers in endpoints:
            rounds[key].append(measure(label, url, path, headers, CONNECTIONS, ROUND_SECONDS, script))
    return rounds


def profile(
    url: str, endpoints: list[Endpoint], script: Path | None, worker: int, profile_dir: Path
) -> dict[str, list[str]]:
    """An extra, unmeasured run of each endpoint with py-spy on ``worker``: the summary of its samples by key."""
    profile_dir.mkdir(parents=True, exist_ok=True)
    profiles = {}
    for key, label, path, headers in endpoints:
        out = profile_dir / f"{key}.txt"
        profiler = start_profile(worker, PROFILE_SECONDS, out)
        measure(label, url, path, headers, CONNECTIONS, PROFILE_SECONDS, script)
        if profiler is not None:
            _, stderr = profiler.communicate(timeout=60)
            profiles[key] = summarize_profile(out) if out.exists() else [stderr.decode()[-500:]]
    return profiles


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
                Endpoint("bare", "GET /healthz (bare)", "/healthz", {}),
                Endpoint("chats", "GET /api/v1/chats", "/api/v1/chats", headers),
                Endpoint("strategy", "GET /api/v1/strategies/{id}", f"/api/v1/strategies/{strategy_id}", headers),
            ]
            rounds = load_in_turns(url, targets, script)
            profiles = {}
            if profile_dir is not None:
                profiles = profile(url, targets[1:], script, worker_pids(server.pid)[0], profile_dir)
        finally:
            stop_stack(server)
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


def figures(result: dict[str, Any]) -> list[Figure]:
    """One figure per API endpoint, against the bare endpoint."""
    bare = result["endpoints"]["bare"]
    baseline = f"GET /healthz {bare['rps']:.0f} req/s, p99 {bare['p99'] * 1000:.1f} ms"
    return [
        Figure(
            f"P1 {item['label']}, {result['connections']} connections, {result['workers']} gevent workers",
            f"{item['rps']:.0f} req/s, p50 {item['p50'] * 1000:.1f} ms, p99 {item['p99'] * 1000:.1f} ms, "
            f"{item['errors']} errors (medians of {result['rounds']} rounds)",
            baseline,
            round(item["share_of_bare"], 3),
            f"p99 <= {TARGET_P99 * 1000:.0f} ms, req/s >= {TARGET_SHARE:.0%} of bare",
            item["p99_met"] and item["throughput_met"],
        )
        for item in (result["endpoints"][key] for key in ("chats", "strategy"))
    ]


def main(argv: list[str] | None = None) -> int:
    arguments = parser(__doc__.splitlines()[0])
    arguments.add_argument("--profile", type=Path, metavar="DIR", help="also sample a worker with py-spy into DIR")
    arguments.add_argument("--default-pool", action="store_true", help="the app's database pool defaults (20 + 10)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean-up (finally blocks) on SIGTERM too
    return run_benchmark(arguments, argv, lambda args: run(args.profile, args.default_pool), report, figures)


if __name__ == "__main__":
    sys.exit(main())
