"""General answers (:mod:`gentrade.agents.offline.answers`), and what no draft can hold: refused plainly, never
substituted.
"""

from __future__ import annotations

import pytest

from gentrade.agents.offline import FALLBACK_ANSWER, classify, draft_from_text, general_answer
from tests.offline_drafts import GENERAL_MESSAGES


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


def test_questions_about_the_newer_indicators_get_answers() -> None:
    assert "flip" in general_answer("what is Supertrend?")
    assert "-80" in general_answer("explain Williams %R")
    assert "Stochastic formula to RSI" in general_answer("what is stoch RSI?")
    assert "+DI" in general_answer("what does +DI mean?")


UNSUPPORTED = [
    ("Make me a ZigZag strategy", "ZigZag"),
    ("buy when Heikin Ashi candles turn green", "Heikin Ashi"),
    ("Elliott wave strategy on BTC", "Elliott waves"),
    ("buy at the Fibonacci 61.8% retracement", "Fibonacci"),
    ("RSI divergence strategy on ETH 4h", "divergences"),
    ("buy when RSI < 30 and the TRIX crosses zero", "TRIX"),
]


@pytest.mark.parametrize(("text", "name"), UNSUPPORTED)
def test_an_indicator_outside_the_catalogue_is_refused_plainly_never_substituted(text: str, name: str) -> None:
    assert classify(text, has_previous_draft=False).route == "general"
    assert classify(text, has_previous_draft=True).route == "general"
    answer = general_answer(text)
    assert answer.startswith("I can't draft that: ")
    assert name in answer
    assert "not among the indicators" in answer
    assert "have not drafted or changed anything" in answer
    _, assumptions = draft_from_text(text, None)  # called directly, the draft says so first
    assert name in assumptions[0]
    assert "nothing stands in for it" in assumptions[0]
