"""The agent's evaluation set: realistic trader requests, each with the facts its draft or answer must have.

Why facts, not whole drafts: a trader checks what they asked for (the indicator, its level, the pair, the
stop), not the ids or the defaults the agent filled in. A rule pattern names indicators by type (``@rsi`` is
the draft's RSI, ``@macd.signal`` its signal line), so any id the agent picks matches. ``gap`` marks what the
agent cannot read yet (docs/agent.md lists them): such a case must still fail, so fixing one shows up here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.cards import rule

Rule = dict[str, Any]


@dataclass(frozen=True)
class Case:
    id: str
    turns: tuple[str, ...]  # the trader's messages, in order; the facts are about the last answer
    types: tuple[str, ...] = ()  # indicator types the draft must have
    only_types: bool = False  # ... and no other
    params: dict[str, dict[str, Any]] = field(default_factory=dict)  # type -> parameters it must have
    timeframes: dict[str, str] = field(default_factory=dict)  # type -> the higher timeframe it must be on
    pairs: tuple[str, ...] = ()
    timeframe: str | None = None
    stoploss: float | None = None
    roi: dict[str, float] | None = None
    entry: tuple[Rule, ...] = ()  # rules the entry conditions must hold (however grouped)
    exit: tuple[Rule, ...] = ()
    no_draft: bool = False  # an answer, not a draft (a general question, an honest refusal)
    says: tuple[str, ...] = ()  # words the answer (or the draft's stated assumptions) must contain
    gap: str | None = None  # why the agent cannot read it yet
    backtest: dict[str, Any] | None = None  # figures of the chat's finished backtest, known to the last turn
    taken: tuple[str, ...] = ()  # names the trader's strategies already have


DEPLOYED = "Buy BTC and ETH when RSI(14) is below 30 on 1h, sell above 70, 4% stop loss"
STOPPED_OUT = {"stop_loss": 12, "roi": 6, "exit_signal": 2}


def backtest(
    profit: float = -0.06,
    trades: int = 20,
    exits: dict[str, int] | None = None,
    pairs: dict[str, float] | None = None,
) -> dict[str, Any]:
    """A finished backtest of ``DEPLOYED`` as the coach reads it; ``pairs`` gives each pair's profit."""
    per_pair = pairs or {"BTC/USDT": profit / 2, "ETH/USDT": profit / 2}
    figures = {
        "timeframe": "1h",
        "timerange": {"start": "2026-09-01 00:00:00", "end": "2026-11-01 00:00:00"},
        "stake_currency": "USDT",
        "total_trades": trades,
        "win_rate": 0.4 if trades else None,
        "profit_total": profit,
        "profit_total_abs": profit * 1000,
        "max_drawdown": 0.08,
        "exit_reasons": [{"reason": reason, "trades": count} for reason, count in (exits or {}).items()],
        "pairs": [
            {"pair": pair, "trades": trades // len(per_pair), "win_rate": 0.4, "profit_total": gain}
            for pair, gain in per_pair.items()
        ],
    }
    return {"strategy": "RsiStrategy", "pairs": list(per_pair), "timeframe": "1h", "figures": figures, "draft": None}


CASES: tuple[Case, ...] = (
    # --- the classic indicators, plainly asked --------------------------------------------------------------
    Case(
        "rsi-basic",
        ("Buy BTC when RSI(14) drops under 30 on the 1h chart, sell above 70",),
        types=("rsi",),
        pairs=("BTC/USDT",),
        timeframe="1h",
        entry=(rule("@rsi", "<", 30),),
        exit=(rule("@rsi", ">", 70),),
    ),
    Case(
        "rsi-typo",
        ("buy eth when rsi is bellow 25 on 4h",),
        types=("rsi",),
        pairs=("ETH/USDT",),
        timeframe="4h",
        entry=(rule("@rsi", "<", 25),),
    ),
    Case(
        "rsi-period",
        ("RSI 7 under 20 on SOL 15m",),
        types=("rsi",),
        params={"rsi": {"period": 7}},
        pairs=("SOL/USDT",),
        timeframe="15m",
        entry=(rule("@rsi", "<", 20),),
    ),
    Case(
        "rsi-stop",
        ("Buy BTC and ETH when RSI(14) drops under 30 on the 1h chart, sell above 70, 5% stop loss",),
        pairs=("BTC/USDT", "ETH/USDT"),
        stoploss=-0.05,
    ),
    Case(
        "ema-cross",
        ("EMA 9 crosses above EMA 21 on BTC 15m",),
        types=("ema",),
        timeframe="15m",
        entry=(rule("@ema9", "crosses_above", "@ema21"),),
    ),
    Case(
        "golden-cross",
        ("golden cross strategy on BTC daily",),
        types=("sma",),
        timeframe="1d",
        entry=(rule("@sma50", "crosses_above", "@sma200"),),
    ),
    Case(
        "macd-cross",
        ("Buy BTC when the MACD crosses above its signal line",),
        types=("macd",),
        entry=(rule("@macd.macd", "crosses_above", "@macd.signal"),),
    ),
    Case(
        "bollinger-lower",
        ("buy when price closes below the lower bollinger band, sell at the upper band",),
        types=("bbands",),
        entry=(rule("close", "<", "@bbands.lower"),),
        exit=(rule("close", ">=", "@bbands.upper"),),
    ),
    Case(
        "stoch",
        ("Stochastic %K crosses above %D below 20 on ETH 1h",),
        types=("stoch",),
        pairs=("ETH/USDT",),
        entry=(rule("@stoch.k", "crosses_above", "@stoch.d"),),
    ),
    Case(
        "adx-filter",
        ("buy when RSI is below 30 and ADX above 25",),
        types=("rsi", "adx"),
        entry=(rule("@rsi", "<", 30), rule("@adx", ">", 25)),
    ),
    Case("mfi", ("MFI below 20 on BTC 4h",), types=("mfi",), timeframe="4h", entry=(rule("@mfi", "<", 20),)),
    Case("cci", ("buy when CCI drops below -100",), types=("cci",), entry=(rule("@cci", "<", -100),)),
    Case(
        "vwap",
        ("buy when price crosses above the VWAP on BTC 5m",),
        types=("vwap",),
        timeframe="5m",
        entry=(rule("close", "crosses_above", "@vwap"),),
    ),
    Case(
        "ichimoku",
        ("Ichimoku: buy when price is above the cloud and tenkan crosses above kijun",),
        types=("ichimoku",),
        entry=(rule("@ichimoku.tenkan", "crosses_above", "@ichimoku.kijun"),),
    ),
    Case("obv", ("OBV trend strategy on BTC",), types=("obv",)),
    Case(
        "atr",
        ("only trade when ATR(14) is above 100 and RSI under 30",),
        types=("atr", "rsi"),
        entry=(rule("@atr", ">", 100), rule("@rsi", "<", 30)),
    ),
    # --- the broader language ------------------------------------------------------------------------------
    Case(
        "supertrend",
        ("Make me a Supertrend strategy on BTC 1h",),
        types=("supertrend",),
        only_types=True,
        entry=(rule("@supertrend.direction", "crosses_above", 0),),
    ),
    Case(
        "willr",
        ("Buy when Williams %R is below -80 and sell above -20",),
        types=("willr",),
        only_types=True,
        entry=(rule("@willr", "<", -80),),
        exit=(rule("@willr", ">", -20),),
    ),
    Case(
        "donchian",
        ("Donchian breakout",),
        types=("donchian",),
        only_types=True,
        entry=(rule("close", ">", {"ref": "@donchian.upper", "ago": 1}),),
    ),
    Case(
        "donchian-volume",
        ("Donchian breakout with a volume surge (3x average) on ETH 4h",),
        types=("donchian", "volume_sma"),
        pairs=("ETH/USDT",),
        timeframe="4h",
        entry=(
            rule("close", ">", {"ref": "@donchian.upper", "ago": 1}),
            rule("volume", ">", {"ref": "@volume_sma", "times": 3}),
        ),
    ),
    Case(
        "rsi-4h-filter",
        ("Buy BTC on the 1h chart when RSI dips below 30, but only while the 4h EMA 50 is rising",),
        types=("rsi", "ema"),
        timeframes={"ema": "4h"},
        timeframe="1h",
        entry=(rule("@rsi", "<", 30), rule("@ema", ">", {"ref": "@ema", "ago": 1})),
    ),
    Case(
        "ema-scaled",
        ("buy when the close is 2% above the EMA 50",),
        types=("ema",),
        entry=(rule("close", ">", {"ref": "@ema", "times": 1.02}),),
    ),
    Case(
        "volume-avg",
        ("buy when volume is above 3 times its 20-candle average and RSI under 35",),
        types=("volume_sma", "rsi"),
        params={"volume_sma": {"period": 20}},
        entry=(rule("volume", ">", {"ref": "@volume_sma", "times": 3}),),
    ),
    Case(
        "sar",
        ("buy when price crosses above the parabolic SAR",),
        types=("sar",),
        entry=(rule("close", "crosses_above", "@sar"),),
    ),
    Case("keltner", ("buy at the lower Keltner channel on BTC 1h",), types=("keltner",)),
    Case(
        "roc",
        ("buy when ROC(12) is above 5",),
        types=("roc",),
        params={"roc": {"period": 12}},
        entry=(rule("@roc", ">", 5),),
    ),
    Case("momentum", ("buy when momentum turns positive",), types=("mom",), entry=(rule("@mom", ">", 0),)),
    Case(
        "stochrsi",
        ("Stoch RSI %K crosses above %D on ETH 1h",),
        types=("stochrsi",),
        entry=(rule("@stochrsi.k", "crosses_above", "@stochrsi.d"),),
    ),
    Case("cmo", ("buy when CMO is below -50",), types=("cmo",), entry=(rule("@cmo", "<", -50),)),
    Case(
        "aroon",
        ("Aroon up crosses above Aroon down on BTC 4h",),
        types=("aroon",),
        entry=(rule("@aroon.up", "crosses_above", "@aroon.down"),),
    ),
    Case(
        "dmi",
        ("+DI above -DI and ADX above 25",),
        types=("dmi", "adx"),
        entry=(rule("@dmi.plus", ">", "@dmi.minus"), rule("@adx", ">", 25)),
    ),
    Case("hull", ("Hull moving average 9 crosses above Hull 21",), types=("hma",)),
    Case(
        "natr", ("RSI below 30 but only when NATR is above 1",), types=("rsi", "natr"), entry=(rule("@natr", ">", 1),)
    ),
    Case("tema-cross", ("TEMA 10 crosses above TEMA 30 on SOL 1h",), types=("tema",), pairs=("SOL/USDT",)),
    # --- risk settings in words ------------------------------------------------------------------------------
    Case("stop-words", ("RSI dip buyer on BTC 1h, 3% stop",), stoploss=-0.03),
    Case(
        "cut-losses",
        ("RSI dip buyer on BTC 1h, cut losses at 8 percent",),
        stoploss=-0.08,
    ),
    Case(
        "stop-out",
        ("Buy BTC when the MACD crosses its signal, stop out at 4%",),
        stoploss=-0.04,
    ),
    Case(
        "roi-table",
        ("RSI strategy on BTC 1h. Take profit 10 % immediately, 5 % after 60 minutes and 1 % after 3 hours",),
        roi={"0": 0.1, "60": 0.05, "180": 0.01},
    ),
    Case("take-profit", ("RSI under 30 on BTC 1h, take profit at 4%",), roi={"0": 0.04}),
    Case("trailing", ("EMA 20/50 cross on BTC 1h with a trailing stop",), types=("ema",)),
    # --- pairs and timeframes --------------------------------------------------------------------------------
    Case(
        "pairs-three",
        ("RSI under 30 on BTC, ETH and SOL, 30m",),
        pairs=("BTC/USDT", "ETH/USDT", "SOL/USDT"),
        timeframe="30m",
    ),
    Case("pair-slash", ("buy ADA/USDT when RSI < 30",), pairs=("ADA/USDT",)),
    Case("timeframe-words", ("RSI under 30 on the four hour chart for BTC",), timeframe="4h"),
    Case("timeframe-daily", ("daily RSI below 30 on BTC",), timeframe="1d"),
    Case("quote-btc", ("buy ETH/BTC when RSI is below 30",), pairs=("ETH/BTC",)),
    # --- ranges -------------------------------------------------------------------------------------------------
    Case(
        "rsi-range",
        ("Buy ETH when RSI between 40 and 60",),
        entry=(rule("@rsi", ">", 40), rule("@rsi", "<", 60)),
    ),
    # --- multi-turn edits --------------------------------------------------------------------------------------
    Case(
        "edit-threshold",
        ("Buy BTC when RSI(14) is below 30 on 1h, sell above 70", "sell above 65 instead"),
        exit=(rule("@rsi", ">", 65),),
        entry=(rule("@rsi", "<", 30),),
    ),
    Case(
        "edit-stop",
        ("Buy BTC when RSI(14) is below 30 on 1h", "make the stop 3%"),
        stoploss=-0.03,
        entry=(rule("@rsi", "<", 30),),
    ),
    Case("edit-timeframe", ("Buy BTC when RSI(14) is below 30 on 1h", "switch to 4h"), timeframe="4h"),
    Case(
        "edit-pairs",
        ("Buy BTC when RSI(14) is below 30 on 1h", "add ETH and SOL too"),
        pairs=("BTC/USDT", "ETH/USDT", "SOL/USDT"),
    ),
    Case(
        "edit-filter",
        ("Buy BTC when RSI(14) is below 30 on 1h", "use EMA 50 as a trend filter"),
        types=("rsi", "ema"),
        entry=(rule("@rsi", "<", 30),),
    ),
    Case(
        "edit-volume",
        ("Donchian breakout on ETH 4h", "require volume 2x average too"),
        types=("donchian", "volume_sma"),
        entry=(rule("volume", ">", {"ref": "@volume_sma", "times": 2}),),
    ),
    Case(
        "edit-higher-tf",
        ("Buy BTC on 1h when RSI dips below 30", "only while the 4h EMA 50 is rising"),
        timeframes={"ema": "4h"},
        entry=(rule("@rsi", "<", 30), rule("@ema", ">", {"ref": "@ema", "ago": 1})),
    ),
    Case("edit-roi", ("Buy BTC when RSI(14) is below 30 on 1h", "take profit at 6%"), roi={"0": 0.06}),
    # --- unsupported asks: an honest answer, never a different strategy ---------------------------------------
    Case("zigzag", ("Make me a ZigZag strategy on BTC",), no_draft=True, says=("ZigZag",)),
    Case("elliott", ("trade Elliott waves on ETH",), no_draft=True, says=("Elliott",)),
    Case("fibonacci", ("buy at the 61.8% Fibonacci retracement",), no_draft=True, says=("Fibonacci",)),
    Case(
        "heikin-ashi",
        ("Heikin Ashi strategy on BTC",),
        no_draft=True,
        says=("Heikin Ashi",),
    ),
    Case("divergence", ("buy on bullish RSI divergence",), no_draft=True, says=("divergence",)),
    # --- general questions -----------------------------------------------------------------------------------
    Case("what-rsi", ("What is RSI?",), no_draft=True),
    Case("what-stoploss", ("what does a stop loss do?",), no_draft=True),
    Case("hello", ("hi there",), no_draft=True),
    Case("which-timeframe", ("which timeframe should a beginner use?",), no_draft=True),
    Case("what-backtest", ("how does backtesting work here?",), no_draft=True),
    # --- after a backtest: the coach answers from the figures, and drafts the change they point to ------------
    Case(
        "coach-stopped-out",
        (DEPLOYED, "why did it lose?"),
        backtest=backtest(exits=STOPPED_OUT),
        stoploss=-0.06,
        entry=(rule("@rsi", "<", 30),),
        says=("12 of 20 trades ended at the stop loss", "-6%"),
    ),
    Case(
        "coach-typo",
        (DEPLOYED, "why did it loose money??"),
        backtest=backtest(exits=STOPPED_OUT),
        stoploss=-0.06,
    ),
    Case(
        "coach-improve-wide-stop",
        (DEPLOYED.replace("4% stop", "12% stop"), "how can I improve this?"),
        backtest=backtest(exits=STOPPED_OUT),
        types=("rsi", "ema"),
        entry=(rule("@rsi", "<", 30), rule("close", ">", "@ema200")),
        says=("EMA 200",),
    ),
    Case(
        "coach-lone-loser",
        (DEPLOYED, "what can I do better?"),
        backtest=backtest(profit=-0.01, exits={"exit_signal": 20}, pairs={"BTC/USDT": 0.03, "ETH/USDT": -0.04}),
        pairs=("BTC/USDT",),
        says=("drop ETH/USDT",),
    ),
    Case(
        "coach-eth",
        (DEPLOYED, "what went wrong with ETH?"),
        backtest=backtest(profit=-0.01, exits={"exit_signal": 20}, pairs={"BTC/USDT": 0.03, "ETH/USDT": -0.04}),
        pairs=("BTC/USDT",),
        says=("ETH/USDT: 10 trades",),
    ),
    Case(
        "coach-no-trades",
        (DEPLOYED, "why didn't it trade at all?"),
        backtest=backtest(profit=0.0, trades=0),
        entry=(rule("@rsi", "<", 35),),
        says=("made no trade at all",),
    ),
    Case(
        "coach-few-trades",
        (DEPLOYED, "why did my strategy do so badly?"),
        backtest=backtest(profit=-0.02, trades=4, exits={"exit_signal": 4}),
        entry=(rule("@rsi", "<", 35),),
        says=("only 4 trades",),
    ),
    Case(
        "coach-winner",
        (DEPLOYED, "how did it do?"),
        backtest=backtest(profit=0.08, exits={"roi": 15, "stop_loss": 5}),
        no_draft=True,
        says=("It did not lose", "+8%"),
    ),
    Case(
        "coach-name",
        (DEPLOYED, "why did it lose?"),
        backtest=backtest(exits=STOPPED_OUT),
        taken=("RsiStrategy",),
        says=("RsiStrategyV2",),
    ),
    Case("coach-no-backtest", (DEPLOYED, "why did it lose?"), no_draft=True, says=("no finished backtest yet",)),
)
