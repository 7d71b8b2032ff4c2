"""Where a P1 read spends its CPU, in process: ``GET /healthz``, ``GET /api/v1/chats`` (50 chats) and
``GET /api/v1/strategies/{id}`` through Flask's test client on PostgreSQL, one request at a time.

Prints each route's CPU time per request (this process only, so PostgreSQL's share is left out: best of
ROUNDS runs of REQUESTS requests) and, with ``--cprofile DIR``, writes cProfile's listings by CPU time
(cumulative and own) for each API route into DIR. No figure here is a target: ``bench.api_load`` measures
the served throughput; this says which code to look at.

Run: ``.venv/bin/python -m bench.read_profile [--cprofile DIR]`` (database as for ``bench.api_load``).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
import uuid
from pathlib import Path

from flask.testing import FlaskClient

from bench.common import bearer, bench_app
from gentrade.samples import DRAFT

CHATS = 50
REQUESTS = 500
ROUNDS = 5
WARM_UP = 50


def cpu_per_request(client: FlaskClient, path: str, headers: dict[str, str]) -> float:
    """Seconds of this process's CPU per ``GET path``: the best of ROUNDS runs (the least disturbed)."""
    for _ in range(WARM_UP):
        assert client.get(path, headers=headers).status_code == 200
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.process_time()
        for _ in range(REQUESTS):
            client.get(path, headers=headers)
        best = min(best, (time.process_time() - started) / REQUESTS)
    return best


def listings(client: FlaskClient, path: str, headers: dict[str, str], lines: int = 60) -> str:
    """cProfile's listings (CPU time) of REQUESTS requests: by cumulative time, then by own time."""
    profile = cProfile.Profile(time.process_time)
    profile.enable()
    for _ in range(REQUESTS):
        client.get(path, headers=headers)
    profile.disable()
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats("cumulative").print_stats(lines)
    stats.sort_stats("tottime").print_stats(lines // 2)
    return out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cprofile", type=Path, metavar="DIR", help="write cProfile listings into DIR")
    args = parser.parse_args()
    with bench_app(f"gentrade_bench_profile_{uuid.uuid4().hex[:8]}") as (app, data_dir):
        client = app.test_client()
        headers = bearer(data_dir, "user_profile")
        threads = [
            client.post("/api/v1/chats", json={"title": f"chat {index}"}, headers=headers).json["thread_id"]
            for index in range(CHATS)
        ]
        deployed = client.post("/api/v1/strategies", json={"thread_id": threads[0], "draft": DRAFT}, headers=headers)
        assert deployed.status_code == 201, deployed.json
        routes = {
            "bare": ("/healthz", {}),
            "chats": ("/api/v1/chats", headers),
            "strategy": (f"/api/v1/strategies/{deployed.json['id']}", headers),
        }
        print(f"CPU per request, this process only (best of {ROUNDS} x {REQUESTS}):")
        for key, (path, route_headers) in routes.items():
            print(f"  {key:10} {path:60} {cpu_per_request(client, path, route_headers) * 1000:6.3f} ms")
        if args.cprofile is not None:
            args.cprofile.mkdir(parents=True, exist_ok=True)
            for key in ("chats", "strategy"):
                out = args.cprofile / f"{key}.txt"
                out.write_text(listings(client, *routes[key]))
                print(f"cProfile listings of {key}: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
