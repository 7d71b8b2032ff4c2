"""The short side of a long rule: what "mirror the long conditions" means when a draft starts to trade short.

Why a rule of its own: turning ``can_short`` on needs short conditions (the draft refuses it without), and
a trader who ticks the box on the card expects the obvious mirror: "RSI below 30" becomes "RSI above 70",
"the close is above EMA(50)" becomes "the close is below EMA(50)", a crossing crosses the other way.
Rules on strength or volatility (ADX, ATR, volume) hold for both sides. A rule with no natural mirror
("the close is above 100") is refused with a message, never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gentrade.strategies.card import Indicators, conditions_text
from gentrade.strategies.catalogue import DIRECTIONLESS, OSCILLATOR_MIDDLES

OPPOSITE_OPS = {
    "<": ">",
    "<=": ">=",
    ">": "<",
    ">=": "<=",
    "crosses_above": "crosses_below",
    "crosses_below": "crosses_above",
}
_OPPOSITE_BANDS = {"upper": "lower", "lower": "upper"}


class NoMirror(ValueError):
    """A long rule that has no natural short counterpart."""


def mirror_for_short(node: Mapping[str, Any], indicators: Indicators) -> dict[str, Any]:
    """The short conditions that mirror a long condition tree; :class:`NoMirror` names the rule that has none."""
    for key in ("all", "any"):
        if key in node:
            return {key: [mirror_for_short(child, indicators) for child in node[key]]}
    left, op, right = node["left"], node["op"], node["right"]
    series = [side for side in (left, right) if isinstance(side, str)]
    if all(_directionless(side, indicators) for side in series):
        return dict(node)
    if len(series) == 2:
        return {"left": _other_band(left, indicators), "op": OPPOSITE_OPS[op], "right": _other_band(right, indicators)}
    middle = OSCILLATOR_MIDDLES.get(_type(series[0], indicators) or "")
    if middle is None:
        raise NoMirror(f"'{conditions_text(node, indicators)}' has no natural mirror for the short side")
    if isinstance(left, str):
        return {"left": left, "op": OPPOSITE_OPS[op], "right": 2 * middle - right}
    return {"left": 2 * middle - left, "op": OPPOSITE_OPS[op], "right": right}


def _type(operand: str, indicators: Indicators) -> str | None:
    item = indicators.get(operand.partition(".")[0])
    return item["type"] if item else None


def _directionless(operand: str, indicators: Indicators) -> bool:
    return operand == "volume" or _type(operand, indicators) in DIRECTIONLESS


def _other_band(operand: Any, indicators: Indicators) -> Any:
    """The lower band for the upper one (Bollinger Bands); anything else stays."""
    if not isinstance(operand, str) or _type(operand, indicators) != "bbands":
        return operand
    ident, _, output = operand.partition(".")
    return f"{ident}.{_OPPOSITE_BANDS.get(output, output)}"
