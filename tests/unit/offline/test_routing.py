"""Routing (:mod:`gentrade.agents.offline.routing`): strategy work or a general question."""

from __future__ import annotations

import pytest

from gentrade.agents.offline import classify
from tests.offline_drafts import DESIGN_MESSAGE, GENERAL_MESSAGES

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


@pytest.mark.parametrize(
    "feedback",
    [
        "make it 4h EMA 100 instead",
        "require volume 2x average too",
        "remove the volume filter",
        "add a Supertrend exit",
    ],
)
def test_feedback_in_the_broader_language_routes_to_the_draft(feedback: str) -> None:
    assert classify(feedback, has_previous_draft=True).route == "strategy"


COACH_QUESTIONS = [
    "why did it lose?",
    "Why did my strategy lose money?",
    "what went wrong with ETH?",
    "how can I improve this?",
    "How did it do?",
    "why so few trades?",
    "why didn't it trade",
    "explain the results",
    "what happened in the backtest?",
    "how could we improve it",
    "why did it loose money??",
    "what can I do better?",
]


@pytest.mark.parametrize("text", COACH_QUESTIONS)
def test_questions_about_the_backtest_route_to_the_coach(text: str) -> None:
    assert classify(text, has_previous_draft=True).route == "coach"
    assert classify(text, has_previous_draft=False).route == "coach"


@pytest.mark.parametrize("text", ["improve it by adding a 5% stop loss", "how does backtesting work?"])
def test_edits_and_concepts_do_not_go_to_the_coach(text: str) -> None:
    assert classify(text, has_previous_draft=True).route != "coach"
