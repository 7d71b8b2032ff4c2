"""The offline provider: deterministic drafting from plain English, routing, answers, and the LangChain chat model.

No network, no key: everything here is pure rules, so these tests are fast and exact.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, SystemMessage
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable

from gentrade.agents.offline import (
    ANNOUNCE_MARKER,
    FALLBACK_ANSWER,
    PREVIOUS_DRAFT_MARKER,
    OfflineChatModel,
    assumptions_for,
    classify,
    describe_draft,
    draft_for,
    draft_from_text,
    general_answer,
    previous_draft,
)
from gentrade.agents.schemas import DRAFT_TOOL_NAME, RouteDecision, StrategyCode
from gentrade.strategies.draft import StrategyDraft, parse_draft
from tests.samples import DRAFT

DESIGN_MESSAGE = "buy BTC and ETH when RSI(14) drops under 30 on the 1h chart, sell above 70, 5% stop loss"


def draft(text: str, previous: StrategyDraft | None = None) -> tuple[dict[str, Any], list[str]]:
    """Draft from text, check it passes the API's validation, and return it as plain data."""
    result, assumptions = draft_from_text(text, previous)
    assert isinstance(result, StrategyDraft)
    assert parse_draft(result.model_dump()) == result
    assert all(isinstance(a, str) and a for a in assumptions)
    return result.model_dump(), assumptions


def conditions(node: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Every condition in a group tree, in order."""
    if not node:
        return []
    for key in ("all", "any"):
        if key in node:
            return [c for child in node[key] for c in conditions(child)]
    return [node]


def rule(left: str, op: str, right: Any) -> dict[str, Any]:
    return {"left": left, "op": op, "right": right}


def indicator(data: dict[str, Any], ident: str) -> dict[str, Any]:
    return next(i for i in data["indicators"] if i["id"] == ident)


@pytest.fixture(scope="module")
def design_draft() -> StrategyDraft:
    return draft_from_text(DESIGN_MESSAGE, None)[0]


# --- drafting ---------------------------------------------------------------------------------------------


def test_design_example_message() -> None:
    data, assumptions = draft(DESIGN_MESSAGE)

    assert data["pairs"] == ["BTC/USDT", "ETH/USDT"]
    assert data["timeframe"] == "1h"
    assert data["indicators"] == [{"id": "rsi", "type": "rsi", "params": {"period": 14}}]
    assert conditions(data["entry_conditions"]) == [rule("rsi", "<", 30)]
    assert conditions(data["exit_conditions"]) == [rule("rsi", ">", 70)]
    assert data["stoploss"] == -0.05
    assert data["can_short"] is False
    assert data["name"] == "RsiStrategy"
    assert not any("pair" in a or "timeframe" in a or "stop loss" in a for a in assumptions)


def test_unnamed_exit_is_assumed_and_stated() -> None:
    data, assumptions = draft("an RSI strategy on BTC/USDT 1h with a 5% stop")

    assert data["pairs"] == ["BTC/USDT"]
    assert data["timeframe"] == "1h"
    assert data["stoploss"] == -0.05
    assert conditions(data["entry_conditions"]) == [rule("rsi", "<", 30)]
    assert conditions(data["exit_conditions"]) == [rule("rsi", ">", 70)]
    assert any(a.startswith("No exit rule named") and "70" in a for a in assumptions)


def test_nothing_named_gives_the_defaults_and_says_so() -> None:
    data, assumptions = draft("make me some money")

    assert data["pairs"] == ["BTC/USDT"]
    assert data["timeframe"] == "1h"
    assert data["stoploss"] == -0.10
    assert conditions(data["entry_conditions"]) == [rule("rsi", "<", 30)]
    assert conditions(data["exit_conditions"]) == [rule("rsi", ">", 70)]
    assert "No pair named: using BTC/USDT." in assumptions
    assert "No timeframe named: using 1h." in assumptions
    assert any(a.startswith("No stop loss named") for a in assumptions)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "MACD cross strategy on the daily chart for bitcoin and ethereum",
            {
                "timeframe": "1d",
                "pairs": ["BTC/USDT", "ETH/USDT"],
                "entry": [rule("macd.macd", "crosses_above", "macd.signal")],
                "exit": [rule("macd.macd", "crosses_below", "macd.signal")],
            },
        ),
        (
            "Buy when MACD crosses above its signal on the 4 hour chart",
            {"timeframe": "4h", "entry": [rule("macd.macd", "crosses_above", "macd.signal")]},
        ),
        (
            "buy when price closes below the lower Bollinger band, sell when it touches the upper Bollinger band",
            {"entry": [rule("close", "<", "bb.lower")], "exit": [rule("close", ">=", "bb.upper")]},
        ),
        (
            "15-minute solana strategy: go long when RSI 7 is under 20",
            {"timeframe": "15m", "pairs": ["SOL/USDT"], "entry": [rule("rsi", "<", 20)], "rsi_period": 7},
        ),
        (
            "buy ETH when the 14-period RSI is below 25 and ADX above 25, take profit at 10%, 5m",
            {
                "timeframe": "5m",
                "pairs": ["ETH/USDT"],
                "entry": [rule("rsi", "<", 25), rule("adx", ">", 25)],
                "roi": {"0": 0.10},
            },
        ),
        (
            "go long when the 50 EMA crosses above the 200 EMA, stop loss of 3%",
            {"entry": [rule("ema50", "crosses_above", "ema200")], "stoploss": -0.03},
        ),
        (
            "EMA 9/21 crossover, hourly",
            {"timeframe": "1h", "entry": [rule("ema9", "crosses_above", "ema21")]},
        ),
        (
            "buy when price is above the cloud and above VWAP, stoploss -0.04",
            {
                "entry": [
                    rule("close", ">", "ichimoku.span_a"),
                    rule("close", ">", "ichimoku.span_b"),
                    rule("close", ">", "vwap"),
                ],
                "stoploss": -0.04,
            },
        ),
        (
            "CCI below -100 buy, sell when CCI above 100",
            {"entry": [rule("cci", "<", -100)], "exit": [rule("cci", ">", 100)]},
        ),
        (
            "buy when stochastic %K crosses above %D, sell when MFI is over 80",
            {"entry": [rule("stoch.k", "crosses_above", "stoch.d")], "exit": [rule("mfi", ">", 80)]},
        ),
        (
            "buy AVAX/USDC when RSI is oversold and sell when it is overbought",
            {"pairs": ["AVAX/USDC"], "entry": [rule("rsi", "<", 30)], "exit": [rule("rsi", ">", 70)]},
        ),
        (
            "buy when RSI < 30 with EMA 200 as a trend filter",
            {"entry": [rule("rsi", "<", 30), rule("close", ">", "ema200")]},
        ),
        (
            "buy when MACD histogram turns positive, sell when it turns negative",
            {"entry": [rule("macd.hist", ">", 0)], "exit": [rule("macd.hist", "<", 0)]},
        ),
        (
            "golden cross on bitcoin with a 7% trailing stop",
            {"entry": [rule("sma50", "crosses_above", "sma200")], "stoploss": -0.07, "trailing_stop": True},
        ),
        (
            "buy at RSI 25, sell at RSI 75",
            {"entry": [rule("rsi", "<", 25)], "exit": [rule("rsi", ">", 75)]},
        ),
        (
            "RSI below 30 to buy, and above 70 to sell",
            {"entry": [rule("rsi", "<", 30)], "exit": [rule("rsi", ">", 70)]},
        ),
        (
            "stochastic 20 buy, sell above 80",
            {"entry": [rule("stoch.k", "<", 20)], "exit": [rule("stoch.k", ">", 80)]},
        ),
        (
            "ADX 30 and RSI < 30, 30 minute candles",
            {"timeframe": "30m", "entry": [rule("adx", ">", 30), rule("rsi", "<", 30)]},
        ),
        (
            "RSI < 30 with a vwap filter",
            {"entry": [rule("rsi", "<", 30), rule("close", ">", "vwap")], "exit": [rule("rsi", ">", 70)]},
        ),
    ],
)
def test_phrasings(text: str, expected: dict[str, Any]) -> None:
    data, _ = draft(text)

    for key in ("timeframe", "pairs", "stoploss", "trailing_stop"):
        if key in expected:
            assert data[key] == expected[key], key
    if "roi" in expected:
        assert data["minimal_roi"] == expected["roi"]
    if "entry" in expected:
        assert conditions(data["entry_conditions"]) == expected["entry"]
    if "exit" in expected:
        assert conditions(data["exit_conditions"]) == expected["exit"]
    if "rsi_period" in expected:
        assert indicator(data, "rsi")["params"] == {"period": expected["rsi_period"]}


def test_or_between_entry_rules_makes_an_any_group() -> None:
    data, _ = draft("buy when RSI(14) < 30 or MFI < 20, exit when RSI > 70 and MFI > 80")

    assert data["entry_conditions"] == {"any": [rule("rsi", "<", 30), rule("mfi", "<", 20)]}
    assert data["exit_conditions"] == {"all": [rule("rsi", ">", 70), rule("mfi", ">", 80)]}


def test_unsupported_things_become_assumptions() -> None:
    data, assumptions = draft("short BTC when RSI above 80 on the 2h chart, buy when RSI below 20, with ATR")

    assert data["timeframe"] == "1h"
    assert data["can_short"] is False
    assert indicator(data, "atr")["type"] == "atr"
    assert any("2h is not a supported timeframe" in a for a in assumptions)
    assert any("Shorting" in a for a in assumptions)
    assert any("ATR(14) is calculated" in a for a in assumptions)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "!!!???",
        "RSI(0) below 30",
        "MACD(26, 12, 9) cross",
        "EMA 1 trend filter",
        "stop loss 150%",
        "buy BTC/BTC",
        "buy when 30 < 40",
        "buy when it crosses above",
        "sell sell sell buy buy above below 70 30",
        "\u00fcber RSI \u2264 30 \u2014 sell \u2265 70 \ud83d\ude80",
        "a" * 10_000,
        "buy when RSI < 30 " * 200,
    ],
)
def test_any_text_gives_a_valid_draft(text: str) -> None:
    data, _ = draft(text)

    assert data["entry_conditions"]


def test_drafting_is_deterministic(design_draft: StrategyDraft) -> None:
    for text in (DESIGN_MESSAGE, "an RSI strategy on BTC/USDT 1h with a 5% stop", "EMA 9/21 crossover"):
        assert draft_from_text(text, None) == draft_from_text(text, None)
    revision = "use EMA 50 as a trend filter and make the stop 3%"
    assert draft_from_text(revision, design_draft) == draft_from_text(revision, design_draft)
    first, assumptions = draft_from_text(DESIGN_MESSAGE, None)
    assert describe_draft(first, assumptions, False) == describe_draft(first, assumptions, False)


# --- revising ---------------------------------------------------------------------------------------------


def test_trend_filter_revision_keeps_the_rest(design_draft: StrategyDraft) -> None:
    before = design_draft.model_dump()
    data, assumptions = draft("use EMA 50 as a trend filter", design_draft)

    assert {"id": "ema50", "type": "ema", "params": {"period": 50, "source": "close"}} in data["indicators"]
    assert conditions(data["entry_conditions"]) == [rule("rsi", "<", 30), rule("close", ">", "ema50")]
    for key in ("pairs", "timeframe", "stoploss", "exit_conditions", "minimal_roi", "trailing_stop"):
        assert data[key] == before[key], key
    assert data["name"] == "RsiEmaTrend"  # an automatic name follows the indicators
    assert any("trend filter" in a for a in assumptions)


@pytest.mark.parametrize(
    ("feedback", "check"),
    [
        ("RSI 25 instead of 30", lambda d: conditions(d["entry_conditions"]) == [rule("rsi", "<", 25)]),
        ("make it 25 instead of 30", lambda d: conditions(d["entry_conditions"]) == [rule("rsi", "<", 25)]),
        ("RSI 25", lambda d: conditions(d["entry_conditions"]) == [rule("rsi", "<", 25)]),
        ("sell when RSI is above 75", lambda d: conditions(d["exit_conditions"]) == [rule("rsi", ">", 75)]),
        ("make the stop 3%", lambda d: d["stoploss"] == -0.03),
        ("change the stop from 5% to 4%", lambda d: d["stoploss"] == -0.04),
        ("take profit at 5%", lambda d: d["minimal_roi"] == {"0": 0.05}),
        ("use a trailing stop", lambda d: d["trailing_stop"] is True),
        ("switch to 4h", lambda d: d["timeframe"] == "4h"),
        ("add SOL", lambda d: d["pairs"] == ["BTC/USDT", "ETH/USDT", "SOL/USDT"]),
        ("drop ETH", lambda d: d["pairs"] == ["BTC/USDT"]),
        ("only trade solana", lambda d: d["pairs"] == ["SOL/USDT"]),
        ("replace BTC with SOL", lambda d: d["pairs"] == ["ETH/USDT", "SOL/USDT"]),
        ("use RSI 7", lambda d: indicator(d, "rsi")["params"] == {"period": 7}),
        ("add ADX above 25 as a filter", lambda d: rule("adx", ">", 25) in conditions(d["entry_conditions"])),
        (
            "also exit when MACD crosses below its signal",
            lambda d: (
                conditions(d["exit_conditions"])
                == [rule("rsi", ">", 70), rule("macd.macd", "crosses_below", "macd.signal")]
            ),
        ),
        ("call it DipHunter", lambda d: d["name"] == "DipHunter"),
    ],
)
def test_revisions_change_only_what_is_named(design_draft: StrategyDraft, feedback: str, check: Any) -> None:
    before = design_draft.model_dump()
    data, _ = draft(feedback, design_draft)

    assert check(data), data
    changed = {key for key in before if before[key] != data[key]} - {"name", "description", "indicators"}
    assert len(changed) <= 1, changed


def test_removing_an_exit_rule(design_draft: StrategyDraft) -> None:
    with_macd, _ = draft_from_text("add a MACD exit", design_draft)
    assert "macd" in [i.id for i in with_macd.indicators]

    data, _ = draft("drop the MACD exit", with_macd)

    assert conditions(data["exit_conditions"]) == [rule("rsi", ">", 70)]
    assert [i["id"] for i in data["indicators"]] == ["rsi"]


def test_removing_the_trend_filter_drops_its_average() -> None:
    named = StrategyDraft.model_validate(DRAFT)  # its EMA 50 has the id "trend"
    data, _ = draft("remove the trend filter", named)

    assert conditions(data["entry_conditions"]) == [rule("rsi", "<", 30)]
    assert [i["id"] for i in data["indicators"]] == ["rsi", "macd"]


def test_changing_a_period_keeps_ids_consistent(design_draft: StrategyDraft) -> None:
    with_filter, _ = draft_from_text("use EMA 50 as a trend filter", design_draft)
    data, _ = draft("use EMA 100 instead of 50", with_filter)

    assert indicator(data, "ema100")["params"]["period"] == 100
    assert rule("close", ">", "ema100") in conditions(data["entry_conditions"])


def test_user_named_drafts_keep_their_name_through_revisions() -> None:
    named = StrategyDraft.model_validate(DRAFT)  # RsiDipBuyer, written by someone else
    data, _ = draft("make the stop 3%", named)

    assert data["name"] == "RsiDipBuyer"
    assert data["stoploss"] == -0.03
    assert data["indicators"] == named.model_dump()["indicators"]


def test_feedback_with_nothing_to_apply_says_so(design_draft: StrategyDraft) -> None:
    data, assumptions = draft("make it more aggressive", design_draft)

    assert data == design_draft.model_dump()
    assert any("unchanged" in a for a in assumptions)


# --- routing and answers ----------------------------------------------------------------------------------

STRATEGY_MESSAGES = [
    DESIGN_MESSAGE,
    "Create an RSI strategy for ETH",
    "build me a MACD crossover bot",
    "I want a strategy that buys dips on solana",
    "Can you make a Bollinger band strategy?",
    "RSI strategy on BTC/USDT 1h with a 5% stop",
    "go long when price is above VWAP",
    "draft a golden cross strategy",
    "What's a good RSI strategy for BTC?",
    "EMA 9/21 crossover on 15m",
    "stop loss 5%, buy when stochastic below 20",
]
FEEDBACK_MESSAGES = [
    "use EMA 50 as a trend filter",
    "make the stop 3%",
    "add ETH",
    "RSI 25 instead of 30",
    "drop the MACD exit",
    "switch to 4h",
    "could you add SOL as well?",
    "make it 25 instead of 30",
    "sell when RSI above 75",
    "what if I use EMA 50 as a trend filter?",
]
GENERAL_MESSAGES = [
    "what is RSI?",
    "how do I deploy?",
    "what does drawdown mean?",
    "hello",
    "thanks!",
    "Explain the Sharpe ratio",
    "What is a stop loss?",
    "how does backtesting work?",
    "what timeframe should I use?",
    "Is RSI better than MACD?",
]


@pytest.mark.parametrize("text", STRATEGY_MESSAGES)
def test_strategy_requests_route_to_strategy(text: str) -> None:
    decision = classify(text, has_previous_draft=False)

    assert decision.route == "strategy"
    assert decision.reason


@pytest.mark.parametrize("text", FEEDBACK_MESSAGES)
def test_feedback_on_a_draft_routes_to_strategy(text: str) -> None:
    assert classify(text, has_previous_draft=True).route == "strategy"


@pytest.mark.parametrize("text", GENERAL_MESSAGES)
def test_questions_route_to_general(text: str) -> None:
    assert classify(text, has_previous_draft=False).route == "general"
    assert classify(text, has_previous_draft=True).route == "general"


@pytest.mark.parametrize("text", GENERAL_MESSAGES)
def test_general_answers(text: str) -> None:
    answer = general_answer(text)

    assert answer
    assert answer == general_answer(text)
    assert answer != FALLBACK_ANSWER


def test_general_answer_picks_the_topic_and_falls_back_politely() -> None:
    assert "Relative Strength" in general_answer("what is RSI?")
    assert "Deploy" in general_answer("how do I deploy a draft?")
    assert "peak" in general_answer("what does drawdown mean?")
    assert general_answer("what's the weather?") == FALLBACK_ANSWER
    assert "offline assistant" in FALLBACK_ANSWER


def test_describe_draft_says_what_the_draft_does() -> None:
    text = describe_draft(StrategyDraft.model_validate(DRAFT), ["No timeframe named: using 1h."], revised=True)

    assert text.startswith("I've revised the draft: RsiDipBuyer")
    assert "BTC/USDT and ETH/USDT on 1h candles" in text
    assert "RSI(14) is below 30 and the close is above EMA(50)" in text
    assert "RSI(14) is above 70 or the MACD line crosses below the MACD signal line" in text
    assert "Stop loss 5%" in text
    assert "Assumptions: No timeframe named: using 1h." in text


# --- the LangChain chat model -----------------------------------------------------------------------------


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


def test_previous_draft_from_the_system_marker(model: OfflineChatModel, design_draft: StrategyDraft) -> None:
    marker = SystemMessage(PREVIOUS_DRAFT_MARKER + json.dumps(design_draft.model_dump(mode="json")))
    messages = [SystemMessage("Draft it."), marker, HumanMessage("use EMA 50 as a trend filter")]

    assert previous_draft(messages) == design_draft
    assert model.with_structured_output(RouteDecision).invoke(messages).route == "strategy"
    revised = model.with_structured_output(StrategyDraft).invoke(messages)
    assert revised == draft_from_text("use EMA 50 as a trend filter", design_draft)[0]
    wrapped = SystemMessage(PREVIOUS_DRAFT_MARKER + json.dumps({"draft": design_draft.model_dump(mode="json")}))
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
    messages = [SystemMessage(f"Announce the draft.\n{ANNOUNCE_MARKER}{json.dumps(payload)}"), HumanMessage("hi")]

    reply = model.invoke(messages)

    assert reply.content == describe_draft(design_draft, assumptions, revised=False)
    assert "".join(str(c.content) for c in model.stream(messages)) == reply.content


def test_announcement_without_assumptions_recalls_them(model: OfflineChatModel) -> None:
    messages = [HumanMessage("an RSI strategy on ETH")]
    drafted = model.with_structured_output(StrategyDraft).invoke(messages)
    payload = {"draft": drafted.model_dump(mode="json"), "revised": False}

    reply = model.invoke([SystemMessage(ANNOUNCE_MARKER + json.dumps(payload)), *messages])

    assert reply.content == describe_draft(drafted, assumptions_for(messages), revised=False)
    assert "Assumptions: No timeframe named: using 1h." in str(reply.content)


def test_revised_announcement_recalls_the_revision_assumptions(
    model: OfflineChatModel, design_draft: StrategyDraft
) -> None:
    marker = SystemMessage(PREVIOUS_DRAFT_MARKER + json.dumps(design_draft.model_dump(mode="json")))
    feedback = HumanMessage("use EMA 50 as a trend filter")
    revised = model.with_structured_output(StrategyDraft).invoke([marker, feedback])
    payload = json.dumps({"draft": revised.model_dump(mode="json"), "revised": True})
    prompt = f"Explain the draft that follows {ANNOUNCE_MARKER} in a few sentences.\n{ANNOUNCE_MARKER}{payload}"

    reply = str(model.invoke([SystemMessage(prompt), feedback]).content)

    assert reply.startswith("I've revised the draft: RsiEmaTrend")
    assert "Assumptions: Added EMA(50) as a trend filter" in reply


def test_announcement_with_a_broken_payload_fails_loudly(model: OfflineChatModel) -> None:
    with pytest.raises(ValueError, match="announce-draft"):
        model.invoke([SystemMessage(ANNOUNCE_MARKER + "{not json"), HumanMessage("hi")])


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
