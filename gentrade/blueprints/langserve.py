"""``POST /chat/stream_events``: the agent over LangServe's protocol, for LangChain's ``RemoteRunnable``.

The web frontend talks to the agent this way (``AGENT_URL`` = ``http://<host>:8000/chat``). The same
graph, checkpoints and ownership checks as ``/api/v1/agent/stream``; the wire is LangServe's: one
``event: data`` per v2 stream event, then ``event: end``, or ``event: error``.
"""

from __future__ import annotations

from typing import Any

from flask import Response, request

from gentrade.auth import current_user, login_required
from gentrade.blueprints import sse
from gentrade.blueprints.base import TURN_REFUSALS, ApiBlueprint, sse_event_schema
from gentrade.schemas.langserve import StreamEventsSchema
from gentrade.services import agent

blp = ApiBlueprint(
    "langserve", __name__, url_prefix="/chat", description="The strategy assistant over LangServe's protocol."
)

EVENTS_DOC = """Server-sent events, as LangServe sends them:
- `data`: one LangChain v2 stream event (`event`, `name`, `run_id`, `tags`, `metadata`, `data`, `parent_ids`):
  `on_chain_start`/`on_chain_end` for the graph, `on_chat_model_stream` for each piece of the answer
  (`data.chunk` is an `AIMessageChunk`), `on_tool_start`/`on_tool_end` named `StrategyDraftOutputTool` when a
  draft is shown (`run_id` is the tool call id; `data.input` the tool's arguments with the structured draft;
  `data.output.content` the draft card as JSON text);
- `end`: the turn is over;
- `error` `{"status_code", "message"}`: the turn failed.

A `: keep-alive` comment is sent at once and while the model is silent (SSE clients skip comments).

The thread is `config.configurable.thread_id`, else the `ThreadId` header: `new` (or empty) starts a thread of
your own, which a chat you then save (`POST /api/v1/chats` with your own `thread_id`) takes over."""


@blp.route("/stream_events", methods=["POST"])
@login_required(get_without_transaction=False, provision_user_first=True)
@blp.arguments(StreamEventsSchema)
@blp.doc(
    responses={
        "200": {
            "description": EVENTS_DOC,
            "content": {"text/event-stream": {"schema": sse_event_schema("data", "end", "error")}},
        },
        **TURN_REFUSALS,
    }
)
def stream_events(body: dict[str, Any]) -> Response:
    """Send the newest message of a chat and stream the assistant's turn as LangChain stream events."""
    user = current_user()
    reference = body["thread_id"] if body["thread_id"] is not None else request.headers.get("ThreadId")
    thread_id = agent.langserve_thread(user, reference, body["message"])
    events = agent.stream_events(user.id, thread_id, body["message"], body["input"])
    return sse.response(sse.relay(events))
