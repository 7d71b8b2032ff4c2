"""The request body of LangServe's ``stream_events`` (what LangChain's ``RemoteRunnable`` sends).

The client sends more than the agent uses (``config.tags``, ``config.metadata``, ``recursionLimit``,
``checkpoint_ns``, ``checkpoint_id``, ``diff``, ``include_*``/``exclude_*`` filters, message fields such
as ``additional_kwargs``): those are accepted and ignored, so any LangServe client works unchanged.
Only the newest message is read; it must be the user's.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from gentrade.schemas.agent import MESSAGE_MAX

IGNORED = "Keys the agent does not use are accepted and ignored."
USER_ROLES = frozenset({"user", "human"})
MESSAGES_MAX = 100
PARTS_MAX = 50


class _Lenient(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE


class InputMessageSchema(_Lenient):
    """A message as the AI SDK (``role``) or LangChain (``type``) writes it."""

    role = ma.fields.String(validate=validate.Length(max=32), metadata={"example": "user"})
    type = ma.fields.String(validate=validate.Length(max=32), metadata={"description": "LangChain's name for role."})
    content = ma.fields.Raw(
        required=True,
        metadata={"description": "Text, or a list of parts of which the `text` parts are read.", "example": "hi"},
    )


class AgentInputSchema(_Lenient):
    messages = ma.fields.List(
        ma.fields.Nested(InputMessageSchema),
        required=True,
        validate=validate.Length(min=1, max=MESSAGES_MAX),
        metadata={"description": "The conversation; the newest message is the user's turn (the thread has the rest)."},
    )


class ConfigurableSchema(_Lenient):
    thread_id = ma.fields.String(
        allow_none=True,
        validate=validate.Length(max=64),
        metadata={"description": "`new` (or empty) starts a thread of your own; else one of your chats' thread_id."},
    )


class RunConfigSchema(_Lenient):
    configurable = ma.fields.Nested(ConfigurableSchema)


class StreamEventsSchema(_Lenient):
    class Meta:
        unknown = ma.EXCLUDE
        description = f"LangServe's stream_events request. {IGNORED}"

    input = ma.fields.Nested(AgentInputSchema, required=True)
    config = ma.fields.Nested(RunConfigSchema)
    kwargs = ma.fields.Dict(metadata={"description": 'Call options; `version` must be "v2" when given.'})

    @ma.validates("kwargs")
    def _only_v2_events(self, kwargs: dict[str, Any], **_: Any) -> None:
        if kwargs.get("version", "v2") != "v2":
            raise ma.ValidationError('Only version "v2" stream events are served.')

    @ma.post_load
    def _as_turn(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        """The newest message's text and the thread, from what the client sent."""
        newest = data["input"]["messages"][-1]
        role = newest.get("role") or newest.get("type")
        if role not in USER_ROLES:
            raise ma.ValidationError({"messages": ["The newest message must be the user's."]}, "input")
        text = _message_text(newest["content"])
        if not 1 <= len(text) <= MESSAGE_MAX:
            raise ma.ValidationError(
                {"messages": [f"The newest message must have between 1 and {MESSAGE_MAX} characters of text."]}, "input"
            )
        configurable = (data.get("config") or {}).get("configurable") or {}
        return {"message": text, "thread_id": configurable.get("thread_id"), "input": data["input"]}


def _message_text(content: Any) -> str:
    if isinstance(content, str):
        return content.strip()
    if isinstance(content, list) and len(content) <= PARTS_MAX:
        texts = [part.get("text") for part in content if isinstance(part, dict) and part.get("type") == "text"]
        if all(isinstance(text, str) for text in texts):
            return "\n".join(texts).strip()
    raise ma.ValidationError({"messages": ["Message content is text or a list of parts."]}, "input")
