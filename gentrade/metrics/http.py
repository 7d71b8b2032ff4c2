"""Request counts and latency by route template and status, from Flask's request hooks.

The hooks are registered before any other, so the timer starts first and the count is taken after every
other ``after_request`` hook has had its say on the status. A streamed response (server-sent events) is
recorded when it starts, not when its stream ends: the duration is the time to the first byte.
"""

from __future__ import annotations

import time

from flask import Flask, Response, request

from gentrade.metrics import instruments

# Kept in the WSGI environ: one per request, whatever app context the request shares (tests nest them).
_STARTED = "gentrade.metrics.started"
_RECORDED = "gentrade.metrics.recorded"


def instrument_requests(app: Flask) -> None:
    """Call before anything else registers request hooks on ``app``."""

    @app.before_request
    def _start_timer() -> None:
        request.environ[_STARTED] = time.perf_counter()

    @app.after_request
    def _record(response: Response) -> Response:
        _record_once(response.status_code)
        return response

    @app.teardown_request
    def _record_failure(error: BaseException | None) -> None:
        """A dispatched request whose response never reached the ``after_request`` hooks (one raised): a 500."""
        if _STARTED in request.environ:
            _record_once(500)


def _record_once(status: int) -> None:
    if request.environ.get(_RECORDED):
        return
    request.environ[_RECORDED] = True
    started = request.environ.get(_STARTED)
    rule = request.url_rule
    instruments.request_served(
        request.method,
        rule.rule if rule is not None else instruments.UNMATCHED_ROUTE,
        status,
        time.perf_counter() - started if started is not None else None,
    )
