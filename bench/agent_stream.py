"""P6: the agent stream with the offline provider on PostgreSQL checkpoints: time to the first SSE byte
and to ``end`` over 50 turns (alternating new drafts and revisions), beside a plain authenticated read
of the same chat (the baseline). Target: first byte p95 <= 100 ms.

Measured in-process through the WSGI app (no network), iterating the streamed body as it is produced.
Run: ``.venv/bin/python -m bench.agent_stream``.
"""

from __future__ import annotations

import sys
import time

from bench.common import bearer, bench_app, percentile, result_line, summary

TURNS = 50
TARGET_FIRST_BYTE = 0.100
MESSAGES = ("an RSI strategy on BTC/USDT 1h with a 5% stop", "use EMA 50 as a trend filter")


def main() -> int:
    first_bytes, totals, reads = [], [], []
    # One user's turns back to back: the per-user turn limit (10 a minute by default) is lifted for the bench.
    with bench_app("gentrade_bench_agent", agent_turns_per_minute=10 * TURNS) as (app, data_dir):
        client = app.test_client()
        headers = bearer(data_dir, "user_bench")
        thread = None
        for index in range(TURNS):
            if index % 2 == 0:
                thread = client.post("/api/v1/chats", json={}, headers=headers).json["thread_id"]
            body = {"thread_id": thread, "message": MESSAGES[index % 2]}
            started = time.perf_counter()
            response = client.post("/api/v1/agent/stream", json=body, headers=headers, buffered=False)
            chunks = iter(response.response)
            first = next(chunks)
            first_bytes.append(time.perf_counter() - started)
            text = first + b"".join(chunks)
            totals.append(time.perf_counter() - started)
            response.close()
            if b"event: end" not in text or b"event: error" in text:
                print(f"turn {index} did not end cleanly: {text[-300:]!r}", file=sys.stderr)
                return 1
            started = time.perf_counter()
            client.get(f"/api/v1/chats/{thread}", headers=headers)
            reads.append(time.perf_counter() - started)

    p95 = percentile(first_bytes, 0.95)
    print(f"first SSE byte ({TURNS} turns): {summary(first_bytes)}")
    print(f"whole turn to `end`         : {summary(totals)}")
    print(f"GET the chat (baseline)     : {summary(reads)}")
    print(f"ratio first byte / chat read (p50): {percentile(first_bytes, 0.5) / percentile(reads, 0.5):.1f}x")
    verdict = "met" if p95 <= TARGET_FIRST_BYTE else "MISSED"
    print(f"target first byte p95 <= {TARGET_FIRST_BYTE * 1000:.0f} ms: {verdict} ({p95 * 1000:.1f} ms)")
    turn_p50 = percentile(totals, 0.5) * 1000
    print(
        result_line(
            "P6 agent stream, first SSE byte (offline)",
            f"p50 {percentile(first_bytes, 0.5) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms; turn p50 {turn_p50:.0f} ms",
            f"GET the chat p50 {percentile(reads, 0.5) * 1000:.1f} ms",
            round(percentile(first_bytes, 0.5) / percentile(reads, 0.5), 1),
            f"first byte p95 <= {TARGET_FIRST_BYTE * 1000:.0f} ms",
            p95 <= TARGET_FIRST_BYTE,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
