"""The condition reader (:mod:`gentrade.agents.offline.conditions`) over the broader draft language: the newer
indicators, scaled and looked-back operands, higher timeframes.

Every phrasing is checked on the facts a trader checks: the indicators (type, parameters, timeframe), the rule
trees, the pairs and the timeframe, all exactly.
"""

from __future__ import annotations

from typing import Any

import pytest

from gentrade.agents.offline import classify
from tests.offline_drafts import RISING_FILTER, SUPERTREND_FLIP, ago, anyof, draft, every, ind, rule, times

DONCHIAN_BREAKOUT = (rule("close", ">", ago("donchian.upper")), rule("close", "<", ago("donchian.lower")))


BTC, ETH, SOL = ["BTC/USDT"], ["ETH/USDT"], ["SOL/USDT"]


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
