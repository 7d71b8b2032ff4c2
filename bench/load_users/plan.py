"""What a run is: its options, the stack's size, the routes the users take and the bounds the checks hold
them to.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.api_server import WORKERS

API_WORKERS = WORKERS  # as bench.api_server starts it
CELERY_PROCESSES = 2
PAIRS = ("BTC/USDT", "ETH/USDT")
FINAL = frozenset({"finished", "failed", "cancelled"})
IDLE_SECONDS = 5.0  # after the load and the drain, the API idles this long before the "after" connection count
FLAT_SHARE = 0.20  # "flat": the end RSS within 20 % of the RSS after warm-up
# A pool process uses one connection for the task and one for its heartbeat thread; its pool keeps both.
WORKER_CONNECTIONS_PER_PROCESS = 2
CRUD_ROUTES = (
    "POST /api/v1/chats",
    "GET /api/v1/chats",
    "GET /api/v1/chats/{id}",
    "PATCH /api/v1/chats/{id}",
    "POST /api/v1/strategies",
    "POST /api/v1/backtests",
    "GET /api/v1/backtests/{id}",
)
STREAM_ROUTE = "POST /api/v1/agent/stream"


@dataclass
class Options:
    users: int
    seconds: float
    deployers: int
    backtests: int
    think: tuple[float, float]
