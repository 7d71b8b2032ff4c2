"""What one message says, before it is applied to a draft: its name, stop, take-profit, timeframe, changes,
removals, and its clauses with their roles.

Why: a message mixes settings ("5% stop", "on the 4h chart") with rules ("buy when RSI < 30"). These readers take
each setting out of the text (blanking what they read, so no word is read twice) into a :class:`Reading`, and
split what is left into clauses for the condition reader.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from gentrade.agents.offline.lexer import lex_tokens
from gentrade.agents.offline.rule_trees import Node
from gentrade.agents.offline.text import blank, fmt_percent
from gentrade.agents.offline.timeframes import TIMEFRAME_PATTERNS, supported_timeframe
from gentrade.agents.offline.vocabulary import Mention
from gentrade.strategies.draft import NAME_PATTERN, RESERVED_NAMES

# --- stops, targets, changes, removals, names and roles -----------------------------------------------------

_PCT = r"(?P<n>\d+(?:\.\d+)?)\s*%"
# "stop loss 5%", "sl 5%", and how traders say it otherwise: "cut losses at 8 percent", "stop out at 4%"
_STOP = (
    r"(?:stop(?:[\s-]*loss)?|sl|cut\s+(?:the\s+|my\s+|your\s+)?loss(?:es)?|stop(?:ped)?\s+out"
    r"|max(?:imum)?\s+loss|lose\s+no\s+more\s+than)"
)
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
# One step of an ROI table in words: "5 % after 60 minutes", "10% immediately".
_ROI_STEP = re.compile(
    rf"(?<![\w.]){_PCT}\s*(?:profit\s+)?(?:(?P<now>immediately|at\s+once|right\s+away|straight\s+away|from\s+the\s+start)"
    r"|after\s+(?P<t>\d+(?:\.\d+)?)\s*(?P<u>minutes?|mins?|m|hours?|hrs?|h|days?|d)\b)"
)
_ROI_UNIT_MINUTES = {"m": 1, "h": 60, "d": 1440}
_TAKE_PROFIT_WORDS = re.compile(r"\b(?:take[\s-]*profits?|profit\s+targets?|targets?)\b")
_CHANGE_PATTERNS = [
    (re.compile(r"(-?\d+(?:\.\d+)?)\s*(%?)\s*(?:instead\s+of|rather\s+than|not)\s+(-?\d+(?:\.\d+)?)\s*(%?)"), False),
    (re.compile(r"\bfrom\s+(-?\d+(?:\.\d+)?)\s*(%?)\s*to\s+(-?\d+(?:\.\d+)?)\s*(%?)"), True),
]


_REMOVAL = re.compile(
    r"\b(?:drop|remove|delete|get\s+rid\s+of|without|no\s+longer\s+use|don'?t\s+use|do\s+not\s+use|stop\s+using"
    r"|exclude|ditch|lose|take\s+out|disable|turn\s+off)\b([^,;.!?]*?)"
    r"(?=$|[,;.!?]|\band\s+(?:add|use|make|change|set|switch|keep)\b|\bbut\b)"
)
_NAME_PATTERNS = [
    re.compile(r"\b(?:call|name)\s+(?:it|the\s+strategy|the\s+draft|this)\s+[\"'`]?([A-Za-z][A-Za-z0-9]{2,63})\b"),
    re.compile(r"\b(?:called|named)\s+[\"'`]?([A-Za-z][A-Za-z0-9]{2,63})\b"),
]
ROLE = re.compile(
    r"\b(?P<short>go(?:es|ing)?\s+short|short(?:s|ing)?\s+(?:when|if|on|once|whenever)|sell(?:ing)?\s+short"
    r"|short[\s-]+sell(?:ing)?|open(?:s|ing)?\s+(?:a\s+)?shorts?|enter(?:s|ing)?\s+(?:a\s+)?shorts?|shorting)\b"
    r"|\b(?P<exit>sell(?:s|ing)?|sold|exit(?:s|ing)?|close(?:s)?\s+(?:the\s+|a\s+|my\s+)?(?:position|trade|long)s?"
    r"|get\s+out|take[\s-]+profits?|cash\s+out|leave(?:s)?\s+(?:the\s+)?(?:trade|position))\b"
    r"|\b(?P<entry>buy(?:s|ing)?|bought|enter(?:s|ing)?|entry|entries|go(?:es|ing)?\s+long"
    r"|long(?:s)?\s+(?:when|if|on|once|whenever)|open(?:s|ing)?\s+(?:a\s+)?(?:long|position|trade)s?|get\s+in"
    r"|purchase)\b"
)
BREAK = re.compile(r"[;!?\n]|,(?![^()]*\))|\.(?!\d)|\bthen\b")  # a comma in brackets lists parameters
_HAS_RULE = re.compile(r"[<>]|\d|\b(?:below|under|above|over|cross\w*|less|greater|more)\b")
_TRAILING_ROLE = re.compile(r"\bto\s+$")
FILTER_WORDS = re.compile(r"\b(?:filter|trend|uptrend|only)\b")
TREND_FILTER = re.compile(r"\btrend[\s-]+filter\b")


@dataclass(frozen=True)
class Coin:
    base: str
    quote: str | None
    start: int
    end: int


@dataclass
class Found:
    role: str  # entry | exit
    node: Node
    start: int
    end: int
    forced_entry: bool = False


@dataclass
class Threshold:
    """A level written without a comparison ("RSI 25", "make it 25"): set or change a threshold."""

    role: str
    subject: str | None
    value: float
    start: int


@dataclass
class Removal:
    types: tuple[str, ...]
    role: str | None
    filters: bool
    trailing: bool
    stop: bool
    volume: bool = False  # "remove the volume filter": rules on volume and its average


@dataclass
class Reading:
    """What one message says, before it is applied to a draft."""

    name: str | None = None
    stop: float | None = None
    trailing: bool | None = None
    roi: dict[str, float] | None = None  # the ROI table: minutes -> ratio ("0": one target at once)
    timeframe: str | None = None
    coins: list[Coin] = field(default_factory=list)
    quote: str | None = None
    changes: list[tuple[float, bool, float, bool]] = field(default_factory=list)
    removals: list[Removal] = field(default_factory=list)
    found: list[Found] = field(default_factory=list)
    thresholds: list[Threshold] = field(default_factory=list)
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


def take_name(text: str) -> tuple[str | None, str]:
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
        text = blank(text, m.start(), m.end())
    return kept, text


def take_stop(reading: Reading, text: str) -> str:
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
        reading.stop_note = f"A {fmt_percent(value)} stop loss is outside 0.1%-99%: ignored it."
    if reading.trailing is not None:
        text = _TRAILING_ON.sub(lambda m: " " * len(m.group(0)), text)
    return text


def take_roi(reading: Reading, text: str) -> str:
    """A take-profit target ("take profit at 4%") or a table of them in words ("10% immediately, 5% after
    60 minutes and 1% after 3 hours")."""
    steps, rest = _take_all(text, [_ROI_STEP])
    if len(steps) > 1 or any(step.group("t") for step in steps):
        table = {str(_step_minutes(step)): round(float(step.group("n")) / 100, 6) for step in steps}
        if all(0 < value <= 100 for value in table.values()):
            reading.roi = dict(sorted(table.items(), key=lambda item: int(item[0])))
            return _TAKE_PROFIT_WORDS.sub(lambda m: " " * len(m.group(0)), rest)
    matches, text = _take_all(text, _ROI_PATTERNS)
    for m in matches:
        value = float(m.group("n")) / 100
        if 0 < value <= 100:
            reading.roi = {"0": round(value, 6)}
            break
    return text


def _step_minutes(step: re.Match[str]) -> int:
    if step.group("now"):
        return 0
    return round(float(step.group("t")) * _ROI_UNIT_MINUTES[step.group("u")[0]])


def take_changes(reading: Reading, text: str) -> str:
    for pattern, reverse in _CHANGE_PATTERNS:
        for m in pattern.finditer(text):
            a, a_pct, b, b_pct = float(m.group(1)), bool(m.group(2)), float(m.group(3)), bool(m.group(4))
            new, new_pct, old, old_pct = (b, b_pct, a, a_pct) if reverse else (a, a_pct, b, b_pct)
            reading.changes.append((new, new_pct or old_pct, old, old_pct or new_pct))
            text = blank(text, m.start(), m.end())
    return text


def take_timeframe(reading: Reading, text: str) -> str:
    best: tuple[int, str, re.Match[str]] | None = None
    for pattern, value in TIMEFRAME_PATTERNS:
        for m in pattern.finditer(text):
            if best is None or m.start() < best[0]:
                best = (m.start(), value(m), m)
            text = blank(text, m.start(), m.end())
    if best is None:
        return text
    reading.timeframe, reading.timeframe_note = supported_timeframe(best[1])
    return text


def take_removals(reading: Reading, text: str) -> str:
    for m in _REMOVAL.finditer(text):
        phrase = m.group(1)
        types = tuple(dict.fromkeys(t.mention.type for t in lex_tokens(phrase, 0, len(phrase)) if t.mention))
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
        removal = Removal(
            types=(*types, "volume_sma") if volume else types,
            role=role,
            filters=bool(re.search(r"\b(?:filter|trend)\b", phrase)) and not volume,
            trailing=bool(re.search(r"\btrailing\b", phrase)),
            stop=bool(re.search(r"\bstop\b", phrase)) and not re.search(r"\btrailing\b", phrase),
            volume=volume,
        )
        if removal.types or removal.filters or removal.stop:
            reading.removals.append(removal)
        text = blank(text, m.start(), m.end())
    return text


# --- clauses, and timeframes written on an indicator --------------------------------------------------------


def clauses(text: str) -> Iterator[tuple[str, int, int, bool]]:
    """Clauses with their role ("entry", "exit", "short" or "" to inherit) and whether it was written."""
    breaks = sorted({0, len(text), *(m.start() for m in BREAK.finditer(text))})
    for start, end in itertools.pairwise(breaks):
        role, cut = "", start
        for m in ROLE.finditer(text, start, end):
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


_QUALIFIER_AFTER = re.compile(r"(?:[\s-]+(?:chart|timeframe|candle|bar)(?:'s|s)?)?\s+(?:the\s+)?")
_QUALIFIER_BEFORE = re.compile(r"\s+(?:on|of|from|in)\s+(?:the\s+)?$")
_QUALIFIER_TAIL = re.compile(r"(?:[\s-]+(?:chart|timeframe|candles?|bars?))?")


def take_qualifiers(text: str) -> tuple[str, dict[int, tuple[str, str]], bool]:
    """Timeframes written on an indicator ("the 4h EMA 50", "EMA 200 on the daily"), blanked: by where the
    indicator starts, the timeframe as written and the indicator's type; and whether every indicator has one."""
    indicators = {t.start: t for t in lex_tokens(text, 0, len(text)) if t.kind == "ind" and t.mention}
    ends = {t.end: t.start for t in indicators.values()}
    found: dict[int, tuple[str, str]] = {}
    spans: list[tuple[int, int]] = []
    for pattern, value in TIMEFRAME_PATTERNS:
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
        text = blank(text, start, end)
    return text, found, bool(indicators) and all(start in found for start in indicators)
