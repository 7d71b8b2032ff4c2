"""Small predicates and rewrites on rule trees (``{"all": [...]}`` / ``{"any": [...]}`` of conditions).

Why: the condition reader, the defaults and the revision all ask the same questions of a rule ("is it a trend
filter?", "a slope?") and rewrite trees the same way; one copy keeps their answers the same.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gentrade.agents.offline.registry import Registry
from gentrade.agents.offline.vocabulary import AVERAGES, series
from gentrade.strategies.catalogue import PRICE_COLUMNS
from gentrade.strategies.short_side import OPPOSITE_OPS
from gentrade.strategies.trees import conditions

Node = dict[str, Any]  # a condition {"left", "op", "right"} or a group {"all" | "any": [...]}, edited in place
Operand = str | float  # a side of a condition: a series name or a level


def prune(node: Node | None, drop: Callable[[Node], bool]) -> Node | None:
    """The tree without the conditions ``drop`` selects; empty groups go too."""
    if not node:
        return None
    for key in ("all", "any"):
        if key in node:
            children = [c for c in (prune(child, drop) for child in node[key]) if c]
            return {key: children} if children else None
    return None if drop(node) else node


def map_conditions(node: Node | None, change: Callable[[Node], Node]) -> Node | None:
    if not node:
        return node
    for key in ("all", "any"):
        if key in node:
            return {key: [map_conditions(child, change) for child in node[key]]}
    return change(node)


def comparison_side(op: str) -> str:
    """'lt' for a below-comparison, 'gt' for an above one, else the op itself (a crossing)."""
    return {"<": "lt", "<=": "lt", ">": "gt", ">=": "gt"}.get(op, op)


def flip(op: str) -> str:
    return OPPOSITE_OPS[op]


def is_number(operand: Any) -> bool:
    return isinstance(operand, int | float)


def is_slope(condition: Node) -> bool:
    """'the EMA is rising': a series compared with itself some candles before."""
    right = condition["right"]
    return isinstance(right, Mapping) and right.get("ref") == condition["left"] and bool(right.get("ago"))


def _is_volume_rule(condition: Node, registry: Registry) -> bool:
    """'volume above 2x its average': a confirmation, never an exit's mirror."""
    return condition["left"] == "volume" and registry.type_of(condition["right"]) == "volume_sma"


def is_line_filter(node: Node, registry: Registry) -> bool:
    """A trend or strength filter: price against a moving line (not a crossing), a line rising or falling, or an
    ADX or NATR level."""
    found = list(conditions(node))
    for condition in found:
        left, op, right = condition["left"], condition["op"], condition["right"]
        if (registry.type_of(left) in ("adx", "natr") and is_number(right)) or is_slope(condition):
            continue
        if op.startswith("crosses") or left not in PRICE_COLUMNS:
            return False
        if registry.type_of(right) not in (*AVERAGES, "vwap", "ichimoku"):
            return False
    return bool(found)


def is_filter(node: Node, registry: Registry) -> bool:
    """A rule that narrows entries rather than signals one: a line filter or a volume confirmation."""
    return is_line_filter(node, registry) or all(_is_volume_rule(c, registry) for c in conditions(node))


def scaled(operand: Operand, times: float) -> Operand:
    """``operand`` times ``times`` ("2% above the EMA" scales the EMA by 1.02)."""
    if times == 1.0:
        return operand
    if isinstance(operand, str):
        return series(operand, times)
    if isinstance(operand, Mapping):
        return {**operand, "times": round(float(operand.get("times", 1.0)) * times, 6)}
    return round(operand * times, 10)
