"""``/api/v1/strategies``: deploy drafts as Freqtrade strategies, list, read, delete."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response
from flask.views import MethodView
from flask_smorest.pagination import PaginationParameters

from gentrade.auth import current_clerk_id, current_user, login_required
from gentrade.blueprints.base import ApiBlueprint, json_body
from gentrade.models import Strategy
from gentrade.schemas.strategies import StrategyCreateSchema, StrategySchema, StrategySummarySchema
from gentrade.services import json_reads, strategies

blp = ApiBlueprint(
    "strategies",
    __name__,
    url_prefix="/api/v1/strategies",
    description="Freqtrade strategies made from drafts or brought as code.",
)


@blp.route("")
class Strategies(MethodView):
    decorators = [login_required(get_without_transaction=True, provision_user_first=True)]

    @blp.arguments(StrategyCreateSchema)
    @blp.response(201, StrategySchema)
    @blp.alt_response(409, description="You already have a strategy with this name.")
    def post(self, body: dict[str, Any]) -> Strategy:
        """Deploy a draft (compile, review, check with Freqtrade, store, and write the strategy file), or bring
        your own Freqtrade strategy as code (review, check in an isolated process, store, write).

        Three bodies: a chat's draft (``thread_id``, optional ``draft``), a draft card as the web frontend
        saves it (its fields, possibly edited, with ``tool_call_id`` and ``chat_id``), or a strategy's code
        (``name``: its class, ``code``: the module's source)."""
        if body["form"] == "code":
            return strategies.deploy_code(current_user(), body["name"], body["code"])
        if body["form"] == "card":
            card = {key: value for key, value in body.items() if key not in ("form", "tool_call_id", "chat_id")}
            return strategies.deploy_card(current_user(), body["tool_call_id"], body.get("chat_id"), card)
        return strategies.deploy(current_user(), body["thread_id"], body.get("draft"))

    @blp.response(200, StrategySummarySchema(many=True))
    @blp.paginate()
    def get(self, pagination_parameters: PaginationParameters) -> list[Strategy]:
        """List the caller's strategies, newest first."""
        items, total = strategies.list_page(current_user(), pagination_parameters.page, pagination_parameters.page_size)
        pagination_parameters.item_count = total
        return items


@blp.route("/<uuid:strategy_id>")
class StrategyById(MethodView):
    # Per method: the read takes the caller's user row in its own statement.
    @login_required(get_without_transaction=False, provision_user_first=False)
    @blp.response(200, StrategySchema)
    def get(self, strategy_id: uuid.UUID) -> Strategy | Response:
        """One strategy with its code and draft."""
        if json_reads.supported():  # PostgreSQL writes the JSON
            return json_body(strategies.get_owned_json(current_clerk_id(), strategy_id, current_user))
        return strategies.get_owned(current_user(), strategy_id)

    @login_required(get_without_transaction=False, provision_user_first=True)
    @blp.response(204)
    def delete(self, strategy_id: uuid.UUID) -> None:
        """Delete the strategy, its file, its backtests and their results, and its links in the chat."""
        strategies.delete(current_user(), strategy_id)
