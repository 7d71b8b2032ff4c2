"""Revisions (:mod:`gentrade.agents.offline.revising`): feedback changes only what it names."""

from __future__ import annotations

from typing import Any

import pytest

from gentrade.agents.offline import draft_from_text
from gentrade.samples import DRAFT
from gentrade.strategies.draft import StrategyDraft
from tests.offline_drafts import (
    RISING_FILTER,
    SUPERTREND_FLIP,
    ago,
    anyof,
    conditions,
    draft,
    every,
    ind,
    indicator,
    rule,
    times,
)


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
        ("cut losses at 8 percent", lambda d: d["stoploss"] == -0.08),
        ("take 6% at once and 2% after 2 hours", lambda d: d["minimal_roi"] == {"0": 0.06, "120": 0.02}),
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


def test_make_it_a_higher_timeframe_average_instead() -> None:
    base = draft_from_text("buy when RSI < 30 with EMA 50 as a trend filter", None)[0]

    data, assumptions = draft("make it 4h EMA 100 instead", base)

    assert data["indicators"] == [ind("rsi"), ind("ema", "ema100", "4h", period=100)]
    assert data["entry_conditions"] == every(rule("rsi", "<", 30), rule("close", ">", "ema100"))
    assert data["exit_conditions"] == base.model_dump()["exit_conditions"]
    assert "Changed EMA(50) to EMA(100) on 4h." in assumptions


def test_make_it_instead_keeps_a_rising_rule_on_the_new_average() -> None:
    base = draft_from_text(RISING_FILTER, None)[0]

    data, _ = draft("make it 4h EMA 100 instead", base)

    assert data["indicators"] == [ind("rsi"), ind("ema", "ema100", "4h", period=100)]
    assert data["entry_conditions"] == every(rule("rsi", "<", 30), rule("ema100", ">", ago("ema100")))


def test_require_a_volume_confirmation_then_remove_it(design_draft: StrategyDraft) -> None:
    before = design_draft.model_dump()

    data, _ = draft("require volume 2x average too", design_draft)
    assert data["indicators"] == [ind("rsi"), ind("volume_sma")]
    assert data["entry_conditions"] == every(rule("rsi", "<", 30), rule("volume", ">", times("volume_sma", 2)))
    assert (data["exit_conditions"], data["pairs"], data["stoploss"]) == (
        before["exit_conditions"],
        before["pairs"],
        before["stoploss"],
    )

    stricter, _ = draft("volume above 3x its average instead", StrategyDraft.model_validate(data))
    assert stricter["entry_conditions"] == every(rule("rsi", "<", 30), rule("volume", ">", times("volume_sma", 3)))

    removed, _ = draft("remove the volume filter", StrategyDraft.model_validate(stricter))
    assert removed == before


def test_add_a_newer_indicator_exit(design_draft: StrategyDraft) -> None:
    data, _ = draft("add a Supertrend exit", design_draft)

    assert data["exit_conditions"] == anyof(rule("rsi", ">", 70), SUPERTREND_FLIP[1])
