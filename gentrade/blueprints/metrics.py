"""``GET /metrics``: the API's Prometheus metrics (every gunicorn worker's, summed), and backtests by state.

Behind ``GENTRADE_METRICS_TOKEN`` when it is set; without it, open in development and absent (404) in
production, so a deployment exposes nothing it did not choose to.
"""

from __future__ import annotations

from flask import Response, request
from flask_smorest import abort

from gentrade.blueprints.base import ApiBlueprint
from gentrade.metrics import exposition
from gentrade.runtime import runtime
from gentrade.services import backtests

blp = ApiBlueprint("metrics", __name__, description="Prometheus metrics.")


@blp.route("/metrics")
@blp.doc(security=[])
@blp.response(200, content_type="text/plain", description="Prometheus' text format.")
@blp.alt_response(401, description="GENTRADE_METRICS_TOKEN is set and the request's bearer token is not it.")
@blp.alt_response(404, description="Production without GENTRADE_METRICS_TOKEN: metrics are off.")
def metrics() -> Response:
    """Request, backtest and agent metrics in Prometheus' format; send Authorization: Bearer <metrics token>."""
    settings = runtime().settings
    token = settings.metrics_token
    if token is None:
        if settings.is_production:
            abort(404)
    elif not exposition.token_accepted(request.headers.get("Authorization"), token.get_secret_value()):
        abort(401, message=exposition.UNAUTHORIZED_MESSAGE, headers={"WWW-Authenticate": exposition.CHALLENGE})
    body, content_type = exposition.scrape(exposition.BacktestStates(backtests.count_by_status))
    return Response(body, content_type=content_type)
