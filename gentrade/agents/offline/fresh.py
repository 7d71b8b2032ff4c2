"""A fresh draft from a message: the rules read, each gap filled with a stated default.

Why: a first message names some rules and leaves the rest out; the draft must still be complete and valid.
Rules keep the trader's order, "or" makes an any-group, filters stay required, and every default is reported.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from typing import Any

from pydantic import ValidationError

from gentrade.agents.offline.defaults import (
    DEFAULT_ROI,
    DEFAULT_STOPLOSS,
    DEFAULT_TIMEFRAME,
    ENTRY_ONLY,
    MENTION_ONLY,
    default_exit,
    threshold_node,
    usual_rule,
)
from gentrade.agents.offline.message import Reading
from gentrade.agents.offline.pairs import fresh_pairs
from gentrade.agents.offline.reader import Reader
from gentrade.agents.offline.registry import Registry
from gentrade.agents.offline.rule_trees import is_filter
from gentrade.agents.offline.text import Node, fmt_percent
from gentrade.agents.offline.timeframes import fit_history
from gentrade.agents.offline.vocabulary import AVERAGES, Mention, unsupported_note
from gentrade.agents.offline.wording import auto_name, default_note, first_error, unique_notes
from gentrade.strategies.card import conditions_text, indicator_label, summary
from gentrade.strategies.draft import StrategyDraft
from gentrade.strategies.trees import references


def fresh_draft(text: str) -> tuple[StrategyDraft, list[str]]:
    registry = Registry([], revising=False)
    reader = Reader(registry, None)
    reading = reader.read(text)
    # Notes that word rules are callables, worded last: a label may change while the draft's history is fitted.
    notes: list[str | Callable[[], str]] = [unsupported_note(reading.unsupported)] if reading.unsupported else []
    pairs, pair_notes = fresh_pairs(reading)
    notes.extend(pair_notes)
    if reading.timeframe is None:
        notes.append(f"No timeframe named: using {DEFAULT_TIMEFRAME}.")
    if reading.timeframe_note:
        notes.append(reading.timeframe_note)

    where: dict[int, int] = {}  # each rule's place in the message (by id of its node): rules keep the trader's order
    entry, exit_nodes = _apply_thresholds_fresh(reading, reader, where)
    for found in reading.found:
        target = entry if found.role == "entry" or found.forced_entry else exit_nodes
        if all(found.node != node for node, _ in target):
            target.append((found.node, _found_gap(reading, found.node)))
            where[id(found.node)] = found.start
    used_types = {registry.type_of(i) for node, _ in entry + exit_nodes for i in references(node)}
    extra_notes: list[str | Callable[[], str]] = []
    for role, mention, filtering, start in reading.leftovers:
        target_role = "entry" if filtering or mention.type in ENTRY_ONLY else role
        if (
            mention.type in used_types
            and not (mention.type in AVERAGES and mention.params)
            and (entry if target_role == "entry" else exit_nodes)  # a named side with no rule yet gets one
        ):
            continue
        ident = registry.resolve(mention)
        if mention.type in MENTION_ONLY:
            extra_notes.append(
                f"{registry.label(ident)} is calculated but no rule uses it: name a level to trade on it."
            )
            used_types.add(mention.type)
            continue
        node = usual_rule(mention.type, ident, target_role, filtering)
        if node is None:
            continue
        if any(node == n for n, _ in entry + exit_nodes):
            continue
        used_types.add(mention.type)
        (entry if target_role == "entry" else exit_nodes).append((node, ""))
        where[id(node)] = start
        if mention.type in AVERAGES and target_role == "entry":
            item = registry.items[ident]
            extra_notes.append(
                lambda item=item: f"{indicator_label(item)} used as a trend filter: entries need the close above it."
            )
        else:
            extra_notes.append(partial(default_note, mention.type, target_role, node, registry))
    notes.extend(registry.notes)
    notes.extend(extra_notes)
    entry.sort(key=lambda item: where.get(id(item[0]), 0))
    exit_nodes.sort(key=lambda item: where.get(id(item[0]), 0))

    if not entry:
        ident = registry.resolve(Mention("rsi"))
        entry.append(({"left": ident, "op": "<", "right": 30.0}, ""))
        notes.append(f"No entry rule recognised: buying when {registry.label(ident)} drops below 30.")
    entry_node = _group([n for n, _ in entry], "all" if not _joined_by(entry[1:], "or") else "any", registry)
    exit_node: Node | None = None
    if exit_nodes:
        exit_node = _group(
            [n for n, _ in exit_nodes],
            "all" if _joined_by(exit_nodes[1:], "and") and not _joined_by(exit_nodes[1:], "or") else "any",
            registry,
        )
    else:
        mirrored = default_exit([n for n, _ in entry], registry)
        if mirrored:
            exit_node = {"any": [mirrored]}
            notes.append(lambda: f"No exit rule named: exiting when {conditions_text(mirrored, registry.items)}.")
        else:
            notes.append("No exit rule named: trades close at the take-profit target or the stop loss.")

    stoploss = reading.stop if reading.stop is not None else DEFAULT_STOPLOSS
    if reading.stop_note:
        notes.append(reading.stop_note)
    if reading.stop is None:
        notes.append(f"No stop loss named: using a {fmt_percent(DEFAULT_STOPLOSS)} stop loss.")
    roi = reading.roi if reading.roi is not None else {"0": DEFAULT_ROI}
    if reading.roi is None:
        notes.append(f"No take-profit named: closing any trade that reaches {fmt_percent(DEFAULT_ROI)} profit.")
    if reading.short:
        notes.append("Shorting is not drafted offline: this draft trades long only.")

    referenced = references(entry_node) | references(exit_node)
    indicators = [
        item
        for ident, item in registry.items.items()
        if ident in referenced or (item["type"] in MENTION_ONLY and item["type"] in used_types)
    ]
    data: dict[str, Any] = {
        "name": "Placeholder",
        "description": "",
        "timeframe": reading.timeframe or DEFAULT_TIMEFRAME,
        "pairs": pairs,
        "can_short": False,
        "indicators": indicators,
        "entry_conditions": entry_node,
        "exit_conditions": exit_node,
        "minimal_roi": roi,
        "stoploss": stoploss,
        "trailing_stop": bool(reading.trailing),
    }
    data["name"] = reading.name or auto_name(data)
    notes[bool(reading.unsupported) : bool(reading.unsupported)] = fit_history(data)  # what was not as asked: first
    data["description"] = summary(data)
    try:
        return StrategyDraft.model_validate(data), unique_notes(
            [note if isinstance(note, str) else note() for note in notes]
        )
    except ValidationError as exc:  # a reading the rules did not foresee: fall back, and say so
        fallback, fallback_notes = fresh_draft("")
        return fallback, [
            f"Could not build a valid draft from that message ({first_error(exc)}): here is a default RSI draft.",
            *fallback_notes,
        ]


def _found_gap(reading: Reading, node: Node) -> str:
    """The words between this condition and the previous one of its role: 'and' or 'or'."""
    index = next(i for i, f in enumerate(reading.found) if f.node is node)
    found = reading.found[index]
    earlier = [
        f
        for f in reading.found[:index]
        if (f.role == "entry" or f.forced_entry) == (found.role == "entry" or found.forced_entry)
    ]
    if not earlier:
        return ""
    return reading.text[earlier[-1].end : found.start]


def _joined_by(items: list[tuple[Node, str]], word: str) -> bool:
    return any(re.search(rf"\b{word}\b", gap) for _, gap in items)


def _group(nodes: list[Node], key: str, registry: Registry) -> Node:
    """Join nodes under one group; filters always stay required (outside an 'or')."""
    if key == "any":
        filters = [n for n in nodes if is_filter(n, registry)]
        signals = [n for n in nodes if not is_filter(n, registry)]
        if filters and signals:
            return {"all": [{"any": signals}, *_flatten_all(filters)]}
        return {"any": nodes}
    return {"all": _flatten_all(nodes)}


def _flatten_all(nodes: list[Node]) -> list[Node]:
    flat: list[Node] = []
    for node in nodes:
        flat.extend(node.get("all", [node]))
    return flat


def _apply_thresholds_fresh(
    reading: Reading, reader: Reader, where: dict[int, int]
) -> tuple[list[tuple[Node, str]], list[tuple[Node, str]]]:
    entry: list[tuple[Node, str]] = []
    exit_nodes: list[tuple[Node, str]] = []
    for threshold in reading.thresholds:
        subject = threshold.subject or reader.subject_for(threshold.role)
        if subject is None:
            continue
        node = threshold_node(subject, threshold.value, threshold.role, reader.registry)
        role = "entry" if reader.registry.type_of(subject) == "adx" else threshold.role
        (entry if role == "entry" else exit_nodes).append((node, ""))
        where[id(node)] = threshold.start
    return entry, exit_nodes
