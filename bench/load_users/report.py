"""The run's result as a readable report and as figures."""

from __future__ import annotations

from collections import Counter
from typing import Any

import psutil

from bench.figures import Figure
from bench.load_users.checks import passed
from bench.load_users.plan import API_WORKERS, CELERY_PROCESSES, CRUD_ROUTES, FLAT_SHARE, IDLE_SECONDS, STREAM_ROUTE
from bench.load_users.processes import connection_count


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f}"


def report(result: dict[str, Any]) -> list[str]:
    """A readable table of the figures."""
    return [
        *_requests(result),
        *_backtests_and_connections(result),
        *_processes(result),
        *_problems(result),
        "verdict: " + ("PASS" if passed(result) else "FAIL"),
    ]


def _requests(result: dict[str, Any]) -> list[str]:
    """The run's shape, then requests, errors and latencies by route; the stream's first byte and turns."""
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
    first = result["first_byte"]
    turns = ", ".join(
        f"{b['from']:.0f}s+ p50 {_ms(b['p50'])}/p99 {_ms(b['p99'])} ms ({b['turns']})" for b in result["turns_by_start"]
    )
    return [
        *lines,
        f"all: {result['requests']} requests, {result['errors']} errors ({error_rate:.3%})",
        f"SSE first byte: p50 {_ms(first['p50'])} ms, p99 {_ms(first['p99'])} ms (stream rows: whole turn)",
        f"whole turn by start time: {turns}",
    ]


def _backtests_and_connections(result: dict[str, Any]) -> list[str]:
    bt, conn = result["backtests"], result["connections"]
    api, worker, total = conn["api"], conn["worker"], conn["database_total"]
    return [
        f"backtests: budget {bt['budget']}, started {bt['started']}, finished {bt['finished']}, failed {bt['failed']}, "
        f"stuck {bt['stuck']}; table {bt['rows']}; queue depth {bt['queue_depth']}",
        f"API connections: before {api['before']}, peak {api['peak']} (bound {conn['peak_bound']}), "
        f"after {IDLE_SECONDS:.0f} s idle {api['after']} (bound {conn['idle_bound']})",
        f"worker connections: before {worker['before']}, peak {worker['peak']}, after {worker['after']} "
        f"(bound {conn['worker_bound']}); busy or in a transaction after: {conn['held_after']}",
        f"database `test`, all clients: before {total['before']}, peak {total['peak']}, after {total['after']}",
    ]


def _processes(result: dict[str, Any]) -> list[str]:
    """Memory of the worker and the API, the load generator's own cost, the CPU during the load."""
    lines = []
    for name, label in (("worker", "Celery worker RSS (main + 2)"), ("api", "API workers RSS (2)")):
        memory = result["memory"][name]
        lines.append(
            f"{label}: start {memory['start']:.0f} MB, after warm-up {memory['warm']:.0f} MB, max {memory['max']:.0f} "
            f"MB, end {memory['end']:.0f} MB ({memory['end_vs_warm']:+.1%} vs warm-up)"
        )
    gen, cpu = result["generator"], result["cpu"]
    lines += [
        f"load generator: {gen['cpu_share']:.0%} of one core, event-loop lag p99 {gen['lag_p99'] * 1000:.0f} ms, "
        f"max {gen['lag_max'] * 1000:.0f} ms ({result['samples']} samples of the processes)",
        f"CPU during the load: API workers {cpu['api_cores']:.2f} cores; the machine (every process, other users "
        f"included) {cpu['machine_share']:.0%} busy of {psutil.cpu_count()} CPUs",
    ]
    if gen["cpu_share"] > 0.8 or gen["lag_p99"] > 0.1:
        lines.append("WARNING: the load generator may have been a bottleneck")
    return lines


def _problems(result: dict[str, Any]) -> list[str]:
    """The first errors the users saw and the logs showed."""
    lines = []
    shown = (("errors", result["error_samples"], 10), ("server log", result["server_errors"], 3))
    for title, items, count in shown:
        if items:
            lines.append(f"{title} ({len(items)}), first ones:")
            lines.extend(f"  {line}" for item in items[:count] for line in item.splitlines())
    if result["worker_errors"]:
        lines.append(f"worker log: {len(result['worker_errors'])} errors, first:\n{result['worker_errors'][0]}")
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
    api_after = connection_count(Counter(conn["api"]["after"]))
    lines.append(
        Figure(
            f"{who}: database connections (API workers)",
            f"before {connection_count(Counter(conn['api']['before']))}, peak {conn['api']['peak']}, "
            f"after {api_after}; worker peak {conn['worker']['peak']}, after "
            f"{connection_count(Counter(conn['worker']['after']))}; {conn['held_after']} busy after",
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
