"""One agent turn, streamed: run the graph on the user's message, relay tokens and the draft, save the chat.

The chat row is written once, when the turn ends, with both the user message and the assistant
message (carrying the draft as structured data), so a reader never sees half a turn. A client
that disconnects does not cut the turn short: the graph runs to its end and the chat is saved,
keeping the chat and the thread's checkpoints in step.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessageChunk, HumanMessage

from gentrade.agents.checkpoints import checkpointer
from gentrade.agents.graph import build_graph
from gentrade.agents.providers import chat_model
from gentrade.agents.schemas import DRAFT_TOOL_NAME
from gentrade.extensions import db
from gentrade.models import Chat, User, utcnow
from gentrade.runtime import runtime
from gentrade.services import ownership

log = logging.getLogger(__name__)
STREAMED_NODES = frozenset({"announce", "general"})
TITLE_LENGTH = 60
ERROR_REPLY = "Sorry, I could not answer that just now. Please try again."


@dataclass
class Turn:
    """What the turn produced so far (what the chat will be saved with)."""

    text: str = ""
    draft: dict[str, Any] | None = None
    error: str | None = None


def sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


def start_turn(user: User, thread_id: uuid.UUID) -> Chat:
    """Check the chat is the caller's (403/404 before any byte is streamed) and release the connection."""
    chat = ownership.owned_chat(user, thread_id)
    db.session.commit()  # no transaction (and no pooled connection) is held while the model thinks
    return chat


def _graph_events(thread_id: uuid.UUID, message: str) -> Iterator[tuple[str, dict[str, Any]]]:
    settings = runtime().settings
    graph = build_graph(chat_model(settings), checkpointer(settings))
    config = {"configurable": {"thread_id": str(thread_id)}}
    stream = graph.stream({"messages": [HumanMessage(message)]}, config, stream_mode=["messages", "updates"])
    for mode, payload in stream:
        if mode == "messages":
            chunk, metadata = payload
            if metadata.get("langgraph_node") in STREAMED_NODES and isinstance(chunk, AIMessageChunk) and chunk.content:
                yield "token", {"text": str(chunk.content)}
        elif mode == "updates":
            for node, update in (payload or {}).items():
                if node == "strategy_draft" and update and update.get("draft"):
                    yield "tool_start", {"tool": DRAFT_TOOL_NAME, "draft": update["draft"]}


def run_turn(chat_id: uuid.UUID, thread_id: uuid.UUID, message: str) -> Iterator[str]:
    """SSE lines for one turn: ``token``*, ``tool_start``?, ``message`` or ``error``, then ``end``."""
    turn = Turn()
    client_gone = False
    events = _graph_events(thread_id, message)
    while True:
        try:
            event, data = next(events)
        except StopIteration:
            break
        except Exception as exc:  # a provider failure after its own retries, or a draft that never validated
            log.exception("agent turn on %s failed", thread_id)
            turn.error = f"{type(exc).__name__}: {exc}"[:300]
            break
        if event == "token":
            turn.text += data["text"]
        elif event == "tool_start":
            turn.draft = data["draft"]
        if not client_gone:
            try:
                yield sse(event, data)
            except GeneratorExit:
                client_gone = True  # finish the turn anyway, so the chat matches the checkpoints
                log.info("client left the stream of %s; finishing the turn", thread_id)
    saved = _save(chat_id, message, turn)
    if client_gone:
        return
    if turn.error:
        yield sse("error", {"message": "the assistant failed to answer", "detail": turn.error})
    else:
        yield sse("message", saved)
    yield sse("end", {})


def _assistant_message(turn: Turn) -> dict[str, Any]:
    if turn.error:
        return {"role": "assistant", "content": ERROR_REPLY, "type": "error"}
    message: dict[str, Any] = {"role": "assistant", "content": turn.text, "type": "text"}
    if turn.draft is not None:
        message |= {"type": "strategy_draft", "tool_name": DRAFT_TOOL_NAME, "tool_data": {"draft": turn.draft}}
    return message


def _save(chat_id: uuid.UUID, user_text: str, turn: Turn) -> dict[str, Any]:
    """Append the turn to the chat in one transaction; give an untitled chat a title from its first message."""
    now = utcnow()
    assistant = _assistant_message(turn) | {"created_at": now.isoformat()}
    chat = db.session.get(Chat, chat_id, with_for_update=True)
    if chat is None:  # deleted during the turn
        db.session.rollback()
        return assistant
    chat.messages = [*chat.messages, {"role": "user", "content": user_text, "created_at": now.isoformat()}, assistant]
    if not chat.title:
        chat.title = title_from(user_text)
    chat.updated_at = now
    db.session.commit()
    return assistant


def title_from(text: str) -> str:
    words = " ".join(text.split())
    if len(words) <= TITLE_LENGTH:
        return words
    return words[:TITLE_LENGTH].rsplit(" ", 1)[0].rstrip(",.;:") + "…"
