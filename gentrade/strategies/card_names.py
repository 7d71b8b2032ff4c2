"""Naming indicators on the card: "RSI(14)", "EMA 50", "the upper Donchian band", "+DI", "EMA(50) on 4h".

Why a module of its own: the rules and the indicators field name indicators alike, and these words are the
inverse of :func:`gentrade.strategies.card.indicator_label` and ``operand_text``: the card's labels, their
common aliases, an output's words and a higher timeframe. A phrase comes back as an :class:`IndicatorRef`;
which of the draft's indicators it is, :mod:`gentrade.strategies.card_indicators` decides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from gentrade.strategies.card import BANDED, LABELS, OUTPUT_WORDS, OWNER_NAMES
from gentrade.strategies.card_text import TIMEFRAME_TEXT, Unusable, parse_number, read_timeframe
from gentrade.strategies.catalogue import CATALOGUE


@dataclass(frozen=True)
class IndicatorRef:
    """An indicator named on the card: its type, its parameters (None: not written), the output meant and the
    timeframe written ("EMA(50) on 4h"; None: the strategy's own)."""

    type: str
    params: dict[str, Any] | None
    output: str | None
    text: str  # as written, for messages
    timeframe: str | None = None


_ALIASES: dict[str, tuple[str, ...]] = {
    "rsi": ("relative strength index",),
    "ema": ("exponential moving average",),
    "sma": ("simple moving average", "moving average"),
    "wma": ("weighted moving average",),
    "bbands": ("bollinger band", "bb", "band"),
    "stoch": ("stochastic oscillator", "stoch"),
    "adx": ("average directional index",),
    "atr": ("average true range",),
    "cci": ("commodity channel index",),
    "mfi": ("money flow index",),
    "obv": ("on-balance volume", "on balance volume"),
    "vwap": ("volume-weighted average price", "volume weighted average price"),
    "supertrend": ("super trend",),
    "sar": ("psar", "parabolic stop and reverse"),
    "willr": ("williams r",),
    "donchian": ("donchian channel",),
    "keltner": ("keltner channel",),
    "roc": ("rate of change",),
    "volume_sma": ("volume moving average", "volume average"),
    "stochrsi": ("stochastic rsi",),
    "cmo": ("chande momentum oscillator",),
    "dmi": ("directional movement index",),
    "dema": ("double exponential moving average",),
    "tema": ("triple exponential moving average",),
    "hma": ("hull moving average", "hull ma"),
    "natr": ("normalized atr", "normalised atr"),
}


def _names() -> dict[str, str]:
    names = {kind: kind for kind in CATALOGUE}
    names.update({label.lower(): kind for kind, label in LABELS.items()})
    names.update({name.lower(): kind for kind, name in OWNER_NAMES.items()})
    names.update({alias: kind for kind, aliases in _ALIASES.items() for alias in aliases})
    return names


def _output_words() -> dict[str, dict[str, str]]:
    """Per type, the words that name an output: the card's own ("signal line", "upper band") and the output names."""
    table: dict[str, dict[str, str]] = {}
    for (kind, output), (before, after) in OUTPUT_WORDS.items():
        words = " ".join(re.sub(r"^the\b", "", before + after).lower().split())
        table.setdefault(kind, {})[words] = output
    for kind, spec in CATALOGUE.items():
        for output in spec.outputs:
            table.setdefault(kind, {})[output.replace("_", " ")] = output
    return table


_NAMES = _names()
_OUTPUTS = _output_words()
_SUFFIXES = {  # what may follow a name; a band is named before it too ("the upper Bollinger(20, 2) band")
    kind: sorted(
        {*(w for w in words if re.match(r"[\w%]", w)), *(("band", "bands") if kind in BANDED else ())},
        key=len,
        reverse=True,
    )
    for kind, words in _OUTPUTS.items()
}
_SUFFIX_PATTERNS = {
    kind: re.compile(r"\s+(" + "|".join(re.escape(a) for a in alternatives) + r")(?![\w%])")
    for kind, alternatives in _SUFFIXES.items()
}
_INDICATOR = re.compile(
    r"(?:(?P<prefix>upper|middle|lower)\s+|(?P<sign>[-+]))?"  # a sign: "+DI", "-DI"
    r"(?P<name>" + "|".join(re.escape(n) for n in sorted(_NAMES, key=len, reverse=True)) + r")(?![\w-])"
    r"(?:\s*\((?P<args>[^()]*)\)|\s+(?P<bare>\d+(?:\.\d+)?)(?![\w.%])(?!\s+(?:candles?|bars?)\s+ago))?"  # "EMA 50"
)
_ON_TIMEFRAME = re.compile(r"\s+on\s+(?:the\s+)?(?P<timeframe>" + TIMEFRAME_TEXT.pattern + r")(?![\w%])")


def _params(kind: str, written: str) -> dict[str, Any]:
    """Parameters written in the catalogue's order: numbers fill the numeric ones, words the others (a source)."""
    spec = CATALOGUE[kind]
    fields = spec.params.model_fields
    numeric = [name for name, f in fields.items() if isinstance(f.default, int | float)]
    wordy = [name for name in fields if name not in numeric]
    parts = [p for p in re.split(r"[,;/\s]+", written.strip()) if p]
    numbers = [p for p in parts if re.fullmatch(r"[-+]?\d+(?:\.\d+)?", p)]
    words = [p for p in parts if p not in numbers]
    label = LABELS.get(kind, kind)
    if len(numbers) > len(numeric) or len(words) > len(wordy):
        takes = ", ".join(numeric + wordy) or "no parameters"
        raise Unusable(f"{label}({written}): {label} takes {takes}")
    values = {**dict(zip(numeric, map(parse_number, numbers), strict=False)), **dict(zip(wordy, words, strict=False))}
    try:
        return spec.params(**values).model_dump()
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in error["loc"])
        reason = error["msg"].removeprefix("Value error, ")
        raise Unusable(f"{label}({written}): {where + ' ' if where else ''}{reason[:1].lower()}{reason[1:]}") from None


def _indicator(m: re.Match[str], text: str, end: int) -> tuple[IndicatorRef, int]:
    """The indicator phrase matched at ``m``, with the output words after it; returns the ref and where it ends."""
    kind = _NAMES[m.group("name")]
    written = m.group("args") if m.group("args") is not None else m.group("bare")
    params = _params(kind, written) if written is not None else None
    suffix, stop = None, m.end()
    pattern = _SUFFIX_PATTERNS.get(kind)
    s = pattern.match(text, m.end(), end) if pattern else None
    if s:
        suffix, stop = s.group(1), s.end()
    words = " ".join(w for w in (m.group("prefix"), suffix) if w).replace("bands", "band")
    words = (m.group("sign") or "") + words
    output = None
    if words and words != "band":
        output = _OUTPUTS.get(kind, {}).get(words)
        if output is None:
            names = ", ".join(sorted(_OUTPUTS.get(kind, {}))) or "none (name it alone)"
            raise Unusable(f"{LABELS.get(kind, kind)} has no '{words}'; its lines are: {names}")
    timeframe, stop = _timeframe(text, stop, end)
    return IndicatorRef(kind, params, output, text[m.start() : stop].strip(), timeframe), stop


def _timeframe(text: str, pos: int, end: int) -> tuple[str | None, int]:
    """A higher timeframe written after an indicator ("EMA(50) on 4h"), and where it ends."""
    m = _ON_TIMEFRAME.match(text, pos, end)
    return (read_timeframe(m.group("timeframe")), m.end()) if m else (None, pos)


def match_indicator(text: str, pos: int, end: int) -> tuple[IndicatorRef, int] | None:
    """The indicator named at ``pos`` of a normalised text, with where its phrase ends; None when none is."""
    m = _INDICATOR.match(text, pos, end)
    return _indicator(m, text, end) if m else None
