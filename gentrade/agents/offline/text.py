"""Text helpers every reader of a message shares: one normal form of the text, and numbers put back into words.

Why: every pattern in the offline reader is written against the same form of a message (lower case, ASCII
punctuation, "%" for "percent"), and every note quotes numbers the same way; one place keeps them agreeing.
"""

from __future__ import annotations

import re

MAX_TEXT = 4000  # longer messages are read up to here: bounds the work per message


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


# "RSI between 40 and 60": one subject, two levels.
_RANGE = re.compile(
    r"(?P<subject>(?:williams\s+)?%r|\b[a-z][a-z0-9_]*(?:\s*\(\d+(?:\s*,\s*\d+)*\))?)\s+(?:is\s+|stays\s+)?"
    r"between\s+(?P<a>-?\d+(?:\.\d+)?)\s*(?:and|to|-)\s*(?P<b>-?\d+(?:\.\d+)?)(?![\d.%])"
)


def _spelled_range(m: re.Match[str]) -> str:
    low, high = sorted((float(m.group("a")), float(m.group("b"))))
    subject = m.group("subject")
    return f"{subject} above {fmt_number(low)} and {subject} below {fmt_number(high)}"


def normalize(text: str) -> str:
    """Lower case, ASCII punctuation, '%' for 'percent', a range spelled out as two comparisons ("RSI between
    40 and 60" -> "rsi above 40 and rsi below 60"): the form every pattern below reads."""
    text = text[:MAX_TEXT].translate(_TRANSLATE).lower()
    text = re.sub(r"\s*\b(?:percent|per\s+cent|pct)\b", "%", text)
    text = _RANGE.sub(_spelled_range, text)
    return re.sub(r"\bthe\s+(?=(?:price|close|closing)\b)", "    ", text)


def blank(text: str, start: int, end: int) -> str:
    """Erase a span that has been read, keeping every other position where it was."""
    return text[:start] + " " * (end - start) + text[end:]


def fmt_number(value: float) -> str:
    return f"{round(value, 6):g}"


def fmt_percent(ratio: float) -> str:
    return f"{round(abs(ratio) * 100, 4):g}%"
