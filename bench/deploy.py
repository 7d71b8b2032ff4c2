"""P5: ``POST /api/v1/strategies`` (compile + review + Freqtrade check + store + file) on PostgreSQL.

Baseline: compiling the same drafts alone. Target: p95 <= 300 ms.
Run: ``.venv/bin/python -m bench.deploy`` (PostgreSQL at 127.0.0.1:5432, database ``test``).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

from bench.common import bearer, bench_app, p50_p95, percentile, summary
from bench.figures import Figure, parser, run_benchmark
from gentrade.samples import draft
from gentrade.strategies.check import warm_up
from gentrade.strategies.compiler import compile_strategy
from gentrade.strategies.draft import parse_draft

DRAFTS = 50
TARGET_P95 = 0.300


def drafts() -> list[dict]:
    """50 distinct drafts: the DESIGN.md example with varying names, periods and thresholds."""
    return [
        draft(
            name=f"Bench{index:03d}",
            indicators=[
                {"id": "rsi", "type": "rsi", "params": {"period": 7 + index % 15}},
                {"id": "trend", "type": "ema", "params": {"period": 20 + index}},
                {"id": "macd", "type": "macd", "params": {"fast": 12, "slow": 26, "signal": 9}},
            ],
            entry_conditions={"all": [{"left": "rsi", "op": "<", "right": 25 + index % 10}]},
        )
        for index in range(DRAFTS)
    ]


@dataclass
class Timings:
    """Seconds per draft: deployed through the API, and compiled alone (the baseline)."""

    deploy: list[float]
    compile: list[float]


def measure() -> Timings | None:
    """Compile every draft alone, then deploy each through the API; None (reported) when a deploy fails."""
    samples = drafts()
    warm_up()
    compile_times = []
    for value in samples:
        started = time.perf_counter()
        compile_strategy(parse_draft(value))
        compile_times.append(time.perf_counter() - started)

    with bench_app("gentrade_bench_deploy") as (app, data_dir):
        client = app.test_client()
        headers = bearer(data_dir, "user_bench")
        thread = client.post("/api/v1/chats", json={}, headers=headers).json["thread_id"]
        deploy_times = []
        for value in samples:
            started = time.perf_counter()
            response = client.post("/api/v1/strategies", json={"thread_id": thread, "draft": value}, headers=headers)
            deploy_times.append(time.perf_counter() - started)
            if response.status_code != 201:
                print(f"deploy failed: {response.status_code} {response.json}", file=sys.stderr)
                return None
    return Timings(deploy_times, compile_times)


def report(timings: Timings) -> list[str]:
    p95 = percentile(timings.deploy, 0.95)
    return [
        f"deploy  ({DRAFTS} drafts): {summary(timings.deploy)}",
        f"compile (baseline)  : {summary(timings.compile)}",
        f"ratio deploy/compile p50: {_ratio(timings):.1f}x",
        f"target p95 <= {TARGET_P95 * 1000:.0f} ms: {'met' if p95 <= TARGET_P95 else 'MISSED'} ({p95 * 1000:.1f} ms)",
    ]


def figures(timings: Timings) -> list[Figure]:
    p95 = percentile(timings.deploy, 0.95)
    return [
        Figure(
            "P5 deploy (POST /strategies)",
            p50_p95(timings.deploy),
            f"compile alone p95 {percentile(timings.compile, 0.95) * 1000:.2f} ms",
            round(_ratio(timings), 1),
            f"p95 <= {TARGET_P95 * 1000:.0f} ms",
            p95 <= TARGET_P95,
        )
    ]


def _ratio(timings: Timings) -> float:
    return percentile(timings.deploy, 0.5) / percentile(timings.compile, 0.5)


def main(argv: list[str] | None = None) -> int:
    return run_benchmark(parser(__doc__.splitlines()[0]), argv, lambda _: measure(), report, figures)


if __name__ == "__main__":
    sys.exit(main())
