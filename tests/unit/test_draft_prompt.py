"""The hosted models' draft prompt (:mod:`gentrade.agents.prompts.draft`): every example in it is a valid draft,
and it explains the broader draft language.
"""

from __future__ import annotations

from typing import Any

import pytest

from gentrade.agents.prompts.draft import DRAFT_PROMPT, LANGUAGE_EXAMPLES
from gentrade.strategies.draft import parse_draft


@pytest.mark.parametrize(("said", "indicators", "condition"), LANGUAGE_EXAMPLES, ids=[e[0] for e in LANGUAGE_EXAMPLES])
def test_every_prompt_example_is_a_valid_draft(
    said: str, indicators: list[dict[str, Any]], condition: dict[str, Any]
) -> None:
    data = {
        "name": "PromptExample",
        "timeframe": "1h",
        "pairs": ["BTC/USDT"],
        "indicators": indicators,
        "entry_conditions": condition,
        "minimal_roi": {"0": 0.1},
        "stoploss": -0.1,
    }
    assert parse_draft(data).entry_conditions is not None
    assert said in DRAFT_PROMPT


def test_the_prompt_explains_the_broader_language() -> None:
    for words in ('"ago"', '"times"', '"timeframe"', "dc.upper", "willr -100..0", "4999", "ZigZag"):
        assert words in DRAFT_PROMPT, words
