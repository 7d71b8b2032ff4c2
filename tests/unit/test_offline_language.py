"""The offline agent reads the broader draft language: the newer indicators, scaled and looked-back operands,
higher timeframes; and says plainly what no draft can hold instead of drafting something else.

Every phrasing is checked on the facts a trader checks: the indicators (type, parameters, timeframe), the rule
trees, the pairs and the timeframe, all exactly.
"""

from __future__ import annotations

from typing import Any

import pytest

from gentrade.agents.offline import classify, describe_draft, draft_from_text, general_answer
from gentrade.agents.prompts.draft import DRAFT_PROMPT, LANGUAGE_EXAMPLES
from gentrade.strategies.catalogue import CATALOGUE
from gentrade.strategies.draft import StrategyDraft, parse_draft

DESIGN_MESSAGE = "buy BTC and ETH when RSI(14) drops under 30 on the 1h chart, sell above 70, 5% stop loss"


def draft(text: str, previous: StrategyDraft | None = None) -> tuple[dict[str, Any], list[str]]:
    """Draft from text, check it passes the API's validation, and return it as plain data."""
    result, assumptions = draft_from_text(text, previous)
    assert parse_draft(result.model_dump()) == result
    return result.model_dump(), assumptions


def ind(kind: str, ident: str | None = None, timeframe: str | None = None, **params: Any) -> dict[str, Any]:
    """An indicator as a draft stores it: every parameter, defaults included."""
    item = {"id": ident or kind, "type": kind, "params": CATALOGUE[kind].params(**params).model_dump()}
    return {**item, "timeframe": timeframe} if timeframe else item


def rule(left: str, op: str, right: Any) -> dict[str, Any]:
    return {"left": left, "op": op, "right": right}


def every(*rules: dict[str, Any]) -> dict[str, Any]:
    return {"all": list(rules)}


def anyof(*rules: dict[str, Any]) -> dict[str, Any]:
    return {"any": list(rules)}


def ago(ref: str, candles: int = 1) -> dict[str, Any]:
    return {"ref": ref, "ago": candles}


def times(ref: str, factor: float) -> dict[str, Any]:
    return {"ref": ref, "times": factor}


SUPERTREND_FLIP = (rule("supertrend.direction", "crosses_above", 0), rule("supertrend.direction", "crosses_below", 0))
DONCHIAN_BREAKOUT = (rule("close", ">", ago("donchian.upper")), rule("close", "<", ago("donchian.lower")))
BTC, ETH, SOL = ["BTC/USDT"], ["ETH/USDT"], ["SOL/USDT"]
RISING_FILTER = "Buy BTC on the 1h chart when RSI dips below 30, but only while the 4h EMA 50 is rising"

# (message, timeframe, pairs, indicators, entry, exit)
PHRASINGS: list[tuple[str, str, list[str], list[dict[str, Any]], dict[str, Any], dict[str, Any] | None]] = [
    # Supertrend: named alone, a flip each way
    ("Make me a Supertrend strategy on BTC 1h", "1h", BTC, [ind("supertrend")],
     every(SUPERTREND_FLIP[0]), anyof(SUPERTREND_FLIP[1])),
    ("supertrend strategy for ETH on the 4h chart", "4h", ETH, [ind("supertrend")],
     every(SUPERTREND_FLIP[0]), anyof(SUPERTREND_FLIP[1])),
    ("Supertrend(12, 2.5) on SOL daily", "1d", SOL, [ind("supertrend", period=12, multiplier=2.5)],
     every(SUPERTREND_FLIP[0]), anyof(SUPERTREND_FLIP[1])),
    ("buy when the Supertrend flips up, sell when price crosses below the Supertrend line", "1h", BTC,
     [ind("supertrend")], every(SUPERTREND_FLIP[0]), anyof(rule("close", "crosses_below", "supertrend.line"))),
    ("buy when price is above the supertrend", "1h", BTC, [ind("supertrend")],
     every(rule("close", ">", "supertrend.line")), anyof(rule("close", "<", "supertrend.line"))),
    # Williams %R
    ("Buy when Williams %R is below -80 and sell above -20", "1h", BTC, [ind("willr")],
     every(rule("willr", "<", -80)), anyof(rule("willr", ">", -20))),
    ("buy when Williams %R(21) drops below -90, sell when it rises above -10", "1h", BTC, [ind("willr", period=21)],
     every(rule("willr", "<", -90)), anyof(rule("willr", ">", -10))),
    ("williams %r oversold buy, overbought sell", "1h", BTC, [ind("willr")],
     every(rule("willr", "<", -80)), anyof(rule("willr", ">", -20))),
    ("a Williams R strategy on ETH", "1h", ETH, [ind("willr")],
     every(rule("willr", "<", -80)), anyof(rule("willr", ">", -20))),
    # Donchian: a breakout is beyond the band of the candle before
    ("Donchian breakout with a volume surge (3x average) on ETH 4h", "4h", ETH, [ind("volume_sma"), ind("donchian")],
     every(DONCHIAN_BREAKOUT[0], rule("volume", ">", times("volume_sma", 3))), anyof(DONCHIAN_BREAKOUT[1])),
    ("buy when price breaks above the 20-day high", "1h", BTC, [ind("donchian", period=20)],
     every(rule("close", "crosses_above", ago("donchian.upper"))),
     anyof(rule("close", "crosses_below", ago("donchian.lower")))),
    ("Donchian channel (55) breakout on BTC daily", "1d", BTC, [ind("donchian", period=55)],
     every(DONCHIAN_BREAKOUT[0]), anyof(DONCHIAN_BREAKOUT[1])),
    ("buy when close is above the upper Donchian band", "1h", BTC, [ind("donchian")],
     every(DONCHIAN_BREAKOUT[0]), anyof(DONCHIAN_BREAKOUT[1])),
    # scaled operands
    ("close 2% above the EMA 50", "1h", BTC, [ind("ema", "ema50", period=50)],
     every(rule("close", ">", times("ema50", 1.02))), anyof(rule("close", "<", "ema50"))),
    ("buy when close 2% above the EMA 50", "1h", BTC, [ind("ema", "ema50", period=50)],
     every(rule("close", ">", times("ema50", 1.02))), anyof(rule("close", "<", "ema50"))),
    ("buy when price is 3% below the 20 SMA", "1h", BTC, [ind("sma", "sma20", period=20)],
     every(rule("close", "<", times("sma20", 0.97))), anyof(rule("close", ">", "sma20"))),
    ("buy when volume above 3 times its 20-candle average", "1h", BTC, [ind("volume_sma", period=20)],
     every(rule("volume", ">", times("volume_sma", 3))), None),
    ("RSI below 30 and volume 2x average", "1h", BTC, [ind("rsi"), ind("volume_sma")],
     every(rule("rsi", "<", 30), rule("volume", ">", times("volume_sma", 2))), anyof(rule("rsi", ">", 70))),
    ("buy when RSI < 30 and volume is above twice the average volume", "1h", BTC, [ind("rsi"), ind("volume_sma")],
     every(rule("rsi", "<", 30), rule("volume", ">", times("volume_sma", 2))), anyof(rule("rsi", ">", 70))),
    ("buy on high volume when RSI < 30", "1h", BTC, [ind("volume_sma"), ind("rsi")],
     every(rule("volume", ">", "volume_sma"), rule("rsi", "<", 30)), anyof(rule("rsi", ">", 70))),
    ("buy when volume > 1.5x its 50-bar average and MACD crosses above its signal", "1h", BTC,
     [ind("volume_sma", period=50), ind("macd")],
     every(rule("volume", ">", times("volume_sma", 1.5)), rule("macd.macd", "crosses_above", "macd.signal")),
     anyof(rule("macd.macd", "crosses_below", "macd.signal"))),
    # higher timeframes, and "rising"
    (RISING_FILTER, "1h", BTC,
     [ind("rsi"), ind("ema", "ema50", "4h", period=50)],
     every(rule("rsi", "<", 30), rule("ema50", ">", ago("ema50"))), anyof(rule("rsi", ">", 70))),
    ("buy when RSI < 30 and the 4-hour EMA 50 is rising", "1h", BTC, [ind("rsi"), ind("ema", "ema50", "4h", period=50)],
     every(rule("rsi", "<", 30), rule("ema50", ">", ago("ema50"))), anyof(rule("rsi", ">", 70))),
    ("buy when RSI < 30 and price above the daily EMA 50, 1h", "1h", BTC,
     [ind("rsi"), ind("ema", "ema50", "1d", period=50)],
     every(rule("rsi", "<", 30), rule("close", ">", "ema50")), anyof(rule("rsi", ">", 70))),
    ("on the 4h chart buy when price is above the daily EMA 200", "4h", BTC, [ind("ema", "ema200", "1d", period=200)],
     every(rule("close", ">", "ema200")), anyof(rule("close", "<", "ema200"))),
    ("buy when RSI < 30 and the EMA 200 on the daily is rising, 4h chart", "4h", BTC,
     [ind("rsi"), ind("ema", "ema200", "1d", period=200)],
     every(rule("rsi", "<", 30), rule("ema200", ">", ago("ema200"))), anyof(rule("rsi", ">", 70))),
    ("buy when the 15m RSI is below 30 and the 1h EMA 200 is rising", "15m", BTC,
     [ind("rsi"), ind("ema", "ema200", "1h", period=200)],
     every(rule("rsi", "<", 30), rule("ema200", ">", ago("ema200"))), anyof(rule("rsi", ">", 70))),
    ("4h EMA 9/21 crossover", "4h", BTC, [ind("ema", "ema9", period=9), ind("ema", "ema21", period=21)],
     every(rule("ema9", "crosses_above", "ema21")), anyof(rule("ema9", "crosses_below", "ema21"))),
    # Parabolic SAR
    ("buy when price crosses above the SAR", "1h", BTC, [ind("sar")],
     every(rule("close", "crosses_above", "sar")), anyof(rule("close", "crosses_below", "sar"))),
    ("Parabolic SAR strategy on BTC", "1h", BTC, [ind("sar")],
     every(rule("close", "crosses_above", "sar")), anyof(rule("close", "crosses_below", "sar"))),
    ("buy when the close crosses above the parabolic SAR(0.01, 0.1)", "1h", BTC,
     [ind("sar", acceleration=0.01, maximum=0.1)],
     every(rule("close", "crosses_above", "sar")), anyof(rule("close", "crosses_below", "sar"))),
    # Keltner
    ("buy at the lower Keltner channel", "1h", BTC, [ind("keltner")],
     every(rule("close", "<=", "keltner.lower")), anyof(rule("close", ">", "keltner.middle"))),
    ("buy when close is below the lower Keltner band, sell at the upper Keltner band", "1h", BTC, [ind("keltner")],
     every(rule("close", "<", "keltner.lower")), anyof(rule("close", ">=", "keltner.upper"))),
    ("Keltner channel strategy", "1h", BTC, [ind("keltner")],
     every(rule("close", "<", "keltner.lower")), anyof(rule("close", ">", "keltner.middle"))),
    # ROC and momentum
    ("buy when momentum turns positive", "1h", BTC, [ind("mom")],
     every(rule("mom", ">", 0)), anyof(rule("mom", "<", 0))),
    ("momentum strategy", "1h", BTC, [ind("mom")],
     every(rule("mom", "crosses_above", 0)), anyof(rule("mom", "crosses_below", 0))),
    ("buy when ROC(12) crosses above 0", "1h", BTC, [ind("roc", period=12)],
     every(rule("roc", "crosses_above", 0)), anyof(rule("roc", "crosses_below", 0))),
    ("rate of change above 5 to buy", "1h", BTC, [ind("roc")], every(rule("roc", ">", 5)), anyof(rule("roc", "<", -5))),
    # Stochastic RSI (no longer read as the Stochastic oscillator)
    ("buy when Stoch RSI is below 20, sell above 80", "1h", BTC, [ind("stochrsi")],
     every(rule("stochrsi.k", "<", 20)), anyof(rule("stochrsi.k", ">", 80))),
    ("buy when Stoch RSI %K crosses above %D", "1h", BTC, [ind("stochrsi")],
     every(rule("stochrsi.k", "crosses_above", "stochrsi.d")),
     anyof(rule("stochrsi.k", "crosses_below", "stochrsi.d"))),
    ("stochastic RSI oversold", "1h", BTC, [ind("stochrsi")],
     every(rule("stochrsi.k", "<", 20)), anyof(rule("stochrsi.k", ">", 80))),
    # CMO
    ("buy when CMO is below -50, sell when CMO above 50", "1h", BTC, [ind("cmo")],
     every(rule("cmo", "<", -50)), anyof(rule("cmo", ">", 50))),
    ("buy when the Chande momentum oscillator crosses above 0", "1h", BTC, [ind("cmo")],
     every(rule("cmo", "crosses_above", 0)), anyof(rule("cmo", "crosses_below", 0))),
    # Aroon
    ("buy when Aroon up crosses above Aroon down", "1h", BTC, [ind("aroon")],
     every(rule("aroon.up", "crosses_above", "aroon.down")), anyof(rule("aroon.up", "crosses_below", "aroon.down"))),
    ("Aroon strategy on SOL", "1h", SOL, [ind("aroon")],
     every(rule("aroon.up", "crosses_above", "aroon.down")), anyof(rule("aroon.up", "crosses_below", "aroon.down"))),
    # DMI
    ("+DI above -DI and ADX above 25", "1h", BTC, [ind("dmi"), ind("adx")],
     every(rule("dmi.plus", ">", "dmi.minus"), rule("adx", ">", 25)), anyof(rule("dmi.plus", "<", "dmi.minus"))),
    ("buy when +DI is above -DI and ADX above 25", "1h", BTC, [ind("dmi"), ind("adx")],
     every(rule("dmi.plus", ">", "dmi.minus"), rule("adx", ">", 25)), anyof(rule("dmi.plus", "<", "dmi.minus"))),
    ("DMI crossover on ETH 4h", "4h", ETH, [ind("dmi")],
     every(rule("dmi.plus", "crosses_above", "dmi.minus")), anyof(rule("dmi.plus", "crosses_below", "dmi.minus"))),
    # DEMA, TEMA, Hull
    ("DEMA 9/21 crossover", "1h", BTC, [ind("dema", "dema9", period=9), ind("dema", "dema21", period=21)],
     every(rule("dema9", "crosses_above", "dema21")), anyof(rule("dema9", "crosses_below", "dema21"))),
    ("buy when the 9 TEMA crosses above the 21 TEMA", "1h", BTC,
     [ind("tema", "tema9", period=9), ind("tema", "tema21", period=21)],
     every(rule("tema9", "crosses_above", "tema21")), anyof(rule("tema9", "crosses_below", "tema21"))),
    ("buy when price crosses above the Hull MA 55", "1h", BTC, [ind("hma", "hma55", period=55)],
     every(rule("close", "crosses_above", "hma55")), anyof(rule("close", "crosses_below", "hma55"))),
    ("Hull moving average 20 and 50 cross", "1h", BTC, [ind("hma", "hma20", period=20), ind("hma", "hma50", period=50)],
     every(rule("hma20", "crosses_above", "hma50")), anyof(rule("hma20", "crosses_below", "hma50"))),
    # NATR filters (never mirrored into an exit)
    ("buy when RSI < 30 and NATR above 1", "1h", BTC, [ind("rsi"), ind("natr")],
     every(rule("rsi", "<", 30), rule("natr", ">", 1)), anyof(rule("rsi", ">", 70))),
    ("EMA 9/21 crossover, only when NATR is above 0.5", "1h", BTC,
     [ind("ema", "ema9", period=9), ind("ema", "ema21", period=21), ind("natr")],
     every(rule("ema9", "crosses_above", "ema21"), rule("natr", ">", 0.5)),
     anyof(rule("ema9", "crosses_below", "ema21"))),
    # Ichimoku's Kumo twist is in the catalogue
    ("buy on a bullish Kumo twist", "1h", BTC, [ind("ichimoku")],
     every(rule("ichimoku.span_a", "crosses_above", "ichimoku.span_b")),
     anyof(rule("ichimoku.span_a", "crosses_below", "ichimoku.span_b"))),
    ("Ichimoku Kumo twist strategy", "1h", BTC, [ind("ichimoku")],
     every(rule("ichimoku.span_a", "crosses_above", "ichimoku.span_b")),
     anyof(rule("ichimoku.span_a", "crosses_below", "ichimoku.span_b"))),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "timeframe", "pairs", "indicators", "entry", "exit_"), PHRASINGS, ids=[p[0] for p in PHRASINGS]
)
def test_phrasing_gives_exactly_the_draft_meant(
    text: str,
    timeframe: str,
    pairs: list[str],
    indicators: list[dict[str, Any]],
    entry: dict[str, Any],
    exit_: dict[str, Any] | None,
) -> None:
    data, _ = draft(text)

    assert (data["timeframe"], data["pairs"]) == (timeframe, pairs)
    assert data["indicators"] == indicators
    assert data["entry_conditions"] == entry
    assert data["exit_conditions"] == exit_
    assert classify(text, has_previous_draft=False).route == "strategy"


def test_a_named_indicator_is_said_when_its_rule_is_assumed() -> None:
    _, assumptions = draft("Make me a Supertrend strategy on BTC 1h")

    assert "No Supertrend rule named: buying when the Supertrend direction crosses above 0." in assumptions


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


def test_scaled_and_looked_back_rules_are_put_into_words() -> None:
    result, assumptions = draft_from_text("Donchian breakout with a volume surge (3x average) on ETH 4h", None)

    text = describe_draft(result, assumptions, revised=False)
    assert "the close is above the upper Donchian band 1 candle ago and volume is above 3 x Volume SMA(20)" in text
    rising, _ = draft_from_text("buy when RSI < 30 and the 4h EMA 50 is rising", None)
    assert "EMA(50) on 4h is above EMA(50) on 4h 1 candle ago" in rising.description


# --- revisions ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def design_draft() -> StrategyDraft:
    return draft_from_text(DESIGN_MESSAGE, None)[0]


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


def test_or_between_signals_keeps_the_volume_confirmation_required() -> None:
    data, _ = draft("buy when RSI < 30 or MFI < 20, with volume 2x average")

    assert data["entry_conditions"] == every(
        anyof(rule("rsi", "<", 30), rule("mfi", "<", 20)), rule("volume", ">", times("volume_sma", 2))
    )


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


def test_add_a_newer_indicator_exit(design_draft: StrategyDraft) -> None:
    data, _ = draft("add a Supertrend exit", design_draft)

    assert data["exit_conditions"] == anyof(rule("rsi", ">", 70), SUPERTREND_FLIP[1])


# --- what no draft can hold ----------------------------------------------------------------------------------

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


def test_questions_about_the_newer_indicators_get_answers() -> None:
    assert "flip" in general_answer("what is Supertrend?")
    assert "-80" in general_answer("explain Williams %R")
    assert "Stochastic formula to RSI" in general_answer("what is stoch RSI?")
    assert "+DI" in general_answer("what does +DI mean?")


# --- the hosted models' prompt -------------------------------------------------------------------------------


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
