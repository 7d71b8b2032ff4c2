"""Reading the draft card's rules back: the indicators field and the entry and exit signals.

Why: the inverse of :func:`gentrade.strategies.card.conditions_text` and ``indicator_label``, so a card
reads back exactly and the edits traders make of it (another number, indicator or condition, brackets,
"under", "EMA 200") are understood. A small grammar: conditions ``left op right`` joined by and/or
with brackets, one level never mixing the two; an operand is a number or a series, which may be scaled,
looked back on and offset ("3 x Volume SMA(20)", "the close 3 candles ago", "EMA(50) + 100"). It knows
nothing of the draft an edit applies to: indicators come back as :class:`IndicatorRef` (named as
:mod:`gentrade.strategies.card_names` reads them) for :mod:`gentrade.strategies.card_indicators` to
resolve. :class:`Unreadable` and :class:`Unusable` as in :mod:`gentrade.strategies.card_text`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from gentrade.strategies.card import TIMES_WORD
from gentrade.strategies.card_names import IndicatorRef, match_indicator
from gentrade.strategies.card_text import Unreadable, Unusable, normal_text
from gentrade.strategies.draft_types import MAX_DEPTH

Tree = dict[str, Any]  # a condition {"left", "op", "right"} or a group {"all" | "any": [...]}; refs unresolved


@dataclass(frozen=True)
class Signals:
    """An entry or exit field: the long rules and, when a "Short:" part is written, the short ones (None: no rule)."""

    long: Tree | None
    short: Tree | None
    short_written: bool


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
_NUMBER_TEXT = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?"
_NUMBER = re.compile(_NUMBER_TEXT + r"(?![\w%.])")
_FACTOR = re.compile(rf"(?P<n>{_NUMBER_TEXT})\s*(?:{re.escape(TIMES_WORD)}|\*|times)(?!\w)")  # "3 x Volume SMA(20)"
_AGO = re.compile(r"(?P<n>\d+|an?|one)\s+(?:candles?|bars?)\s+ago\b")  # "the close 3 candles ago"
_SIGN = re.compile(r"[-+](?=\s|$)")  # "EMA(50) + 100"
_PERCENT = re.compile(r"[-+]?\s*\d+(?:\.\d+)?\s*%")  # "EMA(50) + 2%": not read
_PRICE = re.compile(r"(closing\s+price|close|price|open|high|low|volume)s?\b")
_FILLER = re.compile(r"(?:the|a)\b\s*")
_LEAD = re.compile(r"^(?:(?:buy|sell|enter|exit|go\s+long|go\s+short|long|short)\s+)?(?:when(?:ever)?|if|once)\s+")
_SHORT = re.compile(r"(?:^|(?<=[\s.;,]))short\s*:")
_LONG = re.compile(r"^long\s*:\s*")
_NO_RULE = re.compile(r"(?:none\b|nothing\b|no\s+(?:exit|entry|rules?|signals?|conditions?)\b|-+$)")


@dataclass(frozen=True)
class _Token:
    kind: str  # ( ) join op value factor ago sign
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
    token = _series_token(text, pos, end)
    if token is not None:
        return token
    m = _NUMBER.match(text, pos, end)
    if m:
        return _Token("value", pos, float(m.group(0))), m.end()
    named = match_indicator(text, pos, end)
    if named is not None:
        return _Token("value", pos, named[0]), named[1]
    m = _PRICE.match(text, pos, end)
    if m:
        column = "close" if m.group(1) in ("price", "closing price") else m.group(1)
        return _Token("value", pos, column), m.end()
    m = _FILLER.match(text, pos, end)
    if m:
        return None, m.end()
    word = re.match(r"\S+(?:\s+\S+){0,3}", text[pos:end])
    if _PERCENT.match(text, pos, end):
        raise Unreadable(
            f"could not read '{word.group(0) if word else text[pos:]}': write a percentage as a factor, "
            "e.g. 1.02 x EMA(50) for 2% above EMA(50)"
        )
    raise Unreadable(
        f"could not read '{word.group(0) if word else text[pos:]}': name indicators (RSI(14), EMA(50), the MACD line), "
        "prices (the close) or numbers, compared with is below / is above / crosses above / crosses below"
    )


def _series_token(text: str, pos: int, end: int) -> tuple[_Token, int] | None:
    """The words around a series: a factor before it, a look-back or an offset's sign after it."""
    m = _FACTOR.match(text, pos, end)
    if m:
        return _Token("factor", pos, float(m.group("n"))), m.end()
    m = _AGO.match(text, pos, end)
    if m:
        return _Token("ago", pos, int(m.group("n")) if m.group("n").isdigit() else 1), m.end()
    m = _SIGN.match(text, pos, end)
    if m:
        return _Token("sign", pos, -1.0 if m.group(0) == "-" else 1.0), m.end()
    return None


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
        """A number, or a series with what is written around it: ``{"ref", "times", "ago", "plus"}`` when
        any is (only those written), else the series alone."""
        factor = self._take("factor")
        if not self._peek("value"):
            raise Unreadable(f"expected an indicator, a price or a number at '{self._rest()}'")
        value = self._take("value")
        if isinstance(value, float):
            if factor is not None:
                raise Unreadable(f"a factor multiplies an indicator or a price, not a number, at '{self._rest()}'")
            return value
        written = {"times": factor, "ago": self._take("ago"), "plus": self._plus()}
        parts = {key: part for key, part in written.items() if part is not None}
        return {"ref": value, **parts} if parts else value

    def _take(self, kind: str) -> Any:
        """The next token's value when it is of ``kind`` (consumed), else None."""
        if not self._peek(kind):
            return None
        self.i += 1
        return self.tokens[self.i - 1].value

    def _plus(self) -> float | None:
        """An offset after a series: "+ 100", "- 0.5", or a signed number right after it ("-5")."""
        sign = self._take("sign")
        if sign is None:
            signed = self._peek("value") and self.text[self.tokens[self.i].start] in "+-"
            return self._take("value") if signed and isinstance(self.tokens[self.i].value, float) else None
        number = self._take("value") if self._peek("value") else None
        if not isinstance(number, float):
            raise Unreadable(f"expected a number after '{'-' if sign < 0 else '+'}' at '{self._rest()}'")
        return sign * number


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
