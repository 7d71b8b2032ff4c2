"""Strategy request and response bodies. The draft itself is validated by ``StrategyDraft`` (pydantic)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from apispec import APISpec
from marshmallow import validate

from gentrade.schemas.common import StrictSchema

DRAFT_REF = {"$ref": "#/components/schemas/StrategyDraft"}


CARD_TEXT_MAX = 2_000
CARD_IGNORED = "Other keys (such as strategy_id) are accepted and ignored: the card may carry what the frontend adds."


class StrategyDeploySchema(StrictSchema):
    """Deploy a draft of a chat: the given one, or the chat's newest."""

    thread_id = ma.fields.UUID(required=True, metadata={"description": "The chat the draft comes from."})
    draft = ma.fields.Dict(
        metadata={
            "description": "The draft to deploy. Absent: the newest draft in the chat's messages.",
            "allOf": [DRAFT_REF],
        }
    )


def _card_text(description: str) -> ma.fields.String:
    return ma.fields.String(
        required=True, validate=validate.Length(min=1, max=CARD_TEXT_MAX), metadata={"description": description}
    )


class StrategyCardSchema(ma.Schema):
    """Save a draft card as the web frontend does: the card's fields (possibly edited by the trader) and the
    tool call that showed it. The structured draft that call showed is deployed; edited fields are read
    back into it by the agent's drafting model first."""

    class Meta:
        unknown = ma.EXCLUDE
        description = CARD_IGNORED

    tool_call_id = ma.fields.UUID(
        required=True, metadata={"description": "The StrategyDraftOutputTool call (the run_id of its events)."}
    )
    chat_id = ma.fields.UUID(allow_none=True, metadata={"description": "The chat's id; else the tool call's chat."})
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=64))
    description = _card_text("What the strategy does, in words.")
    indicators = _card_text('e.g. "RSI(14), EMA(50)".')
    entry_signals = _card_text('e.g. "RSI(14) below 30 and close above EMA(50)".')
    exit_signals = _card_text('e.g. "RSI(14) above 70".')
    minimal_roi = _card_text('e.g. "10% at once, 4% after 2 h".')
    stoploss = _card_text('e.g. "-5%".')
    timeframe = _card_text('e.g. "1h".')
    can_short = ma.fields.Boolean(required=True)


class StrategyCreateSchema(ma.Schema):
    """Either form: a card (it has ``tool_call_id``) or a chat's draft (``thread_id``, optional ``draft``)."""

    class Meta:
        unknown = ma.INCLUDE

    @ma.pre_load
    def _one_form(self, data: Any, **kwargs: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise ma.ValidationError("Expected a JSON object.", "_schema")
        if "tool_call_id" in data:
            return {"form": "card", **StrategyCardSchema().load(data)}
        return {"form": "draft", **StrategyDeploySchema().load(data)}


def document_create_forms(spec: APISpec) -> None:
    """Say in the OpenAPI document which two bodies ``POST /strategies`` takes (the schema dispatches on
    ``tool_call_id`` in ``pre_load``, which apispec cannot read)."""
    for name, schema in (("StrategyDeploy", StrategyDeploySchema), ("StrategyCard", StrategyCardSchema)):
        if name not in spec.components.schemas:
            spec.components.schema(name, schema=schema)
    spec.components.schemas["StrategyCreate"] = {
        "oneOf": [{"$ref": "#/components/schemas/StrategyDeploy"}, {"$ref": "#/components/schemas/StrategyCard"}]
    }


class StrategySummarySchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    name = ma.fields.String(dump_only=True)
    thread_id = ma.fields.Method("_thread_id", dump_only=True, allow_none=True)
    timeframe = ma.fields.Function(lambda s: s.draft.get("timeframe"), dump_only=True)
    pairs = ma.fields.Function(lambda s: s.draft.get("pairs"), dump_only=True)
    created_at = ma.fields.AwareDateTime(dump_only=True)
    updated_at = ma.fields.AwareDateTime(dump_only=True)

    def _thread_id(self, strategy: Any) -> str | None:
        return str(strategy.chat.thread_id) if strategy.chat is not None else None


class StrategySchema(StrategySummarySchema):
    description = ma.fields.Function(lambda s: s.draft.get("description", ""), dump_only=True)
    chat_id = ma.fields.UUID(dump_only=True, allow_none=True)
    file_path = ma.fields.String(dump_only=True, metadata={"description": "Relative to the user directory."})
    code = ma.fields.String(dump_only=True)
    draft = ma.fields.Dict(dump_only=True, metadata={"allOf": [DRAFT_REF]})
