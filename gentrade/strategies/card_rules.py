"""Reading the draft card's rules back: the indicators field and the entry and exit signals.

Why: the inverse of :func:`gentrade.strategies.card.conditions_text` and ``indicator_label``, so a card
reads back exactly and the edits traders make of it (another number, indicator or condition, brackets,
"under", "EMA 200") are understood. A small grammar: conditions ``left op right`` joined by and/or
with brackets, one level never mixing the two. It knows nothing of the draft an edit applies to:
indicators come back as :class:`IndicatorRef` for :mod:`gentrade.strategies.card_indicators` to
resolve. :class:`Unreadable` and :class:`Unusable` as in :mod:`gentrade.strategies.card_text`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from gentrade.strategies.card import LABELS, OUTPUT_WORDS, OWNER_NAMES
from gentrade.strategies.card_text import Unreadable, Unusable, normal_text, parse_number
from gentrade.strategies.catalogue import CATALOGUE
from gentrade.strategies.draft import MAX_DEPTH

Tree = dict[str, Any]  # a condition {"left", "op", "right"} or a group {"all" | "any": [...]}; refs unresolved


@dataclass(frozen=True)
class IndicatorRef:
    """An indicator named on the card: its type, its parameters (None: not written) and the output meant."""

    type: str
    params: dict[str, Any] | None
    output: str | None
    text: str  # as written, for messages


@dataclass(frozen=True)
class Signals:
    """An entry or exit field: the long rules and, when a "Short:" part is written, the short ones (None: no rule)."""

    long: Tree | None
    short: Tree | None
    short_written: bool


# --- indicators -------------------------------------------------------------------------------------------

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
    kind: sorted({*words, *(("band", "bands") if kind == "bbands" else ())}, key=len, reverse=True)
    for kind, words in _OUTPUTS.items()
}
_SUFFIX_PATTERNS = {
    kind: re.compile(r"\s+(" + "|".join(re.escape(a) for a in alternatives) + r")(?![\w%])")
    for kind, alternatives in _SUFFIXES.items()
}
_INDICATOR = re.compile(
    r"(?:(?P<prefix>upper|middle|lower)\s+)?"
    r"(?P<name>" + "|".join(re.escape(n) for n in sorted(_NAMES, key=len, reverse=True)) + r")(?![\w-])"
    r"(?:\s*\((?P<args>[^()]*)\)|\s+(?P<bare>\d+(?:\.\d+)?)(?![\w.%]))?"
)


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
    output = None
    if words and words != "band":
        output = _OUTPUTS.get(kind, {}).get(words)
        if output is None:
            names = ", ".join(sorted(_OUTPUTS.get(kind, {}))) or "none (name it alone)"
            raise Unusable(f"{LABELS.get(kind, kind)} has no '{words}'; its lines are: {names}")
    return IndicatorRef(kind, params, output, text[m.start() : stop].strip()), stop


# --- rules ------------------------------------------------------------------------------------------------

_OPS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"cross(?:es|ed|ing)?\s+(?:above|over|up(?:wards)?)(?:\s+through)?\b"), "crosses_above"),
    (re.compile(r"cross(?:es|ed|ing)?\s+(?:below|under|down(?:wards)?)(?:\s+through)?\b"), "crosses_below"),
    (
        re.compile(
            r"(?:is\s+)?(?:at\s+or\s+(?:below|under)|at\s+most|no\s+more\s+than|less\s+than\s+or\s+equal\s+to)\b|<=|=<"
        ),
        "<=",
    ),
    (
        re.compile(
            r"(?:is\s+)?(?:at\s+or\s+above|at\s+least|no\s+less\s+than|greater\s+than\s+or\s+equal\s+to)\b|>=|=>"
        ),
        ">=",
    ),
    (re.compile(r"(?:is\s+)?(?:below|under|less\s+than|lower\s+than|smaller\s+than)\b|<"), "<"),
    (re.compile(r"(?:is\s+)?(?:above|over|greater\s+than|higher\s+than|more\s+than)\b|>"), ">"),
]
_JOIN = re.compile(r"(?:and|or)\b|,|&&|\|\|")
_JOIN_WORDS = {"&&": "and", "||": "or"}
_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?(?![\w%.])")
_PRICE = re.compile(r"(closing\s+price|close|price|open|high|low|volume)s?\b")
_FILLER = re.compile(r"(?:the|a)\b\s*")
_LEAD = re.compile(r"^(?:(?:buy|sell|enter|exit|go\s+long|go\s+short|long|short)\s+)?(?:when(?:ever)?|if|once)\s+")
_SHORT = re.compile(r"(?:^|(?<=[\s.;,]))short\s*:")
_LONG = re.compile(r"^long\s*:\s*")
_NO_RULE = re.compile(r"(?:none\b|nothing\b|no\s+(?:exit|entry|rules?|signals?|conditions?)\b|-+$)")


@dataclass(frozen=True)
class _Token:
    kind: str  # ( ) join op value
    start: int
    value: Any = None


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos, end = 0, len(text)
    while pos < end:
        if text[pos].isspace():
            pos += 1
            continue
        if text[pos] in "()":
            tokens.append(_Token(text[pos], pos))
            pos += 1
            continue
        token, pos = _token(text, pos, end)
        if token is not None:
            tokens.append(token)
    return tokens


def _token(text: str, pos: int, end: int) -> tuple[_Token | None, int]:
    m = _JOIN.match(text, pos, end)
    if m:
        return _Token("join", pos, _JOIN_WORDS.get(m.group(0), m.group(0))), m.end()
    for pattern, op in _OPS:
        m = pattern.match(text, pos, end)
        if m:
            return _Token("op", pos, op), m.end()
    m = _NUMBER.match(text, pos, end)
    if m:
        return _Token("value", pos, float(m.group(0))), m.end()
    m = _INDICATOR.match(text, pos, end)
    if m:
        ref, stop = _indicator(m, text, end)
        return _Token("value", pos, ref), stop
    m = _PRICE.match(text, pos, end)
    if m:
        column = "close" if m.group(1) in ("price", "closing price") else m.group(1)
        return _Token("value", pos, column), m.end()
    m = _FILLER.match(text, pos, end)
    if m:
        return None, m.end()
    word = re.match(r"\S+(?:\s+\S+){0,3}", text[pos:end])
    raise Unreadable(
        f"could not read '{word.group(0) if word else text[pos:]}': name indicators (RSI(14), EMA(50), the MACD line), "
        "prices (the close) or numbers, compared with is below / is above / crosses above / crosses below"
    )


class _Parser:
    """Conditions joined by and/or, with brackets; one level may not mix 'and' and 'or'."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.i = 0
        self.depth = 0

    def parse(self) -> Tree:
        tree = self._expression()
        if self.i < len(self.tokens):
            raise Unreadable(f"could not read '{self._rest()}'")
        return tree

    def _rest(self) -> str:
        start = self.tokens[self.i].start if self.i < len(self.tokens) else len(self.text)
        return self.text[start : start + 40] or self.text[-40:]

    def _peek(self, kind: str) -> bool:
        return self.i < len(self.tokens) and self.tokens[self.i].kind == kind

    def _expression(self) -> Tree:
        items = [self._term()]
        joins: set[str] = set()
        while self._peek("join"):
            joins.add(self.tokens[self.i].value)
            self.i += 1
            items.append(self._term())
        if {"and", "or"} <= joins:
            raise Unusable("mixes 'and' and 'or' at one level: add brackets, e.g. '(A or B) and C'")
        if len(items) == 1:
            return items[0]
        return {"any" if "or" in joins else "all": items}

    def _term(self) -> Tree:
        if self._peek("("):
            self.i += 1
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise Unusable(f"brackets nest deeper than {MAX_DEPTH} levels")
            tree = self._expression()
            self.depth -= 1
            if not self._peek(")"):
                raise Unreadable(f"a bracket is not closed before '{self._rest()}'")
            self.i += 1
            return tree
        left = self._value()
        if not self._peek("op"):
            raise Unreadable(f"expected a comparison (is below, is above, crosses above, ...) at '{self._rest()}'")
        op = self.tokens[self.i].value
        self.i += 1
        return {"left": left, "op": op, "right": self._value()}

    def _value(self) -> Any:
        if not self._peek("value"):
            raise Unreadable(f"expected an indicator, a price or a number at '{self._rest()}'")
        self.i += 1
        return self.tokens[self.i - 1].value


def _rules(text: str) -> Tree | None:
    text = _LEAD.sub("", text.strip().rstrip(".;,").strip())
    if not text:
        raise Unreadable("nothing is written: write the conditions, or 'none'")
    if _NO_RULE.match(text):
        return None
    return _Parser(text).parse()


def read_signals(text: Any) -> Signals:
    """An entry or exit field: "RSI(14) is below 30 and the close is above EMA(50)", or "Long: … Short: …"."""
    t = normal_text(text)
    m = _SHORT.search(t)
    long_text = _LONG.sub("", t[: m.start()] if m else t)
    long = _rules(long_text) if long_text.strip(" .;,") or not m else None
    return Signals(long, _rules(t[m.end() :]) if m else None, m is not None)


def read_indicator_list(text: Any) -> list[IndicatorRef]:
    """The indicators field: "RSI(14), EMA(50), MACD(12, 26, 9)"; "none" for no indicators."""
    t = normal_text(text).rstrip(".")
    if _NO_RULE.match(t):
        return []
    refs: list[IndicatorRef] = []
    expect_value = True
    for token in _tokens(t):
        if expect_value and token.kind == "value" and isinstance(token.value, IndicatorRef):
            if token.value.output is not None:
                raise Unusable(f"list indicators, not their lines: '{token.value.text}'")
            refs.append(token.value)
        elif not (not expect_value and token.kind == "join"):
            near = t[token.start :][:40]
            raise Unreadable(f"list indicators with their parameters, e.g. 'RSI(14), EMA(50)', near '{near}'")
        expect_value = not expect_value
    if expect_value:
        raise Unreadable("list indicators with their parameters, e.g. 'RSI(14), EMA(50)'")
    return refs
