"""Applying edited card fields to a draft without a model: the card grammar's reading of an edited card.

Why: the offline drafting model reads card edits with it, and ``read_card_edits`` checks any model's
reading against it, so "what an edit means" is decided in one place. What an edit of one field does:

* ``indicators``: the list as written becomes the draft's indicators. One whose parameters changed keeps
  its id, so the rules that use it follow ("RSI(14)" -> "RSI(7)" changes the RSI in every rule); one that
  an unedited rule still uses cannot be removed.
* ``entry_signals`` / ``exit_signals``: replace the rules. An indicator they name that the draft lacks is
  added (it must be listed when ``indicators`` is edited too); an indicator no rule uses any more goes.
* ``can_short``: on mirrors the long rules for the short side (unless a "Short: …" part is written),
  off drops the short rules.
* ``name`` must be a class name; ``description`` is taken as written, and a generated one is regenerated.
* ``timeframe``, ``stoploss``, ``minimal_roi``, ``pairs``: read by :mod:`gentrade.strategies.card_text`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import ValidationError

from gentrade.strategies.card import EDITABLE_FIELDS, indicator_label, summary
from gentrade.strategies.card_indicators import Resolver, match_listed
from gentrade.strategies.card_rules import Signals, Tree, read_indicator_list, read_signals
from gentrade.strategies.card_text import (
    Unreadable,
    Unusable,
    read_can_short,
    read_name,
    read_pairs,
    read_roi,
    read_stoploss,
    read_timeframe,
)
from gentrade.strategies.draft import StrategyDraft, error_paths
from gentrade.strategies.short_side import NoMirror, mirror_for_short
from gentrade.strategies.trees import references, renamed_ids

RULE_FIELDS = ("indicators", "entry_signals", "exit_signals")
INTERLOCKED_FIELDS = (*RULE_FIELDS, "can_short")  # fields whose reading depends on one another
CONDITION_FIELDS = ("entry_conditions", "exit_conditions", "entry_short_conditions", "exit_short_conditions")
MAX_DESCRIPTION = StrategyDraft.model_fields["description"].metadata[0].max_length
_DRAFT_FIELDS = {  # the card field a draft validation error belongs to, by the error path's first part
    "indicators": "indicators",
    "startup_candle_count": "indicators",
    "entry_conditions": "entry_signals",
    "entry_short_conditions": "entry_signals",
    "exit_conditions": "exit_signals",
    "exit_short_conditions": "exit_signals",
    "trailing_stop": "stoploss",
    "trailing_stop_positive": "stoploss",
    "trailing_stop_positive_offset": "stoploss",
    "trailing_only_offset_is_reached": "stoploss",
}
T = TypeVar("T")


@dataclass
class CardReading:
    """The draft with every edit the grammar could read and apply, and what it could not.

    ``unread``: fields whose text the grammar cannot read (a language model may). ``errors``: fields it read
    that cannot be applied (an invalid value, or a clash with the rest of the draft). Neither is in ``draft``.
    """

    draft: StrategyDraft
    errors: dict[str, list[str]] = field(default_factory=dict)
    unread: dict[str, list[str]] = field(default_factory=dict)


def read_card(draft: StrategyDraft, edits: Mapping[str, Any]) -> CardReading:
    """Apply the edited card fields to ``draft``; a field that fails is left out and reported."""
    pending = {name: edits[name] for name in EDITABLE_FIELDS if name in edits}
    reading = CardReading(draft)
    rules_left_out = False  # then a rule field's clash may come from leaving the other out: not the trader's
    while pending:
        attempt = _Edit(draft, pending)
        data = attempt.apply()
        errors, unread = attempt.errors, attempt.unread
        if not errors and not unread:
            try:
                reading.draft = StrategyDraft.model_validate(data)
            except ValidationError as exc:
                errors = _card_errors(exc, pending)
        for found, into in ((errors, reading.errors), (unread, reading.unread)):
            into.update({k: v for k, v in found.items() if not (rules_left_out and k in INTERLOCKED_FIELDS)})
        failed = set(errors) | set(unread)
        if not failed:
            return reading
        rules_left_out = rules_left_out or bool(failed & set(INTERLOCKED_FIELDS))
        pending = {name: value for name, value in pending.items() if name not in failed}
    return reading


def apply_texts(old: StrategyDraft, new: StrategyDraft, edits: Mapping[str, Any]) -> StrategyDraft:
    """``new`` with the name and description the card says: as edited, else the old ones (a generated
    description is generated again for the new rules). The edits must have read without errors."""
    data = new.model_dump()
    data.update(_texts(old.model_dump(), data, edits, {}))
    return StrategyDraft.model_validate(data)


def referenced_ids(draft: StrategyDraft) -> set[str]:
    """The ids of the indicators the draft's rules use."""
    data = draft.model_dump()
    return references(*(data[name] for name in CONDITION_FIELDS))


# --- one attempt --------------------------------------------------------------------------------------------


class _Edit:
    """The edits applied to a copy of the draft, once; records what fails instead of raising."""

    def __init__(self, draft: StrategyDraft, edits: Mapping[str, Any]) -> None:
        self.old = draft.model_dump()
        self.data = copy.deepcopy(self.old)
        self.edits = edits
        self.errors: dict[str, list[str]] = {}
        self.unread: dict[str, list[str]] = {}

    def apply(self) -> dict[str, Any]:
        for name, key, reader in (
            ("timeframe", "timeframe", read_timeframe),
            ("minimal_roi", "minimal_roi", read_roi),
            ("pairs", "pairs", read_pairs),
        ):
            value = self._read(name, reader)
            if value is not None:
                self.data[key] = value
        stop = self._read("stoploss", read_stoploss)
        if stop is not None:
            self.data.update(stop)
        self._rules()
        self.data.update(_texts(self.old, self.data, self.edits, self.errors))
        return self.data

    def _read(self, name: str, reader: Callable[[Any], T]) -> T | None:
        if name not in self.edits:
            return None
        try:
            return reader(self.edits[name])
        except Unreadable as exc:
            self.unread[name] = [str(exc)]
        except Unusable as exc:
            self.errors[name] = [str(exc)]
        return None

    def _fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def _rules(self) -> None:
        old = self.old
        items: list[dict[str, Any]] = copy.deepcopy(old["indicators"])
        refs = self._read("indicators", read_indicator_list)
        listed = refs is not None
        renamed: dict[str, str] = {}
        removed: list[dict[str, Any]] = []
        if refs is not None:
            try:
                items, renamed, removed = match_listed(items, refs, self.data["timeframe"])
            except Unusable as exc:
                self._fail("indicators", str(exc))
                listed, items = False, copy.deepcopy(old["indicators"])
        trees = {name: renamed_ids(old[name], renamed) for name in CONDITION_FIELDS}
        resolver = Resolver(items, listed, {i["id"] for i in old["indicators"]}, self.data["timeframe"])
        written: dict[str, Signals] = {}
        for role in ("entry", "exit"):
            signals = self._read(f"{role}_signals", read_signals)
            if signals is None:
                continue
            try:
                written[role] = Signals(
                    resolver.tree(signals.long), resolver.tree(signals.short), signals.short_written
                )
            except Unusable as exc:
                self._fail(f"{role}_signals", str(exc))
        self._sides(trees, written, resolver.items)
        used = references(*(self.data[name] for name in CONDITION_FIELDS))
        if listed:
            for item in removed:  # only a rule the trader left alone can still need it
                users = [
                    n
                    for n in CONDITION_FIELDS
                    if f"{n.split('_')[0]}_signals" not in self.edits and item["id"] in references(self.data[n])
                ]
                if users:
                    where = " and ".join(sorted({n.split("_")[0] for n in users}))
                    self._fail("indicators", f"{indicator_label(item)} is still used by the {where} signals")
            self.data["indicators"] = resolver.items
        else:
            before = references(*(old[name] for name in CONDITION_FIELDS))
            self.data["indicators"] = [
                item
                for item in resolver.items
                if item["id"] in used or (item["id"] in resolver.old_ids and item["id"] not in before)
            ]

    def _sides(self, trees: dict[str, Tree | None], written: dict[str, Signals], items: list[dict[str, Any]]) -> None:
        """Long and short rules per role, with ``can_short`` as edited: mirrored when it is turned on."""
        was_short = bool(self.old["can_short"])
        flag = self._read("can_short", read_can_short)
        short = was_short if flag is None else flag
        indicators = {i["id"]: i for i in items}
        for role in ("entry", "exit"):
            name, long_key, short_key = f"{role}_signals", f"{role}_conditions", f"{role}_short_conditions"
            signals = written.get(role)
            long = _shaped(signals.long, trees[long_key], role) if signals else trees[long_key]
            short_rules = trees[short_key] if was_short else None
            if signals and signals.short_written:
                short_rules = _shaped(signals.short, trees[short_key] or long, role)
                if not short and signals.short is not None and "can_short" not in self.edits:
                    self._fail(name, "this strategy does not trade short: tick can_short to add a short side")
            elif short and not was_short and long is not None:
                try:
                    short_rules = mirror_for_short(long, indicators)
                except NoMirror as exc:
                    self._fail("can_short", f"{exc}: write the short side as 'Long: … Short: …' in {name}")
            if role == "entry" and long is None:
                self._fail(name, "an entry rule is required")
            if role == "entry" and short and short_rules is None:
                self._fail(name if signals else "can_short", "a strategy that trades short needs a short entry rule")
            self.data[long_key], self.data[short_key] = long, short_rules if short else None
        self.data["can_short"] = short


def _texts(
    old: Mapping[str, Any], new: Mapping[str, Any], edits: Mapping[str, Any], errors: dict[str, list[str]]
) -> dict[str, Any]:
    """Name and description per the card: as edited, else the old ones; a generated description is generated
    again for the new rules. Whatever a model made of them does not count."""
    out: dict[str, Any] = {"name": old["name"], "description": old["description"]}
    if "name" in edits:
        try:
            out["name"] = read_name(edits["name"])
        except Unusable as exc:
            errors["name"] = [str(exc)]
    if "description" in edits:
        text = str(edits["description"]).strip()
        if len(text) > MAX_DESCRIPTION:
            errors["description"] = [f"at most {MAX_DESCRIPTION} characters"]
        else:
            out["description"] = text
    elif old["description"].strip() and old["description"] == summary(old):
        out["description"] = summary(new)
    return out


def _shaped(new: Tree | None, old: Tree | None, role: str) -> Tree | None:
    """A single written condition keeps the group it replaces (``{"all": [c]}`` stays a group), so an
    unchanged shape reads back unchanged; a new field gets the usual one (entry: all, exit: any)."""
    if new is None or "left" not in new:
        return new
    if old is None:
        return {"all" if role == "entry" else "any": [new]}
    for key in ("all", "any"):
        if key in old:
            return {key: [new]}
    return new


def _card_errors(exc: ValidationError, edited: Mapping[str, Any]) -> dict[str, list[str]]:
    """Draft validation errors by card field; one on a field that was not edited goes to every edited one."""
    errors: dict[str, list[str]] = {}
    for path, messages in error_paths(exc).items():
        head = path.split(".")[0]
        name = _DRAFT_FIELDS.get(head, head)
        targets = [name] if name in edited else list(edited)
        for target in targets:
            errors.setdefault(target, []).extend(messages)
    return errors
