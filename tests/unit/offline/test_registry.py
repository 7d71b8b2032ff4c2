"""The registry (:mod:`gentrade.agents.offline.registry`): one id per distinct indicator, reused by every mention."""

from __future__ import annotations

from gentrade.agents.offline.registry import Registry
from gentrade.agents.offline.vocabulary import Mention


def test_every_mention_of_one_indicator_gets_its_id() -> None:
    registry = Registry([], revising=False)

    assert registry.resolve(Mention("rsi")) == registry.resolve(Mention("rsi")) == "rsi"
    assert list(registry.items) == ["rsi"]


def test_averages_are_told_apart_by_their_period() -> None:
    registry = Registry([], revising=False)

    fast, slow = registry.resolve(Mention("ema", (("period", 9),))), registry.resolve(Mention("ema", (("period", 21),)))

    assert (fast, slow) == ("ema9", "ema21")
    assert registry.resolve(Mention("ema", (("period", 9),))) == "ema9"


def test_a_second_oscillator_with_other_parameters_is_a_second_indicator() -> None:
    registry = Registry([], revising=False)

    assert registry.resolve(Mention("rsi", (("period", 14),))) == "rsi"
    assert registry.resolve(Mention("rsi", (("period", 7),))) == "rsi7"


def test_invalid_parameters_fall_back_to_the_defaults_and_say_so() -> None:
    registry = Registry([], revising=False)

    assert registry.resolve(Mention("rsi", (("period", 0),))) == "rsi"
    assert registry.items["rsi"]["params"] == {"period": 14}
    assert registry.notes == ["RSI parameters (0) are not valid: using the defaults."]


def test_a_revision_changes_the_draft_s_own_indicator_and_says_so() -> None:
    registry = Registry([{"id": "rsi", "type": "rsi", "params": {"period": 14}}], revising=True)

    assert registry.resolve(Mention("rsi", (("period", 7),))) == "rsi"
    assert registry.items["rsi"]["params"] == {"period": 7}
    assert registry.notes == ["Changed RSI parameters from (14) to (7)."]
