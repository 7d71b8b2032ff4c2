"""Chat request and response bodies, with the size limits that keep a chat row bounded."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from apispec import APISpec
from marshmallow import validate

from gentrade.models.chat import TITLE_MAX_LENGTH
from gentrade.schemas.common import StrictSchema, page_of

MESSAGE_CONTENT_MAX = 32_000
MESSAGES_MAX = 1_000
TOOL_DATA_MAX_KEYS = 200
ROLES = ("user", "assistant", "system", "tool")


class MessageSchema(StrictSchema):
    id = ma.fields.String(validate=validate.Length(max=64))
    role = ma.fields.String(required=True, validate=validate.OneOf(ROLES))
    content = ma.fields.String(required=True, validate=validate.Length(max=MESSAGE_CONTENT_MAX))
    type = ma.fields.String(validate=validate.Length(max=64), metadata={"example": "strategy_draft"})
    tool_name = ma.fields.String(allow_none=True, validate=validate.Length(max=128))
    tool_data = ma.fields.Dict(
        keys=ma.fields.String(validate=validate.Length(max=128)),
        allow_none=True,
        validate=validate.Length(max=TOOL_DATA_MAX_KEYS),
        metadata={"description": "Structured tool payload, such as a StrategyDraft."},
    )
    strategy_id = ma.fields.UUID(allow_none=True)
    created_at = ma.fields.AwareDateTime(allow_none=True)

    @ma.post_load
    def _as_json(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Store messages as plain JSON (UUIDs and datetimes as strings)."""
        return self.dump(data)


def _messages_field() -> ma.fields.List:
    return ma.fields.List(
        ma.fields.Nested(MessageSchema),
        validate=validate.Length(max=MESSAGES_MAX, error=f"At most {MESSAGES_MAX} messages per chat."),
    )


def _title_field() -> ma.fields.String:
    return ma.fields.String(
        allow_none=True,
        validate=validate.Length(max=TITLE_MAX_LENGTH, error=f"At most {TITLE_MAX_LENGTH} characters."),
    )


class ChatCreateSchema(StrictSchema):
    title = _title_field()
    messages = _messages_field()


class ChatUpdateSchema(StrictSchema):
    title = _title_field()
    messages = _messages_field()

    @ma.validates_schema
    def _something_to_change(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not {"title", "messages"} & data.keys():
            raise ma.ValidationError("Give a title, messages, or both.", "_schema")


class ChatUpdateByBodySchema(ChatUpdateSchema):
    thread_id = ma.fields.UUID(required=True)


def document_update_rules(spec: APISpec) -> None:
    """Say in the OpenAPI document what ``_something_to_change`` enforces (apispec reads no schema-level
    rule from marshmallow): an update names at least one of title and messages."""
    spec.components.schemas["ChatUpdate"]["minProperties"] = 1
    spec.components.schemas["ChatUpdateByBody"]["minProperties"] = 2  # thread_id and a change


class ChatSummarySchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    thread_id = ma.fields.UUID(dump_only=True)
    title = ma.fields.String(dump_only=True, allow_none=True)
    created_at = ma.fields.AwareDateTime(dump_only=True)
    updated_at = ma.fields.AwareDateTime(dump_only=True)


class ChatSchema(ChatSummarySchema):
    messages = ma.fields.List(ma.fields.Dict(), dump_only=True)


ChatPageSchema = page_of(ChatSummarySchema, "ChatPageSchema")
