"""Strategy request and response bodies. The draft itself is validated by ``StrategyDraft`` (pydantic)."""

from __future__ import annotations

import keyword
from typing import Any

import marshmallow as ma
from apispec import APISpec
from marshmallow import validate

from gentrade.freqtrade.userdir import STRATEGY_NAME
from gentrade.schemas.common import StrictSchema
from gentrade.strategies.acceptance import MAX_CODE_CHARS
from gentrade.strategies.draft import RESERVED_NAMES

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


def _class_name(name: str) -> None:
    if not STRATEGY_NAME.fullmatch(name):
        raise ma.ValidationError("Not a class name: ASCII letters, digits and _, starting with a letter, at most 64.")
    if keyword.iskeyword(name) or name in RESERVED_NAMES:
        raise ma.ValidationError(f"{name} is reserved.")


class StrategyCodeSchema(StrictSchema):
    """Bring your own Freqtrade strategy: a module's source and the name of the IStrategy class it defines. It takes
    the same review and Freqtrade check as generated code (in an isolated process) and has no draft; its pairs
    come with each backtest."""

    name = ma.fields.String(
        required=True,
        validate=_class_name,
        metadata={"description": "The strategy class the code defines, e.g. SampleStrategy.", "example": "MyRsi"},
    )
    code = ma.fields.String(
        required=True,
        validate=[
            validate.Length(min=1, error="Empty: send the module's source."),
            validate.Length(max=MAX_CODE_CHARS, error="Too large: a strategy module has at most {max} characters."),
        ],
        metadata={
            "description": f"The module's Python source (UTF-8, at most {MAX_CODE_CHARS} characters; the body"
            " parser refuses NUL characters and unpaired surrogates).",
            "maxLength": MAX_CODE_CHARS,
        },
    )


class StrategyCreateSchema(ma.Schema):
    """One of three forms: a card (it has ``tool_call_id``), code (``code``), or a chat's draft (``thread_id``)."""

    class Meta:
        unknown = ma.INCLUDE

    @ma.pre_load
    def _one_form(self, data: Any, **kwargs: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise ma.ValidationError("Expected a JSON object.", "_schema")
        if "tool_call_id" in data:
            return {"form": "card", **StrategyCardSchema().load(data)}
        if "code" in data:
            return {"form": "code", **StrategyCodeSchema().load(data)}
        return {"form": "draft", **StrategyDeploySchema().load(data)}


CREATE_FORMS = {
    "StrategyDeploy": StrategyDeploySchema,
    "StrategyCard": StrategyCardSchema,
    "StrategyCode": StrategyCodeSchema,
}


def document_create_forms(spec: APISpec) -> None:
    """Say in the OpenAPI document which three bodies ``POST /strategies`` takes (the schema dispatches on
    ``tool_call_id`` and ``code`` in ``pre_load``, which apispec cannot read)."""
    for name, schema in CREATE_FORMS.items():
        if name not in spec.components.schemas:
            spec.components.schema(name, schema=schema)
    spec.components.schemas["StrategyCreate"] = {
        "oneOf": [{"$ref": f"#/components/schemas/{name}"} for name in CREATE_FORMS]
    }


class StrategySummarySchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    name = ma.fields.String(dump_only=True)
    thread_id = ma.fields.Method("_thread_id", dump_only=True, allow_none=True)
    timeframe = ma.fields.String(
        dump_only=True, allow_none=True, metadata={"description": "The draft's, or the one the code's class sets."}
    )
    pairs = ma.fields.Function(
        lambda s: s.draft.get("pairs"),
        dump_only=True,
        metadata={"description": "The draft's; null for a strategy brought as code (pairs come with a backtest)."},
    )
    created_at = ma.fields.AwareDateTime(dump_only=True)
    updated_at = ma.fields.AwareDateTime(dump_only=True)

    def _thread_id(self, strategy: Any) -> str | None:
        return str(strategy.chat.thread_id) if strategy.chat is not None else None


class StrategySchema(StrategySummarySchema):
    description = ma.fields.Function(lambda s: s.draft.get("description", ""), dump_only=True)
    chat_id = ma.fields.UUID(dump_only=True, allow_none=True)
    file_path = ma.fields.String(dump_only=True, metadata={"description": "Relative to the user directory."})
    code = ma.fields.String(dump_only=True)
    draft = ma.fields.Dict(
        dump_only=True, metadata={"allOf": [DRAFT_REF], "description": "Empty ({}) for a strategy brought as code."}
    )
