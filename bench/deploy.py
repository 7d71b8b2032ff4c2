"""P5: ``POST /api/v1/strategies`` (compile + review + Freqtrade check + store + file) on PostgreSQL.

Baseline: compiling the same drafts alone. Target: p95 <= 300 ms.
Run: ``.venv/bin/python -m bench.deploy`` (PostgreSQL at 127.0.0.1:5432, database ``test``).
"""

from __future__ import annotations

import sys
import time

from bench.common import bearer, bench_app, percentile, result_line, summary
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


def main() -> int:
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
                return 1

    p95 = percentile(deploy_times, 0.95)
    print(f"deploy  ({DRAFTS} drafts): {summary(deploy_times)}")
    print(f"compile (baseline)  : {summary(compile_times)}")
    print(f"ratio deploy/compile p50: {percentile(deploy_times, 0.5) / percentile(compile_times, 0.5):.1f}x")
    print(f"target p95 <= {TARGET_P95 * 1000:.0f} ms: {'met' if p95 <= TARGET_P95 else 'MISSED'} ({p95 * 1000:.1f} ms)")
    compile_p95 = percentile(compile_times, 0.95)
    print(
        result_line(
            "P5 deploy (POST /strategies)",
            f"p50 {percentile(deploy_times, 0.5) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms",
            f"compile alone p95 {compile_p95 * 1000:.2f} ms",
            round(percentile(deploy_times, 0.5) / percentile(compile_times, 0.5), 1),
            f"p95 <= {TARGET_P95 * 1000:.0f} ms",
            p95 <= TARGET_P95,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
