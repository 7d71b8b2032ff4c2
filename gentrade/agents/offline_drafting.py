"""Offline drafting: read a trader's plain-English message into a ``StrategyDraft`` without a model.

Why: the embedded default, the demo and the tests run the real agent graph with no API key and no
network. These pure functions are the offline model's "brain" (:mod:`gentrade.agents.offline`): a
small rule reader for the phrasings traders commonly use, with sensible defaults for whatever the
message leaves out, each default reported as a plain-English assumption. The newer indicators' words and
usual rules, and the names no draft can hold, are in :mod:`gentrade.agents.offline_vocabulary`; fitting a
higher timeframe into the history Freqtrade loads is :mod:`gentrade.agents.offline_timeframes`.

Contract: every function here is deterministic (same input, same output) and every draft returned
validates. Every string in a draft is data (ids, names, pairs); nothing here builds code.
"""

from __future__ import annotations

import copy
import itertools
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from pydantic import ValidationError

from gentrade.agents.offline_timeframes import align_timeframes, fit_history
from gentrade.agents.offline_vocabulary import (
    ANSWERS,
    AVERAGE_NAMES,
    AVERAGE_OF,
    AVERAGES,
    CHANNELS,
    FALLING,
    INDICATOR_PATTERNS,
    LINE_PAIRS,
    NEW_LEVELS,
    RISING,
    SCALED,
    SURGE,
    TIMES,
    TIMES_WORDS,
    TWIST,
    Mention,
    average_type,
    default_rule,
    indicator_id,
    series,
    title,
    unsupported,
    unsupported_answer,
    unsupported_note,
)
from gentrade.agents.schemas import RouteDecision
from gentrade.strategies.card import LABELS, conditions_text, indicator_label, roi_text, summary
from gentrade.strategies.card_indicators import unique_id
from gentrade.strategies.card_reading import read_card
from gentrade.strategies.catalogue import CATALOGUE, OSCILLATOR_MIDDLES, PRICE_COLUMNS
from gentrade.strategies.draft import NAME_PATTERN, RESERVED_NAMES, TIMEFRAME_MINUTES, StrategyDraft
from gentrade.strategies.short_side import OPPOSITE_OPS
from gentrade.strategies.trees import conditions, references, renamed_ids, series_name

DEFAULT_BASE = "BTC"
DEFAULT_QUOTE = "USDT"
DEFAULT_TIMEFRAME = "1h"
DEFAULT_STOPLOSS = -0.10
DEFAULT_ROI = 0.10
MAX_TEXT = 4000  # longer messages are read up to here: bounds the work per message

Node = dict[str, Any]
Operand = str | float

# --- text helpers -----------------------------------------------------------------------------------------

_TRANSLATE = str.maketrans(
    {
        "\u2212": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2264": "<=",
        "\u2265": ">=",
        "\u00a0": " ",
        "\u00d7": "x",
    }
)


def _normalize(text: str) -> str:
    """Lower case, ASCII punctuation, '%' for 'percent': the form every pattern below reads."""
    text = text[:MAX_TEXT].translate(_TRANSLATE).lower()
    text = re.sub(r"\s*\b(?:percent|per\s+cent|pct)\b", "%", text)
    return re.sub(r"\bthe\s+(?=(?:price|close|closing)\b)", "    ", text)


def _blank(text: str, start: int, end: int) -> str:
    """Erase a span that has been read, keeping every other position where it was."""
    return text[:start] + " " * (end - start) + text[end:]


def _fmt(value: float) -> str:
    return f"{round(value, 6):g}"


def _pct(ratio: float) -> str:
    return f"{round(abs(ratio) * 100, 4):g}%"


# --- indicators -------------------------------------------------------------------------------------------

# "sell above 70" refers back to one of these
CARRIED_SUBJECTS = ("rsi", "mfi", "stoch", "cci", "willr", "stochrsi", "cmo", "roc", "mom")
DEFAULT_LEVELS = {"rsi": (30.0, 70.0), "mfi": (20.0, 80.0), "stoch": (20.0, 80.0), "cci": (-100.0, 100.0), **NEW_LEVELS}
MENTION_ONLY = ("atr", "obv", "natr")  # no sensible rule without more context: computed, not traded on
_ENTRY_ONLY = (*AVERAGES, "adx", "volume_sma")  # named alone, these filter entries (a trend, strength, volume)
_CONDITION_FIELDS = ("entry_conditions", "exit_conditions", "entry_short_conditions", "exit_short_conditions")


class _Registry:
    """The draft's indicators: one id per distinct indicator, reused by every mention of it."""

    def __init__(self, indicators: list[dict[str, Any]], revising: bool) -> None:
        self.items: dict[str, dict[str, Any]] = {i["id"]: copy.deepcopy(i) for i in indicators}
        self.previous = set(self.items)
        self.explicit: set[str] = set(self.items)
        self.revising = revising
        self.notes: list[str] = []
        self.renamed: dict[str, str] = {}

    def of_type(self, kind: str) -> list[str]:
        return [i for i, item in self.items.items() if item["type"] == kind]

    def type_of(self, operand: Any) -> str | None:
        name = series_name(operand)
        item = self.items.get(name.partition(".")[0]) if name else None
        return item["type"] if item else None

    def resolve(self, mention: Mention) -> str:
        """The id for a mention: an existing indicator when it is the same one, else a new one."""
        kind = mention.type
        spec = CATALOGUE[kind]
        written = dict(mention.params)
        try:
            params = spec.params(**written).model_dump()
        except ValidationError:
            params = spec.params().model_dump()
            self.note(f"{LABELS[kind]} parameters {self._params_text(written)} are not valid: using the defaults.")
            written = {}
        timeframe = mention.timeframe
        existing = [i for i in self.of_type(kind) if self.items[i].get("timeframe") == timeframe]
        if kind in AVERAGES:
            for ident in existing:
                if self.items[ident]["params"].get("period") == params["period"]:
                    return ident
            if mention.note:
                self.note(mention.note)
            return self._add(indicator_id(kind, params), kind, params, bool(written), timeframe)
        if not existing:
            if mention.note:
                self.note(mention.note)
            return self._add(indicator_id(kind, params), kind, params, bool(written), timeframe)
        same = [i for i in existing if self.items[i]["params"] == params]
        if not written:
            return existing[0]
        if same:
            return same[0]
        first = existing[0]
        if self.revising or first not in self.explicit:
            old = self.items[first]["params"]
            self.items[first]["params"] = params
            self.explicit.add(first)
            if self.revising:
                self.note(
                    f"Changed {LABELS[kind]} parameters from {self._params_text(old)} to {self._params_text(params)}."
                )
            return first
        suffix = "".join(str(int(v)) for v in written.values() if isinstance(v, int | float))
        return self._add(f"{indicator_id(kind, params)}{suffix}", kind, params, True, timeframe)

    def _add(self, wanted: str, kind: str, params: dict[str, Any], explicit: bool, timeframe: str | None = None) -> str:
        if timeframe and wanted in self.items:
            wanted = f"{wanted}_{timeframe}"  # "ema50_4h" beside the strategy's own "ema50"
        ident = unique_id(wanted, self.items)
        self.items[ident] = {
            "id": ident,
            "type": kind,
            "params": params,
            **({"timeframe": timeframe} if timeframe else {}),
        }
        if explicit:
            self.explicit.add(ident)
        return ident

    def note(self, note: str) -> None:
        if note not in self.notes:
            self.notes.append(note)

    @staticmethod
    def _params_text(params: dict[str, Any]) -> str:
        return "(" + ", ".join(_fmt(v) if isinstance(v, int | float) else str(v) for v in params.values()) + ")"

    def set_param(self, ident: str, name: str, value: int) -> bool:
        """Change one parameter (an "instead of" edit); an average's id follows its period."""
        item = self.items[ident]
        spec = CATALOGUE[item["type"]]
        try:
            params = spec.params(**{**item["params"], name: value}).model_dump()
        except ValidationError:
            return False
        self.replace(ident, {**item, "params": params})
        return True

    def replace(self, ident: str, item: dict[str, Any]) -> str:
        """Put ``item`` in place of indicator ``ident`` ("make it the 4h EMA 100 instead"); an id that said the
        old parameters ("ema50") follows the new ones, and the rules follow through ``renamed``."""
        old = self.items[ident]
        new_id = ident
        if ident == indicator_id(old["type"], old["params"]):
            wanted = indicator_id(item["type"], item["params"])
            new_id = wanted if wanted == ident or wanted not in self.items else ident
        self.items = {
            (new_id if k == ident else k): ({**item, "id": new_id} if k == ident else v) for k, v in self.items.items()
        }
        if new_id != ident:
            self.renamed[ident] = new_id
            self.previous = {new_id if i == ident else i for i in self.previous}
            self.explicit.add(new_id)
        return new_id

    def label(self, ident: str) -> str:
        item = self.items.get(ident)
        return indicator_label(item) if item else ident


# --- the lexer: words -> tokens ---------------------------------------------------------------------------

_MA_NAME = (
    r"(?:exponential\s+moving\s+average|simple\s+moving\s+average|weighted\s+moving\s+average"
    rf"|{AVERAGE_NAMES}|moving\s+average|ema|sma|wma|ma)"
)
_PERIOD_WORD = r"(?:\s*-?\s*(?:period|day|bar|candle|length)s?)"
_OSC_NAMES = {
    "rsi": r"rsi|relative\s+strength(?:\s+index)?",
    "cci": r"cci|commodity\s+channel(?:\s+index)?",
    "mfi": r"mfi|money\s+flow(?:\s+index)?",
    "atr": r"atr|average\s+true\s+range",
    "adx": r"adx|average\s+directional(?:\s+(?:index|movement))?",
    "vwap": r"vwap|volume[\s-]+weighted(?:\s+average)?(?:\s+price)?",
    "obv": r"obv|on[\s-]*balance[\s-]*volume",
}
_BARE_ALLOWED = ("rsi", "cci", "mfi")  # "RSI 7": other names take a period only in brackets or with "period"


@dataclass(frozen=True)
class _Tok:
    kind: str  # ind | price | num | op | ref | cloud | cond | dir | times | avg | surge | twist
    start: int
    end: int
    op: str = ""
    value: float = 0.0  # a number; for "times" the factor, for "avg" the period (0: unnamed)
    mention: Mention | None = None
    name: str = ""
    times: float = 1.0  # "2% above": the comparison scales its right side


def _ma_type(word: str) -> tuple[str, str | None]:
    word = re.sub(r"\s+", " ", word)
    newer = average_type(word)
    if newer:
        return newer, None
    if word.startswith(("ema", "exponential")):
        return "ema", None
    if word.startswith(("wma", "weighted")):
        return "wma", None
    if word in ("ma", "moving average"):
        return "sma", "'Moving average' read as a simple moving average (SMA)."
    return "sma", None


def _ma_mention(word: str, period: str | None, note: str | None = None) -> Mention:
    kind, type_note = _ma_type(word)
    if period is None:
        return Mention(kind, (), note=note or f"No {LABELS[kind]} period named: using 20.")
    return Mention(kind, (("period", int(period)),), note=type_note)


def _lex_ma_pair_prefix(m: re.Match[str]) -> list[Mention]:
    return [_ma_mention(m.group(3), m.group(1)), _ma_mention(m.group(3), m.group(2))]


def _lex_ma_pair_suffix(m: re.Match[str]) -> list[Mention]:
    return [_ma_mention(m.group(1), m.group(2)), _ma_mention(m.group(1), m.group(3))]


def _lex_ma_prefix(m: re.Match[str]) -> list[Mention]:
    return [_ma_mention(m.group(2), m.group(1))]


def _lex_ma_suffix(m: re.Match[str]) -> list[Mention]:
    return [_ma_mention(m.group(1), m.group(2) or m.group(3) or m.group(4))]


def _lex_fast_slow(m: re.Match[str]) -> list[Mention]:
    period = "9" if m.group(1) == "fast" else "21"
    kind, _ = _ma_type(m.group(2))
    note = f"'{m.group(1)} {LABELS[kind]}' read as {LABELS[kind]}({period})."
    return [Mention(kind, (("period", int(period)),), note=note)]


def _osc_prefix(kind: str) -> Callable[[re.Match[str]], list[Mention]]:
    def lex(m: re.Match[str]) -> list[Mention]:
        return [Mention(kind, () if kind == "obv" else (("period", int(m.group(1))),))]

    return lex


def _osc_suffix(kind: str) -> Callable[[re.Match[str]], list[Mention]]:
    def lex(m: re.Match[str]) -> list[Mention]:
        period = m.group(1) or m.group(2) or m.group(3)
        if kind == "obv":
            return [Mention(kind)]
        if period:
            return [Mention(kind, (("period", int(period)),))]
        if m.group(4) and kind in _BARE_ALLOWED:
            return [Mention(kind, bare=int(m.group(4)))]
        return [Mention(kind)]

    return lex


def _lex_macd(m: re.Match[str]) -> list[Mention]:
    numbers = [g for g in m.groups()[:6] if g]
    params = tuple(zip(("fast", "slow", "signal"), map(int, numbers), strict=False)) if numbers else ()
    output = m.group(7)
    if output:
        output = {"line": "macd", "histogram": "hist", "hist": "hist"}.get(output, "signal")
    return [Mention("macd", params, output=output)]


def _band_output(word: str | None) -> str | None:
    return {"lower": "lower", "upper": "upper", "middle": "middle", "mid": "middle"}.get(word or "")


def _lex_bollinger(m: re.Match[str]) -> list[Mention]:
    params: tuple[tuple[str, float], ...] = ()
    if m.group(2):
        params = (("period", int(m.group(2))), ("std", float(m.group(3))))
    return [Mention("bbands", params, output=_band_output(m.group(1) or m.group(4)))]


def _lex_band(m: re.Match[str]) -> list[Mention]:
    return [Mention("bbands", output=_band_output(m.group(1)))]


def _lex_stoch(m: re.Match[str]) -> list[Mention]:
    kind = "stochrsi" if m.group(1) or m.group(0).startswith("stochrsi") else "stoch"
    numbers = [int(g) for g in m.groups()[1:4] if g]
    names = ("period", "k_period", "d_period") if kind == "stochrsi" else ("k_period", "k_smooth", "d_period")
    params = tuple(zip(names, numbers, strict=False)) if numbers else ()
    return [Mention(kind, params, output=m.group(5))]


def _ichimoku(output: str | None) -> Callable[[re.Match[str]], list[Mention]]:
    def lex(m: re.Match[str]) -> list[Mention]:
        return [Mention("ichimoku", output=output)]

    return lex


_NUM3 = r"(\d{1,3})"
_IND_PATTERNS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], list[Mention]]]] = [
    *INDICATOR_PATTERNS,
    (
        re.compile(rf"{_NUM3}\s*(?:and|/|&|,|-)\s*{_NUM3}{_PERIOD_WORD}?\s*-?\s*({_MA_NAME})s?\b"),
        _lex_ma_pair_prefix,
    ),
    (
        re.compile(rf"({_MA_NAME})s?\s*\(?\s*{_NUM3}\s*(?:and|/|&|,)\s*{_NUM3}\s*\)?(?![\d.%])"),
        _lex_ma_pair_suffix,
    ),
    (re.compile(rf"{_NUM3}{_PERIOD_WORD}?\s*-?\s*({_MA_NAME})s?\b"), _lex_ma_prefix),
    (re.compile(rf"(fast|slow)(?:er)?\s+({_MA_NAME})s?\b"), _lex_fast_slow),
    (
        re.compile(
            rf"({_MA_NAME})s?(?:\s*\(\s*{_NUM3}\s*\)|\s*-?\s*{_NUM3}(?![\d.%])|\s+(?:period|length)\s*(?:of\s+)?{_NUM3})?"
            r"(?![a-z])"
        ),
        _lex_ma_suffix,
    ),
    (
        re.compile(
            r"(?:(lower|upper|middle|mid)\s+)?(?:bollinger(?:\s+bands?)?|bbands?|bb)\b"
            r"(?:\s*\(\s*(\d{1,3})\s*[,/ ]\s*(\d+(?:\.\d+)?)\s*\))?(?:\s+(lower|upper|middle|mid)\b(?:\s+bands?)?)?"
        ),
        _lex_bollinger,
    ),
    (re.compile(r"(lower|upper|middle|mid)\s+bands?\b"), _lex_band),
    (
        re.compile(
            r"(?:stoch(?:astic)?(?:\s+oscillator)?(\s*-?\s*rsi)?|(?:stochrsi))\b"
            r"(?:\s*\(\s*(\d{1,3})\s*[,/ ]\s*(\d{1,3})\s*[,/ ]\s*(\d{1,3})\s*\))?(?:\s*%?\s*(k|d)\b)?"
        ),
        _lex_stoch,
    ),
    (
        re.compile(
            r"macd\b(?:\s*\(\s*(\d{1,3})\s*[,/ ]\s*(\d{1,3})\s*[,/ ]\s*(\d{1,3})\s*\)"
            r"|\s+(\d{1,3})\s*[,/]\s*(\d{1,3})\s*[,/]\s*(\d{1,3}))?(?:\s+(line|histogram|hist|signal(?:\s+line)?)\b)?"
        ),
        _lex_macd,
    ),
    (re.compile(r"tenkan(?:[\s-]*sen)?\b|conversion\s+line\b"), _ichimoku("tenkan")),
    (re.compile(r"kijun(?:[\s-]*sen)?\b|base\s+line\b"), _ichimoku("kijun")),
    (re.compile(r"(?:senkou\s+)?span\s*a\b"), _ichimoku("span_a")),
    (re.compile(r"(?:senkou\s+)?span\s*b\b"), _ichimoku("span_b")),
    *(
        (re.compile(rf"{_NUM3}{_PERIOD_WORD}\s*-?\s*(?:{name})\b"), _osc_prefix(kind))
        for kind, name in _OSC_NAMES.items()
    ),
    *(
        (
            re.compile(
                rf"(?:{name})\b(?:\s*\(\s*{_NUM3}\s*\)|-{_NUM3}(?![\d.%])|\s+(?:period|length)\s*(?:of\s+)?{_NUM3}"
                + (
                    rf"|\s*{_NUM3}(?![\d.%]))?" if kind in _BARE_ALLOWED else r"|(x)^)?"
                )  # (x)^: a group that never matches
            ),
            _osc_suffix(kind),
        )
        for kind, name in _OSC_NAMES.items()
    ),
]
_CLOUD = re.compile(r"(?:ichimoku\s+)?(?:cloud|kumo)\b")
_ICHIMOKU = re.compile(r"ichimoku(?:\s+kinko\s+hyo)?\b")
_GOLDEN = re.compile(r"(golden|death)\s+cross(?:es|ing)?\b")
_OP_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"overbought\b|over\s+bought\b"), "overbought"),
    (re.compile(r"oversold\b|over\s+sold\b"), "oversold"),
    (
        re.compile(
            r"(?:cross(?:es|ed|ing)?|break(?:s|ing)?(?:\s+out)?|broke(?:\s+out)?)\s+(?:back\s+)?"
            r"(?:above|over|up(?:wards?)?(?:\s+through)?)\b"
        ),
        "crosses_above",
    ),
    (
        re.compile(
            r"(?:cross(?:es|ed|ing)?|break(?:s|ing)?(?:\s+down)?|broke(?:\s+down)?)\s+(?:back\s+)?"
            r"(?:below|under|beneath|down(?:wards?)?(?:\s+through)?)\b"
        ),
        "crosses_below",
    ),
    (re.compile(r"(?:cross(?:es|ed|ing)?|crossovers?)\b"), "cross"),
    (re.compile(r"<=|at\s+or\s+(?:below|under)\b|at\s+most\b|no\s+(?:more|higher)\s+than\b"), "<="),
    (re.compile(r">=|at\s+or\s+above\b|at\s+least\b|no\s+(?:less|lower)\s+than\b"), ">="),
    (re.compile(r"(?:drops?|dropped|falls?|fell|dips?|dipped|sinks?)\s+to\b"), "<="),
    (re.compile(r"(?:rises?|rose|climbs?|climbed|gets?|goes)\s+to\b"), ">="),
    (re.compile(r"<|(?:below|under|beneath|less\s+than|lower\s+than|smaller\s+than)\b"), "<"),
    (
        re.compile(r">|(?:above|over|greater\s+than|higher\s+than|more\s+than|exceeds?|exceeding|exceeded|beyond)\b"),
        ">",
    ),
    (RISING, "rising"),
    (FALLING, "falling"),
    (re.compile(r"(?:turns?\s+|goes\s+|is\s+|becomes?\s+|flips?\s+)?(?:positive|green)\b"), "positive"),
    (re.compile(r"(?:turns?\s+|goes\s+|is\s+|becomes?\s+|flips?\s+)?(?:negative|red)\b"), "negative"),
    (re.compile(r"(?:touch(?:es|ed|ing)?|hits?|hitting|reach(?:es|ed|ing)?|tags?|tagged|tests?|at)\b"), "touch"),
]
_REF_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?:(?:its|the|their)\s+)?signal(?:\s+line)?\b"), "signal"),
    (re.compile(r"(?:(?:its|the)\s+)?hist(?:ogram)?\b"), "hist"),
    (re.compile(r"%\s*k\b|k\s+line\b"), "k"),
    (re.compile(r"%\s*d\b|d\s+line\b"), "d"),
    (re.compile(r"it\b"), "it"),
]
_PRICE_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?:price|close|closes|closed|closing(?:\s+price)?|candle\s+close)\b"), "close"),
    (re.compile(r"open\b"), "open"),
    (re.compile(r"high\b"), "high"),
    (re.compile(r"low\b"), "low"),
    (re.compile(r"volume\b"), "volume"),
]
_NUM = re.compile(r"[-+]?\d+(?:\.\d+)?(?![\d%a-z]|\.\d)|zero\b")
_DIR = re.compile(r"(bullish|bearish)\b")
_SKIP = re.compile(r"\w+|\S")


def _lex(text: str, start: int, end: int) -> list[_Tok]:
    """Tokens in ``text[start:end]``: indicators, price columns, numbers, comparisons, references."""
    tokens: list[_Tok] = []
    pos = start
    while pos < end:
        while pos < end and text[pos].isspace():
            pos += 1
        if pos >= end:
            break
        token, pos = _lex_one(text, pos, end)
        if token:
            tokens.extend(token)
    return tokens


def _lex_one(text: str, pos: int, end: int) -> tuple[list[_Tok], int]:
    if pos > 0 and text[pos - 1].isalnum() and text[pos].isalnum():
        m = _SKIP.match(text, pos, end)
        return [], m.end() if m else pos + 1
    m = _GOLDEN.match(text, pos, end)
    if m:
        return [
            _Tok("cond", m.start(), m.end(), op="crosses_above" if m.group(1) == "golden" else "crosses_below")
        ], m.end()
    m = TWIST.match(text, pos, end)
    if m:
        return [_Tok("twist", m.start(), m.end())], m.end()
    m = _CLOUD.match(text, pos, end)
    if m:
        return [_Tok("cloud", m.start(), m.end())], m.end()
    m = SURGE.match(text, pos, end)
    if m:  # a surge is twice the average unless a factor follows; "high volume" just above it
        return [_Tok("surge", m.start(), m.end(), value=2.0 if m.group(1) or m.group(2) else 1.0)], m.end()
    m = _ICHIMOKU.match(text, pos, end)
    if m:
        return [_Tok("ind", m.start(), m.end(), mention=Mention("ichimoku"))], m.end()
    for pattern, lex in _IND_PATTERNS:
        m = pattern.match(text, pos, end)
        if m:
            return [_Tok("ind", m.start(), m.end(), mention=mention) for mention in lex(m)], m.end()
    m = SCALED.match(text, pos, end)
    if m:
        share = float(m.group(1)) / 100
        op, times = (">", 1 + share) if m.group(2) else ("<", 1 - share)
        return [_Tok("op", m.start(), m.end(), op=op, times=round(times, 6))], m.end()
    m = TIMES.match(text, pos, end)
    if m:
        value = float(m.group(1)) if m.group(1) else TIMES_WORDS[m.group(2) or m.group(3)]
        return [_Tok("times", m.start(), m.end(), value=value)], m.end()
    m = AVERAGE_OF.match(text, pos, end)
    if m:
        return [_Tok("avg", m.start(), m.end(), value=float(m.group(1) or 0))], m.end()
    for pattern, op in _OP_PATTERNS:
        m = pattern.match(text, pos, end)
        if m:
            return [_Tok("op", m.start(), m.end(), op=op)], m.end()
    for pattern, name in _REF_PATTERNS:
        m = pattern.match(text, pos, end)
        if m:
            return [_Tok("ref", m.start(), m.end(), name=name)], m.end()
    for pattern, name in _PRICE_PATTERNS:
        m = pattern.match(text, pos, end)
        if m:
            return [_Tok("price", m.start(), m.end(), name=name)], m.end()
    m = _DIR.match(text, pos, end)
    if m:
        return [_Tok("dir", m.start(), m.end(), name=m.group(1))], m.end()
    m = _NUM.match(text, pos, end)
    if m:
        value = 0.0 if m.group(0) == "zero" else float(m.group(0))
        return [_Tok("num", m.start(), m.end(), value=value)], m.end()
    m = _SKIP.match(text, pos, end)
    return [], m.end() if m else pos + 1


# --- stops, targets, timeframes, pairs --------------------------------------------------------------------

_PCT = r"(?P<n>\d+(?:\.\d+)?)\s*%"
_STOP = r"(?:stop(?:[\s-]*loss)?|sl)"
_STOP_PATTERNS = [
    (
        re.compile(
            rf"\b(trailing\s+)?{_STOP}\b\s*(?:of|at|to|=|:|is|around|on|set\s+to)?\s*(?:a\s+|an\s+)?-?\s*{_PCT}"
        ),
        100,
    ),
    (re.compile(rf"(?<![\w.])(?:a\s+)?{_PCT}\s*-?\s*(trailing\s+)?{_STOP}\b"), 100),
    (re.compile(rf"\b(trailing\s+)?{_STOP}\b\s*(?:of|at|to|=|:|is)?\s*(?P<n>-?\s*0?\.\d+)(?![\d%])"), 1),
    (re.compile(rf"\b(trailing\s+)?{_STOP}\b\s*(?:of|at|to|=|:|is)?\s*(?P<n>\d+(?:\.\d+)?)(?![\d.%]|\s*[a-z])"), 100),
    (re.compile(r"(?<![\w.])(?P<n>-0?\.\d+)(?![\d%])"), 1),
]
_TRAILING_OFF = re.compile(
    r"\b(?:no|without|remove|drop|disable|turn\s+off|don'?t\s+use|stop\s+using)\s+(?:the\s+|a\s+)?trailing\b"
)
_TRAILING_ON = re.compile(r"\btrailing(?:\s+stop(?:[\s-]*loss)?)?\b")
_ROI_PATTERNS = [
    re.compile(
        rf"\b(?:take[\s-]*profits?|tp|profit\s+target|target|roi|minimal\s+roi)\b\s*(?:of|at|to|=|:|is|around|set\s+to)?"
        rf"\s*\+?{_PCT}"
    ),
    re.compile(rf"(?<![\w.])\+?{_PCT}\s*(?:take[\s-]*profits?|profit(?:\s+target)?|gain|target|roi|tp)\b"),
]
_CHANGE_PATTERNS = [
    (re.compile(r"(-?\d+(?:\.\d+)?)\s*(%?)\s*(?:instead\s+of|rather\s+than|not)\s+(-?\d+(?:\.\d+)?)\s*(%?)"), False),
    (re.compile(r"\bfrom\s+(-?\d+(?:\.\d+)?)\s*(%?)\s*to\s+(-?\d+(?:\.\d+)?)\s*(%?)"), True),
]
_TIMEFRAME_PATTERNS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(r"\b(\d{1,2})\s*-?\s*(?:m|min|mins|minutes?)\b"), lambda m: f"{int(m.group(1))}m"),
    (re.compile(r"\b(\d{1,2})\s*-?\s*(?:h|hr|hrs|hours?|hourly)\b"), lambda m: f"{int(m.group(1))}h"),
    (
        re.compile(
            r"\b(\d{1,2})\s*-?\s*(?:d|days?)\b(?!\s*(?:sma|ema|wma|ma|moving|average|avg|mean|highs?|lows?|hull|[dt]ema|hma))"
        ),
        lambda m: f"{int(m.group(1))}d",
    ),
    (re.compile(r"\b(\d{1,2})\s*-?\s*(?:w|wk|weeks?)\b"), lambda m: f"{int(m.group(1))}w"),
    (re.compile(r"\b(one|five|fifteen|thirty)[\s-]+minutes?\b"), lambda m: _WORD_MINUTES[m.group(1)]),
    (re.compile(r"\b(?:one[\s-]+hour|an?\s+hour(?:ly)?|hourly)\b"), lambda m: "1h"),
    (re.compile(r"\b(?:four|4)[\s-]*hourly\b|\bfour[\s-]+hours?\b"), lambda m: "4h"),
    (re.compile(r"\bhalf[\s-]+(?:an[\s-]+)?hour(?:ly)?\b"), lambda m: "30m"),
    (re.compile(r"\b(?:daily|one[\s-]+day|(?:the\s+)?day\s+(?:chart|candles?|timeframe|bars?))\b"), lambda m: "1d"),
    (re.compile(r"\b(?:weekly|one[\s-]+week)\b"), lambda m: "1w"),
]
_WORD_MINUTES = {"one": "1m", "five": "5m", "fifteen": "15m", "thirty": "30m"}
_UNIT_MINUTES = {"m": 1, "h": 60, "d": 1440, "w": 10080}

_COINS = {
    "bitcoin": "BTC",
    "btc": "BTC",
    "xbt": "BTC",
    "ethereum": "ETH",
    "ether": "ETH",
    "eth": "ETH",
    "solana": "SOL",
    "sol": "SOL",
    "binance coin": "BNB",
    "bnb": "BNB",
    "ripple": "XRP",
    "xrp": "XRP",
    "cardano": "ADA",
    "ada": "ADA",
    "dogecoin": "DOGE",
    "doge": "DOGE",
    "avalanche": "AVAX",
    "avax": "AVAX",
    "polkadot": "DOT",
    "litecoin": "LTC",
    "ltc": "LTC",
    "chainlink": "LINK",
    "tron": "TRX",
    "trx": "TRX",
    "shiba inu": "SHIB",
    "shib": "SHIB",
    "pepe": "PEPE",
    "sui": "SUI",
    "toncoin": "TON",
}
_QUOTES = r"usdt|usdc|busd|fdusd|tusd|dai|usd|eur|gbp|try|btc|eth|bnb"
_FIAT_QUOTES = r"usdt|usdc|busd|fdusd|tusd|dai|usd|eur|gbp|try"
_EXPLICIT_PAIR = re.compile(rf"\b([a-z][a-z0-9]{{1,14}})\s*[/-]\s*({_QUOTES})\b")
_JOINED_PAIR = re.compile(r"\b([a-z]{2,10}?)(usdt|usdc|busd|fdusd)\b")
_COIN = re.compile(r"\b(" + "|".join(re.escape(n) for n in sorted(_COINS, key=lambda n: (-len(n), n))) + r")\b")
_QUOTE_HINT = re.compile(
    rf"\b(?:in|against|versus|vs\.?|quoted\s+in)\s+({_FIAT_QUOTES})\b|\b({_FIAT_QUOTES})\s+pairs?\b"
)
_NOT_BASES = frozenset({"rsi", "ema", "sma", "wma", "macd", "adx", "atr", "cci", "mfi", "obv", "vwap", "stop", "take"})

_PAIR_VERBS = re.compile(
    r"\b(?P<add>add(?:ing)?|include|also|plus|as\s+well\s+as)\b"
    r"|\b(?P<remove>remove|drop|delete|exclude|without|except|no\s+more|stop\s+trading|take\s+out|get\s+rid\s+of)\b"
    r"|\b(?P<swap>replace|swap|switch|change)\b"
    r"|\b(?P<into>with|for|to|by)\b"
    r"|\b(?P<instead>instead\s+of)\b"
)
_REMOVAL = re.compile(
    r"\b(?:drop|remove|delete|get\s+rid\s+of|without|no\s+longer\s+use|don'?t\s+use|do\s+not\s+use|stop\s+using"
    r"|exclude|ditch|lose|take\s+out|disable|turn\s+off)\b([^,;.!?]*?)"
    r"(?=$|[,;.!?]|\band\s+(?:add|use|make|change|set|switch|keep)\b|\bbut\b)"
)
_NAME_PATTERNS = [
    re.compile(r"\b(?:call|name)\s+(?:it|the\s+strategy|the\s+draft|this)\s+[\"'`]?([A-Za-z][A-Za-z0-9]{2,63})\b"),
    re.compile(r"\b(?:called|named)\s+[\"'`]?([A-Za-z][A-Za-z0-9]{2,63})\b"),
]
_ROLE = re.compile(
    r"\b(?P<short>go(?:es|ing)?\s+short|short(?:s|ing)?\s+(?:when|if|on|once|whenever)|sell(?:ing)?\s+short"
    r"|short[\s-]+sell(?:ing)?|open(?:s|ing)?\s+(?:a\s+)?shorts?|enter(?:s|ing)?\s+(?:a\s+)?shorts?|shorting)\b"
    r"|\b(?P<exit>sell(?:s|ing)?|sold|exit(?:s|ing)?|close(?:s)?\s+(?:the\s+|a\s+|my\s+)?(?:position|trade|long)s?"
    r"|get\s+out|take[\s-]+profits?|cash\s+out|leave(?:s)?\s+(?:the\s+)?(?:trade|position))\b"
    r"|\b(?P<entry>buy(?:s|ing)?|bought|enter(?:s|ing)?|entry|entries|go(?:es|ing)?\s+long"
    r"|long(?:s)?\s+(?:when|if|on|once|whenever)|open(?:s|ing)?\s+(?:a\s+)?(?:long|position|trade)s?|get\s+in"
    r"|purchase)\b"
)
_BREAK = re.compile(r"[;!?\n]|,(?![^()]*\))|\.(?!\d)|\bthen\b")  # a comma in brackets lists parameters
_HAS_RULE = re.compile(r"[<>]|\d|\b(?:below|under|above|over|cross\w*|less|greater|more)\b")
_TRAILING_ROLE = re.compile(r"\bto\s+$")
_FILTER_WORDS = re.compile(r"\b(?:filter|trend|uptrend|only)\b")
_TREND_FILTER = re.compile(r"\btrend[\s-]+filter\b")


@dataclass(frozen=True)
class _Coin:
    base: str
    quote: str | None
    start: int
    end: int


@dataclass
class _Found:
    role: str  # entry | exit
    node: Node
    start: int
    end: int
    forced_entry: bool = False


@dataclass
class _Threshold:
    """A level written without a comparison ("RSI 25", "make it 25"): set or change a threshold."""

    role: str
    subject: str | None
    value: float
    start: int


@dataclass
class _Removal:
    types: tuple[str, ...]
    role: str | None
    filters: bool
    trailing: bool
    stop: bool
    volume: bool = False  # "remove the volume filter": rules on volume and its average


@dataclass
class _Reading:
    """What one message says, before it is applied to a draft."""

    name: str | None = None
    stop: float | None = None
    trailing: bool | None = None
    roi: float | None = None
    timeframe: str | None = None
    coins: list[_Coin] = field(default_factory=list)
    quote: str | None = None
    changes: list[tuple[float, bool, float, bool]] = field(default_factory=list)
    removals: list[_Removal] = field(default_factory=list)
    found: list[_Found] = field(default_factory=list)
    thresholds: list[_Threshold] = field(default_factory=list)
    leftovers: list[tuple[str, Mention, bool, int]] = field(default_factory=list)  # role, what, filtering, where
    qualifiers: dict[int, str] = field(default_factory=dict)  # where an indicator starts -> its higher timeframe
    unsupported: list[str] = field(default_factory=list)  # named things no draft can hold ("ZigZag")
    short: bool = False
    text: str = ""
    timeframe_note: str | None = None
    stop_note: str | None = None

    @property
    def recognised(self) -> bool:
        return bool(
            self.stop is not None
            or self.trailing is not None
            or self.roi is not None
            or self.timeframe
            or self.coins
            or self.changes
            or self.removals
            or self.found
            or self.thresholds
            or self.leftovers
            or self.short
            or self.name
        )


def _take_name(text: str) -> tuple[str | None, str]:
    for pattern in _NAME_PATTERNS:
        m = pattern.search(text)
        if m:
            name = m.group(1)[0].upper() + m.group(1)[1:]
            if re.fullmatch(NAME_PATTERN, name) and name not in RESERVED_NAMES:
                return name, text[: m.start()] + " " * (m.end() - m.start()) + text[m.end() :]
    return None, text


def _take_all(text: str, patterns: list[re.Pattern[str]]) -> tuple[list[re.Match[str]], str]:
    """Every match of any pattern, earliest first, without overlaps; blanked from the text."""
    found: list[re.Match[str]] = []
    for pattern in patterns:
        found.extend(pattern.finditer(text))
    found.sort(key=lambda m: (m.start(), -m.end()))
    kept: list[re.Match[str]] = []
    for m in found:
        if not kept or m.start() >= kept[-1].end():
            kept.append(m)
    for m in kept:
        text = _blank(text, m.start(), m.end())
    return kept, text


def _take_stop(reading: _Reading, text: str) -> str:
    if _TRAILING_OFF.search(text):
        reading.trailing = False
    elif _TRAILING_ON.search(text):
        reading.trailing = True
    scales = {p.pattern: scale for p, scale in _STOP_PATTERNS}
    matches, text = _take_all(text, [p for p, _ in _STOP_PATTERNS])
    for m in matches:
        value = abs(float(m.group("n").replace(" ", ""))) / scales[m.re.pattern]
        if 0.001 <= value <= 0.99:
            reading.stop = -round(value, 6)
            break
        reading.stop_note = f"A {_pct(value)} stop loss is outside 0.1%-99%: ignored it."
    if reading.trailing is not None:
        text = _TRAILING_ON.sub(lambda m: " " * len(m.group(0)), text)
    return text


def _take_roi(reading: _Reading, text: str) -> str:
    matches, text = _take_all(text, _ROI_PATTERNS)
    for m in matches:
        value = float(m.group("n")) / 100
        if 0 < value <= 100:
            reading.roi = round(value, 6)
            break
    return text


def _take_changes(reading: _Reading, text: str) -> str:
    for pattern, reverse in _CHANGE_PATTERNS:
        for m in pattern.finditer(text):
            a, a_pct, b, b_pct = float(m.group(1)), bool(m.group(2)), float(m.group(3)), bool(m.group(4))
            new, new_pct, old, old_pct = (b, b_pct, a, a_pct) if reverse else (a, a_pct, b, b_pct)
            reading.changes.append((new, new_pct or old_pct, old, old_pct or new_pct))
            text = _blank(text, m.start(), m.end())
    return text


def _take_timeframe(reading: _Reading, text: str) -> str:
    best: tuple[int, str, re.Match[str]] | None = None
    for pattern, value in _TIMEFRAME_PATTERNS:
        for m in pattern.finditer(text):
            if best is None or m.start() < best[0]:
                best = (m.start(), value(m), m)
            text = _blank(text, m.start(), m.end())
    if best is None:
        return text
    reading.timeframe, reading.timeframe_note = _supported_timeframe(best[1])
    return text


def _supported_timeframe(wanted: str) -> tuple[str, str | None]:
    """A timeframe as written ("2h"), as the nearest supported one and a note when they differ."""
    if wanted in TIMEFRAME_MINUTES:
        return wanted, None
    minutes = int(wanted[:-1]) * _UNIT_MINUTES[wanted[-1]]
    nearest = min(TIMEFRAME_MINUTES, key=lambda tf: (abs(TIMEFRAME_MINUTES[tf] - minutes), TIMEFRAME_MINUTES[tf]))
    return nearest, f"{wanted} is not a supported timeframe (1m 5m 15m 30m 1h 4h 1d): using {nearest}."


def _take_pairs(reading: _Reading, text: str) -> str:
    coins: list[_Coin] = []
    for pattern in (_EXPLICIT_PAIR, _JOINED_PAIR):
        for m in pattern.finditer(text):
            base, quote = m.group(1), m.group(2)
            if base in _NOT_BASES or base == quote or not text[m.start() : m.end()].strip():
                continue
            coins.append(_Coin(_COINS.get(base, base).upper(), quote.upper(), m.start(), m.end()))
            text = _blank(text, m.start(), m.end())
    for m in _COIN.finditer(text):
        coins.append(_Coin(_COINS[m.group(1)], None, m.start(), m.end()))
    hint = _QUOTE_HINT.search(text)
    explicit = [c.quote for c in sorted(coins, key=lambda c: c.start) if c.quote]
    reading.quote = explicit[0] if explicit else (hint.group(1) or hint.group(2)).upper() if hint else None
    if hint:
        text = _blank(text, hint.start(), hint.end())
    reading.coins = sorted(coins, key=lambda c: c.start)
    for coin in reading.coins:
        text = _blank(text, coin.start, coin.end)
    return text


def _take_removals(reading: _Reading, text: str) -> str:
    for m in _REMOVAL.finditer(text):
        phrase = m.group(1)
        types = tuple(dict.fromkeys(t.mention.type for t in _lex(phrase, 0, len(phrase)) if t.mention))
        if "cloud" in phrase:
            types = (*types, "ichimoku")
        role = (
            "exit"
            if re.search(r"\b(?:exit|sell)", phrase)
            else "entry"
            if re.search(r"\b(?:entry|buy)", phrase)
            else None
        )
        volume = bool(re.search(r"\bvolume\b", phrase))
        removal = _Removal(
            types=(*types, "volume_sma") if volume else types,
            role=role,
            filters=bool(re.search(r"\b(?:filter|trend)\b", phrase)) and not volume,
            trailing=bool(re.search(r"\btrailing\b", phrase)),
            stop=bool(re.search(r"\bstop\b", phrase)) and not re.search(r"\btrailing\b", phrase),
            volume=volume,
        )
        if removal.types or removal.filters or removal.stop:
            reading.removals.append(removal)
        text = _blank(text, m.start(), m.end())
    return text


# --- reading a message ------------------------------------------------------------------------------------


def _segments(text: str) -> Iterator[tuple[str, int, int, bool]]:
    """Clauses with their role ("entry", "exit", "short" or "" to inherit) and whether it was written."""
    breaks = sorted({0, len(text), *(m.start() for m in _BREAK.finditer(text))})
    for start, end in itertools.pairwise(breaks):
        role, cut = "", start
        for m in _ROLE.finditer(text, start, end):
            if not role and _TRAILING_ROLE.search(text, cut, m.start()) and _HAS_RULE.search(text, cut, m.start()):
                yield m.lastgroup or "", cut, m.end(), True  # "RSI below 30 to buy": the role comes last
                cut = m.end()
                continue
            if role or _HAS_RULE.search(text, cut, m.start()):  # "RSI <= 30 - sell >= 70": two clauses
                yield role, cut, m.start(), bool(role)
                cut = m.start()
            role = m.lastgroup or ""
        if cut >= end:
            continue
        yield role, cut, end, bool(role)


_SERIES_KINDS = ("ind", "price", "ref", "avg")  # tokens that name a series, i.e. can be compared and scaled
_QUALIFIER_AFTER = re.compile(r"(?:[\s-]+(?:chart|timeframe|candle|bar)(?:'s|s)?)?\s+(?:the\s+)?")
_QUALIFIER_BEFORE = re.compile(r"\s+(?:on|of|from|in)\s+(?:the\s+)?$")
_QUALIFIER_TAIL = re.compile(r"(?:[\s-]+(?:chart|timeframe|candles?|bars?))?")


def _take_qualifiers(text: str) -> tuple[str, dict[int, tuple[str, str]], bool]:
    """Timeframes written on an indicator ("the 4h EMA 50", "EMA 200 on the daily"), blanked: by where the
    indicator starts, the timeframe as written and the indicator's type; and whether every indicator has one."""
    indicators = {t.start: t for t in _lex(text, 0, len(text)) if t.kind == "ind" and t.mention}
    ends = {t.end: t.start for t in indicators.values()}
    found: dict[int, tuple[str, str]] = {}
    spans: list[tuple[int, int]] = []
    for pattern, value in _TIMEFRAME_PATTERNS:
        for m in pattern.finditer(text):
            after = _QUALIFIER_AFTER.match(text, m.end())
            before = _QUALIFIER_BEFORE.search(text, 0, m.start())
            if after and after.end() in indicators:
                start, span = after.end(), (m.start(), after.end())
            elif before and before.start() in ends:
                tail = _QUALIFIER_TAIL.match(text, m.end())
                start, span = ends[before.start()], (before.start(), tail.end() if tail else m.end())
            else:
                continue
            mention = indicators[start].mention
            assert mention is not None
            found[start] = (value(m), mention.type)
            spans.append(span)
    for start, end in spans:
        text = _blank(text, start, end)
    return text, found, bool(indicators) and all(start in found for start in indicators)


def _qualified(reading: _Reading, tok: _Tok, offset: int) -> _Tok:
    """The token with the higher timeframe written on it, if any."""
    timeframe = reading.qualifiers.get(offset + tok.start)
    if tok.kind != "ind" or tok.mention is None or timeframe is None:
        return tok
    return replace(tok, mention=replace(tok.mention, timeframe=timeframe))


class _Reader:
    """Turns one message into a :class:`_Reading`, resolving indicator mentions through a registry."""

    def __init__(self, registry: _Registry, previous: dict[str, Any] | None) -> None:
        self.registry = registry
        self.previous = previous
        self.subject: str | None = None  # the last oscillator named: what a bare level refers to
        self.last_left: str | None = None  # the last rule's subject: what "it" refers to
        self.notes = registry.notes

    def read(self, raw: str) -> _Reading:
        reading = _Reading()
        reading.name, raw = _take_name(raw)
        text = _normalize(raw)
        reading.unsupported = unsupported(text)
        if self.previous is not None:
            text = _take_changes(reading, text)
        text = _take_stop(reading, text)
        text = _take_roi(reading, text)
        text, qualified, every = _take_qualifiers(text)
        text = _take_timeframe(reading, text)
        self._settle_qualifiers(reading, qualified, every)
        pair_text = text
        text = _take_pairs(reading, text)
        reading.text = pair_text
        if self.previous is not None:
            text = _take_removals(reading, text)
        role = "entry"
        for written, start, end, _ in _segments(text):
            role = written or role
            segment = text[start:end]
            clean = _ROLE.sub(lambda m: " " * len(m.group(0)), segment)
            if role == "short":
                reading.short = True
                continue
            self._read_segment(reading, start, clean, role)
        if (
            _TREND_FILTER.search(text)
            and not any(m.type in (*AVERAGES, "vwap", "ichimoku", "adx") for _, m, _, _ in reading.leftovers)
            and not any(f.forced_entry for f in reading.found)
        ):
            note = "No average named for the trend filter: using EMA(200)."
            reading.leftovers.append(("entry", Mention("ema", (("period", 200),), note=note), True, len(text)))
        return reading

    def _settle_qualifiers(self, reading: _Reading, qualified: dict[int, tuple[str, str]], every: bool) -> None:
        """Which written indicator timeframes are higher ones. A fresh draft with no timeframe of its own runs on
        the lowest one written when every indicator names one ("a 4h EMA crossover"), or when it is below the
        default; one equal to the strategy's is its own, and a lower one cannot be used (said in a note)."""
        if not qualified:
            return
        wanted: dict[int, tuple[str, str]] = {}
        for start, (written, kind) in qualified.items():
            timeframe, note = _supported_timeframe(written)
            wanted[start] = (timeframe, kind)
            if note:
                self.note(note)
        minutes = TIMEFRAME_MINUTES
        if self.previous is None and reading.timeframe is None:
            lowest = min((timeframe for timeframe, _ in wanted.values()), key=minutes.__getitem__)
            if every or minutes[lowest] < minutes[DEFAULT_TIMEFRAME]:
                reading.timeframe = lowest
        base = reading.timeframe or (self.previous["timeframe"] if self.previous else DEFAULT_TIMEFRAME)
        for start, (timeframe, kind) in wanted.items():
            if minutes[timeframe] > minutes[base]:
                reading.qualifiers[start] = timeframe
            elif minutes[timeframe] < minutes[base]:
                self.note(
                    f"{LABELS[kind]} on {timeframe}: an indicator can only use a timeframe higher than the strategy's "
                    f"({base}), so it is read on {base}."
                )

    def _read_segment(self, reading: _Reading, offset: int, clean: str, role: str) -> None:
        tokens = self._expand_bare([_qualified(reading, tok, offset) for tok in _lex(clean, 0, len(clean))])
        direction = next((t.name for t in tokens if t.kind == "dir"), None)
        filtering = bool(_FILTER_WORDS.search(clean))
        pending: list[_Tok] = []
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            if tok.kind == "cond":
                self._golden(reading, tok, role, offset)
                i += 1
                continue
            if tok.kind == "twist":
                self._twist(reading, tok, role, direction, offset)
                i += 1
                continue
            if tok.kind == "surge":
                i = self._surge(reading, tokens, i, role, offset)
                continue
            if tok.kind == "times" and pending and i + 1 < len(tokens) and tokens[i + 1].kind in _SERIES_KINDS:
                tok = _Tok("op", tok.start, tok.end, op=">", times=tok.value)  # "volume 2x its average"
            if tok.kind == "op":
                left = pending.pop() if pending else None
                j = i + 1
                if j + 1 < len(tokens) and tokens[j].kind == "times" and tokens[j + 1].kind in _SERIES_KINDS:
                    tok = replace(tok, times=tok.times * tokens[j].value)  # "above 3 times its average"
                    j += 1
                right = tokens[j] if j < len(tokens) and tokens[j].kind in (*_SERIES_KINDS, "num", "cloud") else None
                i = j + 1 if right else j
                made = self._condition(left, tok, right, role, direction, pending)
                if made is None:
                    pending.extend(t for t in (left, right) if t is not None and t.kind == "ind")
                    continue
                node, forced = made
                node = _map(node, self._complete) or node
                start = offset + (left.start if left else tok.start)
                end = offset + (right.end if right else tok.end)
                reading.found.append(
                    _Found(role, node, start, end, forced or (filtering and _is_filter(node, self.registry)))
                )
                continue
            if tok.kind == "num":
                if pending and pending[-1].kind == "ind" and pending[-1].mention and not pending[-1].mention.output:
                    subject = pending.pop()
                    assert subject.mention is not None
                    if subject.mention.type in (*CARRIED_SUBJECTS, "adx"):
                        ident = self.registry.resolve(subject.mention)
                        reading.thresholds.append(
                            _Threshold(role, _default_output(ident, self.registry), tok.value, offset + tok.start)
                        )
                        self._carry(_default_output(ident, self.registry))
                    else:
                        pending.append(subject)
                elif (pending and pending[-1].kind == "ref" and pending[-1].name == "it") or (
                    self.previous is not None and not pending
                ):
                    if pending:
                        pending.pop()
                    reading.thresholds.append(_Threshold(role, None, tok.value, offset + tok.start))
                i += 1
                continue
            if tok.kind in ("ind", "price", "ref", "cloud"):
                pending.append(tok)
            i += 1
        for tok in pending:
            if tok.kind == "ind" and tok.mention:
                reading.leftovers.append((role, tok.mention, filtering, offset + tok.start))
            elif tok.kind == "cloud":
                reading.leftovers.append((role, Mention("ichimoku"), filtering, offset + tok.start))

    def _surge(self, reading: _Reading, tokens: list[_Tok], i: int, role: str, offset: int) -> int:
        """'a volume surge (3x average)': an entry filter, volume above a multiple of its average; returns the
        index of the next token to read."""
        tok = tokens[i]
        factor, j, end = tok.value, i + 1, tok.end
        if j < len(tokens) and tokens[j].kind == "times":
            factor, end, j = tokens[j].value, tokens[j].end, j + 1
        elif factor != 1.0:
            self.note(f"No size named for the volume surge: volume above {_fmt(factor)}x its average.")
        period = 0
        if j < len(tokens) and tokens[j].kind == "avg":
            period, end, j = int(tokens[j].value), tokens[j].end, j + 1
        node = {"left": "volume", "op": ">", "right": series(self._volume_average(period), factor)}
        reading.found.append(_Found(role, node, offset + tok.start, offset + end, True))
        return j

    def _volume_average(self, period: int) -> str:
        return self.registry.resolve(Mention("volume_sma", (("period", period),) if period else ()))

    def _twist(self, reading: _Reading, tok: _Tok, role: str, direction: str | None, offset: int) -> None:
        """'a Kumo twist': Ichimoku's span A crossing span B (upwards: bullish)."""
        ident = self.registry.resolve(Mention("ichimoku"))
        node = {"left": f"{ident}.span_a", "op": _cross_direction(direction, role), "right": f"{ident}.span_b"}
        reading.found.append(_Found(role, node, offset + tok.start, offset + tok.end))

    def _complete(self, condition: Node) -> Node:
        """Name the output of any multi-output indicator still left bare ("stoch" -> "stoch.k")."""
        out = dict(condition)
        for side in ("left", "right"):
            operand = out[side]
            if isinstance(operand, str) and "." not in operand:
                out[side] = _default_output(operand, self.registry)
        return out

    def _expand_bare(self, tokens: list[_Tok]) -> list[_Tok]:
        """'RSI 25': a period below 20, a level above 50; in between, a level unless a comparison is written."""
        compares = any(t.kind == "op" and t.op != "touch" for t in tokens)
        out: list[_Tok] = []
        for tok in tokens:
            m = tok.mention
            if tok.kind != "ind" or m is None or m.bare is None:
                out.append(tok)
                continue
            if m.bare < 20 or (m.bare <= 50 and compares):
                out.append(replace(tok, mention=replace(m, params=(("period", m.bare),), bare=None)))
            else:
                out.append(replace(tok, mention=replace(m, bare=None)))
                out.append(_Tok("num", tok.end, tok.end, value=float(m.bare)))
        return out

    def _carry(self, operand: str | None) -> None:
        if operand and operand not in PRICE_COLUMNS:
            self.last_left = operand
        if operand and self.registry.type_of(operand) in CARRIED_SUBJECTS:
            self.subject = operand

    def subject_for(self, role: str) -> str | None:
        """What a bare level refers to: the last oscillator named, else the previous draft's."""
        if self.subject:
            return self.subject
        if self.previous is not None:
            return _previous_subject(self.previous, role, self.registry)
        return None

    def _operand(self, tok: _Tok, other: str | None = None) -> tuple[Operand, str | None] | None:
        """A token as a condition operand, with its indicator type (None for prices and numbers)."""
        if tok.kind == "num":
            return tok.value, None
        if tok.kind == "price":
            return tok.name, None
        if tok.kind == "ind" and tok.mention:
            ident = self.registry.resolve(tok.mention)
            output = tok.mention.output
            spec = CATALOGUE[tok.mention.type]
            if spec.outputs and output is None:
                return ident, tok.mention.type  # resolved against the other side
            return (f"{ident}.{output}" if output else ident), tok.mention.type
        if tok.kind == "ref":
            return self._reference(tok.name, other)
        if tok.kind == "avg":  # "its 20-candle average": volume's for volume, else the price's
            period = int(tok.value)
            if other == "volume":
                return self._volume_average(period), "volume_sma"
            note = None if period else "'The average' read as SMA(20)."
            return self.registry.resolve(Mention("sma", (("period", period),) if period else (), note=note)), "sma"
        return None

    def _reference(self, name: str, other: str | None) -> tuple[Operand, str | None] | None:
        if name == "it":
            subject = self.last_left or self.subject_for("entry")
            return (subject, self.registry.type_of(subject)) if subject else None
        owner_type = "stoch" if name in ("k", "d") else "macd"
        if owner_type == "stoch" and self.registry.of_type("stochrsi") and not self.registry.of_type("stoch"):
            owner_type = "stochrsi"  # "%K crosses %D" after "Stoch RSI"
        if name == "signal" and other and self.registry.type_of(other) in ("stoch", "stochrsi"):
            owner_type = self.registry.type_of(other) or "stoch"
        owners = self.registry.of_type(owner_type)
        ident = owners[0] if owners else self.registry.resolve(Mention(owner_type))
        output = {"signal": "signal" if owner_type == "macd" else "d", "hist": "hist", "k": "k", "d": "d"}[name]
        return f"{ident}.{output}", owner_type

    def _condition(
        self, left: _Tok | None, op_tok: _Tok, right: _Tok | None, role: str, direction: str | None, pending: list[_Tok]
    ) -> tuple[Node, bool] | None:
        op = op_tok.op
        if op in ("rising", "falling"):
            return self._slope(left, op, right, pending)
        if op in ("oversold", "overbought", "positive", "negative"):
            return self._level_word(left, op, role, right, pending)
        if right is not None and right.kind == "num" and left is not None and left.kind == "num":
            return None
        if left is not None and left.kind == "num" and right is not None:
            left, right = right, left
            op = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}.get(op, op)
        if right is None:
            return self._one_sided(left, op, role, direction, pending)
        if right.kind == "cloud":
            return self._cloud(left, op, role)
        right_type = right.mention.type if right.kind == "ind" and right.mention else None
        if left is None:
            if right.kind == "num":
                subject = self.subject_for(role)
                if subject is None:
                    subject = self.registry.resolve(Mention("rsi"))
                    self.note(f"A level of {_fmt(right.value)} without an indicator: read as RSI(14).")
                left_operand: tuple[Operand, str | None] | None = (subject, self.registry.type_of(subject))
            elif right.kind in ("ind", "price") and right_type not in CARRIED_SUBJECTS:
                left_operand = ("close", None)
            else:
                return None
        elif left.kind == "ref" and left.name == "it" and (right.kind != "num" or self.subject_for(role) is None):
            left_operand = ("close", None)  # "when it touches the upper band": the price
        else:
            left_operand = self._operand(left)
        if left_operand is None:
            return None
        right_operand = self._operand(right, str(left_operand[0]))
        if right_operand is None:
            return None
        lhs, rhs = self._outputs(left_operand, right_operand, op, role)
        if op == "cross":
            op = _cross_direction(direction, role)
        elif op == "touch":
            op = self._touch(lhs, rhs, role)
        if not isinstance(lhs, str) and not isinstance(rhs, str):
            return None
        if isinstance(lhs, str):
            self._carry(lhs)
        forced = self.registry.type_of(lhs) == "adx" and role == "entry"
        return {"left": lhs, "op": op, "right": _scaled(self._breakout(lhs, op, rhs), op_tok.times)}, forced

    def _breakout(self, lhs: Operand, op: str, rhs: Operand) -> Operand:
        """A price beyond the Donchian band of its own candle never happens (the band holds that candle): a
        breakout is beyond the band one candle ago."""
        if not isinstance(rhs, str) or lhs not in PRICE_COLUMNS or self.registry.type_of(rhs) != "donchian":
            return rhs
        output = rhs.partition(".")[2]
        never = {("upper", ">"), ("upper", "crosses_above"), ("lower", "<"), ("lower", "crosses_below")}
        return series(rhs, ago=1) if (output, op) in never else rhs

    def _slope(self, left: _Tok | None, op: str, right: _Tok | None, pending: list[_Tok]) -> tuple[Node, bool] | None:
        """'the 4h EMA 50 is rising': above its value one candle (of its own timeframe) before; 'rising volume'
        too. A Supertrend that turns up flips: its direction crosses 0."""
        if left is None and right is not None and right.kind in ("ind", "price"):
            left = right
        elif right is not None:
            pending.append(right)
        operand = self._operand(left) if left is not None else None
        if operand is None or not isinstance(operand[0], str):
            return None
        lhs, kind = operand
        if kind == "supertrend":
            flip = "crosses_above" if op == "rising" else "crosses_below"
            return {"left": f"{lhs.partition('.')[0]}.direction", "op": flip, "right": 0.0}, False
        if kind and "." not in lhs and CATALOGUE[kind].outputs:
            lhs = f"{lhs}.{_default_output_name(kind)}"
        self._carry(lhs)
        return {"left": lhs, "op": ">" if op == "rising" else "<", "right": series(lhs, ago=1)}, False

    def _outputs(
        self, left: tuple[Operand, str | None], right: tuple[Operand, str | None], op: str, role: str
    ) -> tuple[Operand, Operand]:
        """Pick the output of multi-output indicators left unnamed ("MACD", "Bollinger band")."""
        lhs, rhs = left[0], right[0]
        if isinstance(lhs, str) and "." not in lhs and left[1] and CATALOGUE[left[1]].outputs:
            line = left[1] == "supertrend" and isinstance(rhs, str)  # the line against a price, the direction a level
            lhs = f"{lhs}.{'line' if line else _default_output_name(left[1])}"
        if isinstance(rhs, str) and "." not in rhs and right[1] and CATALOGUE[right[1]].outputs:
            if right[1] in CHANNELS:
                wants_lower = op in ("<", "<=", "crosses_below") or (op in ("touch", "cross") and role == "entry")
                rhs = f"{rhs}.{'lower' if wants_lower else 'upper'}"
            elif right[1] == "macd" and isinstance(lhs, str) and lhs.startswith(f"{rhs}."):
                rhs = f"{rhs}.signal"
            elif right[1] in LINE_PAIRS and isinstance(lhs, str) and lhs.startswith(f"{rhs}."):
                first, second = LINE_PAIRS[right[1]]  # "Aroon up crosses above Aroon": the other line
                rhs = f"{rhs}.{first if lhs.endswith(f'.{second}') else second}"
            else:
                rhs = f"{rhs}.{'line' if right[1] == 'supertrend' else _default_output_name(right[1])}"
        return lhs, rhs

    def _touch(self, lhs: Operand, rhs: Operand, role: str) -> str:
        """'touches the upper band', 'hits 25': the side follows the level or the band."""
        if isinstance(rhs, str) and rhs.endswith(".upper"):
            return ">="
        if isinstance(rhs, str) and rhs.endswith(".lower"):
            return "<="
        if isinstance(rhs, int | float):
            middle = OSCILLATOR_MIDDLES.get(self.registry.type_of(lhs) or "")
            if middle is not None:
                return "<=" if rhs < middle else ">="
        return "<=" if role == "entry" else ">="

    def _one_sided(
        self, left: _Tok | None, op: str, role: str, direction: str | None, pending: list[_Tok]
    ) -> tuple[Node, bool] | None:
        """'MACD cross', 'EMA 9 and EMA 21 cross', 'crosses the 50 EMA': fill the missing side."""
        if left is None or op != "cross" or left.kind != "ind" or left.mention is None:
            return None
        op = _cross_direction(direction, role)
        kind = left.mention.type
        if kind in AVERAGES:
            others = [t for t in pending if t.kind == "ind" and t.mention and t.mention.type in AVERAGES]
            if others:
                other = others[-1]
                pending.remove(other)
                pair = sorted(
                    (self.registry.resolve(t.mention) for t in (other, left) if t.mention),
                    key=lambda i: self.registry.items[i]["params"]["period"],
                )
                return {"left": pair[0], "op": op, "right": pair[-1]}, False
            return {"left": "close", "op": op, "right": self.registry.resolve(left.mention)}, False
        ident = self.registry.resolve(left.mention)
        if kind in LINE_PAIRS:
            a, b = LINE_PAIRS[kind]
            if left.mention.output == b:
                a, b = b, a
            return {"left": f"{ident}.{a}", "op": op, "right": f"{ident}.{b}"}, False
        if kind in ("vwap", "sar"):
            return {"left": "close", "op": op, "right": ident}, False
        if kind == "supertrend":
            return {"left": f"{ident}.direction", "op": op, "right": 0.0}, False
        return None

    def _level_word(
        self, left: _Tok | None, op: str, role: str, right: _Tok | None, pending: list[_Tok]
    ) -> tuple[Node, bool] | None:
        """'RSI oversold', 'MACD histogram turns positive'."""
        if right is not None:
            pending.append(right)
        operand = self._operand(left) if left is not None else None
        if operand is None:
            subject = self.subject_for(role) or self.registry.resolve(Mention("rsi"))
            operand = (subject, self.registry.type_of(subject))
        lhs = operand[0]
        kind = operand[1] or self.registry.type_of(lhs)
        if isinstance(lhs, str) and "." not in lhs and kind and CATALOGUE[kind].outputs:
            lhs = f"{lhs}.{_default_output_name(kind)}"
        if not isinstance(lhs, str):
            return None
        self._carry(lhs)
        if op in ("positive", "negative"):
            return {"left": lhs, "op": ">" if op == "positive" else "<", "right": 0.0}, False
        low, high = DEFAULT_LEVELS.get(kind or "", (30.0, 70.0))
        self._carry(lhs)
        return (
            {"left": lhs, "op": "<", "right": low} if op == "oversold" else {"left": lhs, "op": ">", "right": high}
        ), False

    def _cloud(self, left: _Tok | None, op: str, role: str) -> tuple[Node, bool] | None:
        """'above the cloud': the close above both spans of the Ichimoku cloud."""
        operand = self._operand(left) if left is not None else ("close", None)
        if operand is None or not isinstance(operand[0], str):
            return None
        if operand[1] not in (None, *AVERAGES, "vwap", "bbands"):
            operand = ("close", None)  # only prices and price-like lines sit above or below the cloud
        ident = self.registry.resolve(Mention("ichimoku"))
        if op in ("cross", "touch"):
            op = ">" if _cross_direction(None, role) == "crosses_above" else "<"
        op = {"crosses_above": ">", "crosses_below": "<"}.get(op, op)
        lhs = operand[0]
        return {
            "all": [
                {"left": lhs, "op": op, "right": f"{ident}.span_a"},
                {"left": lhs, "op": op, "right": f"{ident}.span_b"},
            ]
        }, False

    def _golden(self, reading: _Reading, tok: _Tok, role: str, offset: int) -> None:
        fast = self.registry.resolve(Mention("sma", (("period", 50),)))
        slow = self.registry.resolve(Mention("sma", (("period", 200),)))
        node = {"left": fast, "op": tok.op, "right": slow}
        reading.found.append(_Found(role, node, offset + tok.start, offset + tok.end))

    def note(self, note: str) -> None:
        if note not in self.notes:
            self.notes.append(note)


def _cross_direction(direction: str | None, role: str) -> str:
    if direction == "bullish":
        return "crosses_above"
    if direction == "bearish":
        return "crosses_below"
    return "crosses_below" if role == "exit" else "crosses_above"


def _default_output_name(kind: str) -> str:
    defaults = {
        "macd": "macd",
        "bbands": "middle",
        "keltner": "middle",
        "donchian": "middle",
        "supertrend": "direction",
    }
    return defaults.get(kind, CATALOGUE[kind].outputs[0])


def _default_output(ident: str, registry: _Registry) -> str:
    kind = registry.type_of(ident)
    return f"{ident}.{_default_output_name(kind)}" if kind and CATALOGUE[kind].outputs else ident


def _previous_subject(previous: dict[str, Any], role: str, registry: _Registry) -> str | None:
    """The previous draft's first indicator compared with a level, preferring the given role."""
    fields = ["entry_conditions", "exit_conditions"]
    if role == "exit":
        fields.reverse()
    for name in fields:
        for condition in conditions(previous.get(name)):
            left = condition["left"]
            if isinstance(left, str) and registry.type_of(left) and _is_number(condition["right"]):
                return left
    for ident, item in registry.items.items():
        if item["type"] in CARRIED_SUBJECTS:
            return _default_output(ident, registry)
    return None


# --- condition trees --------------------------------------------------------------------------------------


def _prune(node: Node | None, drop: Callable[[Node], bool]) -> Node | None:
    """The tree without the conditions ``drop`` selects; empty groups go too."""
    if not node:
        return None
    for key in ("all", "any"):
        if key in node:
            children = [c for c in (_prune(child, drop) for child in node[key]) if c]
            return {key: children} if children else None
    return None if drop(node) else node


def _map(node: Node | None, change: Callable[[Node], Node]) -> Node | None:
    if not node:
        return node
    for key in ("all", "any"):
        if key in node:
            return {key: [_map(child, change) for child in node[key]]}
    return change(node)


def _side(op: str) -> str:
    return {"<": "lt", "<=": "lt", ">": "gt", ">=": "gt"}.get(op, op)


def _flip(op: str) -> str:
    return OPPOSITE_OPS[op]


def _is_number(operand: Any) -> bool:
    return isinstance(operand, int | float)


def _is_slope(condition: Node) -> bool:
    """'the EMA is rising': a series compared with itself some candles before."""
    right = condition["right"]
    return isinstance(right, Mapping) and right.get("ref") == condition["left"] and bool(right.get("ago"))


def _is_volume_rule(condition: Node, registry: _Registry) -> bool:
    """'volume above 2x its average': a confirmation, never an exit's mirror."""
    return condition["left"] == "volume" and registry.type_of(condition["right"]) == "volume_sma"


def _is_line_filter(node: Node, registry: _Registry) -> bool:
    """A trend or strength filter: price against a moving line (not a crossing), a line rising or falling, or an
    ADX or NATR level."""
    found = list(conditions(node))
    for condition in found:
        left, op, right = condition["left"], condition["op"], condition["right"]
        if (registry.type_of(left) in ("adx", "natr") and _is_number(right)) or _is_slope(condition):
            continue
        if op.startswith("crosses") or left not in PRICE_COLUMNS:
            return False
        if registry.type_of(right) not in (*AVERAGES, "vwap", "ichimoku"):
            return False
    return bool(found)


def _is_filter(node: Node, registry: _Registry) -> bool:
    """A rule that narrows entries rather than signals one: a line filter or a volume confirmation."""
    return _is_line_filter(node, registry) or all(_is_volume_rule(c, registry) for c in conditions(node))


def _scaled(operand: Operand, times: float) -> Operand:
    """``operand`` times ``times`` ("2% above the EMA" scales the EMA by 1.02)."""
    if times == 1.0:
        return operand
    if isinstance(operand, str):
        return series(operand, times)
    if isinstance(operand, Mapping):
        return {**operand, "times": round(float(operand.get("times", 1.0)) * times, 6)}
    return round(operand * times, 10)


def _mirror(node: Node, registry: _Registry) -> Node | None:
    """The natural exit for an entry signal: the opposite crossing, the opposite side of the level."""
    if "all" in node or "any" in node:
        children = node.get("all") or node.get("any") or []
        return _mirror(children[0], registry) if children else None
    left, op, right = node["left"], node["op"], node["right"]
    name = series_name(right) or ""
    if isinstance(right, Mapping) and registry.type_of(right) == "donchian" and name.endswith((".upper", ".lower")):
        other = name.rsplit(".", 1)[0] + (".lower" if name.endswith(".upper") else ".upper")  # the opposite breakout
        return {"left": left, "op": _flip(op).rstrip("="), "right": series(other, ago=int(right.get("ago", 0)))}
    if op.startswith("crosses"):
        return {"left": left, "op": _flip(op), "right": right}
    if isinstance(right, str) and right.endswith((".lower", ".upper")) and registry.type_of(right) in CHANNELS:
        return {"left": left, "op": ">" if _side(op) == "lt" else "<", "right": right.rsplit(".", 1)[0] + ".middle"}
    if isinstance(right, Mapping) and not _is_slope(node):
        return {"left": left, "op": _flip(op).rstrip("="), "right": name}  # "2% above the EMA" exits below the EMA
    if _is_number(right):
        middle = OSCILLATOR_MIDDLES.get(registry.type_of(left) or "")
        level = 2 * middle - right if middle is not None else right
        return {"left": left, "op": _flip(op).rstrip("="), "right": float(level)}
    return {"left": left, "op": _flip(op).rstrip("="), "right": right}


def _default_rule(kind: str, ident: str, role: str, filtering: bool = False) -> Node | None:
    """The usual rule for an indicator named with no rule ("an RSI strategy", "add a MACD exit")."""
    entry = role == "entry"
    if kind in DEFAULT_LEVELS:
        low, high = DEFAULT_LEVELS[kind]
        operand = f"{ident}.{_default_output_name(kind)}" if CATALOGUE[kind].outputs else ident
        return {"left": operand, "op": "<" if entry else ">", "right": low if entry else high}
    if kind == "macd":
        return {
            "left": f"{ident}.macd",
            "op": "crosses_above" if entry else "crosses_below",
            "right": f"{ident}.signal",
        }
    if kind in ("bbands", "keltner"):
        return (
            {"left": "close", "op": "<", "right": f"{ident}.lower"}
            if entry
            else {"left": "close", "op": ">", "right": f"{ident}.middle"}
        )
    if kind in AVERAGES:
        return (
            {"left": "close", "op": ">", "right": ident}
            if entry
            else {"left": "close", "op": "crosses_below", "right": ident}
        )
    if kind == "vwap":
        if filtering and entry:
            return {"left": "close", "op": ">", "right": ident}
        return {"left": "close", "op": "crosses_above" if entry else "crosses_below", "right": ident}
    if kind == "adx":
        return {"left": ident, "op": ">", "right": 25.0} if entry else None
    if kind == "ichimoku":
        op = ">" if entry else "<"
        return {
            "all": [
                {"left": "close", "op": op, "right": f"{ident}.span_a"},
                {"left": "close", "op": op, "right": f"{ident}.span_b"},
            ]
        }
    return default_rule(kind, ident, entry)


# --- words for drafts -------------------------------------------------------------------------------------


def _indicator_map(draft: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["id"]: i for i in draft.get("indicators") or []}


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _roi_words(roi: dict[str, float]) -> str:
    steps = sorted((int(k), v) for k, v in roi.items())
    if not steps:
        return "no ROI target"
    if len(steps) == 1 and steps[0][0] == 0:
        return f"take profit at {_pct(steps[0][1])}"
    return "ROI targets " + roi_text(roi)


def _auto_name(draft: dict[str, Any]) -> str:
    """A class name from the main indicators, e.g. RsiEmaTrend; deterministic."""
    indicators = _indicator_map(draft)
    kinds: list[str] = []
    for name in ("entry_conditions", "exit_conditions"):
        for ident in _ordered_references(draft.get(name)):
            kind = indicators[ident]["type"] if ident in indicators else None
            if kind and kind not in kinds:
                kinds.append(kind)
    registry = _Registry(list(indicators.values()), False)
    trend = any(_is_line_filter(node, registry) for node in _top_level(draft.get("entry_conditions")))
    name = "".join(title(k) for k in kinds[:3]) + ("Trend" if trend else "Strategy")
    return name if re.fullmatch(NAME_PATTERN, name) and name not in RESERVED_NAMES else "OfflineStrategy"


def _ordered_references(node: Node | None) -> list[str]:
    ids: list[str] = []
    for condition in conditions(node):
        for side in ("left", "right"):
            operand = series_name(condition[side])
            if operand is not None and operand not in PRICE_COLUMNS:
                ident = operand.partition(".")[0]
                if ident not in ids:
                    ids.append(ident)
    return ids


def _top_level(node: Node | None) -> list[Node]:
    if not node:
        return []
    return list(node.get("all") or [node] if "any" not in node else [node])


# --- drafting ---------------------------------------------------------------------------------------------


def draft_from_text(text: str, previous: StrategyDraft | None) -> tuple[StrategyDraft, list[str]]:
    """A valid draft read from ``text`` and the assumptions made; with ``previous``, ``text`` revises it.

    Fresh: everything not named gets a stated default. Revision: only what the feedback names
    changes. Whatever happens, the result validates: an edit that would break the draft is
    skipped and reported instead.
    """
    if previous is None:
        return _fresh(text)
    return _revise(text, previous)


def draft_from_card(edits: dict[str, Any], previous: StrategyDraft) -> tuple[StrategyDraft, list[str]]:
    """``previous`` revised so that the edited draft-card fields read as written, by the card grammar; a field
    it cannot read or apply is left as it was, and a note says why."""
    reading = read_card(previous, edits)
    problems = {**reading.unread, **reading.errors}
    return reading.draft, [f"Could not read {field}: {'; '.join(reasons)}." for field, reasons in problems.items()]


def _fresh(text: str) -> tuple[StrategyDraft, list[str]]:
    registry = _Registry([], revising=False)
    reader = _Reader(registry, None)
    reading = reader.read(text)
    # Notes that word rules are callables, worded last: a label may change while the draft's history is fitted.
    notes: list[str | Callable[[], str]] = [unsupported_note(reading.unsupported)] if reading.unsupported else []
    pairs, pair_notes = _fresh_pairs(reading)
    notes.extend(pair_notes)
    if reading.timeframe is None:
        notes.append(f"No timeframe named: using {DEFAULT_TIMEFRAME}.")
    if reading.timeframe_note:
        notes.append(reading.timeframe_note)

    where: dict[int, int] = {}  # each rule's place in the message (by id of its node): rules keep the trader's order
    entry, exit_nodes = _apply_thresholds_fresh(reading, reader, where)
    for found in reading.found:
        target = entry if found.role == "entry" or found.forced_entry else exit_nodes
        if all(found.node != node for node, _ in target):
            target.append((found.node, _found_gap(reading, found.node)))
            where[id(found.node)] = found.start
    used_types = {registry.type_of(i) for node, _ in entry + exit_nodes for i in references(node)}
    extra_notes: list[str | Callable[[], str]] = []
    for role, mention, filtering, start in reading.leftovers:
        target_role = "entry" if filtering or mention.type in _ENTRY_ONLY else role
        if (
            mention.type in used_types
            and not (mention.type in AVERAGES and mention.params)
            and (entry if target_role == "entry" else exit_nodes)  # a named side with no rule yet gets one
        ):
            continue
        ident = registry.resolve(mention)
        if mention.type in MENTION_ONLY:
            extra_notes.append(
                f"{registry.label(ident)} is calculated but no rule uses it: name a level to trade on it."
            )
            used_types.add(mention.type)
            continue
        node = _default_rule(mention.type, ident, target_role, filtering)
        if node is None:
            continue
        if any(node == n for n, _ in entry + exit_nodes):
            continue
        used_types.add(mention.type)
        (entry if target_role == "entry" else exit_nodes).append((node, ""))
        where[id(node)] = start
        if mention.type in AVERAGES and target_role == "entry":
            item = registry.items[ident]
            extra_notes.append(
                lambda item=item: f"{indicator_label(item)} used as a trend filter: entries need the close above it."
            )
        else:
            extra_notes.append(partial(_default_note, mention.type, target_role, node, registry))
    notes.extend(registry.notes)
    notes.extend(extra_notes)
    entry.sort(key=lambda item: where.get(id(item[0]), 0))
    exit_nodes.sort(key=lambda item: where.get(id(item[0]), 0))

    if not entry:
        ident = registry.resolve(Mention("rsi"))
        entry.append(({"left": ident, "op": "<", "right": 30.0}, ""))
        notes.append(f"No entry rule recognised: buying when {registry.label(ident)} drops below 30.")
    entry_node = _group([n for n, _ in entry], "all" if not _joined_by(entry[1:], "or") else "any", registry)
    exit_node: Node | None = None
    if exit_nodes:
        exit_node = _group(
            [n for n, _ in exit_nodes],
            "all" if _joined_by(exit_nodes[1:], "and") and not _joined_by(exit_nodes[1:], "or") else "any",
            registry,
        )
    else:
        mirrored = _default_exit([n for n, _ in entry], registry)
        if mirrored:
            exit_node = {"any": [mirrored]}
            notes.append(lambda: f"No exit rule named: exiting when {conditions_text(mirrored, registry.items)}.")
        else:
            notes.append("No exit rule named: trades close at the take-profit target or the stop loss.")

    stoploss = reading.stop if reading.stop is not None else DEFAULT_STOPLOSS
    if reading.stop_note:
        notes.append(reading.stop_note)
    if reading.stop is None:
        notes.append(f"No stop loss named: using a {_pct(DEFAULT_STOPLOSS)} stop loss.")
    roi = reading.roi if reading.roi is not None else DEFAULT_ROI
    if reading.roi is None:
        notes.append(f"No take-profit named: closing any trade that reaches {_pct(DEFAULT_ROI)} profit.")
    if reading.short:
        notes.append("Shorting is not drafted offline: this draft trades long only.")

    referenced = references(entry_node) | references(exit_node)
    indicators = [
        item
        for ident, item in registry.items.items()
        if ident in referenced or (item["type"] in MENTION_ONLY and item["type"] in used_types)
    ]
    data: dict[str, Any] = {
        "name": "Placeholder",
        "description": "",
        "timeframe": reading.timeframe or DEFAULT_TIMEFRAME,
        "pairs": pairs,
        "can_short": False,
        "indicators": indicators,
        "entry_conditions": entry_node,
        "exit_conditions": exit_node,
        "minimal_roi": {"0": roi},
        "stoploss": stoploss,
        "trailing_stop": bool(reading.trailing),
    }
    data["name"] = reading.name or _auto_name(data)
    notes[bool(reading.unsupported) : bool(reading.unsupported)] = fit_history(data)  # what was not as asked: first
    data["description"] = summary(data)
    try:
        return StrategyDraft.model_validate(data), _unique(
            [note if isinstance(note, str) else note() for note in notes]
        )
    except ValidationError as exc:  # a reading the rules did not foresee: fall back, and say so
        fallback, fallback_notes = _fresh("")
        return fallback, [
            f"Could not build a valid draft from that message ({_first_error(exc)}): here is a default RSI draft.",
            *fallback_notes,
        ]


def _default_note(kind: str, role: str, node: Node, registry: _Registry) -> str:
    action = "buying" if role == "entry" else "selling"
    return f"No {LABELS[kind]} rule named: {action} when {conditions_text(node, registry.items)}."


def _found_gap(reading: _Reading, node: Node) -> str:
    """The words between this condition and the previous one of its role: 'and' or 'or'."""
    index = next(i for i, f in enumerate(reading.found) if f.node is node)
    found = reading.found[index]
    earlier = [
        f
        for f in reading.found[:index]
        if (f.role == "entry" or f.forced_entry) == (found.role == "entry" or found.forced_entry)
    ]
    if not earlier:
        return ""
    return reading.text[earlier[-1].end : found.start]


def _joined_by(items: list[tuple[Node, str]], word: str) -> bool:
    return any(re.search(rf"\b{word}\b", gap) for _, gap in items)


def _group(nodes: list[Node], key: str, registry: _Registry) -> Node:
    """Join nodes under one group; filters always stay required (outside an 'or')."""
    if key == "any":
        filters = [n for n in nodes if _is_filter(n, registry)]
        signals = [n for n in nodes if not _is_filter(n, registry)]
        if filters and signals:
            return {"all": [{"any": signals}, *_flatten_all(filters)]}
        return {"any": nodes}
    return {"all": _flatten_all(nodes)}


def _flatten_all(nodes: list[Node]) -> list[Node]:
    flat: list[Node] = []
    for node in nodes:
        flat.extend(node.get("all", [node]))
    return flat


def _default_exit(entry: list[Node], registry: _Registry) -> Node | None:
    def rank(node: Node) -> int:  # 3: never mirrored (strength and volume hold for any exit)
        if _is_line_filter(node, registry):
            return 3 if any(registry.type_of(c["left"]) in ("adx", "natr") for c in conditions(node)) else 2
        if _is_filter(node, registry):
            return 3
        return 1 if any(c["left"] in PRICE_COLUMNS for c in conditions(node)) else 0

    ranked = sorted((n for n in entry if rank(n) < 3), key=rank)
    for node in ranked:
        mirrored = _mirror(node, registry)
        if mirrored is not None:
            return mirrored
    return None


def _apply_thresholds_fresh(
    reading: _Reading, reader: _Reader, where: dict[int, int]
) -> tuple[list[tuple[Node, str]], list[tuple[Node, str]]]:
    entry: list[tuple[Node, str]] = []
    exit_nodes: list[tuple[Node, str]] = []
    for threshold in reading.thresholds:
        subject = threshold.subject or reader.subject_for(threshold.role)
        if subject is None:
            continue
        node = _threshold_node(subject, threshold.value, threshold.role, reader.registry)
        role = "entry" if reader.registry.type_of(subject) == "adx" else threshold.role
        (entry if role == "entry" else exit_nodes).append((node, ""))
        where[id(node)] = threshold.start
    return entry, exit_nodes


def _threshold_node(subject: str, value: float, role: str, registry: _Registry) -> Node:
    kind = registry.type_of(subject) or ""
    if kind == "adx":
        return {"left": subject, "op": ">", "right": value}
    middle = OSCILLATOR_MIDDLES.get(kind, 50.0)
    above = value > middle if role == "exit" else value >= middle
    op = ">" if above else "<"
    return {"left": subject, "op": op, "right": value}


def _fresh_pairs(reading: _Reading) -> tuple[list[str], list[str]]:
    quote = reading.quote or DEFAULT_QUOTE
    notes: list[str] = []
    pairs: list[str] = []
    mixed = False
    for coin in reading.coins:
        if coin.quote and coin.quote != quote:
            mixed = True
        if coin.base == quote:
            continue
        pair = f"{coin.base}/{quote}"
        if pair not in pairs and _remove_verb(reading, coin) is None:
            pairs.append(pair)
    if mixed:
        notes.append(f"Pairs must share one quote currency: using {quote} for all.")
    if not pairs:
        pairs = [f"{DEFAULT_BASE}/{quote}"]
        notes.append(f"No pair named: using {pairs[0]}.")
    return pairs[:20], notes


def _verb_before(reading: _Reading, coin: _Coin) -> tuple[str, int] | None:
    """The nearest pair verb before a coin in its clause ('add', 'remove', 'swap', 'into', 'instead')."""
    clause_start = max((m.end() for m in _BREAK.finditer(reading.text, 0, coin.start)), default=0)
    window_start = max(clause_start, coin.start - 60)
    verbs = list(_PAIR_VERBS.finditer(reading.text, window_start, coin.start))
    if not verbs:
        return None
    last = verbs[-1]
    return last.lastgroup or "", last.start()


def _remove_verb(reading: _Reading, coin: _Coin) -> str | None:
    verb = _verb_before(reading, coin)
    return "remove" if verb and verb[0] in ("remove", "instead") else None


def _unique(notes: list[str]) -> list[str]:
    return list(dict.fromkeys(notes))


def _first_error(exc: ValidationError) -> str:
    error = exc.errors(include_url=False)[0]
    return str(error.get("msg", "invalid"))[:200]


# --- revising ---------------------------------------------------------------------------------------------


def _revise(text: str, previous: StrategyDraft) -> tuple[StrategyDraft, list[str]]:
    before = previous.model_dump()
    data = copy.deepcopy(before)
    registry = _Registry(data["indicators"], revising=True)
    reader = _Reader(registry, data)
    reading = reader.read(text)
    notes: list[str] = [unsupported_note(reading.unsupported)] if reading.unsupported else []
    notes.extend(n for n in (reading.timeframe_note, reading.stop_note) if n)

    if reading.timeframe:
        data["timeframe"] = reading.timeframe
    if reading.stop is not None:
        data["stoploss"] = reading.stop
    if reading.trailing is not None:
        data["trailing_stop"] = reading.trailing
        if not reading.trailing:
            data["trailing_stop_positive"] = None
            data["trailing_stop_positive_offset"] = 0.0
            data["trailing_only_offset_is_reached"] = False
    if reading.roi is not None:
        data["minimal_roi"] = {"0": reading.roi}
    notes.extend(_revise_pairs(reading, data))
    notes.extend(_apply_changes(reading, data, registry))
    notes.extend(_apply_removals(reading, data, registry))
    notes.extend(_apply_thresholds(reading, reader, data))
    for found in reading.found:
        role = "entry" if found.role == "entry" or found.forced_entry else "exit"
        _merge(data, role, found.node)
    notes.extend(_apply_leftovers(reading, data, registry))
    if reading.short:
        notes.append("Shorting is not drafted offline: the draft keeps its long/short setting.")

    referenced = _all_references(data)
    used_before = _all_references(before)
    removed = _removed_ids(reading, registry)
    data["indicators"] = [  # keep what rules use, and what the draft kept without a rule (e.g. an ATR) unless removed
        item
        for ident, item in registry.items.items()
        if ident in referenced or (ident in registry.previous and ident not in used_before and ident not in removed)
    ]
    notes.extend(align_timeframes(data))
    if not data.get("exit_conditions") and before.get("exit_conditions"):
        notes.append("No exit rule left: trades close at the take-profit target or the stop loss.")
    data["exit_conditions"] = data.get("exit_conditions") or None
    notes = registry.notes + notes
    if reading.name:
        data["name"] = reading.name
    elif before["name"] == _auto_name(before):
        data["name"] = _auto_name(data)
    data["description"] = summary(data)
    notes.extend(fit_history(data))
    try:
        draft = StrategyDraft.model_validate(data)
    except ValidationError as exc:
        return previous, [f"Could not apply that change ({_first_error(exc)}): the draft is unchanged."]
    if draft.model_dump() == before:
        notes.append(
            "I found nothing to change in that message, so the draft is unchanged. "
            "Try e.g. 'make the stop 3%', 'use EMA 50 as a trend filter' or 'add ETH'."
        )
    return draft, _unique(notes)


def _all_references(data: dict[str, Any]) -> set[str]:
    return set().union(*(references(data.get(name)) for name in _CONDITION_FIELDS))


def _removed_ids(reading: _Reading, registry: _Registry) -> set[str]:
    """Indicators the feedback removed by name: they go even when no rule uses them any more."""
    types = {t for removal in reading.removals for t in removal.types}
    return {ident for ident, item in registry.items.items() if item["type"] in types}


def _revise_pairs(reading: _Reading, data: dict[str, Any]) -> list[str]:
    if not reading.coins:
        if reading.quote and reading.quote != data["pairs"][0].split("/")[1]:
            data["pairs"] = list(
                dict.fromkeys(
                    f"{p.split('/')[0]}/{reading.quote}" for p in data["pairs"] if p.split("/")[0] != reading.quote
                )
            )
        return []
    quote = reading.quote or data["pairs"][0].split("/")[1]
    adds: list[str] = []
    removes: list[str] = []
    sets: list[str] = []
    swapped = False
    for coin in reading.coins:
        pair = f"{coin.base}/{quote}"
        if coin.base == quote:
            continue
        verb = _verb_before(reading, coin)
        kind = verb[0] if verb else ""
        if kind == "remove" or kind == "instead" or (kind == "swap" and _next_is_into(reading, coin)):
            removes.append(pair)
            swapped = swapped or kind == "swap"
        elif (
            kind == "add"
            or (kind == "into" and swapped)
            or re.match(r"\s*(?:too|as\s+well)\b", reading.text[coin.end :])
        ):
            adds.append(pair)
        else:
            sets.append(pair)
    current = [f"{p.split('/')[0]}/{quote}" for p in data["pairs"]]
    pairs = [*sets, *adds] if sets else [*current, *adds]
    pairs = [p for p in dict.fromkeys(pairs) if p not in removes]
    if not pairs:
        return ["Removing every pair would leave nothing to trade: kept the pairs."]
    data["pairs"] = pairs[:20]
    return []


def _next_is_into(reading: _Reading, coin: _Coin) -> bool:
    return bool(re.match(r"\s*(?:with|for|to|by)\b", reading.text[coin.end :]))


def _number_nodes(data: dict[str, Any]) -> Iterator[tuple[str, Node]]:
    for name in _CONDITION_FIELDS:
        for condition in conditions(data.get(name)):
            yield name, condition


def _apply_changes(reading: _Reading, data: dict[str, Any], registry: _Registry) -> list[str]:
    """'25 instead of 30', 'from 5% to 3%': change that number wherever the draft has it."""
    notes: list[str] = []
    for new, new_pct, old, old_pct in reading.changes:
        if old_pct or new_pct:
            if abs(-data["stoploss"] - old / 100) < 1e-9 and 0.1 <= new <= 99:
                data["stoploss"] = -round(new / 100, 6)
                continue
            roi_keys = [k for k, v in data["minimal_roi"].items() if abs(v - old / 100) < 1e-9]
            if roi_keys:
                for key in roi_keys:
                    data["minimal_roi"][key] = round(new / 100, 6)
                continue
        changed = False
        for _, condition in _number_nodes(data):
            for side in ("left", "right"):
                value = condition[side]
                if _is_number(value) and abs(value - old) < 1e-9:
                    condition[side] = float(new)
                    changed = True
        if not changed and new == int(new) and old == int(old):
            for ident, item in list(registry.items.items()):
                for name, value in item["params"].items():
                    if (
                        isinstance(value, int)
                        and not isinstance(value, bool)
                        and value == int(old)
                        and registry.set_param(ident, name, int(new))
                    ):
                        changed = True
                        break
                if changed:
                    break
            _rename(data, registry)
        if not changed:
            notes.append(f"There is no {_fmt(old)} in the draft to change to {_fmt(new)}.")
    return notes


def _rename(data: dict[str, Any], registry: _Registry) -> None:
    if not registry.renamed:
        return
    for name in _CONDITION_FIELDS:
        data[name] = renamed_ids(data.get(name), registry.renamed)
    registry.previous |= set(registry.renamed.values())
    registry.renamed.clear()


def _apply_removals(reading: _Reading, data: dict[str, Any], registry: _Registry) -> list[str]:
    notes: list[str] = []
    for removal in reading.removals:
        if removal.stop:
            notes.append(f"A stop loss is required: kept it at {_pct(data['stoploss'])}.")
        if not removal.types and not removal.filters:
            continue

        def drop(condition: Node, removal: _Removal = removal) -> bool:
            if removal.volume and "volume" in (series_name(condition["left"]), series_name(condition["right"])):
                return True
            if removal.types:
                return any(registry.type_of(i) in removal.types for i in references(condition))
            return _is_line_filter(condition, registry)

        fields = ["entry_conditions", "exit_conditions"]
        if removal.role:
            fields = [f"{removal.role}_conditions"]
        if removal.filters and not removal.types:
            fields = ["entry_conditions"]
        for name in fields:
            pruned = _prune(data.get(name), drop)
            if name == "entry_conditions" and pruned is None:
                notes.append("Removing that would leave no entry rule: kept the entry as it was.")
                continue
            data[name] = pruned
    return notes


def _apply_thresholds(reading: _Reading, reader: _Reader, data: dict[str, Any]) -> list[str]:
    """'RSI 25', 'make it 25': move the matching level, or add one when there is none."""
    notes: list[str] = []
    registry = reader.registry
    for threshold in reading.thresholds:
        subject = threshold.subject or reader.subject_for(threshold.role)
        if subject is None:
            notes.append(f"'{_fmt(threshold.value)}' does not say which indicator it is for: ignored it.")
            continue
        kind = registry.type_of(subject) or ""
        middle = OSCILLATOR_MIDDLES.get(kind)
        fields = [
            f"{threshold.role}_conditions",
            "exit_conditions" if threshold.role == "entry" else "entry_conditions",
        ]
        target = None
        for name in fields:
            for condition in conditions(data.get(name)):
                level = condition["right"]
                if condition["left"] != subject or not _is_number(level):
                    continue
                if middle is None or (level < middle) == (threshold.value < middle):
                    target = condition
                    break
            if target:
                break
        if target is not None:
            old = target["right"]
            target["right"] = float(threshold.value)
            if old != threshold.value:
                label = registry.label(subject.partition(".")[0])
                notes.append(f"Read '{_fmt(threshold.value)}' as the new {label} level (was {_fmt(old)}).")
            continue
        node = _threshold_node(subject, threshold.value, threshold.role, registry)
        _merge(data, "entry" if kind == "adx" else threshold.role, node)
    return notes


def _merge(data: dict[str, Any], role: str, node: Node) -> None:
    """Put a new rule into the draft: it replaces a rule on the same indicator and side, else joins."""
    name = f"{role}_conditions"
    current = data.get(name)
    for condition in conditions(current):
        if condition == node:
            return
    if "left" in node:
        for condition in conditions(current):
            if (
                condition["left"] == node["left"]
                and _side(condition["op"]) == _side(node["op"])
                and _operand_kind(condition["right"]) == _operand_kind(node["right"])
                and (_is_number(node["right"]) or not node["op"].startswith("crosses"))
            ):
                condition.update(node)
                return
    key = "all" if role == "entry" else "any"
    if current is None:
        data[name] = {key: [node]}
    elif key in current:
        current[key].append(node)
    else:
        data[name] = {key: [current, node]}


def _operand_kind(operand: Any) -> Any:
    """What a new rule may replace: a level another level, a line another line, a scaled or looked-back series
    only one of the same series ("volume above 3x its average" replaces "2x")."""
    if isinstance(operand, Mapping):
        return ("series", operand.get("ref"))
    return "name" if isinstance(operand, str) else "number"


_INSTEAD = re.compile(r"\binstead\b(?!\s+of\b)|\b(?:make|change|switch|turn)\s+(?:it|that|this)\b")


def _replace_named(data: dict[str, Any], registry: _Registry, mention: Mention) -> bool:
    """'make it the 4h EMA 100 instead': the draft's one indicator of that kind (any average, for an average)
    becomes the one named, and its rules follow; False when the draft has none or several to choose from."""
    family = AVERAGES if mention.type in AVERAGES else (mention.type,)
    used = _all_references(data)
    current = [i for i, item in registry.items.items() if item["type"] in family and i in used]
    if len(current) != 1:
        return False
    old = registry.items[current[0]]
    spec = CATALOGUE[mention.type]
    kept = old["params"] if old["type"] == mention.type else {}
    try:
        params = spec.params(**{**kept, **dict(mention.params)}).model_dump()
    except ValidationError:
        return False
    timeframe = mention.timeframe or old.get("timeframe")
    item = {"id": old["id"], "type": mention.type, "params": params, **({"timeframe": timeframe} if timeframe else {})}
    if item != old:
        registry.replace(old["id"], item)
        _rename(data, registry)
        registry.note(f"Changed {indicator_label(old)} to {indicator_label(item)}.")
    return True


def _apply_leftovers(reading: _Reading, data: dict[str, Any], registry: _Registry) -> list[str]:
    notes: list[str] = []
    before_types = {registry.items[i]["type"] for i in registry.previous if i in registry.items}
    instead = bool(_INSTEAD.search(reading.text))
    for role, mention, filtering, _ in reading.leftovers:
        if instead and (mention.params or mention.timeframe) and _replace_named(data, registry, mention):
            continue
        if mention.type in AVERAGES:
            if not mention.params and registry.of_type(mention.type):
                continue  # "use EMA 100 instead of 50" leaves a bare "EMA" behind: the draft has one
            ident = registry.resolve(mention)
            used = references(data.get("entry_conditions")) | references(data.get("exit_conditions"))
            if ident in used and not filtering:
                continue
        elif mention.type in before_types:
            if mention.params:  # "use RSI 7": new parameters for the indicator the draft has
                registry.resolve(mention)
            continue
        else:
            ident = registry.resolve(mention)
        if mention.type in MENTION_ONLY:
            notes.append(f"{registry.label(ident)} is calculated but no rule uses it: name a level to trade on it.")
            registry.previous.add(ident)
            continue
        target_role = "entry" if filtering or mention.type in _ENTRY_ONLY else role
        node = _default_rule(mention.type, ident, target_role, filtering)
        if node is None:
            continue
        if "all" in node and target_role == "entry":
            for child in node["all"]:
                _merge(data, "entry", child)
        else:
            _merge(data, target_role, node)
        if mention.type in AVERAGES and target_role == "entry":
            notes.append(
                f"Added {indicator_label(registry.items[ident])} as a trend filter: entries need the close above it."
            )
        else:
            notes.append(_default_note(mention.type, target_role, node, registry))
    return notes


# --- routing and answers ----------------------------------------------------------------------------------

_QUESTION_START = re.compile(
    r"^\s*(?:what|what's|whats|how|why|when|where|who|which|is|are|does|do|can|could|should|would|explain|define"
    r"|tell\s+me|describe|difference|meaning)\b"
)
_CONCEPT = re.compile(
    r"\b(?:what\s+(?:is|are|does|do)|what's|whats|how\s+(?:do|does|can|should)\s+i|explain|define|meaning|mean\b|difference)\b"
)
_CREATE = re.compile(
    r"\b(?:create|build|draft|make|write|generate|design|code|develop|give\s+me|i\s+want|i'd\s+like|i\s+would\s+like|set\s+up"
    r"|come\s+up\s+with|suggest|propose|need)\b.*\b(?:strateg|bot|system|algo|draft|setup)"
)
_GOOD_STRATEGY = re.compile(r"\b(?:good|best|simple|profitable|example|sample|basic)\s+(?:\w+\s+){0,3}?(?:strateg|bot)")
_FEEDBACK = re.compile(
    r"\b(?:add|remove|drop|change|make|use|switch|set|increase|decrease|lower|raise|tighten|widen|replace|swap"
    r"|instead|include|exclude|without|only|also|try|move|put)\b"
)
_POLITE = re.compile(r"^\s*(?:can|could|would|will)\s+you\b|\bplease\b")
_SUGGESTION = re.compile(r"^\s*(?:what\s+if|how\s+about|what\s+about)\b")


def classify(text: str, has_previous_draft: bool) -> RouteDecision:
    """Strategy work (create or revise a draft) or a general question; deterministic."""
    t = _normalize(text).strip()
    question = bool(_QUESTION_START.search(t) or t.endswith("?"))
    names = unsupported(t)
    if names:  # answered plainly (general_answer), never drafted as something else
        return RouteDecision(route="general", reason=f"The message names what no draft can hold: {', '.join(names)}.")
    if _CREATE.search(t) or _GOOD_STRATEGY.search(t):
        return RouteDecision(route="strategy", reason="The message asks for a strategy.")
    if question:
        suggestion = (_POLITE.search(t) and _FEEDBACK.search(t)) or _SUGGESTION.search(t)
        if has_previous_draft and suggestion and not _CONCEPT.search(t) and _reads_rules(t, {}):
            return RouteDecision(route="strategy", reason="The message asks to change the current draft.")
        return RouteDecision(route="general", reason="The message is a question.")
    rules = _reads_rules(t, None)
    if rules:
        return RouteDecision(route="strategy", reason="The message describes trading rules.")
    if has_previous_draft and _reads_rules(t, {}):
        return RouteDecision(route="strategy", reason="The message is feedback on the current draft.")
    return RouteDecision(route="general", reason="The message is not about a strategy draft.")


def _reads_rules(text: str, previous: dict[str, Any] | None) -> bool:
    """Whether the text names anything a draft holds: rules, indicators, stops, pairs, timeframes."""
    registry = _Registry([], revising=previous is not None)
    reading = _Reader(registry, previous).read(text)
    if previous is None:
        return bool(
            reading.found
            or reading.leftovers
            or reading.stop is not None
            or reading.roi is not None
            or (_ROLE.search(text) and reading.recognised)
        )
    return reading.recognised


_ANSWERS: list[tuple[re.Pattern[str], str]] = [
    *ANSWERS,  # the newer indicators first: "Stoch RSI" before "stochastic", "+DI" before "directional"
    (
        re.compile(r"\b(?:hello|hi|hey|good\s+(?:morning|afternoon|evening))\b"),
        "Hello! Describe a strategy in plain words, for example 'buy BTC when RSI(14) drops under 30 on the 1h chart, "
        "sell above 70, 5% stop loss', and I will draft it. Ask me about indicators, risk or backtests any time.",
    ),
    (
        re.compile(r"\b(?:thanks|thank\s+you|thx|cheers)\b"),
        "You're welcome. Deploy the draft when it looks right, or tell me what to change.",
    ),
    (
        re.compile(r"\bstoch(?:astic)?\b"),
        "The Stochastic oscillator compares the close with the recent high-low range (0-100): %K is the fast line, "
        "%D its average. Below 20 is usually called oversold, above 80 overbought; %K crossing %D is a common trigger.",
    ),
    (
        re.compile(r"\brsi\b|relative\s+strength"),
        "RSI (Relative Strength Index) measures recent gains against recent losses on a 0-100 scale, usually over "
        "14 candles. Below 30 is commonly read as oversold and above 70 as overbought, so a classic rule buys under "
        "30 and sells above 70.",
    ),
    (
        re.compile(r"\bmacd\b"),
        "MACD is the difference between a fast (12) and a slow (26) EMA; its signal line is a 9-period EMA of it and "
        "the histogram is the gap between the two. MACD crossing above its signal is a common bullish trigger, "
        "crossing below a bearish one.",
    ),
    (
        re.compile(r"\bbollinger\b|\bbands?\b"),
        "Bollinger Bands are a 20-period moving average with bands two standard deviations above and below. Closes "
        "below the lower band are often traded as mean-reversion entries, with exits at the middle or upper band.",
    ),
    (
        re.compile(r"\b(?:ema|sma|wma|moving\s+averages?)\b"),
        "A moving average smooths the price: the SMA weights every candle equally, the EMA weights recent candles "
        "more and reacts faster. Price above a long average (say EMA 50 or 200) is a common trend filter, and a fast "
        "average crossing a slow one a common trigger.",
    ),
    (
        re.compile(r"\badx\b|directional"),
        "ADX measures trend strength (not direction) on a 0-100 scale; above about 25 is usually read as a trending "
        "market, so 'ADX above 25' is a common filter for trend-following entries.",
    ),
    (
        re.compile(r"\batr\b|true\s+range"),
        "ATR (Average True Range) measures volatility in price units: the typical size of a candle's range over 14 "
        "candles. Traders use it to size stops and positions.",
    ),
    (
        re.compile(r"\bvwap\b"),
        "VWAP is the volume-weighted average price; here it is a rolling VWAP over 20 candles. Price above VWAP is "
        "often read as buyers in control.",
    ),
    (
        re.compile(r"\bichimoku\b|\bcloud\b"),
        "Ichimoku draws a 'cloud' between two leading spans; price above the cloud is read as an uptrend, below it as "
        "a downtrend. The conversion (tenkan) and base (kijun) lines crossing are common signals.",
    ),
    (
        re.compile(r"\btrailing\b"),
        "A trailing stop follows the price up: it keeps the stop a fixed distance below the highest price since entry, "
        "locking in gains while letting a winning trade run.",
    ),
    (
        re.compile(r"\bstop[\s-]*loss|\bstoploss|\bstop\b"),
        "A stop loss closes a trade once it has lost a set share of its value, e.g. -0.05 closes at a 5% loss. Every "
        "draft has one; tell me 'make the stop 3%' to change it.",
    ),
    (
        re.compile(r"\bdraw[\s-]*down"),
        "Drawdown is the fall from a peak in account value to the following low, as a percentage. Maximum drawdown "
        "in a backtest is the worst such fall: a measure of how painful the strategy was to hold.",
    ),
    (
        re.compile(r"\bsharpe|\bsortino|\bcalmar"),
        "The Sharpe ratio is return per unit of volatility (higher is better; above 1 is decent). Sortino counts only "
        "downside volatility, and Calmar divides return by maximum drawdown.",
    ),
    (
        re.compile(r"\bwin\s*rate|\bprofit\s+factor"),
        "Win rate is the share of trades that closed in profit; profit factor is gross profit divided by gross loss. "
        "A low win rate can still pay when winners are much larger than losers.",
    ),
    (
        re.compile(r"\b(?:take[\s-]*profit|roi)\b"),
        "The ROI table (minimal_roi) closes a trade once it reaches a profit target, optionally lower after some "
        "minutes, e.g. {'0': 0.10} takes profit at 10%. Tell me 'take profit at 5%' to change it.",
    ),
    (
        re.compile(r"\bdeploy"),
        "To deploy a draft, use Deploy on the draft in the chat: the backend compiles it into a Freqtrade strategy, "
        "reviews the code, stores it and links it to your chat. You can then backtest it from the strategy page.",
    ),
    (
        re.compile(r"\bback[\s-]*test"),
        "A backtest replays the strategy on historical candles for a date range and reports profit, trades, win rate, "
        "drawdown and a per-pair table. Deploy the draft first, then start a backtest for the range you want.",
    ),
    (
        re.compile(r"\btime\s*frames?\b|\bcandles?\b|\bchart\b|\b(?:1|5|15|30)m\b|\b(?:1|4)h\b|\b1d\b"),
        "The timeframe is the candle length the strategy reads: 1m, 5m, 15m, 30m, 1h, 4h or 1d. Shorter timeframes "
        "trade more often and pay more fees; longer ones are slower but less noisy.",
    ),
    (
        re.compile(r"\bshort(?:ing)?\b"),
        "Shorting profits when the price falls. Drafts can trade short (can_short), but the offline assistant drafts "
        "long-only strategies.",
    ),
    (
        re.compile(r"\bfreqtrade\b"),
        "Freqtrade is the open-source trading bot that runs the strategies here: each draft becomes a Freqtrade "
        "strategy class, and backtests run Freqtrade on historical data.",
    ),
    (
        re.compile(r"\bpairs?\b"),
        "A pair is a market such as BTC/USDT: the base coin priced in the quote currency. A draft can trade several "
        "pairs that share one quote currency.",
    ),
]

FALLBACK_ANSWER = (
    "I'm GenTrade's offline assistant: I work without an AI provider, so my answers are short and rule-based. "
    "I can draft a strategy from plain rules (for example 'buy ETH when RSI(14) drops under 30 on the 4h chart, "
    "sell above 70, 5% stop loss'), revise it from feedback ('use EMA 50 as a trend filter', 'make the stop 3%'), "
    "and explain indicators (RSI, EMA, MACD, Bollinger Bands, ADX), risk (stop loss, drawdown, Sharpe), backtests "
    "and deploying."
)


def general_answer(text: str) -> str:
    """A short answer about the topic named first in the question, or what the offline assistant can do."""
    t = _normalize(text)
    names = unsupported(t)
    if names:
        return unsupported_answer(names)
    best: tuple[int, int, str] | None = None
    for order, (pattern, answer) in enumerate(_ANSWERS):
        m = pattern.search(t)
        if m and (best is None or (m.start(), order) < best[:2]):
            best = (m.start(), order, answer)
    return best[2] if best else FALLBACK_ANSWER


def describe_draft(draft: StrategyDraft, assumptions: list[str], revised: bool) -> str:
    """The announcement of a (revised) draft: what it trades, its rules in words, its risk, the assumptions."""
    data = draft.model_dump()
    indicators = _indicator_map(data)
    side = "long and short" if data["can_short"] else "long-only"
    pairs = _join(data["pairs"])
    opening = "I've revised the draft" if revised else "Here is a draft"
    parts = [f"{opening}: {data['name']}, a {side} strategy for {pairs} on {data['timeframe']} candles."]
    parts.append(f"It buys when {conditions_text(data['entry_conditions'], indicators)}.")
    if data.get("exit_conditions"):
        parts.append(f"It sells when {conditions_text(data['exit_conditions'], indicators)}.")
    else:
        parts.append("It has no exit signal: trades close at the take-profit target or the stop loss.")
    if data["can_short"] and data.get("entry_short_conditions"):
        parts.append(f"It goes short when {conditions_text(data['entry_short_conditions'], indicators)}.")
        if data.get("exit_short_conditions"):
            parts.append(f"It covers shorts when {conditions_text(data['exit_short_conditions'], indicators)}.")
    risk = f"Stop loss {_pct(data['stoploss'])}{' (trailing)' if data['trailing_stop'] else ''}"
    parts.append(f"{risk}; {_roi_words(data['minimal_roi'])}.")
    if assumptions:
        parts.append("Assumptions: " + " ".join(a if a.endswith(".") else f"{a}." for a in assumptions))
    parts.append("Deploy it when it looks right, or tell me what to change.")
    return " ".join(parts)
