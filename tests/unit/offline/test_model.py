"""The offline chat model (:mod:`gentrade.agents.offline.model`): LangChain's chat-model interface over the
rules, the conversation markers, structured output, streaming. No network, no key.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, SystemMessage
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable

from gentrade.agents.context import ANNOUNCE_HEADING, DRAFT_HEADING, announce_text, block, draft_message
from gentrade.agents.offline import (
    OfflineChatModel,
    assumptions_for,
    describe_draft,
    draft_for,
    draft_from_text,
    general_answer,
    previous_draft,
)
from gentrade.agents.schemas import DRAFT_TOOL_NAME, RouteDecision
from gentrade.strategies.draft import StrategyDraft
from gentrade.strategies.llm_codegen import StrategyCode
from tests.offline_drafts import DESIGN_MESSAGE


@pytest.fixture
def model() -> OfflineChatModel:
    return OfflineChatModel()


def test_invoke_answers_the_last_human_message(model: OfflineChatModel) -> None:
    reply = model.invoke([SystemMessage("You are helpful."), HumanMessage("what is RSI?")])

    assert isinstance(reply, AIMessage)
    assert reply.content == general_answer("what is RSI?")
    assert model.invoke("what is RSI?").content == reply.content


def test_stream_yields_word_chunks_that_add_up(model: OfflineChatModel) -> None:
    messages = [HumanMessage("Explain the Sharpe ratio")]
    chunks = list(model.stream(messages))

    assert len(chunks) > 5
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    assert "".join(str(c.content) for c in chunks) == model.invoke(messages).content


def test_async_api_matches(model: OfflineChatModel) -> None:
    async def run() -> tuple[str, str]:
        reply = await model.ainvoke("what is MACD?")
        chunks = [str(c.content) async for c in model.astream("what is MACD?")]
        return str(reply.content), "".join(chunks)

    whole, streamed = asyncio.run(run())

    assert whole == streamed == general_answer("what is MACD?")


def test_stream_tokens_reach_callbacks(model: OfflineChatModel) -> None:
    from langchain_core.callbacks import BaseCallbackHandler

    class Collect(BaseCallbackHandler):
        def __init__(self) -> None:
            self.tokens: list[str] = []

        def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
            self.tokens.append(token)

    collect = Collect()
    text = "".join(str(c.content) for c in model.stream("hello", config={"callbacks": [collect]}))

    assert "".join(collect.tokens) == text
    assert len([t for t in collect.tokens if t]) > 5


def test_structured_route_decision(model: OfflineChatModel) -> None:
    router = model.with_structured_output(RouteDecision)

    assert isinstance(router, Runnable)
    decision = router.invoke([SystemMessage("Route it."), HumanMessage(DESIGN_MESSAGE)])
    assert isinstance(decision, RouteDecision)
    assert decision.route == "strategy"
    assert router.invoke([HumanMessage("what does drawdown mean?")]).route == "general"


def test_structured_draft(model: OfflineChatModel) -> None:
    drafter = model.with_structured_output(StrategyDraft)
    messages = [SystemMessage("Draft it."), HumanMessage(DESIGN_MESSAGE)]

    result = drafter.invoke(messages)

    assert isinstance(result, StrategyDraft)
    assert result == draft_from_text(DESIGN_MESSAGE, None)[0]
    assert assumptions_for(messages) == draft_from_text(DESIGN_MESSAGE, None)[1]
    assert draft_for(messages) == draft_from_text(DESIGN_MESSAGE, None)


def test_structured_output_accepts_a_chat_prompt_value(model: OfflineChatModel) -> None:
    prompt = ChatPromptTemplate.from_messages([("system", "Route the message."), ("human", "{text}")])

    chain = prompt | model.with_structured_output(RouteDecision)

    assert chain.invoke({"text": "what is RSI?"}).route == "general"
    assert (prompt | model).invoke({"text": "what is RSI?"}).content == general_answer("what is RSI?")


def test_include_raw_carries_the_assumptions(model: OfflineChatModel) -> None:
    result = model.with_structured_output(StrategyDraft, include_raw=True).invoke("an RSI strategy on ETH")

    assert isinstance(result["parsed"], StrategyDraft)
    assert result["parsing_error"] is None
    raw = result["raw"]
    assert raw.tool_calls[0]["name"] == "StrategyDraft"
    assert raw.tool_calls[0]["args"] == result["parsed"].model_dump(mode="json")
    assert raw.response_metadata["assumptions"] == draft_from_text("an RSI strategy on ETH", None)[1]


def test_previous_draft_from_the_draft_block(model: OfflineChatModel, design_draft: StrategyDraft) -> None:
    marker = draft_message(design_draft.model_dump(mode="json"))
    messages = [SystemMessage("Draft it."), marker, HumanMessage("use EMA 50 as a trend filter")]

    assert previous_draft(messages) == design_draft
    assert model.with_structured_output(RouteDecision).invoke(messages).route == "strategy"
    revised = model.with_structured_output(StrategyDraft).invoke(messages)
    assert revised == draft_from_text("use EMA 50 as a trend filter", design_draft)[0]
    wrapped = SystemMessage(block(DRAFT_HEADING, {"draft": design_draft.model_dump(mode="json")}))
    assert previous_draft([wrapped, HumanMessage("x")]) == design_draft


def test_previous_draft_from_a_tool_call(design_draft: StrategyDraft) -> None:
    call = {"name": DRAFT_TOOL_NAME, "args": {"draft": design_draft.model_dump(mode="json")}, "id": "call_1"}
    announced = AIMessage(content="", tool_calls=[call])

    assert previous_draft([HumanMessage(DESIGN_MESSAGE), announced, HumanMessage("make the stop 3%")]) == design_draft
    # A draft announced after the last human message is the answer to it, not the previous draft.
    assert previous_draft([HumanMessage(DESIGN_MESSAGE), announced]) is None
    assert previous_draft([HumanMessage("hi")]) is None


def test_announcement_marker(model: OfflineChatModel, design_draft: StrategyDraft) -> None:
    assumptions = ["No take-profit named: closing any trade that reaches 10% profit."]
    payload = {"draft": design_draft.model_dump(mode="json"), "assumptions": assumptions, "revised": False}
    messages = [SystemMessage(f"Announce the draft.\n{block(ANNOUNCE_HEADING, payload)}"), HumanMessage("hi")]

    reply = model.invoke(messages)

    assert reply.content == describe_draft(design_draft, assumptions, revised=False)
    assert "".join(str(c.content) for c in model.stream(messages)) == reply.content


def test_announcement_without_assumptions_recalls_them(model: OfflineChatModel) -> None:
    messages = [HumanMessage("an RSI strategy on ETH")]
    drafted = model.with_structured_output(StrategyDraft).invoke(messages)
    payload = {"draft": drafted.model_dump(mode="json"), "revised": False}

    reply = model.invoke([SystemMessage(block(ANNOUNCE_HEADING, payload)), *messages])

    assert reply.content == describe_draft(drafted, assumptions_for(messages), revised=False)
    assert "Assumptions: No timeframe named: using 1h." in str(reply.content)


def test_revised_announcement_recalls_the_revision_assumptions(
    model: OfflineChatModel, design_draft: StrategyDraft
) -> None:
    marker = draft_message(design_draft.model_dump(mode="json"))
    feedback = HumanMessage("use EMA 50 as a trend filter")
    revised = model.with_structured_output(StrategyDraft).invoke([marker, feedback])
    announced = announce_text(revised.model_dump(mode="json"), revised=True)
    prompt = f"Explain the draft given after '{ANNOUNCE_HEADING}' in a few sentences.\n\n{announced}"

    reply = str(model.invoke([SystemMessage(prompt), feedback]).content)

    assert reply.startswith("I've revised the draft: RsiEmaTrend")
    assert "Assumptions: Added EMA(50) as a trend filter" in reply


def test_announcement_with_a_broken_payload_fails_loudly(model: OfflineChatModel) -> None:
    with pytest.raises(ValueError, match="draft to announce"):
        model.invoke([SystemMessage(ANNOUNCE_HEADING + "\n{not json"), HumanMessage("hi")])


def test_bind_tools_accepts_and_ignores_tools(model: OfflineChatModel) -> None:
    def strategy_draft_output_tool(draft: dict[str, Any]) -> str:
        """Announce a draft."""
        return "ok"

    bound = model.bind_tools([strategy_draft_output_tool, StrategyDraft], tool_choice="any")

    reply = bound.invoke([HumanMessage("what is a backtest?")])
    assert isinstance(reply, AIMessage)
    assert reply.tool_calls == []
    assert reply.content == general_answer("what is a backtest?")


def test_only_route_and_draft_schemas_are_offered(model: OfflineChatModel) -> None:
    with pytest.raises(NotImplementedError, match="compiler"):
        model.with_structured_output(StrategyCode)
    with pytest.raises(NotImplementedError):
        model.with_structured_output({"title": "Other", "type": "object", "properties": {}})


def test_identity(model: OfflineChatModel) -> None:
    assert model._llm_type == "gentrade-offline"
    assert model.invoke("hi").response_metadata["model_name"] == "gentrade-offline"
