"""Conditions that can never trade (or always do), refused by the draft with the reason and the fix.

Why a module of its own: the draft model says what a draft may hold; these rules say what a valid-looking
condition means on real candles (a bounded indicator's range, a band that holds its own candle), which the
catalogue's ranges and the indicators' definitions decide.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gentrade.strategies.catalogue import CATALOGUE, PRICE_COLUMNS

if TYPE_CHECKING:
    from gentrade.strategies.draft import StrategyDraft
    from gentrade.strategies.draft_types import Condition, Series

_MIRRORED_OPS = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "crosses_above": "crosses_below"}
_NEVER_OUTSIDE_ITS_BAND = {("upper", ">"), ("upper", "crosses_above"), ("lower", "<"), ("lower", "crosses_below")}


def series_text(series: Series) -> str:
    """A short text for a series: ``ema50``, ``3*vol_avg``, ``ema50[-1]`` (one candle ago), ``1.02*ema50+5``."""
    text = series.ref + (f"[-{series.ago}]" if series.ago else "")
    if series.times != 1.0:
        text = f"{series.times:g}*{text}"
    if series.plus:
        text += f"{series.plus:+g}"
    return text


def series_range(draft: StrategyDraft, series: Series) -> tuple[float | None, float | None]:
    """The lowest and highest value ``series`` can take (None: unbounded), scaling included."""
    if series.ref in PRICE_COLUMNS:
        low, high = 0.0, None
    else:
        ident, _, output = series.ref.partition(".")
        indicator = draft.indicator(ident)
        if indicator is None:
            return None, None
        low, high = CATALOGUE[indicator.type].range_of(output)
    ends = [None if end is None else end * series.times + series.plus for end in (low, high)]
    return (ends[1], ends[0]) if series.times < 0 else (ends[0], ends[1])


def never_changes(draft: StrategyDraft, condition: Condition, left: Series | None, right: Series | None) -> str | None:
    """A bounded series (RSI 0..100) compared with a number outside its range: always or never true."""
    series, number = (left, condition.right) if right is None else (right, condition.left)
    if series is None or not isinstance(number, int | float):
        return None
    low, high = series_range(draft, series)
    if (low is not None and number < low) or (high is not None and number > high):
        return (
            f"'{series_text(series)}' is always {_range_text(low, high)}, so comparing it with {number:g} is always "
            "or never true: use a level inside that range"
        )
    return None


def never_breaks_out(
    draft: StrategyDraft, condition: Condition, left: Series | None, right: Series | None
) -> str | None:
    """A price above the Donchian upper band (below the lower) of its own candle: never true, as the band
    holds that candle's high (low). A breakout compares with the band one candle ago."""
    if left is None or right is None:
        return None
    op = condition.op
    if right.ref in PRICE_COLUMNS:  # normalise to "price <op> band"
        left, right = right, left
        op = _MIRRORED_OPS.get(op, "crosses_above")
    indicator: Any = draft.indicator(right.ref.partition(".")[0])
    if left.ref not in PRICE_COLUMNS or not left.plain or not right.plain or indicator is None:
        return None
    output = right.ref.partition(".")[2]
    if indicator.type != "donchian" or indicator.timeframe or (output, op) not in _NEVER_OUTSIDE_ITS_BAND:
        return None
    side = "above" if output == "upper" else "below"
    return (
        f"the {left.ref} is never {side} the Donchian {output} band of its own candle (the band includes it); "
        f'for a breakout compare with the band one candle ago: {{"ref": "{right.ref}", "ago": 1}}'
    )


def _range_text(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"between {low:g} and {high:g}"
    return f"at least {low:g}" if low is not None else f"at most {high:g}"
