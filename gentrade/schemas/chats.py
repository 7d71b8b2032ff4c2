"""Chat request and response bodies, with the size limits that keep a chat row bounded."""

from __future__ import annotations

import json
from typing import Any

import marshmallow as ma
from apispec import APISpec
from marshmallow import validate

from gentrade.models.chat import TITLE_MAX_LENGTH
from gentrade.schemas.common import StrictSchema

MESSAGE_CONTENT_MAX = 32_000
MESSAGE_MAX_BYTES = 128 * 1024
MESSAGES_MAX = 1_000
TOOL_DATA_MAX_KEYS = 200
TOOL_INVOCATIONS_MAX = 50
ROLES = ("user", "assistant", "system", "tool", "data", "function")
TOOL_STATES = ("partial-call", "call", "result")
IGNORED = "Accepted and ignored (the web frontend sends it; the chat is named by thread_id)."


class ToolInvocationSchema(ma.Schema):
    """A tool call in the AI SDK's UI format and, once the tool ran, its result (the draft card's JSON text)."""

    class Meta:
        unknown = ma.INCLUDE

    state = ma.fields.String(required=True, validate=validate.OneOf(TOOL_STATES))
    toolCallId = ma.fields.String(required=True, validate=validate.Length(min=1, max=128))
    toolName = ma.fields.String(required=True, validate=validate.Length(min=1, max=128))
    args = ma.fields.Raw(metadata={"description": "The tool's arguments (any JSON)."})
    result = ma.fields.Raw(metadata={"description": "The tool's result (any JSON)."})


class MessageSchema(ma.Schema):
    """A chat message, in our format (``type``, ``tool_data``, ``created_at``) or the AI SDK's UI format
    (``id``, ``createdAt``, ``toolInvocations``). Stored and returned exactly as sent, other keys included."""

    class Meta:
        unknown = ma.INCLUDE

    id = ma.fields.String(validate=validate.Length(max=128))
    role = ma.fields.String(required=True, validate=validate.OneOf(ROLES))
    content = ma.fields.String(required=True, validate=validate.Length(max=MESSAGE_CONTENT_MAX))
    createdAt = ma.fields.String(validate=validate.Length(max=64))
    toolInvocations = ma.fields.List(
        ma.fields.Nested(ToolInvocationSchema), validate=validate.Length(max=TOOL_INVOCATIONS_MAX)
    )
    type = ma.fields.String(validate=validate.Length(max=64), metadata={"example": "strategy_draft"})
    tool_name = ma.fields.String(allow_none=True, validate=validate.Length(max=128))
    tool_call_id = ma.fields.String(allow_none=True, validate=validate.Length(max=128))
    tool_data = ma.fields.Dict(
        keys=ma.fields.String(validate=validate.Length(max=128)),
        allow_none=True,
        validate=validate.Length(max=TOOL_DATA_MAX_KEYS),
        metadata={"description": "Structured tool payload, such as a StrategyDraft."},
    )
    strategy_id = ma.fields.UUID(allow_none=True)
    created_at = ma.fields.AwareDateTime(allow_none=True)

    @ma.validates_schema(pass_original=True)
    def _bounded(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        if len(json.dumps(original)) > MESSAGE_MAX_BYTES:
            raise ma.ValidationError(f"A message may take at most {MESSAGE_MAX_BYTES // 1024} KiB as JSON.", "_schema")


class AsSent(ma.fields.Nested):
    """Validated by its schema, kept exactly as sent (spelling, unknown keys and all)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, partial: Any = None, **kwargs: Any) -> Any:
        super()._deserialize(value, attr, data, partial=partial, **kwargs)
        return value


def _messages_field() -> ma.fields.List:
    return ma.fields.List(
        AsSent(MessageSchema),
        validate=validate.Length(max=MESSAGES_MAX, error=f"At most {MESSAGES_MAX} messages per chat."),
    )


SHORTENED = f"Shortened to {TITLE_MAX_LENGTH} characters when longer."


def _title_field(description: str = SHORTENED) -> ma.fields.String:
    return ma.fields.String(
        allow_none=True, validate=validate.Length(max=MESSAGE_CONTENT_MAX), metadata={"description": description}
    )


class _IgnoresChatId(StrictSchema):
    """The web frontend sends the chat's ``id`` back with it: accepted and ignored, not a 422."""

    id = ma.fields.Raw(load_only=True, allow_none=True, metadata={"description": IGNORED})

    @ma.post_load
    def _drop_ignored(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        data.pop("id", None)
        return data


class ChatCreateSchema(_IgnoresChatId):
    thread_id = ma.fields.UUID(
        metadata={"description": "Your own id for the chat (saving it again updates it); a new one when absent."}
    )
    title = _title_field()
    messages = _messages_field()


class ChatUpdateSchema(StrictSchema):
    title = _title_field(f'Null keeps the current title (the frontend sends null); "" clears it. {SHORTENED}')
    messages = _messages_field()

    @ma.post_load
    def _null_title_keeps_it(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if data.get("title", "") is None:
            del data["title"]
        return data

    @ma.validates_schema
    def _something_to_change(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not {"title", "messages"} & data.keys():
            raise ma.ValidationError("Give a title, messages, or both.", "_schema")


class ChatUpdateByBodySchema(ChatUpdateSchema, _IgnoresChatId):
    thread_id = ma.fields.UUID(required=True)


def document_update_rules(spec: APISpec) -> None:
    """Say in the OpenAPI document what ``_something_to_change`` enforces (apispec reads no schema-level
    rule from marshmallow): an update names at least one of title and messages."""
    for name in ("ChatUpdate", "ChatUpdateByBody"):
        spec.components.schemas[name]["anyOf"] = [{"required": ["title"]}, {"required": ["messages"]}]


class ChatSummarySchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    thread_id = ma.fields.UUID(dump_only=True)
    title = ma.fields.String(dump_only=True, allow_none=True)
    created_at = ma.fields.AwareDateTime(dump_only=True)
    updated_at = ma.fields.AwareDateTime(dump_only=True)


class ChatSchema(ChatSummarySchema):
    messages = ma.fields.List(ma.fields.Dict(), dump_only=True)
