"""Timeframes (:mod:`gentrade.agents.offline.timeframes`): the words for one, the nearest supported one, and
higher timeframes that do not fit (said, never hidden).
"""

from __future__ import annotations

import pytest

from gentrade.agents.offline.message import Reading, take_timeframe
from gentrade.agents.offline.text import normalize
from gentrade.agents.offline.timeframes import supported_timeframe
from gentrade.strategies.draft import StrategyDraft
from tests.offline_drafts import draft, every, ind, rule


def test_a_higher_timeframe_needing_more_history_than_freqtrade_loads_is_said_not_hidden() -> None:
    data, assumptions = draft("1h: buy when price is above the daily EMA 200")

    assert data["timeframe"] == "1h"
    assert data["indicators"] == [ind("ema", "ema200", "4h", period=200)]
    assert data["entry_conditions"] == every(rule("close", ">", "ema200"))
    said = assumptions[0]  # the first thing the announcement says
    assert said.startswith("EMA(200) on 1d cannot be used on 1h candles"), assumptions
    assert "more than Freqtrade loads (4999)" in said
    assert "Using EMA(200) on 4h instead" in said


def test_an_indicator_timeframe_below_the_strategy_s_is_said_and_not_used() -> None:
    data, assumptions = draft("on the 4h chart buy when the 1h RSI is below 30")

    assert data["timeframe"] == "4h"
    assert data["indicators"] == [ind("rsi")]
    assert any("RSI on 1h" in a and "read on 4h" in a for a in assumptions), assumptions


def test_a_higher_timeframe_trend_filter_then_a_timeframe_switch(design_draft: StrategyDraft) -> None:
    data, _ = draft("use the 4h EMA 50 as a trend filter", design_draft)
    assert data["indicators"] == [ind("rsi"), ind("ema", "ema50", "4h", period=50)]
    assert data["entry_conditions"] == every(rule("rsi", "<", 30), rule("close", ">", "ema50"))

    switched, _ = draft("switch to 4h", StrategyDraft.model_validate(data))
    assert switched["timeframe"] == "4h"
    assert switched["indicators"] == [ind("rsi"), ind("ema", "ema50", period=50)]  # now the strategy's own

    daily, assumptions = draft("switch to 1d", StrategyDraft.model_validate(data))
    assert daily["indicators"] == [ind("rsi"), ind("ema", "ema50", period=50)]
    assert any("EMA(50) on 4h is below the new 1d timeframe" in a for a in assumptions)


def timeframe_of(text: str) -> tuple[str | None, str | None]:
    """The strategy timeframe a message names, and the note when it is not a supported one."""
    reading = Reading()
    take_timeframe(reading, normalize(text))
    return reading.timeframe, reading.timeframe_note


@pytest.mark.parametrize(
    ("text", "timeframe"),
    [
        ("on the 4h chart", "4h"),
        ("15 min candles", "15m"),
        ("hourly", "1h"),
        ("four hour candles", "4h"),
        ("daily", "1d"),
        ("the 20-day SMA", None),  # a period, not a timeframe
        ("half an hour candles", "30m"),  # not "an hour"
        ("on the half-hourly chart", "30m"),
        ("an hour chart", "1h"),
    ],
)
def test_the_words_for_a_timeframe(text: str, timeframe: str | None) -> None:
    assert timeframe_of(text) == (timeframe, None)


def test_an_unsupported_timeframe_is_read_as_the_nearest_and_said() -> None:
    assert timeframe_of("2h chart") == ("1h", "2h is not a supported timeframe (1m 5m 15m 30m 1h 4h 1d): using 1h.")
    assert supported_timeframe("1w")[0] == "1d"


def test_between_two_supported_timeframes_the_lower_one_is_used() -> None:
    assert supported_timeframe("45m")[0] == "30m"
    assert supported_timeframe("4h") == ("4h", None)
