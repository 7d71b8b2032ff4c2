"""Condition trees as plain data: the conditions in a tree and the indicators they use.

Why: drafts are edited as dicts (the offline drafter, the card reader) before they validate, and both
need the same walk; ``StrategyDraft`` walks its validated nodes itself.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from gentrade.strategies.catalogue import PRICE_COLUMNS

Node = Mapping[str, Any]  # a condition {"left", "op", "right"} or a group {"all" | "any": [...]}


def conditions(node: Node | None) -> Iterator[Any]:
    """Every condition in a tree, in order."""
    if not node:
        return
    for key in ("all", "any"):
        if key in node:
            for child in node[key]:
                yield from conditions(child)
            return
    yield node


def series_name(operand: Any) -> str | None:
    """The series an operand names: a name as is, a Series object's ``ref``; None for a number."""
    if isinstance(operand, Mapping):
        operand = operand.get("ref")
    return operand if isinstance(operand, str) else None


def references(*nodes: Node | None) -> set[str]:
    """The indicator ids the trees' conditions use (``macd`` for ``macd.signal``, ``vol`` for ``{"ref": "vol",
    "times": 3}``); prices and numbers are not ids."""
    return {
        name.partition(".")[0]
        for node in nodes
        for condition in conditions(node)
        for name in (series_name(condition["left"]), series_name(condition["right"]))
        if name is not None and name not in PRICE_COLUMNS
    }


def renamed_ids(node: Node | None, renamed: Mapping[str, str]) -> Any:
    """The tree with indicator ids renamed (``{"ema50": "ema100"}`` turns ``ema50`` into ``ema100``)."""
    if not node or not renamed:
        return node
    for key in ("all", "any"):
        if key in node:
            return {key: [renamed_ids(child, renamed) for child in node[key]]}

    def rename(operand: Any) -> Any:
        if isinstance(operand, Mapping) and isinstance(operand.get("ref"), str):
            return {**operand, "ref": rename(operand["ref"])}
        if not isinstance(operand, str):
            return operand
        ident, dot, output = operand.partition(".")
        return renamed.get(ident, ident) + dot + output

    return {"left": rename(node["left"]), "op": node["op"], "right": rename(node["right"])}
