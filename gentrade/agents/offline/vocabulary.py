"""Offline vocabulary: the words for the newer indicators, their usual rules, and names no draft can hold.

Why: the offline drafter (:mod:`gentrade.agents.offline.lexer`) reads plain English with a small lexer.
This module holds what it needs to know about the indicators added after its first catalogue (their names,
parameters in brackets, outputs, the rule a trader means by naming one alone) and the indicators GenTrade
cannot draft at all, so that "a ZigZag strategy" is answered plainly instead of drafted as something else.
Pure data and pure functions: the reading itself stays in the drafter.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gentrade.strategies.card import LABELS
from gentrade.strategies.card_indicators import MOVING_AVERAGES, preferred_id
from gentrade.strategies.catalogue import CATALOGUE

Node = dict[str, Any]


@dataclass(frozen=True)
class Mention:
    """An indicator named in the text, with the parameters written out (none: defaults)."""

    type: str
    params: tuple[tuple[str, float], ...] = ()
    output: str | None = None
    bare: int | None = None  # "RSI 25": a period or a threshold, decided with the sentence around it
    note: str | None = None
    timeframe: str | None = None  # "the 4h EMA": a higher timeframe than the strategy's


Lex = Callable[[re.Match[str]], list[Mention]]

# Lines the price is compared with and that cross each other: "EMA 9/21 crossover", "above the Hull MA".
AVERAGES = (*MOVING_AVERAGES, "dema", "tema", "hma")
CHANNELS = ("bbands", "keltner", "donchian")  # upper, middle and lower lines around the price
# Levels read as oversold and overbought when a trader names none.
NEW_LEVELS = {"willr": (-80.0, -20.0), "stochrsi": (20.0, 80.0), "cmo": (-50.0, 50.0)}
# Indicators whose two lines crossing is the signal: "Aroon up crosses above Aroon down".
LINE_PAIRS = {"macd": ("macd", "signal"), "stoch": ("k", "d"), "stochrsi": ("k", "d"), "ichimoku": ("tenkan", "kijun"),
              "aroon": ("up", "down"), "dmi": ("plus", "minus")}  # fmt: skip
TITLES = {"bbands": "Bollinger", "willr": "WilliamsR", "volume_sma": "Volume", "hma": "Hull", "mom": "Momentum"}


def title(kind: str) -> str:
    """A word for a class name: "Rsi", "Supertrend", "WilliamsR"."""
    return TITLES.get(kind, kind.title().replace("_", ""))


def indicator_id(kind: str, params: Mapping[str, Any]) -> str:
    """The id a new indicator gets: "ema50", "hma21" for any average (so two of them read apart), else the
    card's convention ("bb", "rsi", "supertrend")."""
    if kind in AVERAGES:
        return f"{kind}{params['period']}"
    return preferred_id(kind, params)


def series(ref: str, times: float = 1.0, ago: int = 0) -> str | Node:
    """An operand for ``ref`` scaled and looked back on (a Series object); the plain name when neither."""
    out: Node = {"ref": ref}
    if times != 1.0:
        out["times"] = round(times, 6)
    if ago:
        out["ago"] = ago
    return ref if len(out) == 1 else out


# --- names ------------------------------------------------------------------------------------------------

_ARGS = (
    r"(?:\s*\(\s*(?P<args>\d+(?:\.\d+)?(?:\s*[,/ ]\s*\d+(?:\.\d+)?)*)\s*\)"
    r"|\s+(?:period|length)\s*(?:of\s+)?(?P<p2>\d{1,3}))?"
)
_BEFORE = r"(?:(?P<p0>\d{1,3})[\s-]*(?:period|candle|bar)s?[\s-]+)?"
_BAND = r"(?:\s+(?:band|channel|line)s?)?"


def _numeric_params(kind: str) -> list[str]:
    """The parameters a bracket of numbers sets, in order: "Supertrend(10, 3)" is period 10, multiplier 3."""
    return [name for name, field in CATALOGUE[kind].params.model_fields.items() if field.annotation in (int, float)]


def _named(
    kind: str, names: str, outputs: Mapping[str, str] | None = None, prefix: str = "", suffix: str = ""
) -> tuple[re.Pattern[str], Lex]:
    """A pattern for an indicator's names, with its parameters in brackets, and output words before or after."""
    words = outputs or {}
    before = rf"(?:(?P<pre>{prefix})\s+)?" if prefix else ""
    after = rf"(?:\s+(?P<out>{suffix})\b{_BAND})?" if suffix else ""
    pattern = re.compile(rf"{_BEFORE}{before}(?:{names}){_BAND if prefix else ''}\b{_ARGS}{after}")

    def lex(m: re.Match[str]) -> list[Mention]:
        single = m.group("p0") or m.group("p2")
        numbers = [single] if single else re.findall(r"\d+(?:\.\d+)?", m.group("args") or "")
        params = tuple((name, float(value)) for name, value in zip(_numeric_params(kind), numbers, strict=False))
        groups = m.groupdict()
        output = words.get(groups.get("pre") or groups.get("out") or "")
        return [Mention(kind, params, output=output)]

    return pattern, lex


_SIDES = {"upper": "upper", "top": "upper", "lower": "lower", "bottom": "lower", "middle": "middle", "mid": "middle"}
_SIDE_WORDS = "upper|lower|middle|mid|top|bottom"


def _lex_extreme(m: re.Match[str]) -> list[Mention]:
    """'the 20-day high': the upper Donchian band of that many candles."""
    return [Mention("donchian", (("period", float(m.group(1))),), output="upper" if m.group(2) == "high" else "lower")]


INDICATOR_PATTERNS: list[tuple[re.Pattern[str], Lex]] = [
    _named("supertrend", r"super[\s-]?trend", {"line": "line", "direction": "direction"}, suffix="line|direction"),
    _named("sar", r"parabolic\s+sar|parabolic\s+stop(?:\s+and\s+reverse)?|p?sar"),
    _named("willr", r"williams?\s*%\s*r(?:ange)?|williams?\s+r|w\s*%\s*r|willr|wpr"),
    _named("donchian", r"donchian(?:\s+channels?)?", _SIDES, prefix=_SIDE_WORDS, suffix=_SIDE_WORDS),
    _named("keltner", r"keltner(?:\s+channels?)?", _SIDES, prefix=_SIDE_WORDS, suffix=_SIDE_WORDS),
    (re.compile(r"(\d{1,3})[\s-]*(?:day|candle|bar|period)s?\s+(high|low)s?\b"), _lex_extreme),
    _named("cmo", r"chande(?:\s+momentum)?(?:\s+oscillator)?|cmo"),
    _named("roc", r"rate[\s-]+of[\s-]+change|roc"),
    _named("mom", r"momentum|mom"),
    _named(
        "volume_sma",
        r"(?:average|avg|mean)\s+volume|volume\s+(?:sma|moving\s+average|ma|average|avg|mean)|vol(?:ume)?[\s_-]*sma",
    ),
    _named("aroon", r"aroon", {"up": "up", "down": "down"}, suffix="up|down"),
    (
        re.compile(r"(?:\+\s*di|plus\s+di|positive\s+di|di\s*\+|pdi)(?![\w+-])"),
        lambda m: [Mention("dmi", output="plus")],
    ),
    (
        re.compile(r"(?:-\s*di|minus\s+di|negative\s+di|di\s*-|mdi)(?![\w+-])"),
        lambda m: [Mention("dmi", output="minus")],
    ),
    _named("dmi", r"directional\s+(?:movement(?:\s+index)?|indicators?)|dmi"),
    _named("natr", r"natr|normali[sz]ed\s+(?:atr|average\s+true\s+range)"),
]
# The averages' names join the moving-average patterns, so "DEMA 9/21" and "21 Hull MA" read like "EMA 9/21".
AVERAGE_NAMES = (
    r"hull\s+moving\s+average|hull\s+ma|hull|hma|double\s+exponential(?:\s+moving\s+average)?|double\s+ema|dema"
    r"|triple\s+exponential(?:\s+moving\s+average)?|triple\s+ema|tema"
)


def average_type(word: str) -> str | None:
    """The type of a newer average's name ("hull ma" -> "hma"), None for the classic ones."""
    for kind, start in (("hma", ("hull", "hma")), ("dema", ("double", "dema")), ("tema", ("triple", "tema"))):
        if word.startswith(start):
            return kind
    return None


# --- words that shape a rule -------------------------------------------------------------------------------

# "2% above the EMA": a comparison whose right side is scaled (group 2 set: above).
SCALED = re.compile(r"(\d+(?:\.\d+)?)\s*%\s+(?:(above|over|higher\s+than)|below|under|beneath|lower\s+than)\b")
# "3x", "3 times", "twice": a factor on the series that follows.
TIMES = re.compile(r"(\d+(?:\.\d+)?)\s*(?:x|times)(?![a-z])|(twice|double|triple)\b|(two|three|four|five)\s+times\b")
TIMES_WORDS = {"twice": 2.0, "double": 2.0, "triple": 3.0, "two": 2.0, "three": 3.0, "four": 4.0, "five": 5.0}
# "its 20-candle average": an average of whatever it is compared with (volume's, for volume).
AVERAGE_OF = re.compile(
    r"(?:(?:its|the|their|an?)\s+)?(?:(\d{1,3})[\s-]*(?:candles?|bars?|periods?|days?)?[\s-]*)?(?:average|avg|mean)\b"
    r"(?!\s+(?:true|directional)\b)"
)
# "a volume surge" (groups 1 or 2: a surge, twice the average unless a factor follows), "high volume" (above it).
SURGE = re.compile(
    r"volume\s+(surge|spike|burst|explosion|jump|expansion)s?\b|(surge|spike|jump)s?\s+in\s+volume\b"
    r"|(?:high|heavy|strong|big|increased|above[\s-]+average)\s+volume\b"
)
# "the EMA is rising": above its value a candle before; "rises above" is a comparison, not this.
_NOT_A_COMPARISON = r"(?!\s+(?:above|over|below|under|beneath|through|past|to)\b)"
_SLOPE_VERBS = r"(?:slop(?:es?|ing)|point(?:s|ing)?|head(?:s|ing)?|trend(?:s|ing)?|turn(?:s|ed|ing)?)"
RISING = re.compile(
    r"(?:rising|increasing|going\s+up|up[\s-]?sloping|upward[\s-]+sloping|flip(?:s|ped)?\s+(?:up|long)"
    rf"|{_SLOPE_VERBS}\s+(?:up(?:wards?)?|higher))\b{_NOT_A_COMPARISON}"
)
FALLING = re.compile(
    r"(?:falling|decreasing|declining|going\s+down|down[\s-]?sloping|downward[\s-]+sloping|flip(?:s|ped)?\s+(?:down|short)"
    rf"|{_SLOPE_VERBS}\s+(?:down(?:wards?)?|lower))\b{_NOT_A_COMPARISON}"
)
TWIST = re.compile(r"(?:ichimoku\s+)?(?:kumo|cloud)\s+(?:twist|flip|cross(?:over)?)s?\b")  # span A crossing span B


# --- what a draft cannot hold -----------------------------------------------------------------------------

_UNSUPPORTED: list[tuple[re.Pattern[str], str]] = [
    (re.compile(pattern), name)
    for pattern, name in (
        (r"\bzig[\s-]?zag\b", "ZigZag"),
        (r"\bheik[ie]n[\s-]?ashi\b|\bheik[ie]n\b", "Heikin Ashi candles"),
        (r"\belliott?\s+waves?\b", "Elliott waves"),
        (r"\bfib(?:onacci)?\b", "Fibonacci levels"),
        (r"\bpivot(?:\s+points?|s)?\b", "pivot points"),
        (r"\brenko\b", "Renko bricks"),
        (r"\b(?:volume|market)\s+profile\b", "volume profile"),
        (r"\border\s+(?:book|flow)\b", "order-book data"),
        (r"\bfunding\s+rates?\b", "funding rates"),
        (r"\bopen\s+interest\b", "open interest"),
        (r"\btrix\b", "TRIX"),
        (r"\bkdj\b", "KDJ"),
        (r"\bultimate\s+oscillator\b", "the Ultimate Oscillator"),
        (r"\bawesome\s+oscillator\b", "the Awesome Oscillator"),
        (r"\bchaikin\b|\bcmf\b", "Chaikin indicators"),
        (r"\baccumulation[\s/-]+distribution\b", "accumulation/distribution"),
        (r"\bkama\b|\bkaufman\b", "KAMA"),
        (r"\balma\b|\barnaud\s+legoux\b", "ALMA"),
        (r"\bmcginley\b", "the McGinley Dynamic"),
        (r"\btd\s+sequential\b|\bdemark\b", "TD Sequential"),
        (r"\bgann\b", "Gann angles"),
        (r"\bharmonic\s+patterns?\b", "harmonic patterns"),
        (r"\bengulfing\b|\bdoji\b|\bhammer\s+candles?\b|\bcandlestick\s+patterns?\b", "candlestick patterns"),
        (r"\bdivergences?\b", "divergences"),
        (r"\bsqueeze\b", "the squeeze indicator"),
        (r"\bwave\s*trend\b", "WaveTrend"),
        (r"\bvortex\b", "the Vortex indicator"),
        (r"\bfisher\s+transform\b", "the Fisher transform"),
        (r"\blinear\s+regression\b", "linear regression"),
        (
            r"\bsupport\s+and\s+resistance\b|\b(?:support|resistance)\s+(?:levels?|lines?|zones?)\b",
            "support and resistance levels",
        ),
        (r"\bchandelier\b", "the Chandelier exit"),
        (r"\bchikou\b|\blagging\s+span\b", "the Ichimoku lagging span (it looks ahead)"),
    )
]


def unsupported(text: str) -> list[str]:
    """The things named in (normalised) ``text`` that no draft can hold, in the order written."""
    found = sorted((m.start(), name) for pattern, name in _UNSUPPORTED for m in pattern.finditer(text))
    return list(dict.fromkeys(name for _, name in found))


def catalogue_words() -> str:
    """The indicators a draft can use, as a trader reads them."""
    return ", ".join(LABELS.get(kind, kind) for kind in CATALOGUE)


def _not_available(names: list[str]) -> str:
    listed = " and ".join(names) if len(names) <= 2 else ", ".join(names[:-1]) + " and " + names[-1]
    verb = "is" if len(names) == 1 and not names[0].endswith("s") else "are"
    return f"{listed} {verb} not among the indicators GenTrade's strategies can use"


def unsupported_answer(names: list[str]) -> str:
    """The plain answer to a request that names something outside the catalogue: no substitute is drafted."""
    return (
        f"I can't draft that: {_not_available(names)}, so I have not drafted or changed anything rather than swap "
        f"in a different indicator. Available: {catalogue_words()}; rules may scale them (volume above 2x its "
        "average), look back (a rising EMA) and use a higher timeframe (the 4h EMA 50). Describe the strategy with "
        "those and I'll draft it."
    )


def unsupported_note(names: list[str]) -> str:
    """The first assumption of a draft read from a message that also names something outside the catalogue."""
    return f"{_not_available(names)}: this draft leaves that part out, and nothing stands in for it."


# --- the rule a named indicator stands for ----------------------------------------------------------------


def default_rule(kind: str, ident: str, entry: bool) -> Node | None:
    """The usual rule for a newer indicator named with no rule ("a Supertrend strategy"); None if it has none."""
    up = "crosses_above" if entry else "crosses_below"
    if kind == "supertrend":  # a flip: the direction crosses 0
        return {"left": f"{ident}.direction", "op": up, "right": 0.0}
    if kind in ("roc", "mom"):
        return {"left": ident, "op": up, "right": 0.0}
    if kind == "sar":
        return {"left": "close", "op": up, "right": ident}
    if kind == "donchian":  # a breakout beyond the band of the candles before (the band holds its own candle)
        if entry:
            return {"left": "close", "op": ">", "right": series(f"{ident}.upper", ago=1)}
        return {"left": "close", "op": "<", "right": series(f"{ident}.lower", ago=1)}
    if kind in ("aroon", "dmi"):
        first, second = LINE_PAIRS[kind]
        return {"left": f"{ident}.{first}", "op": up, "right": f"{ident}.{second}"}
    if kind == "volume_sma":
        return {"left": "volume", "op": ">", "right": ident} if entry else None
    return None


# --- answers about the newer indicators -------------------------------------------------------------------

ANSWERS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(pattern), answer)
    for pattern, answer in (
        (
            r"\bsuper[\s-]?trend\b",
            "Supertrend is a trailing line some ATRs away from the price: below it in an uptrend, above it in a "
            "downtrend. Its direction flipping is the usual trigger: buy on a flip up, sell on a flip down.",
        ),
        (
            r"\bwilliams\b|\bwillr\b",
            "Williams %R places the close in the recent high-low range on a -100 to 0 scale: below -80 is usually "
            "read as oversold, above -20 as overbought.",
        ),
        (
            r"\bdonchian\b",
            "A Donchian channel is the highest high and lowest low of the last N candles (20 by default). A breakout "
            "is a close above the band of the candles before it; a close below the lower band is the classic exit.",
        ),
        (
            r"\bkeltner\b",
            "Keltner channels put bands some ATRs above and below an average of the price: like Bollinger Bands, the "
            "lower band is traded for reversions to the middle and the upper one for breakouts.",
        ),
        (
            r"\bparabolic\b|\bp?sar\b",
            "Parabolic SAR is a stop-and-reverse level that trails the price: the price crossing above it is read as "
            "a new uptrend, crossing below it as a downtrend.",
        ),
        (
            r"\baroon\b",
            "Aroon (0-100) measures how recently the highest high (up) and the lowest low (down) happened; Aroon up "
            "crossing above Aroon down is read as a new uptrend.",
        ),
        (
            r"\bdmi\b|[+-]\s*di\b|\bdirectional\s+(?:movement|indicators?)\b",
            "The directional indicators +DI and -DI (0-100) measure upward and downward pressure: +DI above -DI is "
            "bullish, and ADX above 25 says the trend is strong enough to follow.",
        ),
        (
            r"\bstoch(?:astic)?[\s-]*rsi\b",
            "Stochastic RSI applies the Stochastic formula to RSI (0-100): quicker than RSI, with below 20 read as "
            "oversold and above 80 as overbought.",
        ),
        (
            r"\bmomentum\b|\brate\s+of\s+change\b|\broc\b",
            "Momentum is the close minus the close N candles ago, and ROC the same change in percent; either turning "
            "positive is a common bullish trigger.",
        ),
        (
            r"\bcmo\b|\bchande\b",
            "The Chande Momentum Oscillator (-100 to 100) compares up moves with down moves; below -50 is often read "
            "as oversold, above 50 as overbought.",
        ),
        (
            r"\b(?:dema|tema|hma|hull)\b",
            "DEMA, TEMA and the Hull moving average react faster than an EMA (less lag) and are used the same way: "
            "two of them crossing, or the price above the line.",
        ),
        (
            r"\bnatr\b|\bnormali[sz]ed\s+atr\b",
            "NATR is the ATR in percent of the close, so volatility compares across prices: 'NATR above 1' keeps to "
            "markets moving about 1% or more per candle.",
        ),
    )
]
