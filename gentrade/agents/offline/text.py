"""Text helpers every reader of a message shares: one normal form of the text, and numbers put back into words.

Why: every pattern in the offline reader is written against the same form of a message (lower case, ASCII
punctuation, "%" for "percent"), and every note quotes numbers the same way; one place keeps them agreeing.
"""

from __future__ import annotations

import re
from typing import Any

MAX_TEXT = 4000  # longer messages are read up to here: bounds the work per message

Node = dict[str, Any]
Operand = str | float


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


def normalize(text: str) -> str:
    """Lower case, ASCII punctuation, '%' for 'percent': the form every pattern below reads."""
    text = text[:MAX_TEXT].translate(_TRANSLATE).lower()
    text = re.sub(r"\s*\b(?:percent|per\s+cent|pct)\b", "%", text)
    return re.sub(r"\bthe\s+(?=(?:price|close|closing)\b)", "    ", text)


def blank(text: str, start: int, end: int) -> str:
    """Erase a span that has been read, keeping every other position where it was."""
    return text[:start] + " " * (end - start) + text[end:]


def fmt_number(value: float) -> str:
    return f"{round(value, 6):g}"


def fmt_percent(ratio: float) -> str:
    return f"{round(abs(ratio) * 100, 4):g}%"
