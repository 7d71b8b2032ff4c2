"""The raw observations turned into figures and verdicts: the run passes or fails on these."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import psutil

from bench.common import percentile
from bench.load_users.plan import (
    API_WORKERS,
    CELERY_PROCESSES,
    CRUD_ROUTES,
    FINAL,
    FLAT_SHARE,
    STREAM_ROUTE,
    WORKER_CONNECTIONS_PER_PROCESS,
    Options,
)
from bench.load_users.processes import Sample, connection_count
from bench.load_users.traffic import Backtests, Stats
from gentrade.settings import Settings


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
    api_peak = max(connection_count(s.api_connections) for s in samples)
    worker_peak = max(connection_count(s.worker_connections) for s in samples)
    stuck_states = ("idle in transaction", "idle in transaction (aborted)", "active")
    held = sum(after.api_connections[s] + after.worker_connections[s] for s in stuck_states)
    connections_ok = api_peak <= peak_bound and connection_count(after.api_connections) <= idle_bound and held == 0
    worker_bound = CELERY_PROCESSES * WORKER_CONNECTIONS_PER_PROCESS
    connections_ok = connections_ok and connection_count(after.worker_connections) <= worker_bound
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
