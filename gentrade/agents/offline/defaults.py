"""Defaults and mirrors: what a draft gets for what the message leaves out.

Why: "an RSI strategy" names no rule and "buy below 30" no exit; the offline drafter fills each gap with the
rule a trader usually means (RSI below 30, the mirrored exit, a 10% stop) and says so in an assumption. These
are the values and rules it fills in; the wording of the assumptions is in :mod:`.wording`.
"""

from __future__ import annotations

from collections.abc import Mapping

from gentrade.agents.offline.registry import Registry, default_output_name
from gentrade.agents.offline.rule_trees import (
    Node,
    comparison_side,
    flip,
    is_filter,
    is_line_filter,
    is_number,
    is_slope,
)
from gentrade.agents.offline.vocabulary import AVERAGES, CHANNELS, NEW_LEVELS, default_rule, series
from gentrade.strategies.catalogue import CATALOGUE, OSCILLATOR_MIDDLES, PRICE_COLUMNS
from gentrade.strategies.trees import conditions, series_name

DEFAULT_BASE = "BTC"
DEFAULT_QUOTE = "USDT"
DEFAULT_TIMEFRAME = "1h"
DEFAULT_STOPLOSS = -0.10
DEFAULT_ROI = 0.10


DEFAULT_LEVELS = {"rsi": (30.0, 70.0), "mfi": (20.0, 80.0), "stoch": (20.0, 80.0), "cci": (-100.0, 100.0), **NEW_LEVELS}
MENTION_ONLY = ("atr", "obv", "natr")  # no sensible rule without more context: computed, not traded on
ENTRY_ONLY = (*AVERAGES, "adx", "volume_sma")  # named alone, these filter entries (a trend, strength, volume)


def _mirror(node: Node, registry: Registry) -> Node | None:
    """The natural exit for an entry signal: the opposite crossing, the opposite side of the level."""
    if "all" in node or "any" in node:
        children = node.get("all") or node.get("any") or []
        return _mirror(children[0], registry) if children else None
    left, op, right = node["left"], node["op"], node["right"]
    name = series_name(right) or ""
    if isinstance(right, Mapping) and registry.type_of(right) == "donchian" and name.endswith((".upper", ".lower")):
        other = name.rsplit(".", 1)[0] + (".lower" if name.endswith(".upper") else ".upper")  # the opposite breakout
        return {"left": left, "op": flip(op).rstrip("="), "right": series(other, ago=int(right.get("ago", 0)))}
    if op.startswith("crosses"):
        return {"left": left, "op": flip(op), "right": right}
    if isinstance(right, str) and right.endswith((".lower", ".upper")) and registry.type_of(right) in CHANNELS:
        return {
            "left": left,
            "op": ">" if comparison_side(op) == "lt" else "<",
            "right": right.rsplit(".", 1)[0] + ".middle",
        }
    if isinstance(right, Mapping) and not is_slope(node):
        return {"left": left, "op": flip(op).rstrip("="), "right": name}  # "2% above the EMA" exits below the EMA
    if is_number(right):
        middle = OSCILLATOR_MIDDLES.get(registry.type_of(left) or "")
        level = 2 * middle - right if middle is not None else right
        return {"left": left, "op": flip(op).rstrip("="), "right": float(level)}
    return {"left": left, "op": flip(op).rstrip("="), "right": right}


def usual_rule(kind: str, ident: str, role: str, filtering: bool = False) -> Node | None:
    """The usual rule for an indicator named with no rule ("an RSI strategy", "add a MACD exit")."""
    entry = role == "entry"
    if kind in DEFAULT_LEVELS:
        low, high = DEFAULT_LEVELS[kind]
        operand = f"{ident}.{default_output_name(kind)}" if CATALOGUE[kind].outputs else ident
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


def default_exit(entry: list[Node], registry: Registry) -> Node | None:
    def rank(node: Node) -> int:  # 3: never mirrored (strength and volume hold for any exit)
        if is_line_filter(node, registry):
            return 3 if any(registry.type_of(c["left"]) in ("adx", "natr") for c in conditions(node)) else 2
        if is_filter(node, registry):
            return 3
        return 1 if any(c["left"] in PRICE_COLUMNS for c in conditions(node)) else 0

    ranked = sorted((n for n in entry if rank(n) < 3), key=rank)
    for node in ranked:
        mirrored = _mirror(node, registry)
        if mirrored is not None:
            return mirrored
    return None


def threshold_node(subject: str, value: float, role: str, registry: Registry) -> Node:
    kind = registry.type_of(subject) or ""
    if kind == "adx":
        return {"left": subject, "op": ">", "right": value}
    middle = OSCILLATOR_MIDDLES.get(kind, 50.0)
    above = value > middle if role == "exit" else value >= middle
    op = ">" if above else "<"
    return {"left": subject, "op": op, "right": value}
