"""Reading the draft card's settings back (name, pairs, timeframe, stop loss, ROI, can_short): the inverse of
:mod:`gentrade.strategies.card` for every field but the rules (:mod:`gentrade.strategies.card_rules`).

Why: a trader edits the card as text and the draft must follow exactly. These readers take what
``render_card`` writes and the common ways a trader rewrites it ("4 hours", "8 percent", "5% after 60
minutes"). Text they cannot read raises :class:`Unreadable` (a language model may still understand it);
text they read that can never be valid raises :class:`Unusable` (a 150% stop loss, a 2h timeframe).
"""

from __future__ import annotations

import re
from typing import Any

from gentrade.strategies.card import card_bool
from gentrade.strategies.draft import NAME_PATTERN, RESERVED_NAMES
from gentrade.timeframes import TIMEFRAMES


class Unreadable(ValueError):
    """The card grammar cannot read this text."""


class Unusable(ValueError):
    """The text reads, but says something a draft cannot be (a period of 1, a 150% stop loss, ...)."""


MAX_FIELD = 4000  # bounds the work per field; a card's longest rules are far shorter
_TRANSLATE = str.maketrans(
    {"\u00d7": "x", "\u2212": "-", "\u2013": "-", "\u2014": "-", "\u2264": "<=", "\u2265": ">=", "\u00a0": " "}
)


def normal_text(text: Any) -> str:
    """Lower case, ASCII signs, '%' for 'percent', single spaces: the form every pattern below reads."""
    text = str(text)
    if len(text) > MAX_FIELD:
        raise Unusable(f"at most {MAX_FIELD} characters")
    text = text.translate(_TRANSLATE).lower()
    text = re.sub(r"\s*\b(?:percent|per\s+cent|pct)\b", "%", text)
    return " ".join(text.split())


def parse_number(text: str) -> float:
    """A written number: an int when whole (a period), else a float."""
    value = float(text)
    return int(value) if value.is_integer() and "e" not in text else value


# --- name, pairs, timeframe, can_short --------------------------------------------------------------------


def read_name(text: Any) -> str:
    name = str(text).strip()
    if not re.fullmatch(NAME_PATTERN, name) or name in RESERVED_NAMES:
        raise Unusable(
            "a name is a class name: a capital letter, then letters and digits, 3-64 characters (e.g. RsiDipBuyer)"
        )
    return name


def read_pairs(text: Any) -> list[str]:
    words = [w for w in re.split(r"[,;\s]+|\band\b", normal_text(text)) if w]
    pairs = [w.replace("-", "/").upper() for w in words]
    bad = [p for p in pairs if not re.fullmatch(r"[A-Z0-9]{2,15}/[A-Z0-9]{2,15}", p)]
    if not pairs or bad:
        raise Unreadable(f"write pairs like 'BTC/USDT, ETH/USDT'{f' (not {bad[0]})' if bad else ''}")
    return pairs


_WORD_NUMBERS = {"one": "1", "four": "4", "five": "5", "fifteen": "15", "thirty": "30"}
TIMEFRAME_TEXT = re.compile(
    r"(?P<n>\d+|one|four|five|fifteen|thirty)\s*-?\s*(?P<unit>m|mins?|minutes?|h|hrs?|hours?|d|days?)"
    r"(?: candles?| chart)?"
)
_TIMEFRAME_WORDS = {"hourly": "1h", "daily": "1d", "4-hourly": "4h", "four-hourly": "4h"}


def read_timeframe(text: Any) -> str:
    t = normal_text(text)
    m = TIMEFRAME_TEXT.fullmatch(t)
    if m:
        value = f"{int(_WORD_NUMBERS.get(m.group('n'), m.group('n')))}{m.group('unit')[0]}"
    elif t in _TIMEFRAME_WORDS:
        value = _TIMEFRAME_WORDS[t]
    else:
        raise Unreadable(f"write a timeframe such as 1h or '4 hours' (one of {', '.join(TIMEFRAMES)})")
    if value not in TIMEFRAMES:
        raise Unusable(f"{value} is not a supported timeframe: one of {', '.join(TIMEFRAMES)}")
    return value


def read_can_short(value: Any) -> bool:
    flag = card_bool(value)
    if flag is None:
        raise Unreadable("can_short is true or false")
    return flag


# --- stop loss and ROI ------------------------------------------------------------------------------------

_STOP = re.compile(
    r"(?:stop(?:[\s-]*loss)?\s*(?:of|at|:)?\s*)?(?P<sign>[-+])?\s*(?P<n>\d+(?:\.\d+)?|\.\d+)\s*(?P<pct>%)?"
    r"(?:\s*stop(?:[\s-]*loss)?)?"
    r"(?P<trailing>\s*,?\s*trailing(?:\s+stop)?"
    r"(?:\s*,?\s*(?P<positive>\d+(?:\.\d+)?)\s*%\s*behind\s+(?:the\s+)?peak)?"
    r"(?:\s*,?\s*once\s+(?P<offset>\d+(?:\.\d+)?)\s*%\s*in\s+profit)?"
    r"(?P<only>\s*,?\s*fixed\s+until\s+then)?)?\.?"
)


def read_stoploss(text: Any) -> dict[str, Any]:
    """The stop loss and trailing settings: "-8%", "8 percent", "-0.08", "-10%, trailing, 2% behind the peak ..."."""
    m = _STOP.fullmatch(normal_text(text))
    if not m:
        raise Unreadable("write the stop loss as a percentage, e.g. -5% (optionally ', trailing')")
    value = float(m.group("n"))
    ratio = value / 100 if m.group("pct") or value >= 1 else value
    if not 0.001 <= ratio <= 0.99:
        raise Unusable(f"a stop loss is between -0.1% and -99%, not {m.group(0)}")
    positive = float(m.group("positive")) / 100 if m.group("positive") else None
    offset = float(m.group("offset")) / 100 if m.group("offset") else 0.0
    if (positive is not None and not 0 < positive < 1) or not 0 <= offset < 1:
        raise Unusable("trailing distances are between 0% and 100%")
    return {
        "stoploss": -ratio,
        "trailing_stop": bool(m.group("trailing")),
        "trailing_stop_positive": positive,
        "trailing_stop_positive_offset": offset,
        "trailing_only_offset_is_reached": bool(m.group("only")),
    }


_UNIT_MINUTES = {"m": 1, "h": 60, "d": 1440}
_ROI_STEP = re.compile(
    r"(?P<ratio>[-+]?\d+(?:\.\d+)?)\s*%"
    r"(?:\s+(?:at\s+once|immediately|right\s+away|from\s+the\s+start"
    r"|(?:after|from|at)\s+(?P<time>\d+(?:\.\d+)?)\s*(?P<unit>m|mins?|minutes?|h|hrs?|hours?|d|days?)))?"
)
_NONE = re.compile(r"(?:none\b|nothing\b|no\b|-+$)")


def read_roi(text: Any) -> dict[str, float]:
    """The ROI table: "10% at once, 4% after 2 h", "5% after 60 minutes"; "none" for no ROI exit."""
    t = re.sub(r"^(?:take\s+profit\s+at|roi(?:\s+targets?)?\s*:?)\s*", "", normal_text(text)).rstrip(".")
    if _NONE.match(t):
        return {}
    roi: dict[str, float] = {}
    for part in re.split(r"\s*(?:,|;|\band\b|\bthen\b)\s*", t):
        if not part:
            continue
        m = _ROI_STEP.fullmatch(part)
        if not m:
            raise Unreadable(f"could not read '{part}': write steps like '10% at once, 4% after 2 h'")
        minutes = float(m.group("time") or 0) * _UNIT_MINUTES[(m.group("unit") or "m")[0]]
        ratio = float(m.group("ratio")) / 100
        if not minutes.is_integer() or minutes >= 1_000_000:
            raise Unusable(f"'{part}': the time is a whole number of minutes")
        if not -1 <= ratio <= 100:
            raise Unusable(f"'{part}': an ROI step is between -100% and 10000%")
        key = str(int(minutes))
        if key in roi:
            raise Unusable(f"two ROI steps after {key} minutes")
        roi[key] = ratio
    if not roi:
        raise Unreadable("write steps like '10% at once, 4% after 2 h'")
    return roi
