"""One agent turn, streamed: run the graph on the user's message and relay what it produces as it happens.

Two streams read the same turn, on the same graph, checkpoints and ownership checks:
- our own (``POST /api/v1/agent/stream``): tokens, the draft, then the saved assistant message. The
  chat row is written once, when the turn ends, with both the user message and the assistant message
  (carrying the draft as structured data), so a reader never sees half a turn;
- LangServe's ``stream_events`` (the frontend's ``RemoteRunnable``): LangChain's v2 events. Its
  client saves the chat itself, in its own message format, so the turn leaves the chat row alone.

Every draft a turn shows is recorded by its tool call id (``agent_threads.record_draft``).

A turn is admitted first (``agent_limits.admit``: 409 when the chat already has a turn running, 429 past
the user's limits), before any byte is sent. It then runs in the background (``in_background``) while
the request sends a first event at once and keep-alive comments through long model calls. A client
that disconnects does not cut a turn short: the graph runs to its end, keeping the chat and the
thread's checkpoints in step. A turn that fails is recorded as the same assistant error message in
both, with the draft it may have shown undone in the checkpoint, so they agree and the history
alternates (see docs/agent.md, "Streams and limits").
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage

from gentrade.agents.checkpoints import checkpointer
from gentrade.agents.errors import error_code
from gentrade.agents.graph import build_graph
from gentrade.agents.providers import LlmErrors, chat_model
from gentrade.agents.schemas import DRAFT_TOOL_NAME
from gentrade.agents.stream_events import StreamEvents
from gentrade.agents.token_usage import TokenCount
from gentrade.extensions import db
from gentrade.metrics import instruments
from gentrade.models import Chat, User, utcnow
from gentrade.request_ids import current_request_id
from gentrade.runtime import runtime
from gentrade.services import agent_limits, agent_threads, ownership
from gentrade.services.background_events import Wire, streamed_turn
from gentrade.services.errors import Invalid
from gentrade.services.turn_context import turn_context

log = logging.getLogger(__name__)
STREAMED_NODES = frozenset({"announce", "coach", "general"})
PARAGRAPH = "\n\n"  # between two answers of one turn
TITLE_LENGTH = 60
ERROR_REPLY = "Sorry, I could not answer that just now. Please try again."
FAILED = "the assistant failed to answer"


@dataclass(frozen=True)
class Token:
    """A piece of the answer, as the model wrote it."""

    chunk: AIMessageChunk
    node: str

    @property
    def text(self) -> str:
        return str(self.chunk.content)


@dataclass(frozen=True)
class DraftStarted:
    """The graph called ``StrategyDraftOutputTool`` with a draft (recorded by then)."""

    call_id: str
    args: dict[str, Any]


@dataclass(frozen=True)
class DraftShown:
    """The tool's result: the draft card, as a ``ToolMessage``."""

    call_id: str
    args: dict[str, Any]
    result: ToolMessage


@dataclass(frozen=True)
class Step:
    """What the turn does next, for a client showing progress: ``reading``, ``drafting`` or ``writing``."""

    name: str


READING, DRAFTING, WRITING = Step("reading"), Step("drafting"), Step("writing")
TurnEvent = Token | DraftStarted | DraftShown | Step


class AgentTurn:
    """The graph run on one message in one thread, as :data:`TurnEvent` objects."""

    def __init__(self, user_id: uuid.UUID, thread_id: uuid.UUID, message: str) -> None:
        self.settings = runtime().settings
        self.model = chat_model(self.settings)
        self.user_id = user_id
        self.thread_id = thread_id
        self.message = message
        self.run_id = uuid.uuid4()

    def events(self) -> Iterator[TurnEvent]:
        """The turn's events; the turn is counted as completed or failed, and its tokens, when they end."""
        tokens = TokenCount()
        try:
            yield from self._events(tokens)
        except Exception:
            instruments.agent_turn_ended(instruments.TURN_FAILED)
            raise
        finally:
            _record_tokens(self.user_id, tokens.total)
        instruments.agent_turn_ended(instruments.TURN_COMPLETED)

    def _events(self, tokens: TokenCount) -> Iterator[TurnEvent]:
        graph = build_graph(self.model, checkpointer(self.settings))
        thread = {"configurable": {"thread_id": str(self.thread_id)}}
        config = thread | {"run_id": self.run_id, "callbacks": [LlmErrors(self.settings.llm_provider), tokens]}
        draft_before = graph.get_state(thread).values.get("draft")
        question = HumanMessage(self.message, id=str(uuid.uuid4()))
        context = turn_context(self.user_id, self.thread_id)
        db.session.commit()  # no transaction is held while the model thinks
        try:
            stream = graph.stream(
                {"messages": [question]}, config, stream_mode=["messages", "updates"], context=context
            )
            yield from self._graph_events(stream)
        except Exception:
            _record_failure(graph, thread, question, draft_before)
            raise

    def _graph_events(self, stream: Iterator[Any]) -> Iterator[TurnEvent]:
        relay = _GraphRelay(self.user_id, self.thread_id)
        for mode, payload in stream:
            if mode == "messages":
                yield from relay.tokens(*payload)
            else:
                yield from relay.updates(payload or {})


class _GraphRelay:
    """The graph's stream (``messages`` and ``updates`` modes) as :data:`TurnEvent` objects: the answer's tokens,
    the steps, and the drafts started (recorded as they come) and shown."""

    def __init__(self, user_id: uuid.UUID, thread_id: uuid.UUID) -> None:
        self.user_id = user_id
        self.thread_id = thread_id
        self.started: dict[str, dict[str, Any]] = {}  # the draft tool's arguments by call id
        self.speaking: str | None = None  # the node whose answer the last token belonged to

    def tokens(self, chunk: Any, metadata: dict[str, Any]) -> Iterator[TurnEvent]:
        node = metadata.get("langgraph_node")
        if node not in STREAMED_NODES or not isinstance(chunk, AIMessageChunk) or not chunk.content:
            return
        if self.speaking not in (None, node):  # the coach's answer, then the revised draft's announcement
            yield Token(AIMessageChunk(content=PARAGRAPH, id=chunk.id), node)
        self.speaking = node
        yield Token(chunk, node)

    def updates(self, payload: dict[str, Any]) -> Iterator[TurnEvent]:
        for node, update in payload.items():
            step = _step_after(node, update or {})
            if step is not None:
                yield step
            for message in (update or {}).get("messages", []):
                yield from self._drafts(node, message)

    def _drafts(self, node: str, message: Any) -> Iterator[TurnEvent]:
        if node == "strategy_draft" and isinstance(message, AIMessage):
            for call in message.tool_calls:
                agent_threads.record_draft(self.user_id, self.thread_id, call["id"], call["args"]["draft"])
                self.started[call["id"]] = call["args"]
                yield DraftStarted(call["id"], call["args"])
        elif node == "tools" and isinstance(message, ToolMessage):
            yield DraftShown(message.tool_call_id, self.started.get(message.tool_call_id, {}), message)


def _step_after(node: str, update: dict[str, Any]) -> Step | None:
    """What the turn does once ``node`` has run: draft (the router chose a strategy, the coach asked for a
    change) or write the answer."""
    if node == "router":
        return DRAFTING if update.get("route") == "strategy" else WRITING
    if node == "coach_revision" and update.get("change"):
        return DRAFTING
    if node == "tools":
        return WRITING
    return None


def _record_failure(graph: Any, thread: dict[str, Any], question: HumanMessage, draft_before: Any) -> None:
    """Give the checkpoint what the chat records for a failed turn: the question (when the run failed before
    keeping it), the assistant's error reply, and the draft as it was before the turn."""
    try:
        kept = any(message.id == question.id for message in graph.get_state(thread).values.get("messages", []))
        reply = AIMessage(ERROR_REPLY)
        update = {"messages": [reply] if kept else [question, reply], "draft": draft_before}
        graph.update_state(thread, update, as_node="general")
    except Exception:
        log.exception("could not record the failed turn in the checkpoint of %s", thread)


def _keepalive_seconds() -> float:
    return runtime().settings.agent_keepalive_seconds


def _record_tokens(user_id: uuid.UUID, tokens: int) -> None:
    try:
        agent_limits.record_tokens(user_id, tokens)
    except Exception:
        db.session.rollback()
        log.exception("could not count %d tokens for user %s", tokens, user_id)


# --- our own stream -----------------------------------------------------------------------------------------


@dataclass
class TurnOutput:
    """What the turn produced so far (what the chat will be saved with)."""

    text: str = ""
    draft: dict[str, Any] | None = None
    tool_call_id: str | None = None
    error: str | None = None


def start_turn(user: User, thread_id: uuid.UUID) -> Chat:
    """Check the chat is the caller's (403/404 before any byte is streamed) and release the connection."""
    chat = ownership.owned_chat(user, thread_id)
    db.session.commit()  # no transaction (and no pooled connection) is held while the model thinks
    return chat


AGENT_STREAM_WIRE = Wire(first=("status", {"step": READING.name}), end=("end", {}), end_after_error=True)


def run_turn(
    user_id: uuid.UUID, chat_id: uuid.UUID, thread_id: uuid.UUID, message: str
) -> Iterator[tuple[str, Any] | None]:
    """Admit the turn (409/429 here, before any byte), then its events: ``status`` at once, then ``status``,
    ``token``*, ``tool_start``?, ``message`` or ``error``, then ``end``; ``None`` is a keep-alive."""
    lock = agent_limits.admit(user_id, thread_id)
    request_id = current_request_id()  # the turn runs off the request: the id goes with it
    produce = lambda: _turn_events(user_id, chat_id, thread_id, message, request_id)  # noqa: E731
    return streamed_turn(produce, AGENT_STREAM_WIRE, _keepalive_seconds(), lock.release, f"turn-{thread_id}")


def _turn_events(
    user_id: uuid.UUID, chat_id: uuid.UUID, thread_id: uuid.UUID, message: str, request_id: str
) -> Iterator[tuple[str, Any]]:
    turn = TurnOutput()
    try:
        for event in AgentTurn(user_id, thread_id, message).events():
            if isinstance(event, Step):
                yield "status", {"step": event.name}
            elif isinstance(event, Token):
                turn.text += event.text
                yield "token", {"text": event.text}
            elif isinstance(event, DraftStarted):
                turn.draft, turn.tool_call_id = event.args["draft"], event.call_id
                yield "tool_start", {"tool": DRAFT_TOOL_NAME, "draft": turn.draft, "tool_call_id": event.call_id}
    except Exception as exc:  # a provider failure after its own retries, or a draft that never validated
        log.exception("agent turn on %s failed", thread_id)  # the provider's own words: for the log only
        turn.error = error_code(exc)
    saved = _save(chat_id, message, turn)
    if turn.error:
        yield "error", {"message": FAILED, "code": turn.error, "request_id": request_id}
    else:
        yield "message", saved


def _assistant_message(turn: TurnOutput) -> dict[str, Any]:
    if turn.error:
        return {"role": "assistant", "content": ERROR_REPLY, "type": "error"}
    message: dict[str, Any] = {"role": "assistant", "content": turn.text, "type": "text"}
    if turn.draft is not None:
        message |= {
            "type": "strategy_draft",
            "tool_name": DRAFT_TOOL_NAME,
            "tool_call_id": turn.tool_call_id,
            "tool_data": {"draft": turn.draft},
        }
    return message


def _save(chat_id: uuid.UUID, user_text: str, turn: TurnOutput) -> dict[str, Any]:
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


# --- LangServe's stream_events -------------------------------------------------------------------------------


def langserve_thread(user: User, reference: str | None, message: str) -> uuid.UUID:
    """The thread a ``stream_events`` turn runs on: ``"new"`` (or none) opens a fresh thread of the caller's
    own; any other reference must be one of the caller's chats (404/403 before any byte is streamed)."""
    if reference is None or reference.strip() in agent_threads.NEW_THREAD_REFERENCES:
        return agent_threads.open_thread(user, message)
    try:
        thread_id = uuid.UUID(reference)
    except ValueError:
        raise Invalid(
            "the thread id is neither 'new' nor a chat's UUID", {"thread_id": ["Not 'new' nor a UUID."]}
        ) from None
    return start_turn(user, thread_id).thread_id


LANGSERVE_WIRE = Wire(first=None, end=("end", None), end_after_error=False)  # only comments beside its events


def stream_events(
    user_id: uuid.UUID, thread_id: uuid.UUID, message: str, graph_input: dict[str, Any]
) -> Iterator[tuple[str, Any] | None]:
    """Admit the turn (409/429 here, before any byte), then LangServe's events: a comment at once, ``data``
    (one v2 stream event each), then ``end``; or ``error``. ``None`` is a keep-alive comment."""
    lock = agent_limits.admit(user_id, thread_id)
    produce = lambda: _langserve_events(user_id, thread_id, message, graph_input)  # noqa: E731
    return streamed_turn(produce, LANGSERVE_WIRE, _keepalive_seconds(), lock.release, f"langserve-turn-{thread_id}")


def _langserve_events(
    user_id: uuid.UUID, thread_id: uuid.UUID, message: str, graph_input: dict[str, Any]
) -> Iterator[tuple[str, Any]]:
    turn = AgentTurn(user_id, thread_id, message)
    events = StreamEvents(turn.run_id, {"thread_id": str(thread_id)}, type(turn.model).__name__)
    yield "data", events.start(graph_input)
    answer = ""
    try:
        for event in turn.events():
            if isinstance(event, Token):
                answer += event.text
                yield "data", events.token(event.chunk, event.node)
            elif isinstance(event, DraftStarted):
                yield "data", events.tool_start(event.call_id, event.args)
            elif isinstance(event, DraftShown):
                yield "data", events.tool_end(event.call_id, event.args, event.result)
    except Exception:
        log.exception("agent turn on %s failed", thread_id)
        # As LangServe does: the client learns the turn failed, not the server's internals.
        yield "error", {"status_code": 500, "message": FAILED}
        return
    yield "data", events.end({"messages": [AIMessage(answer)]})
