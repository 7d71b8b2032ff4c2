"""``POST /api/v1/agent/stream``: one agent turn as server-sent events."""

from __future__ import annotations

from typing import Any

from flask import Response

from gentrade.auth import current_user, login_required
from gentrade.blueprints import sse
from gentrade.blueprints.base import TURN_REFUSALS, ApiBlueprint, sse_event_schema
from gentrade.schemas.agent import AgentTurnSchema
from gentrade.services import agent

blp = ApiBlueprint("agent", __name__, url_prefix="/api/v1/agent", description="The strategy assistant.")

EVENTS_DOC = """Server-sent events (the first, `status`, at once; `: keep-alive` comments while the model is silent):
- `status` `{"step"}`: what the assistant does now: `reading` the message, `drafting` a strategy, `writing` the answer;
- `token` `{"text"}`: a piece of the assistant's answer as the model writes it;
- `tool_start` `{"tool": "StrategyDraftOutputTool", "draft": {...}, "tool_call_id"}`: a draft is ready;
- `message`: the assistant message as saved in the chat (with the draft in `tool_data`);
- `error` `{"message", "code", "request_id"}`: the turn failed (the chat records it); `code` as in docs/agent.md;
- `end`: the turn is over."""


@blp.route("/stream", methods=["POST"])
@login_required(get_without_transaction=False, provision_user_first=True)
@blp.arguments(AgentTurnSchema)
@blp.doc(
    responses={
        "200": {
            "description": EVENTS_DOC,
            "content": {
                "text/event-stream": {
                    "schema": sse_event_schema("status", "token", "tool_start", "message", "error", "end")
                }
            },
        },
        **TURN_REFUSALS,
    }
)
def stream(body: dict[str, Any]) -> Response:
    """Send a message in a chat and stream the assistant's turn."""
    user = current_user()
    chat = agent.start_turn(user, body["thread_id"])
    events = agent.run_turn(user.id, chat.id, chat.thread_id, body["message"])
    return sse.response(sse.relay(events))
