"""P6: the agent stream with the offline provider on PostgreSQL checkpoints: time to the first SSE byte
and to ``end`` over 50 turns (alternating new drafts and revisions), beside a plain authenticated read
of the same chat (the baseline). Target: first byte p95 <= 100 ms.

Measured in-process through the WSGI app (no network), iterating the streamed body as it is produced.
Run: ``.venv/bin/python -m bench.agent_stream``.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

from bench.common import bearer, bench_app, p50_p95, percentile, summary
from bench.figures import Figure, parser, run_benchmark
from gentrade import sse_reader

TURNS = 50
TARGET_FIRST_BYTE = 0.100
MESSAGES = ("an RSI strategy on BTC/USDT 1h with a 5% stop", "use EMA 50 as a trend filter")


@dataclass
class Timings:
    """Seconds per turn: to the first byte and to ``end``; and of reading the chat (the baseline)."""

    first_bytes: list[float] = field(default_factory=list)
    totals: list[float] = field(default_factory=list)
    reads: list[float] = field(default_factory=list)


def ended_cleanly(body: bytes) -> bool:
    """Whether the turn's events reached ``end`` with no ``error`` on the way."""
    names = [event for event, _ in sse_reader.parse(body.decode())]
    return "end" in names and "error" not in names


def measure() -> Timings | None:
    """TURNS turns, each followed by a read of its chat; None (reported) when a turn did not end cleanly."""
    timings = Timings()
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
            timings.first_bytes.append(time.perf_counter() - started)
            text = first + b"".join(chunks)
            timings.totals.append(time.perf_counter() - started)
            response.close()
            if not ended_cleanly(text):
                print(f"turn {index} did not end cleanly: {text[-300:]!r}", file=sys.stderr)
                return None
            started = time.perf_counter()
            client.get(f"/api/v1/chats/{thread}", headers=headers)
            timings.reads.append(time.perf_counter() - started)
    return timings


def report(timings: Timings) -> list[str]:
    p95 = percentile(timings.first_bytes, 0.95)
    verdict = "met" if p95 <= TARGET_FIRST_BYTE else "MISSED"
    return [
        f"first SSE byte ({TURNS} turns): {summary(timings.first_bytes)}",
        f"whole turn to `end`         : {summary(timings.totals)}",
        f"GET the chat (baseline)     : {summary(timings.reads)}",
        f"ratio first byte / chat read (p50): {_ratio(timings):.1f}x",
        f"target first byte p95 <= {TARGET_FIRST_BYTE * 1000:.0f} ms: {verdict} ({p95 * 1000:.1f} ms)",
    ]


def figures(timings: Timings) -> list[Figure]:
    turn_p50 = percentile(timings.totals, 0.5) * 1000
    return [
        Figure(
            "P6 agent stream, first SSE byte (offline)",
            f"{p50_p95(timings.first_bytes)}; turn p50 {turn_p50:.0f} ms",
            f"GET the chat p50 {percentile(timings.reads, 0.5) * 1000:.1f} ms",
            round(_ratio(timings), 1),
            f"first byte p95 <= {TARGET_FIRST_BYTE * 1000:.0f} ms",
            percentile(timings.first_bytes, 0.95) <= TARGET_FIRST_BYTE,
        )
    ]


def _ratio(timings: Timings) -> float:
    return percentile(timings.first_bytes, 0.5) / percentile(timings.reads, 0.5)


def main(argv: list[str] | None = None) -> int:
    return run_benchmark(parser(__doc__.splitlines()[0]), argv, lambda _: measure(), report, figures)


if __name__ == "__main__":
    sys.exit(main())
