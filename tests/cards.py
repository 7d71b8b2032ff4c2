"""Drafts and comparisons shared by the draft's and the card's test modules (test_draft, test_draft_language,
test_card, test_card_language)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from gentrade.samples import DRAFT
from gentrade.strategies.card import indicator_label
from gentrade.strategies.draft import StrategyDraft, parse_draft

CONDITION_FIELDS = ("entry_conditions", "exit_conditions", "entry_short_conditions", "exit_short_conditions")

RSI_BELOW_30 = {"left": "rsi", "op": "<", "right": 30}


def minimal(**changes: Any) -> dict[str, Any]:
    """The smallest valid draft: one RSI and one entry condition."""
    draft = {
        "name": "Minimal",
        "timeframe": "5m",
        "pairs": ["BTC/USDT"],
        "indicators": [{"id": "rsi", "type": "rsi"}],
        "entry_conditions": RSI_BELOW_30,
        "stoploss": -0.1,
    }
    return {**draft, **copy.deepcopy(changes)}


def make(**changes: Any) -> StrategyDraft:
    """The design example with ``changes``."""
    data = copy.deepcopy(DRAFT)
    data.update(changes)
    return parse_draft(data)


def rule(left: Any, op: str, right: Any) -> dict[str, Any]:
    return {"left": left, "op": op, "right": right}


def canonical(draft: StrategyDraft) -> dict[str, Any]:
    """The draft with indicator ids replaced by their labels: equal when two drafts differ only in ids."""
    data = draft.model_dump()
    labels = {item["id"]: indicator_label(item) for item in data["indicators"]}

    def operand(value: Any) -> Any:
        if isinstance(value, Mapping):  # a Series: its ref by label
            return {**value, "ref": operand(value["ref"])}
        if isinstance(value, str) and value.partition(".")[0] in labels:
            ident, dot, output = value.partition(".")
            return labels[ident] + dot + output
        return value

    def tree(node: Any) -> Any:
        if node is None:
            return None
        for key in ("all", "any"):
            if key in node:
                return {key: [tree(child) for child in node[key]]}
        return {"left": operand(node["left"]), "op": node["op"], "right": operand(node["right"])}

    data["indicators"] = [labels[item["id"]] for item in data["indicators"]]
    for name in CONDITION_FIELDS:
        data[name] = tree(data[name])
    return data
