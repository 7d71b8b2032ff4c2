"""The graph's coach path with the offline model: router -> coach -> coach_revision -> strategy_draft -> tools ->
announce, on an in-memory checkpointer, with the turn's context (the backtest, the names taken)."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver

from gentrade.agents.graph import TurnContext, build_graph
from gentrade.agents.offline import OfflineChatModel, draft_from_text
from gentrade.agents.offline.coach import NO_BACKTEST_ANSWER
from gentrade.strategies.draft import StrategyDraft

REQUEST = "RSI dip buyer on BTC and ETH 1h: buy when RSI below 30, sell above 70, stop loss 4%"


def backtest_of(draft: StrategyDraft) -> dict[str, Any]:
    figures = {
        "total_trades": 20,
        "win_rate": 0.35,
        "profit_total": -0.06,
        "max_drawdown": 0.08,
        "exit_reasons": [{"reason": "stop_loss", "trades": 12}, {"reason": "roi", "trades": 8}],
        "pairs": [],
    }
    return {"strategy": draft.name, "pairs": draft.pairs, "figures": figures, "draft": draft.model_dump(mode="json")}


class Chat:
    """One thread of the compiled graph: each turn's new messages."""

    def __init__(self) -> None:
        self.graph = build_graph(OfflineChatModel(), InMemorySaver())
        self.config: Any = {"configurable": {"thread_id": "t1"}}

    def turn(self, text: str, context: TurnContext | None = None) -> list[Any]:
        before = len(self.graph.get_state(self.config).values.get("messages", []))
        self.graph.invoke({"messages": [HumanMessage(text)]}, self.config, context=context or TurnContext())
        return self.graph.get_state(self.config).values["messages"][before + 1 :]

    @property
    def draft(self) -> dict[str, Any]:
        return self.graph.get_state(self.config).values["draft"]


@pytest.fixture
def chat() -> Chat:
    return Chat()


def test_the_coach_answers_from_the_figures_and_drafts_the_change(chat: Chat) -> None:
    chat.turn(REQUEST)
    first = StrategyDraft.model_validate(chat.draft)
    context = TurnContext(backtest=backtest_of(first), taken_names=frozenset({first.name}))

    answer, call, card, announcement = chat.turn("why did it lose?", context)

    assert isinstance(answer, AIMessage)
    assert "12 of 20 trades ended at the stop loss" in str(answer.content)
    assert "widen the stop loss from 4% to 6%" in str(answer.content)
    revised = call.tool_calls[0]["args"]["draft"]
    assert revised["stoploss"] == -0.06
    assert revised["name"] == f"{first.name}V2"  # the deployed name is taken
    assert {k: v for k, v in revised.items() if k not in ("stoploss", "name")} == {
        k: v for k, v in chat.draft.items() if k not in ("stoploss", "name")
    }
    assert isinstance(card, ToolMessage)
    assert str(announcement.content).startswith(f"I've revised the draft: {first.name}V2")
    assert "Changed after the backtest: the stop loss is 6% (was 4%), as 12 of 20 hit it." in str(announcement.content)


def test_without_a_backtest_the_coach_says_so_and_changes_nothing(chat: Chat) -> None:
    chat.turn(REQUEST)
    before = chat.draft

    (answer,) = chat.turn("why did it lose?")

    assert answer.content == NO_BACKTEST_ANSWER
    assert chat.draft == before


def test_a_winning_backtest_gets_no_revision(chat: Chat) -> None:
    chat.turn(REQUEST)
    backtest = backtest_of(StrategyDraft.model_validate(chat.draft))
    backtest["figures"]["profit_total"] = 0.05
    backtest["figures"]["exit_reasons"] = [{"reason": "roi", "trades": 20}]

    (answer,) = chat.turn("how can I improve this?", TurnContext(backtest=backtest))

    assert "It did not lose: it made +5%" in str(answer.content)


def test_a_fresh_draft_never_takes_a_name_the_user_has(chat: Chat) -> None:
    name = draft_from_text(REQUEST, None)[0].name
    chat.turn(REQUEST, TurnContext(taken_names=frozenset({name, f"{name}V2"})))
    assert chat.draft["name"] == f"{name}V3"


def test_a_thread_without_a_draft_coaches_the_backtested_draft(chat: Chat) -> None:
    ran = draft_from_text(REQUEST, None)[0]
    messages = chat.turn("why did it lose?", TurnContext(backtest=backtest_of(ran)))
    assert messages[1].tool_calls[0]["args"]["draft"]["stoploss"] == -0.06
