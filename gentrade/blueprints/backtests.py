"""``/api/v1/backtests``: start, list, read, cancel, and follow progress as server-sent events."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from typing import Any

from flask import Response, send_file
from flask.views import MethodView
from flask_smorest.pagination import PaginationParameters

from gentrade.auth import current_user, login_required
from gentrade.blueprints import sse
from gentrade.blueprints.base import ApiBlueprint, sse_event_schema
from gentrade.models import Backtest
from gentrade.schemas.backtests import BacktestCreateSchema, BacktestQuerySchema, BacktestSchema, BacktestSummarySchema
from gentrade.services import backtests

blp = ApiBlueprint("backtests", __name__, url_prefix="/api/v1/backtests", description="Backtests of strategies.")
KEEP_ALIVE_EVERY = 15  # polls between keep-alive comments, so proxies do not cut an idle stream


@blp.route("")
class Backtests(MethodView):
    decorators = [login_required(get_without_transaction=True, provision_user_first=True)]

    @blp.arguments(BacktestCreateSchema)
    @blp.response(202, BacktestSchema)
    @blp.alt_response(429, description="Too many of your backtests are queued or running.")
    @blp.alt_response(
        503,
        description="The exchange's market list cannot be loaded, so the pairs cannot be checked (nothing is recorded; "
        "see `Retry-After`); or the task queue is unreachable (the backtest was recorded as failed).",
    )
    def post(self, body: dict[str, Any]) -> Backtest:
        """Queue a backtest of one of your strategies over a date range."""
        return backtests.create(
            current_user(),
            body["strategy_id"],
            body["start_date"],
            body["end_date"],
            body.get("pairs"),
            body.get("timeframe"),
        )

    @blp.arguments(BacktestQuerySchema, location="query")
    @blp.response(200, BacktestSummarySchema(many=True))
    @blp.paginate()
    def get(self, query: dict[str, Any], pagination_parameters: PaginationParameters) -> list[Backtest]:
        """Your backtests, newest first; filter by strategy and status."""
        items, total = backtests.list_page(
            current_user(), pagination_parameters.page, pagination_parameters.page_size, **query
        )
        pagination_parameters.item_count = total
        return items


@blp.route("/<uuid:backtest_id>")
class BacktestById(MethodView):
    decorators = [login_required(get_without_transaction=True, provision_user_first=True)]

    @blp.response(200, BacktestSchema)
    def get(self, backtest_id: uuid.UUID) -> Backtest:
        """One backtest: status, error or summary, result path."""
        return backtests.get_owned(current_user(), backtest_id)


@blp.route("/<uuid:backtest_id>/cancel", methods=["POST"])
@login_required(get_without_transaction=False, provision_user_first=True)
@blp.response(200, BacktestSchema)
def cancel(backtest_id: uuid.UUID) -> Backtest:
    """Cancel a queued or running backtest (a running Freqtrade is killed)."""
    return backtests.cancel(current_user(), backtest_id)


@blp.route("/<uuid:backtest_id>/result", methods=["GET"])
@login_required(get_without_transaction=True, provision_user_first=True)
@blp.response(
    200,
    {"type": "string", "format": "binary"},
    content_type="application/zip",
    description="Freqtrade's result archive (the zip FreqUI and `freqtrade plot-*` read), as an attachment.",
)
@blp.alt_response(404, description="No such backtest of yours, or its archive is not stored.")
@blp.alt_response(409, description="The backtest has not finished.")
def result(backtest_id: uuid.UUID) -> Response:
    """Download a finished backtest's result archive (served by any API host: it is kept in the database)."""
    archive = backtests.result_archive(current_user(), backtest_id)
    response = send_file(
        io.BytesIO(archive.content),
        mimetype="application/zip",
        as_attachment=True,
        download_name=archive.filename,
        etag=archive.sha256,
        last_modified=archive.created_at,
        conditional=True,  # If-None-Match and Range, as for a static file
    )
    response.cache_control.private = True  # one user's data: no shared cache keeps it
    return response


@blp.route("/<uuid:backtest_id>/events", methods=["GET"])
@login_required(get_without_transaction=True, provision_user_first=True)
@blp.doc(
    responses={
        "200": {
            "description": "Server-sent events: `status` at every change, then `end` after a final state.",
            "content": {"text/event-stream": {"schema": sse_event_schema("status", "end")}},
        }
    }
)
def events(backtest_id: uuid.UUID) -> Response:
    """Follow a backtest's status live (server-sent events)."""
    backtests.get_owned(current_user(), backtest_id)  # 403/404 before the stream starts

    def changes() -> Iterator[tuple[str, Any] | None]:
        for snapshot in backtests.follow(backtest_id):
            yield None if snapshot is None else ("status", snapshot)
        yield "end", {}

    return sse.response(sse.relay(changes(), keep_alive_every=KEEP_ALIVE_EVERY))
