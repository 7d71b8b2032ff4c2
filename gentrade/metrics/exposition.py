"""Answering Prometheus: the registry a scrape reads, the metrics token, the multiprocess directory, and the
worker's metrics server.

gunicorn's workers and Celery's pool processes each count in their own memory-mapped files under
``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's multiprocess mode); a scrape, whichever process answers it,
sums the files of every process, the dead ones' included, so counts survive a restarted worker. The parent
(gunicorn's master, the Celery worker's main process) makes that directory before it forks, when the
operator has not given one, and removes it when it exits.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import shutil
import socket
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric
    from prometheus_client.registry import Collector, CollectorRegistry

log = logging.getLogger(__name__)
MULTIPROC_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
UNAUTHORIZED_MESSAGE = "missing or wrong metrics token"
CHALLENGE = 'Bearer realm="metrics"'
_made_dir: Path | None = None  # the directory this process made (and so removes), if any

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROC_DIR_VARIABLE))


def use_multiprocess_dir() -> Path:
    """Before forking the processes that count: give them an empty directory to count in.

    An operator's ``PROMETHEUS_MULTIPROC_DIR`` is emptied (files of a previous run would be summed in);
    without one, a fresh private directory is made and set for the children to inherit.
    """
    values = sys.modules.get("prometheus_client.values")
    if values is not None and not getattr(values.ValueClass, "_multiprocess", False):
        raise RuntimeError(f"prometheus_client was imported before {MULTIPROC_DIR_VARIABLE} was set")
    global _made_dir
    given = os.environ.get(MULTIPROC_DIR_VARIABLE)
    if given:
        path = Path(given)
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True, exist_ok=True)
        return path
    _made_dir = Path(tempfile.mkdtemp(prefix="gentrade-metrics-"))
    os.environ[MULTIPROC_DIR_VARIABLE] = str(_made_dir)
    return _made_dir


def release_multiprocess_dir() -> None:
    """When the parent exits: remove the directory it made (an operator's stays)."""
    global _made_dir
    if _made_dir is not None:
        shutil.rmtree(_made_dir, ignore_errors=True)
        _made_dir = None


def process_exited(pid: int) -> None:
    """A counting process is gone: its counts stay, its live gauges (if any) go."""
    if multiprocess():
        from prometheus_client import multiprocess as prometheus_multiprocess

        prometheus_multiprocess.mark_process_dead(pid)


def registry(*collectors: Collector) -> CollectorRegistry:
    """What a scrape reads: every process's files (multiprocess mode) or this process's metrics, plus ``collectors``."""
    from prometheus_client import REGISTRY, CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    scraped = CollectorRegistry()
    if multiprocess():
        MultiProcessCollector(scraped)
    else:
        scraped.register(REGISTRY)
    for collector in collectors:
        scraped.register(collector)
    return scraped


def scrape(*collectors: Collector) -> tuple[bytes, str]:
    """The text exposition of ``registry(*collectors)`` and its content type."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return generate_latest(registry(*collectors)), CONTENT_TYPE_LATEST


def token_accepted(authorization: str | None, token: str) -> bool:
    """``Authorization: Bearer <token>``, compared in constant time."""
    scheme, _, presented = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), token.encode())


class BacktestStates:
    """``gentrade_backtests{state}``: how many backtests are in each state, counted when scraped.

    ``counts`` returns every known state (zeros included). A database that does not answer leaves the gauge
    out of this scrape rather than failing the scrape, whose other metrics matter most just then.
    """

    def __init__(self, counts: Callable[[], Mapping[str, int]]) -> None:
        self.counts = counts

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import GaugeMetricFamily

        try:
            counts = self.counts()
        except Exception:
            log.warning("backtest states not counted for this scrape", exc_info=True)
            return
        gauge = GaugeMetricFamily("gentrade_backtests", "Backtests by state.", labels=("state",))
        for state, count in counts.items():
            gauge.add_metric((state,), count)
        yield gauge


def _alive(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b'{"status": "ok"}']


def with_token(app: WsgiApp, token: str | None) -> WsgiApp:
    """``app`` behind the metrics token (when there is one); refusals are JSON, as the API's errors are.

    ``/healthz`` answers without the token: the worker's liveness, for the compose health check.
    """

    def guarded(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            return _alive(environ, start_response)
        if token is None or token_accepted(environ.get("HTTP_AUTHORIZATION"), token):
            return app(environ, start_response)
        body = {
            "code": 401,
            "status": "Unauthorized",
            "message": UNAUTHORIZED_MESSAGE,
            "errors": {},
            "request_id": uuid.uuid4().hex,
        }
        headers = [("Content-Type", "application/json"), ("WWW-Authenticate", CHALLENGE)]
        start_response("401 UNAUTHORIZED", headers)
        return [json.dumps(body).encode()]

    return guarded


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        log.debug("metrics server: " + format, *args)


def serve(host: str, port: int, token: str | None) -> WSGIServer:
    """Serve every process's metrics on ``host:port`` from a daemon thread (the Celery worker's main process).

    Call after :func:`use_multiprocess_dir`. Raises OSError when the address cannot be bound.
    """
    from prometheus_client import make_wsgi_app
    from prometheus_client.exposition import ThreadingWSGIServer

    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]
    server_class = type("MetricsServer", (ThreadingWSGIServer,), {"address_family": family})
    server = make_server(host, port, with_token(make_wsgi_app(registry()), token), server_class, _QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics-server", daemon=True).start()
    log.info("serving metrics on %s:%d%s", host, port, " (token required)" if token else "")
    return server
