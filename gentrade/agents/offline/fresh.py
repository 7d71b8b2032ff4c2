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
from gentrade.agents.offline.rule_trees import Node, is_filter
from gentrade.agents.offline.text import fmt_percent
from gentrade.agents.offline.timeframes import fit_history
from gentrade.agents.offline.vocabulary import AVERAGES, Mention, unsupported_note
from gentrade.agents.offline.wording import auto_name, default_note, first_error, unique_notes
from gentrade.strategies.card import conditions_text, indicator_label, summary
from gentrade.strategies.draft import StrategyDraft
from gentrade.strategies.trees import references

Rules = list[tuple[Node, str]]  # each rule with the words before it ("and", "or"), in the trader's order
Note = str | Callable[[], str]  # a callable is worded last: a label may change while the draft's history is fitted


def fresh_draft(text: str) -> tuple[StrategyDraft, list[str]]:
    draft = _FreshDraft(text)
    data = draft.data()
    try:
        return StrategyDraft.model_validate(data), unique_notes(
            [note if isinstance(note, str) else note() for note in draft.notes]
        )
    except ValidationError as exc:  # a reading the rules did not foresee: fall back, and say so
        fallback, fallback_notes = fresh_draft("")
        return fallback, [
            f"Could not build a valid draft from that message ({first_error(exc)}): here is a default RSI draft.",
            *fallback_notes,
        ]


class _FreshDraft:
    """One message read into a new draft's data: its rules by role, in the trader's order, and the notes that say
    what was read and what was assumed."""

    def __init__(self, text: str) -> None:
        self.registry = Registry([], revising=False)
        self.reader = Reader(self.registry, None)
        self.reading = self.reader.read(text)
        self.notes: list[Note] = []
        self.where: dict[int, int] = {}  # each rule's place in the message (by id of its node)
        self.entry: Rules = []
        self.exit_nodes: Rules = []
        self.used_types: set[str] = set()  # the indicator types a rule (or a calculated-only mention) uses

    def data(self) -> dict[str, Any]:
        """The draft's fields (not validated yet); ``notes`` then holds what to tell the trader."""
        reading = self.reading
        if reading.unsupported:
            self.notes.append(unsupported_note(reading.unsupported))
        pairs, pair_notes = fresh_pairs(reading)
        self.notes.extend(pair_notes)
        if reading.timeframe is None:
            self.notes.append(f"No timeframe named: using {DEFAULT_TIMEFRAME}.")
        if reading.timeframe_note:
            self.notes.append(reading.timeframe_note)
        self.entry, self.exit_nodes = _threshold_rules(reading, self.reader, self.where)
        self._add_found()
        leftover_notes = self._add_leftovers()
        self.notes.extend(self.registry.notes)
        self.notes.extend(leftover_notes)
        self.entry.sort(key=lambda item: self.where.get(id(item[0]), 0))
        self.exit_nodes.sort(key=lambda item: self.where.get(id(item[0]), 0))
        entry_node = self._entry_node()
        exit_node = self._exit_node()
        stoploss, roi = self._risk()
        data: dict[str, Any] = {
            "name": "Placeholder",
            "description": "",
            "timeframe": reading.timeframe or DEFAULT_TIMEFRAME,
            "pairs": pairs,
            "can_short": False,
            "indicators": self._indicators(references(entry_node) | references(exit_node)),
            "entry_conditions": entry_node,
            "exit_conditions": exit_node,
            "minimal_roi": roi,
            "stoploss": stoploss,
            "trailing_stop": bool(reading.trailing),
        }
        data["name"] = reading.name or auto_name(data)
        first = bool(reading.unsupported)
        self.notes[first:first] = fit_history(data)  # what was not as asked: first
        data["description"] = summary(data)
        return data

    def _add_found(self) -> None:
        """The rules the message states, each once, on its side."""
        for found in self.reading.found:
            target = self.entry if found.role == "entry" or found.forced_entry else self.exit_nodes
            if all(found.node != node for node, _ in target):
                target.append((found.node, _words_before(self.reading, found.node)))
                self.where[id(found.node)] = found.start

    def _add_leftovers(self) -> list[Note]:
        """Indicators named without a rule: the usual rule of each (on the entry for a filter), or a note that it
        is calculated but unused; the notes that say which."""
        self.used_types = {
            self.registry.type_of(i) for node, _ in self.entry + self.exit_nodes for i in references(node)
        }
        notes = []
        for role, mention, filtering, start in self.reading.leftovers:
            note = self._leftover(role, mention, filtering, start)
            if note is not None:
                notes.append(note)
        return notes

    def _leftover(self, role: str, mention: Mention, filtering: bool, start: int) -> Note | None:
        target_role = "entry" if filtering or mention.type in ENTRY_ONLY else role
        target = self.entry if target_role == "entry" else self.exit_nodes
        if self._has_rule_for(mention) and target:  # a named side with no rule yet gets one
            return None
        ident = self.registry.resolve(mention)
        if mention.type in MENTION_ONLY:
            self.used_types.add(mention.type)
            return f"{self.registry.label(ident)} is calculated but no rule uses it: name a level to trade on it."
        node = usual_rule(mention.type, ident, target_role, filtering)
        if node is None or any(node == n for n, _ in self.entry + self.exit_nodes):
            return None
        self.used_types.add(mention.type)
        target.append((node, ""))
        self.where[id(node)] = start
        if mention.type in AVERAGES and target_role == "entry":
            item = self.registry.items[ident]
            return lambda: f"{indicator_label(item)} used as a trend filter: entries need the close above it."
        return partial(default_note, mention.type, target_role, node, self.registry)

    def _has_rule_for(self, mention: Mention) -> bool:
        """A rule uses the mentioned indicator already (a moving average with its own period is another one)."""
        return mention.type in self.used_types and not (mention.type in AVERAGES and mention.params)

    def _entry_node(self) -> Node:
        """The entry rules as one group ("or" makes an any-group); RSI below 30 when the message has none."""
        if not self.entry:
            ident = self.registry.resolve(Mention("rsi"))
            self.entry.append(({"left": ident, "op": "<", "right": 30.0}, ""))
            self.notes.append(f"No entry rule recognised: buying when {self.registry.label(ident)} drops below 30.")
        key = "all" if not _joined_by(self.entry[1:], "or") else "any"
        return _group([n for n, _ in self.entry], key, self.registry)

    def _exit_node(self) -> Node | None:
        """The exit rules as one group (an all-group only when joined by "and"), else the entry's mirror, if any."""
        if self.exit_nodes:
            gaps = self.exit_nodes[1:]
            key = "all" if _joined_by(gaps, "and") and not _joined_by(gaps, "or") else "any"
            return _group([n for n, _ in self.exit_nodes], key, self.registry)
        mirrored = default_exit([n for n, _ in self.entry], self.registry)
        if mirrored:
            self.notes.append(
                lambda: f"No exit rule named: exiting when {conditions_text(mirrored, self.registry.items)}."
            )
            return {"any": [mirrored]}
        self.notes.append("No exit rule named: trades close at the take-profit target or the stop loss.")
        return None

    def _risk(self) -> tuple[float, dict[str, float]]:
        """The stop loss and the take-profit table, as named or the defaults (said in the notes)."""
        reading = self.reading
        if reading.stop_note:
            self.notes.append(reading.stop_note)
        if reading.stop is None:
            self.notes.append(f"No stop loss named: using a {fmt_percent(DEFAULT_STOPLOSS)} stop loss.")
        if reading.roi is None:
            self.notes.append(
                f"No take-profit named: closing any trade that reaches {fmt_percent(DEFAULT_ROI)} profit."
            )
        if reading.short:
            self.notes.append("Shorting is not drafted offline: this draft trades long only.")
        stoploss = reading.stop if reading.stop is not None else DEFAULT_STOPLOSS
        roi = reading.roi if reading.roi is not None else {"0": DEFAULT_ROI}
        return stoploss, roi

    def _indicators(self, referenced: set[str]) -> list[dict[str, Any]]:
        """The indicators the rules use, and those named only to be calculated."""
        return [
            item
            for ident, item in self.registry.items.items()
            if ident in referenced or (item["type"] in MENTION_ONLY and item["type"] in self.used_types)
        ]


def _words_before(reading: Reading, node: Node) -> str:
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


def _joined_by(items: Rules, word: str) -> bool:
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


def _threshold_rules(reading: Reading, reader: Reader, where: dict[int, int]) -> tuple[Rules, Rules]:
    """The entry and exit rules of the levels written without a comparison ("RSI 25"); an ADX level is an entry
    rule. Each rule's place in the message goes into ``where``."""
    entry: Rules = []
    exit_nodes: Rules = []
    for threshold in reading.thresholds:
        subject = threshold.subject or reader.subject_for(threshold.role)
        if subject is None:
            continue
        node = threshold_node(subject, threshold.value, threshold.role, reader.registry)
        role = "entry" if reader.registry.type_of(subject) == "adx" else threshold.role
        (entry if role == "entry" else exit_nodes).append((node, ""))
        where[id(node)] = threshold.start
    return entry, exit_nodes
