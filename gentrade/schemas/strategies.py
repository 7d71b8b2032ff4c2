"""Strategy request and response bodies. The draft itself is validated by ``StrategyDraft`` (pydantic)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from gentrade.schemas.common import StrictSchema, page_of

DRAFT_REF = {"$ref": "#/components/schemas/StrategyDraft"}


class StrategyCreateSchema(StrictSchema):
    thread_id = ma.fields.UUID(required=True, metadata={"description": "The chat the draft comes from."})
    draft = ma.fields.Dict(
        metadata={
            "description": "The draft to deploy. Absent: the newest draft in the chat's messages.",
            "allOf": [DRAFT_REF],
        }
    )


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


StrategyPageSchema = page_of(StrategySummarySchema, "StrategyPageSchema")
