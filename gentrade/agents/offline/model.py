"""The offline provider: a deterministic LangChain chat model that needs no key and no network.

Why: the embedded default, the demo and the tests run the same LangGraph graph, tools, checkpoints
and SSE stream as with a real model. The "thinking" is :mod:`gentrade.agents.offline.drafting`;
this module adapts it to LangChain's chat-model interface.

What it reads is the graph's prompt contract (:mod:`gentrade.agents.context`), the same blocks a hosted
model reads:

* the draft block says the thread already has a draft: the router then treats feedback as strategy work, and
  structured ``StrategyDraft`` output revises that draft. Without one, the previous draft is the last
  ``AIMessage`` *before the last human message* carrying a ``StrategyDraftOutputTool`` call whose args hold
  ``{"draft": {...}}``;
* the announce block (``{"draft": {...}, "assumptions": [...], "revised": bool}``) asks for the announcement
  of that draft: :func:`describe_draft`. ``assumptions`` is optional: when absent, the ones this process
  recorded when it drafted that draft (whatever its name) are used, else (for a fresh draft) they are
  recomputed from the last human message;
* the backtest block (or the no-backtest one) asks for the coach's answer (:mod:`.coach`); with the change
  block too, structured ``StrategyDraft`` output is the coach's revised draft, and structured
  ``CoachRevision`` output is the coach's change;
* the card-edits block in the last human message asks to revise the previous draft so that those card
  fields read as written (:func:`gentrade.agents.offline.drafting.draft_from_card`); a field it cannot read
  stays as it was;
* assumptions are not part of ``StrategyDraft``. Get them with :func:`assumptions_for` (the same messages as
  the structured call), :func:`draft_for` (draft and assumptions at once), or
  ``with_structured_output(StrategyDraft, include_raw=True)``, whose ``raw`` message carries them in
  ``response_metadata["assumptions"]`` (real providers have no such key: treat it as empty).

Every other call answers the last human message with :func:`general_answer`.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import LanguageModelInput
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    convert_to_messages,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.prompt_values import PromptValue
from langchain_core.runnables import Runnable, RunnableLambda
from pydantic import ValidationError

from gentrade.agents.context import (
    ANNOUNCE_HEADING,
    BACKTEST_HEADING,
    CHANGE_HEADING,
    DRAFT_HEADING,
    NO_BACKTEST_HEADING,
    card_edits_value,
    has_system_block,
    message_text,
    system_value,
)
from gentrade.agents.offline.answers import general_answer
from gentrade.agents.offline.coach import Advice, advise
from gentrade.agents.offline.drafting import draft_from_card, draft_from_text
from gentrade.agents.offline.routing import classify
from gentrade.agents.offline.wording import describe_draft
from gentrade.agents.schemas import DRAFT_TOOL_NAME, CoachRevision, RouteDecision
from gentrade.strategies.draft import StrategyDraft

MODEL_NAME = "gentrade-offline"
_RECENT_LIMIT = 256  # drafts whose assumptions are remembered for the announcement that follows

_recent: OrderedDict[str, list[str]] = OrderedDict()
_recent_lock = threading.Lock()


# --- reading the conversation -----------------------------------------------------------------------------


def as_messages(value: LanguageModelInput) -> list[BaseMessage]:
    """Any LangChain model input (a string, a PromptValue, message-likes) as a list of messages."""
    if isinstance(value, PromptValue):
        return value.to_messages()
    if isinstance(value, str):
        return [HumanMessage(value)]
    if isinstance(value, BaseMessage):
        return [value]
    return convert_to_messages(list(value))


def last_human_text(messages: Sequence[BaseMessage]) -> str:
    """What the user said last: the text every offline answer is about."""
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            return message_text(message)
    return ""


def _as_draft(value: Any) -> StrategyDraft | None:
    if isinstance(value, dict) and isinstance(value.get("draft"), dict):
        value = value["draft"]
    if not isinstance(value, dict):
        return None
    try:
        return StrategyDraft.model_validate(value)
    except ValidationError:
        return None


def previous_draft(messages: Sequence[BaseMessage]) -> StrategyDraft | None:
    """The thread's current draft, from the conventions in the module docstring; None when there is none."""
    draft = _as_draft(system_value(messages, DRAFT_HEADING))
    if draft is not None:
        return draft
    last_human = max((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=len(messages))
    for message in reversed(messages[:last_human]):
        if isinstance(message, AIMessage):
            for call in reversed(message.tool_calls):
                if call["name"] == DRAFT_TOOL_NAME:
                    draft = _as_draft(call["args"])
                    if draft is not None:
                        return draft
    return None


def coach_advice(messages: Sequence[BaseMessage]) -> Advice | None:
    """The coach's advice when the messages carry a backtest block (or the no-backtest one), else None."""
    if not has_system_block(messages, BACKTEST_HEADING) and not has_system_block(messages, NO_BACKTEST_HEADING):
        return None
    backtest = system_value(messages, BACKTEST_HEADING)
    return advise(last_human_text(messages), backtest if isinstance(backtest, dict) else None, previous_draft(messages))


def draft_for(messages: LanguageModelInput) -> tuple[StrategyDraft, list[str]]:
    """The draft the offline model produces for these messages, with the assumptions it made."""
    listed = as_messages(messages)
    previous, edits = previous_draft(listed), card_edits_value(listed)
    change = system_value(listed, CHANGE_HEADING)
    advice = coach_advice(listed) if isinstance(change, dict) else None
    if advice is not None and advice.revised is not None:
        draft, assumptions = advice.revised, advice.notes
    elif isinstance(change, dict) and change.get("change"):  # a change in words the coach's rules did not make
        draft, assumptions = draft_from_text(str(change["change"]), previous)
    elif previous is not None and edits is not None:
        draft, assumptions = draft_from_card(edits, previous)
    else:
        draft, assumptions = draft_from_text(last_human_text(listed), previous)
    _remember(draft, assumptions)
    return draft, assumptions


def assumptions_for(messages: LanguageModelInput) -> list[str]:
    """The assumptions behind the draft structured output returns for the same messages (deterministic)."""
    return draft_for(messages)[1]


def _draft_key(draft: StrategyDraft) -> str:
    """The draft whatever its name: the graph may rename a draft to one the user does not have yet."""
    canonical = json.dumps(draft.model_dump(mode="json", exclude={"name"}), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _remember(draft: StrategyDraft, assumptions: list[str]) -> None:
    key = _draft_key(draft)
    with _recent_lock:
        _recent[key] = list(assumptions)
        _recent.move_to_end(key)
        while len(_recent) > _RECENT_LIMIT:
            _recent.popitem(last=False)


def _recalled(draft: StrategyDraft) -> list[str] | None:
    with _recent_lock:
        found = _recent.get(_draft_key(draft))
    return list(found) if found is not None else None


def _announcement(messages: Sequence[BaseMessage]) -> str | None:
    """The announcement text when a system message asks for one, else None."""
    if has_system_block(messages, ANNOUNCE_HEADING):
        payload = system_value(messages, ANNOUNCE_HEADING)
        draft = _as_draft(payload)
        if draft is None:
            raise ValueError(f"{ANNOUNCE_HEADING!r} must be followed by JSON holding a valid 'draft'")
        revised = bool(payload.get("revised", False)) if isinstance(payload, dict) else False
        assumptions = payload.get("assumptions") if isinstance(payload, dict) else None
        if not isinstance(assumptions, list):
            assumptions = _recalled(draft)
        if assumptions is None and not revised:
            fresh, fresh_assumptions = draft_from_text(last_human_text(messages), None)
            assumptions = fresh_assumptions if _draft_key(fresh) == _draft_key(draft) else []
        return describe_draft(draft, [str(a) for a in assumptions or []], revised)
    return None


def reply_text(messages: Sequence[BaseMessage]) -> str:
    """The offline model's whole reply: an announcement or the coach's answer when asked for one, else a general
    answer."""
    announcement = _announcement(messages)
    if announcement is not None:
        return announcement
    advice = coach_advice(messages)
    return advice.answer if advice is not None else general_answer(last_human_text(messages))


def _tokens(text: str) -> list[str]:
    """Word-sized pieces (each word with the space after it) that concatenate back to ``text``."""
    pieces: list[str] = []
    current = ""
    for char in text:
        if current and not char.isspace() and current[-1].isspace():
            pieces.append(current)
            current = ""
        current += char
    if current:
        pieces.append(current)
    return pieces


# --- structured output ------------------------------------------------------------------------------------


def _tool_call_message(
    result: RouteDecision | CoachRevision | StrategyDraft, assumptions: list[str] | None
) -> AIMessage:
    """What a real provider's raw answer looks like: one tool call named after the schema."""
    args = result.model_dump(mode="json")
    digest = hashlib.sha256(json.dumps(args, sort_keys=True).encode()).hexdigest()[:24]
    metadata: dict[str, Any] = {"model_name": MODEL_NAME}
    if assumptions is not None:
        metadata["assumptions"] = assumptions
    call = {"name": type(result).__name__, "args": args, "id": f"call_{digest}", "type": "tool_call"}
    return AIMessage(content="", tool_calls=[call], response_metadata=metadata)


def _structured(schema: type, include_raw: bool) -> Runnable[LanguageModelInput, Any]:
    def route(value: LanguageModelInput) -> Any:
        messages = as_messages(value)
        decision = classify(last_human_text(messages), previous_draft(messages) is not None)
        if include_raw:
            return {"raw": _tool_call_message(decision, None), "parsed": decision, "parsing_error": None}
        return decision

    def revision(value: LanguageModelInput) -> Any:
        advice = coach_advice(as_messages(value))
        change = advice.change if advice is not None else None
        decision = CoachRevision(revise=change is not None, change=change or "")
        if include_raw:
            return {"raw": _tool_call_message(decision, None), "parsed": decision, "parsing_error": None}
        return decision

    def draft(value: LanguageModelInput) -> Any:
        result, assumptions = draft_for(value)
        if include_raw:
            return {"raw": _tool_call_message(result, assumptions), "parsed": result, "parsing_error": None}
        return result

    if schema is RouteDecision:
        return RunnableLambda(route, name="OfflineRouteDecision")
    if schema is CoachRevision:
        return RunnableLambda(revision, name="OfflineCoachRevision")
    return RunnableLambda(draft, name="OfflineStrategyDraft")


# --- the chat model ---------------------------------------------------------------------------------------


class OfflineChatModel(BaseChatModel):
    """A chat model that answers from rules: no key, no network, same answer for the same messages."""

    @property
    def _llm_type(self) -> str:
        return MODEL_NAME

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": MODEL_NAME}

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        message = AIMessage(content=reply_text(messages), response_metadata={"model_name": MODEL_NAME})
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        """Word by word, so LangGraph's "messages" stream mode forwards real token deltas."""
        pieces = _tokens(reply_text(messages))
        for index, piece in enumerate(pieces):
            last = index == len(pieces) - 1
            message = AIMessageChunk(
                content=piece,
                response_metadata={"model_name": MODEL_NAME} if last else {},
                chunk_position="last" if last else None,
            )
            chunk = ChatGenerationChunk(message=message)
            if run_manager:
                run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk

    def bind_tools(
        self,
        tools: Sequence[Any],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> OfflineChatModel:
        """Tools are accepted and ignored: the offline model never calls one itself (the graph does)."""
        return self

    def with_structured_output(
        self,
        schema: dict[str, Any] | type,
        *,
        include_raw: bool = False,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, Any]:
        """RouteDecision, CoachRevision and StrategyDraft come from the rules; any other schema (StrategyCode) is
        not offered.

        ``method``, ``strict`` and other provider options are accepted and ignored.
        """
        if schema in (RouteDecision, CoachRevision, StrategyDraft):
            return _structured(schema, include_raw)
        name = getattr(schema, "__name__", None) or (schema.get("title") if isinstance(schema, dict) else None)
        raise NotImplementedError(
            f"the offline model produces only RouteDecision, CoachRevision and StrategyDraft, not {name or schema!r}; "
            "strategy code comes from the compiler"
        )
