"""The short side of a long rule: what "mirror the long conditions" means when a draft starts to trade short.

Why a rule of its own: turning ``can_short`` on needs short conditions (the draft refuses it without), and
a trader who ticks the box on the card expects the obvious mirror:

* a direction turns: "RSI below 30" becomes "RSI above 70" (a level mirrors around the oscillator's middle:
  Williams %R -80 becomes -20, the Supertrend direction crossing above 0 crosses below it), "the close is
  above EMA(50)" becomes "the close is below EMA(50)", a crossing crosses the other way, an upper band
  (Bollinger, Donchian, Keltner) becomes the lower one;
* a scaled or offset series mirrors around the series it scales: "the close is above 1.02 x EMA(50)" (2 %
  above) becomes "the close is below 0.98 x EMA(50)" (2 % below), "+ 100" becomes "- 100"; a look-back
  stays. A factor outside 0..2 has no such mirror;
* a pair of lines swaps: "+DI above -DI" becomes "-DI above +DI", "Aroon up above 70" "Aroon down above 70";
* rules on strength, volatility or volume (ADX, ATR, NATR, volume and its average) hold for both sides as
  they are, scaled or not ("volume is above 3 x Volume SMA(20)").

A rule with no natural mirror ("the close is above 100", a level on a scaled series, a pair of lines
against a price) is refused with a message, never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gentrade.strategies.card import Indicators, conditions_text, number_text
from gentrade.strategies.catalogue import DIRECTIONLESS, OSCILLATOR_MIDDLES
from gentrade.strategies.trees import series_name

OPPOSITE_OPS = {
    "<": ">",
    "<=": ">=",
    ">": "<",
    ">=": "<=",
    "crosses_above": "crosses_below",
    "crosses_below": "crosses_above",
}
_OPPOSITE_BANDS = {"upper": "lower", "lower": "upper"}
_BANDS = ("bbands", "donchian", "keltner")
_SWAPPED = {"dmi": {"plus": "minus", "minus": "plus"}, "aroon": {"up": "down", "down": "up"}}  # a line per side
_PRICE_LEVELS = {("supertrend", "line")}  # outputs of an oscillator type that are prices, with no middle


class NoMirror(ValueError):
    """A long rule that has no natural short counterpart."""


def mirror_for_short(node: Mapping[str, Any], indicators: Indicators) -> dict[str, Any]:
    """The short conditions that mirror a long condition tree; :class:`NoMirror` names the rule that has none."""
    for key in ("all", "any"):
        if key in node:
            return {key: [mirror_for_short(child, indicators) for child in node[key]]}
    try:
        return _Mirror(indicators).condition(node)
    except NoMirror as exc:
        reason = f": {exc}" if str(exc) else ""
        raise NoMirror(
            f"'{conditions_text(node, indicators)}' has no natural mirror for the short side{reason}"
        ) from None


class _Mirror:
    """One condition's mirror; raises a bare :class:`NoMirror` (or one with a reason) when it has none."""

    def __init__(self, indicators: Indicators) -> None:
        self.indicators = indicators

    def condition(self, node: Mapping[str, Any]) -> dict[str, Any]:
        left, op, right = node["left"], node["op"], node["right"]
        series = [side for side in (left, right) if series_name(side) is not None]
        if all(self._directionless(side) for side in series):
            return dict(node)
        if any(self._output(side) in _SWAPPED.get(self._type(side) or "", {}) for side in series):
            return {"left": self._swapped(left), "op": op, "right": self._swapped(right)}
        if len(series) == 2:
            return {"left": self._turned(left), "op": OPPOSITE_OPS[op], "right": self._turned(right)}
        return self._level(left, op, right)

    def _level(self, left: Any, op: str, right: Any) -> dict[str, Any]:
        """A series against a number: the number mirrors around the series' middle (RSI 30 -> 70)."""
        series, number = (left, right) if series_name(left) is not None else (right, left)
        if isinstance(series, Mapping) and (series.get("times", 1.0) != 1.0 or series.get("plus", 0.0)):
            raise NoMirror("a level on a scaled series")
        middle = self._middle(series)
        if middle is None:
            raise NoMirror
        level = _exact(2 * middle - number)
        if series is left:
            return {"left": left, "op": OPPOSITE_OPS[op], "right": level}
        return {"left": level, "op": OPPOSITE_OPS[op], "right": right}

    def _turned(self, operand: Any) -> Any:
        """A series' mirror image: the other band, a factor mirrored around 1, an offset negated."""
        if not isinstance(operand, Mapping):
            return self._other_band(operand)
        turned = {**operand, "ref": self._other_band(operand["ref"])}
        times = operand.get("times", 1.0)
        if times != 1.0:
            if not 0 < times < 2:
                raise NoMirror(f"a factor of {number_text(times)}")
            turned["times"] = _exact(2 - times)
        if operand.get("plus"):
            turned["plus"] = -operand["plus"]
        return turned

    def _swapped(self, operand: Any) -> Any:
        """The other line of a pair (+DI for -DI); anything but the pair's lines and directionless series has none."""
        name = series_name(operand)
        if name is None or self._directionless(operand):
            return operand
        kind, output = self._type(operand), self._output(operand)
        other = _SWAPPED.get(kind or "", {}).get(output)
        if other is None:
            raise NoMirror("it compares a pair of lines (+DI/-DI, Aroon up/down) with a series of another kind")
        ref = f"{name.partition('.')[0]}.{other}"
        return {**operand, "ref": ref} if isinstance(operand, Mapping) else ref

    def _other_band(self, name: str) -> str:
        """The lower band for the upper one (Bollinger, Donchian, Keltner); anything else stays."""
        if self._type(name) not in _BANDS:
            return name
        ident, _, output = name.partition(".")
        return f"{ident}.{_OPPOSITE_BANDS.get(output, output)}"

    def _middle(self, operand: Any) -> float | None:
        kind = self._type(operand)
        if kind is None or (kind, self._output(operand)) in _PRICE_LEVELS:
            return None
        return OSCILLATOR_MIDDLES.get(kind)

    def _type(self, operand: Any) -> str | None:
        item = self.indicators.get((series_name(operand) or "").partition(".")[0])
        return item["type"] if item else None

    @staticmethod
    def _output(operand: Any) -> str:
        return (series_name(operand) or "").partition(".")[2]

    def _directionless(self, operand: Any) -> bool:
        return series_name(operand) == "volume" or self._type(operand) in DIRECTIONLESS


def _exact(value: float) -> float:
    """``value`` as the card writes it (``2 - 1.1`` is 0.9, not 0.8999999999999999)."""
    return float(number_text(value))
