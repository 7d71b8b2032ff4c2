"""The agent's LangGraph ``StateGraph``: router -> strategy_draft -> StrategyDraftOutputTool -> announce, or general.

State is the thread's messages plus the latest draft, checkpointed per chat ``thread_id``. The
draft node asks the model for a ``StrategyDraft`` by structured output (the same pydantic model
the API validates), retrying a malformed answer a bounded number of times, and announces it by
calling ``StrategyDraftOutputTool``; the announce node then streams a short explanation.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Annotated, Any, Literal, TypedDict

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import tool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.graph.state import CompiledStateGraph

from gentrade.agents.offline import ANNOUNCE_MARKER, previous_draft_message
from gentrade.agents.prompts.draft import ANNOUNCE_PROMPT, DRAFT_PROMPT
from gentrade.agents.prompts.general import GENERAL_PROMPT
from gentrade.agents.prompts.router import ROUTER_PROMPT
from gentrade.agents.schemas import DRAFT_TOOL_NAME, RouteDecision
from gentrade.agents.structured import structured, valid_draft
from gentrade.strategies.card import render_card
from gentrade.strategies.draft import StrategyDraft

log = logging.getLogger(__name__)
HISTORY_MESSAGES = 20  # the newest messages the model sees; the draft itself is passed in full


class AgentState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    route: str
    draft: dict[str, Any] | None
    revised: bool


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


def _history(state: AgentState) -> list[AnyMessage]:
    """The newest conversation messages, without tool plumbing the model does not need again."""
    messages = [m for m in state.get("messages", []) if isinstance(m, HumanMessage | AIMessage) and m.content]
    return messages[-HISTORY_MESSAGES:]


def _previous_draft(state: AgentState) -> list[BaseMessage]:
    draft = state.get("draft")
    return [previous_draft_message(StrategyDraft.model_validate(draft))] if draft else []


def build_graph(model: BaseChatModel, checkpointer: BaseCheckpointSaver | None) -> CompiledStateGraph:
    def router(state: AgentState) -> dict[str, Any]:
        messages = [SystemMessage(ROUTER_PROMPT), *_previous_draft(state), *_history(state)]
        decision = structured(model, RouteDecision, messages)
        log.info("routed to %s (%s)", decision.route, decision.reason)
        return {"route": decision.route}

    def strategy_draft(state: AgentState) -> dict[str, Any]:
        messages: list[BaseMessage] = [SystemMessage(DRAFT_PROMPT), *_previous_draft(state), *_history(state)]
        draft = valid_draft(model, messages)
        payload = draft.model_dump(mode="json")
        call = {"name": DRAFT_TOOL_NAME, "args": {"draft": payload}, "id": str(uuid.uuid4())}
        return {
            "messages": [AIMessage(content="", tool_calls=[call])],
            "draft": payload,
            "revised": bool(state.get("draft")),
        }

    def announce(state: AgentState) -> dict[str, Any]:
        context = json.dumps({"draft": state.get("draft"), "revised": state.get("revised", False)})
        messages = [SystemMessage(f"{ANNOUNCE_PROMPT}\n{ANNOUNCE_MARKER}{context}"), *_history(state)]
        return {"messages": [_streamed(model, messages)]}

    def general(state: AgentState) -> dict[str, Any]:
        messages = [SystemMessage(GENERAL_PROMPT), *_history(state)]
        return {"messages": [_streamed(model, messages)]}

    def route(state: AgentState) -> Literal["strategy_draft", "general"]:
        return "strategy_draft" if state.get("route") == "strategy" else "general"

    graph = StateGraph(AgentState)
    graph.add_node("router", router)
    graph.add_node("strategy_draft", strategy_draft)
    graph.add_node("tools", show_draft)
    graph.add_node("announce", announce)
    graph.add_node("general", general)
    graph.add_edge(START, "router")
    graph.add_conditional_edges("router", route)
    graph.add_edge("strategy_draft", "tools")
    graph.add_edge("tools", "announce")
    graph.add_edge("announce", END)
    graph.add_edge("general", END)
    return graph.compile(checkpointer=checkpointer)


def _streamed(model: BaseChatModel, messages: list[BaseMessage]) -> AIMessage:
    """Stream the answer (LangGraph forwards each chunk as a token) and return it whole, under the
    chunks' message id so the stream does not repeat it as a new message."""
    chunks = list(model.stream(messages))
    text = "".join(str(chunk.content) for chunk in chunks)
    return AIMessage(content=text, id=chunks[0].id if chunks else None)
