"""Words for drafts: the announcement of a draft, its class name, and the notes and assumptions.

Why: a trader reads the draft as sentences; every sentence about a draft the offline model writes is built
here, from the draft's own data, so the same draft is always described the same way.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from gentrade.agents.offline.registry import Registry
from gentrade.agents.offline.rule_trees import Node, is_line_filter
from gentrade.agents.offline.text import fmt_percent
from gentrade.agents.offline.vocabulary import title
from gentrade.strategies.card import LABELS, conditions_text, roi_text
from gentrade.strategies.catalogue import PRICE_COLUMNS
from gentrade.strategies.draft import NAME_PATTERN, RESERVED_NAMES, StrategyDraft
from gentrade.strategies.trees import conditions, series_name


def _indicator_map(draft: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["id"]: i for i in draft.get("indicators") or []}


def join_words(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _roi_words(roi: dict[str, float]) -> str:
    steps = sorted((int(k), v) for k, v in roi.items())
    if not steps:
        return "no ROI target"
    if len(steps) == 1 and steps[0][0] == 0:
        return f"take profit at {fmt_percent(steps[0][1])}"
    return "ROI targets " + roi_text(roi)


def auto_name(draft: dict[str, Any]) -> str:
    """A class name from the main indicators, e.g. RsiEmaTrend; deterministic."""
    indicators = _indicator_map(draft)
    kinds: list[str] = []
    for name in ("entry_conditions", "exit_conditions"):
        for ident in _ordered_references(draft.get(name)):
            kind = indicators[ident]["type"] if ident in indicators else None
            if kind and kind not in kinds:
                kinds.append(kind)
    registry = Registry(list(indicators.values()), False)
    trend = any(is_line_filter(node, registry) for node in _top_level(draft.get("entry_conditions")))
    name = "".join(title(k) for k in kinds[:3]) + ("Trend" if trend else "Strategy")
    return name if re.fullmatch(NAME_PATTERN, name) and name not in RESERVED_NAMES else "OfflineStrategy"


def _ordered_references(node: Node | None) -> list[str]:
    ids: list[str] = []
    for condition in conditions(node):
        for side in ("left", "right"):
            operand = series_name(condition[side])
            if operand is not None and operand not in PRICE_COLUMNS:
                ident = operand.partition(".")[0]
                if ident not in ids:
                    ids.append(ident)
    return ids


def _top_level(node: Node | None) -> list[Node]:
    if not node:
        return []
    return list(node.get("all") or [node] if "any" not in node else [node])


def default_note(kind: str, role: str, node: Node, registry: Registry) -> str:
    action = "buying" if role == "entry" else "selling"
    return f"No {LABELS[kind]} rule named: {action} when {conditions_text(node, registry.items)}."


def unique_notes(notes: list[str]) -> list[str]:
    return list(dict.fromkeys(notes))


def first_error(exc: ValidationError) -> str:
    error = exc.errors(include_url=False)[0]
    return str(error.get("msg", "invalid"))[:200]


def describe_draft(draft: StrategyDraft, assumptions: list[str], revised: bool) -> str:
    """The announcement of a (revised) draft: what it trades, its rules in words, its risk, the assumptions."""
    data = draft.model_dump()
    indicators = _indicator_map(data)
    side = "long and short" if data["can_short"] else "long-only"
    pairs = join_words(data["pairs"])
    opening = "I've revised the draft" if revised else "Here is a draft"
    parts = [f"{opening}: {data['name']}, a {side} strategy for {pairs} on {data['timeframe']} candles."]
    parts.append(f"It buys when {conditions_text(data['entry_conditions'], indicators)}.")
    if data.get("exit_conditions"):
        parts.append(f"It sells when {conditions_text(data['exit_conditions'], indicators)}.")
    else:
        parts.append("It has no exit signal: trades close at the take-profit target or the stop loss.")
    if data["can_short"] and data.get("entry_short_conditions"):
        parts.append(f"It goes short when {conditions_text(data['entry_short_conditions'], indicators)}.")
        if data.get("exit_short_conditions"):
            parts.append(f"It covers shorts when {conditions_text(data['exit_short_conditions'], indicators)}.")
    risk = f"Stop loss {fmt_percent(data['stoploss'])}{' (trailing)' if data['trailing_stop'] else ''}"
    parts.append(f"{risk}; {_roi_words(data['minimal_roi'])}.")
    if assumptions:
        parts.append("Assumptions: " + " ".join(a if a.endswith(".") else f"{a}." for a in assumptions))
    parts.append("Deploy it when it looks right, or tell me what to change.")
    return " ".join(parts)
