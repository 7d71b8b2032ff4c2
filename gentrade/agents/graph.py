"""The agent's LangGraph ``StateGraph``::

    router -> strategy_draft -> tools (StrategyDraftOutputTool) -> announce
           -> coach -> coach_revision [-> strategy_draft -> tools -> announce]
           -> general

State is the thread's messages plus the latest draft, checkpointed per chat ``thread_id``. The
draft node asks the model for a ``StrategyDraft`` by structured output (the same pydantic model
the API validates), retrying a malformed answer a bounded number of times, and announces it by
calling ``StrategyDraftOutputTool``; the announce node then streams a short explanation. The coach
answers a question about the chat's finished backtest from its figures and, when its answer names a
change, has the draft node make it. What a turn knows beyond the thread (the backtest, the names the
user's strategies already have) is its :class:`TurnContext`; how each fact reaches the model is
:mod:`gentrade.agents.context`.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypedDict

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import tool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from gentrade.agents import context
from gentrade.agents.prompts.coach import COACH_PROMPT, REVISION_PROMPT
from gentrade.agents.prompts.draft import ANNOUNCE_PROMPT, DRAFT_PROMPT
from gentrade.agents.prompts.general import GENERAL_PROMPT
from gentrade.agents.prompts.router import ROUTER_PROMPT
from gentrade.agents.schemas import DRAFT_TOOL_NAME, CoachRevision, RouteDecision
from gentrade.agents.structured import structured, valid_draft
from gentrade.strategies.card import render_card
from gentrade.strategies.draft import StrategyDraft
from gentrade.strategies.naming import free_name

log = logging.getLogger(__name__)
HISTORY_MESSAGES = 20  # the newest messages the model sees; the draft itself is passed in full


class AgentState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    route: str
    draft: dict[str, Any] | None
    revised: bool
    change: str | None  # the coach's recommended change, for the draft node to make (this turn only)


@dataclass(frozen=True)
class TurnContext:
    """What a turn knows beyond its thread: the chat's latest finished backtest (its figures and the draft it
    ran, see ``services.coaching``) and the names of the user's strategies, which a new draft must not take."""

    backtest: dict[str, Any] | None = None
    taken_names: frozenset[str] = field(default_factory=frozenset)


@tool(DRAFT_TOOL_NAME)
def strategy_draft_output_tool(draft: StrategyDraft) -> str:
    """Announce a finished StrategyDraft to the user interface (it shows the draft and offers to deploy it).

    The result is the draft card the interface shows: the draft in plain words, as JSON text."""
    return json.dumps(render_card(draft))


def show_draft(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
    """Run the draft tool call. Its run id is the tool call id, so the id a client sees on the tool's
    events is the one it saves the card under, and the one the draft is found by."""
    call = state["messages"][-1].tool_calls[0]  # type: ignore[union-attr]
    result = strategy_draft_output_tool.invoke(
        {**call, "type": "tool_call"}, {**config, "run_id": uuid.UUID(call["id"])}
    )
    return {"messages": [result]}


def _last_question(messages: list[AnyMessage]) -> int:
    """The index of the trader's last message (what this turn answers), or -1."""
    return max((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=-1)


def _history(state: AgentState) -> list[AnyMessage]:
    """The newest conversation messages up to the trader's last one, without tool plumbing the model does not
    need again. This turn's own answer so far (the coach's) is not among them: a request must end with the
    trader's message (Claude models from 4.6 on answer 400 to one ending with the assistant's); the nodes that
    read it get it as a block (:func:`_coach_answer_block`)."""
    messages = [m for m in state.get("messages", []) if isinstance(m, HumanMessage | AIMessage) and m.content]
    end = _last_question(messages)
    return messages[: end + 1 if end >= 0 else len(messages)][-HISTORY_MESSAGES:]


def _coach_answer_block(state: AgentState) -> list[BaseMessage]:
    """What this turn answered before the current node (the coach's answer), as a block; none when nothing."""
    messages = state.get("messages", [])
    answer = "".join(
        context.message_text(m) for m in messages[_last_question(messages) + 1 :] if isinstance(m, AIMessage)
    )
    return [context.coach_answer_message(answer)] if answer else []


def _current_draft(state: AgentState, runtime: Runtime[TurnContext]) -> dict[str, Any] | None:
    """The draft feedback revises: the thread's, else the one the chat's backtest ran."""
    backtest = runtime.context.backtest if runtime.context else None
    return state.get("draft") or (backtest or {}).get("draft") or None


def _draft_block(state: AgentState, runtime: Runtime[TurnContext]) -> list[BaseMessage]:
    draft = _current_draft(state, runtime)
    return [context.draft_message(draft)] if draft else []


def _backtest_block(runtime: Runtime[TurnContext]) -> BaseMessage:
    return context.backtest_message(runtime.context.backtest if runtime.context else None)


def _named_freely(draft: StrategyDraft, runtime: Runtime[TurnContext]) -> StrategyDraft:
    """The draft under a name none of the user's strategies has (a revision of a deployed draft gets e.g. V2)."""
    taken = runtime.context.taken_names if runtime.context else frozenset()
    name = free_name(draft.name, taken)
    return draft if name == draft.name else draft.model_copy(update={"name": name})


def build_graph(model: BaseChatModel, checkpointer: BaseCheckpointSaver | None) -> CompiledStateGraph:
    def router(state: AgentState, runtime: Runtime[TurnContext]) -> dict[str, Any]:
        messages = [
            SystemMessage(ROUTER_PROMPT),
            *_draft_block(state, runtime),
            _backtest_block(runtime),
            *_history(state),
        ]
        decision = structured(model, RouteDecision, messages)
        log.info("routed to %s (%s)", decision.route, decision.reason)
        return {"route": decision.route, "change": None}

    def strategy_draft(state: AgentState, runtime: Runtime[TurnContext]) -> dict[str, Any]:
        change = state.get("change")
        messages: list[BaseMessage] = [SystemMessage(DRAFT_PROMPT), *_draft_block(state, runtime)]
        if change:  # with the other facts, before the conversation (Anthropic takes system text only there)
            messages += [_backtest_block(runtime), context.change_message(change)]
        messages += _history(state)
        draft = _named_freely(valid_draft(model, messages), runtime)
        payload = draft.model_dump(mode="json")
        call = {"name": DRAFT_TOOL_NAME, "args": {"draft": payload}, "id": str(uuid.uuid4())}
        return {
            "messages": [AIMessage(content="", tool_calls=[call])],
            "draft": payload,
            "revised": bool(_current_draft(state, runtime)),
        }

    def announce(state: AgentState) -> dict[str, Any]:
        prompt = f"{ANNOUNCE_PROMPT}\n\n{context.announce_text(state.get('draft') or {}, state.get('revised', False))}"
        return {"messages": [_streamed(model, [SystemMessage(prompt), *_history(state)])]}

    def coach(state: AgentState, runtime: Runtime[TurnContext]) -> dict[str, Any]:
        messages = [SystemMessage(COACH_PROMPT), *_draft_block(state, runtime), _backtest_block(runtime)]
        return {"messages": [_streamed(model, [*messages, *_history(state)])]}

    def coach_revision(state: AgentState, runtime: Runtime[TurnContext]) -> dict[str, Any]:
        if not _can_revise_after_backtest(state, runtime):
            return {"change": None}
        messages = [
            SystemMessage(REVISION_PROMPT),
            *_draft_block(state, runtime),
            _backtest_block(runtime),
            *_coach_answer_block(state),
        ]
        decision = structured(model, CoachRevision, [*messages, *_history(state)])
        change = decision.change.strip() if decision.revise else ""
        log.info("the coach recommends %s", change or "no change")
        return {"change": change or None}

    def general(state: AgentState) -> dict[str, Any]:
        messages = [SystemMessage(GENERAL_PROMPT), *_history(state)]
        return {"messages": [_streamed(model, messages)]}

    graph = StateGraph(AgentState, context_schema=TurnContext)
    graph.add_node("router", router)
    graph.add_node("strategy_draft", strategy_draft)
    graph.add_node("tools", show_draft)
    graph.add_node("announce", announce)
    graph.add_node("coach", coach)
    graph.add_node("coach_revision", coach_revision)
    graph.add_node("general", general)
    graph.add_edge(START, "router")
    graph.add_conditional_edges("router", route)
    graph.add_edge("coach", "coach_revision")
    graph.add_conditional_edges("coach_revision", after_coach)
    graph.add_edge("strategy_draft", "tools")
    graph.add_edge("tools", "announce")
    graph.add_edge("announce", END)
    graph.add_edge("general", END)
    return graph.compile(checkpointer=checkpointer)


def route(state: AgentState) -> Literal["strategy_draft", "coach", "general"]:
    """Where the router's decision leads."""
    return {"strategy": "strategy_draft", "coach": "coach"}.get(state.get("route", ""), "general")  # type: ignore[return-value]


def after_coach(state: AgentState) -> Literal["strategy_draft", "__end__"]:
    """To the draft node when the coach's answer names a change, else the turn ends."""
    return "strategy_draft" if state.get("change") else END


def _can_revise_after_backtest(state: AgentState, runtime: Runtime[TurnContext]) -> bool:
    """The coach can recommend a change only with a finished backtest and a draft to change."""
    return bool(runtime.context and runtime.context.backtest) and bool(_current_draft(state, runtime))


def _streamed(model: BaseChatModel, messages: list[BaseMessage]) -> AIMessage:
    """Stream the answer (LangGraph forwards each chunk as a token) and return it whole, under the
    chunks' message id so the stream does not repeat it as a new message."""
    chunks = list(model.stream(messages))
    text = "".join(str(chunk.content) for chunk in chunks)
    return AIMessage(content=text, id=chunks[0].id if chunks else None)
