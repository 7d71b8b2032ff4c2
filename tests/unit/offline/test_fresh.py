"""Fresh drafts (:mod:`gentrade.agents.offline.fresh`): what a first message names is drafted exactly, and
everything it leaves out gets a stated default.
"""

from __future__ import annotations

from typing import Any

import pytest

from gentrade.agents.offline import describe_draft, draft_from_text
from gentrade.strategies.draft import StrategyDraft
from tests.offline_drafts import DESIGN_MESSAGE, anyof, conditions, draft, every, indicator, rule, times


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


def test_a_named_indicator_is_said_when_its_rule_is_assumed() -> None:
    _, assumptions = draft("Make me a Supertrend strategy on BTC 1h")

    assert "No Supertrend rule named: buying when the Supertrend direction crosses above 0." in assumptions


def test_or_between_signals_keeps_the_volume_confirmation_required() -> None:
    data, _ = draft("buy when RSI < 30 or MFI < 20, with volume 2x average")

    assert data["entry_conditions"] == every(
        anyof(rule("rsi", "<", 30), rule("mfi", "<", 20)), rule("volume", ">", times("volume_sma", 2))
    )


@pytest.mark.parametrize(
    ("message", "stoploss"),
    [
        ("RSI dip buyer on BTC 1h, cut losses at 8 percent", -0.08),
        ("Buy BTC when the MACD crosses its signal, stop out at 4%", -0.04),
        ("RSI under 30 on ETH, cut my losses at 2.5%", -0.025),
        ("RSI under 30 on ETH, max loss 6%", -0.06),
    ],
)
def test_how_traders_say_stop_loss(message: str, stoploss: float) -> None:
    assert draft(message)[0]["stoploss"] == stoploss


@pytest.mark.parametrize(
    ("message", "roi"),
    [
        (
            "RSI strategy on BTC 1h. Take profit 10 % immediately, 5 % after 60 minutes and 1 % after 3 hours",
            {"0": 0.1, "60": 0.05, "180": 0.01},
        ),
        ("RSI under 30, 4% at once, 2% after 30 min, 1% after 1 day", {"0": 0.04, "30": 0.02, "1440": 0.01}),
        ("RSI under 30, take 3% profit after 2 hours", {"120": 0.03}),
        ("RSI under 30, take profit at 4%", {"0": 0.04}),
    ],
)
def test_an_roi_table_in_words(message: str, roi: dict[str, float]) -> None:
    data, _ = draft(message)
    assert data["minimal_roi"] == roi
    assert conditions(data["entry_conditions"]) == [rule("rsi", "<", 30)]


@pytest.mark.parametrize(
    ("message", "rules"),
    [
        ("Buy ETH when RSI between 40 and 60", [rule("rsi", ">", 40), rule("rsi", "<", 60)]),
        ("buy when RSI(7) is between 60 and 40", [rule("rsi", ">", 40), rule("rsi", "<", 60)]),
        ("buy when Williams %R is between -80 and -50", [rule("willr", ">", -80), rule("willr", "<", -50)]),
    ],
)
def test_a_range_is_two_comparisons(message: str, rules: list[Any]) -> None:
    assert conditions(draft(message)[0]["entry_conditions"]) == rules
