"""Revising a draft from feedback: only what the message names changes.

Why: "make the stop 3%", "25 instead of 30", "remove the trend filter", "make it the 4h EMA 100 instead" each
touch one part of the draft; everything else must stay exactly as it was, and an edit that would break the draft
is skipped and reported instead.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from functools import partial
from typing import Any

from pydantic import ValidationError

from gentrade.agents.offline.defaults import ENTRY_ONLY, MENTION_ONLY, threshold_node, usual_rule
from gentrade.agents.offline.message import Reading, Removal
from gentrade.agents.offline.pairs import revise_pairs
from gentrade.agents.offline.reader import Reader
from gentrade.agents.offline.registry import Registry
from gentrade.agents.offline.rule_trees import Node, comparison_side, is_line_filter, is_number, prune
from gentrade.agents.offline.text import fmt_number, fmt_percent
from gentrade.agents.offline.timeframes import align_timeframes, fit_history
from gentrade.agents.offline.vocabulary import AVERAGES, Mention, unsupported_note
from gentrade.agents.offline.wording import auto_name, default_note, first_error, unique_notes
from gentrade.strategies.card import indicator_label, summary
from gentrade.strategies.catalogue import CATALOGUE, OSCILLATOR_MIDDLES
from gentrade.strategies.draft import StrategyDraft
from gentrade.strategies.trees import conditions, references, renamed_ids, series_name

_CONDITION_FIELDS = ("entry_conditions", "exit_conditions", "entry_short_conditions", "exit_short_conditions")


def revised_draft(text: str, previous: StrategyDraft) -> tuple[StrategyDraft, list[str]]:
    before = previous.model_dump()
    data = copy.deepcopy(before)
    registry = Registry(data["indicators"], revising=True)
    reader = Reader(registry, data)
    reading = reader.read(text)
    notes: list[str] = [unsupported_note(reading.unsupported)] if reading.unsupported else []
    notes.extend(n for n in (reading.timeframe_note, reading.stop_note) if n)
    _apply_settings(reading, data)
    notes.extend(revise_pairs(reading, data))
    notes.extend(_apply_changes(reading, data, registry))
    notes.extend(_apply_removals(reading, data, registry))
    notes.extend(_apply_thresholds(reading, reader, data))
    for found in reading.found:
        _merge(data, "entry" if found.role == "entry" or found.forced_entry else "exit", found.node)
    notes.extend(_apply_leftovers(reading, data, registry))
    if reading.short:
        notes.append("Shorting is not drafted offline: the draft keeps its long/short setting.")
    data["indicators"] = _kept_indicators(reading, registry, data, before)
    notes.extend(align_timeframes(data))
    if not data.get("exit_conditions") and before.get("exit_conditions"):
        notes.append("No exit rule left: trades close at the take-profit target or the stop loss.")
    data["exit_conditions"] = data.get("exit_conditions") or None
    notes = registry.notes + notes
    if reading.name:
        data["name"] = reading.name
    elif before["name"] == auto_name(before):
        data["name"] = auto_name(data)
    data["description"] = summary(data)
    notes.extend(fit_history(data))
    return _validated(previous, before, data, notes)


def _apply_settings(reading: Reading, data: dict[str, Any]) -> None:
    """The timeframe, stop loss, trailing stop and take-profit the message names."""
    if reading.timeframe:
        data["timeframe"] = reading.timeframe
    if reading.stop is not None:
        data["stoploss"] = reading.stop
    if reading.trailing is not None:
        data["trailing_stop"] = reading.trailing
        if not reading.trailing:
            data["trailing_stop_positive"] = None
            data["trailing_stop_positive_offset"] = 0.0
            data["trailing_only_offset_is_reached"] = False
    if reading.roi is not None:
        data["minimal_roi"] = dict(reading.roi)


def _kept_indicators(
    reading: Reading, registry: Registry, data: dict[str, Any], before: dict[str, Any]
) -> list[dict[str, Any]]:
    """What rules use, and what the draft kept without a rule (e.g. an ATR) unless the message removed it."""
    referenced = _all_references(data)
    used_before = _all_references(before)
    removed = _removed_ids(reading, registry)
    return [
        item
        for ident, item in registry.items.items()
        if ident in referenced or (ident in registry.previous and ident not in used_before and ident not in removed)
    ]


def _validated(
    previous: StrategyDraft, before: dict[str, Any], data: dict[str, Any], notes: list[str]
) -> tuple[StrategyDraft, list[str]]:
    """The revised draft, or the previous one (``before``, dumped) with the reason when the revision is not valid."""
    try:
        draft = StrategyDraft.model_validate(data)
    except ValidationError as exc:
        return previous, [f"Could not apply that change ({first_error(exc)}): the draft is unchanged."]
    if draft.model_dump() == before:
        notes.append(
            "I found nothing to change in that message, so the draft is unchanged. "
            "Try e.g. 'make the stop 3%', 'use EMA 50 as a trend filter' or 'add ETH'."
        )
    return draft, unique_notes(notes)


def _all_references(data: dict[str, Any]) -> set[str]:
    return set().union(*(references(data.get(name)) for name in _CONDITION_FIELDS))


def _removed_ids(reading: Reading, registry: Registry) -> set[str]:
    """Indicators the feedback removed by name: they go even when no rule uses them any more."""
    types = {t for removal in reading.removals for t in removal.types}
    return {ident for ident, item in registry.items.items() if item["type"] in types}


def _number_nodes(data: dict[str, Any]) -> Iterator[tuple[str, Node]]:
    for name in _CONDITION_FIELDS:
        for condition in conditions(data.get(name)):
            yield name, condition


def _apply_changes(reading: Reading, data: dict[str, Any], registry: Registry) -> list[str]:
    """'25 instead of 30', 'from 5% to 3%': change that number wherever the draft has it."""
    notes: list[str] = []
    for new, new_pct, old, old_pct in reading.changes:
        if (old_pct or new_pct) and _changed_risk(data, old, new):
            continue
        if not (_changed_levels(data, old, new) or _changed_parameter(data, registry, old, new)):
            notes.append(f"There is no {fmt_number(old)} in the draft to change to {fmt_number(new)}.")
    return notes


def _changed_risk(data: dict[str, Any], old: float, new: float) -> bool:
    """A percentage: the stop loss of that size, else every take-profit target of it."""
    if abs(-data["stoploss"] - old / 100) < 1e-9 and 0.1 <= new <= 99:
        data["stoploss"] = -round(new / 100, 6)
        return True
    roi_keys = [k for k, v in data["minimal_roi"].items() if abs(v - old / 100) < 1e-9]
    for key in roi_keys:
        data["minimal_roi"][key] = round(new / 100, 6)
    return bool(roi_keys)


def _changed_levels(data: dict[str, Any], old: float, new: float) -> bool:
    """Every level of the rules that is ``old``."""
    changed = False
    for _, condition in _number_nodes(data):
        for side in ("left", "right"):
            value = condition[side]
            if is_number(value) and abs(value - old) < 1e-9:
                condition[side] = float(new)
                changed = True
    return changed


def _changed_parameter(data: dict[str, Any], registry: Registry, old: float, new: float) -> bool:
    """A whole number no level has: the first indicator parameter that is ``old`` (the rules follow its id)."""
    if new != int(new) or old != int(old):
        return False
    changed = any(
        _set_parameter(registry, ident, item["params"], int(old), int(new))
        for ident, item in list(registry.items.items())
    )
    _rename(data, registry)
    return changed


def _set_parameter(registry: Registry, ident: str, params: dict[str, Any], old: int, new: int) -> bool:
    return any(
        isinstance(value, int) and not isinstance(value, bool) and value == old and registry.set_param(ident, name, new)
        for name, value in params.items()
    )


def _rename(data: dict[str, Any], registry: Registry) -> None:
    if not registry.renamed:
        return
    for name in _CONDITION_FIELDS:
        data[name] = renamed_ids(data.get(name), registry.renamed)
    registry.previous |= set(registry.renamed.values())
    registry.renamed.clear()


def _apply_removals(reading: Reading, data: dict[str, Any], registry: Registry) -> list[str]:
    notes: list[str] = []
    for removal in reading.removals:
        if removal.stop:
            notes.append(f"A stop loss is required: kept it at {fmt_percent(data['stoploss'])}.")
        if removal.types or removal.filters:
            notes.extend(_remove_rules(data, registry, removal))
    return notes


def _remove_rules(data: dict[str, Any], registry: Registry, removal: Removal) -> list[str]:
    """The rules the removal names, from the sides it names; the entry keeps at least one rule."""
    notes: list[str] = []
    for name in _removal_fields(removal):
        pruned = prune(data.get(name), partial(_removed_by, removal, registry))
        if name == "entry_conditions" and pruned is None:
            notes.append("Removing that would leave no entry rule: kept the entry as it was.")
            continue
        data[name] = pruned
    return notes


def _removal_fields(removal: Removal) -> list[str]:
    """Filters alone are the entry's; else the side named, or both."""
    if removal.filters and not removal.types:
        return ["entry_conditions"]
    if removal.role:
        return [f"{removal.role}_conditions"]
    return ["entry_conditions", "exit_conditions"]


def _removed_by(removal: Removal, registry: Registry, condition: Node) -> bool:
    if removal.volume and "volume" in (series_name(condition["left"]), series_name(condition["right"])):
        return True
    if removal.types:
        return any(registry.type_of(i) in removal.types for i in references(condition))
    return is_line_filter(condition, registry)


def _apply_thresholds(reading: Reading, reader: Reader, data: dict[str, Any]) -> list[str]:
    """'RSI 25', 'make it 25': move the matching level, or add one when there is none."""
    notes: list[str] = []
    registry = reader.registry
    for threshold in reading.thresholds:
        subject = threshold.subject or reader.subject_for(threshold.role)
        if subject is None:
            notes.append(f"'{fmt_number(threshold.value)}' does not say which indicator it is for: ignored it.")
            continue
        kind = registry.type_of(subject) or ""
        middle = OSCILLATOR_MIDDLES.get(kind)
        fields = [
            f"{threshold.role}_conditions",
            "exit_conditions" if threshold.role == "entry" else "entry_conditions",
        ]
        target = None
        for name in fields:
            for condition in conditions(data.get(name)):
                level = condition["right"]
                if condition["left"] != subject or not is_number(level):
                    continue
                if middle is None or (level < middle) == (threshold.value < middle):
                    target = condition
                    break
            if target:
                break
        if target is not None:
            old = target["right"]
            target["right"] = float(threshold.value)
            if old != threshold.value:
                label = registry.label(subject.partition(".")[0])
                notes.append(f"Read '{fmt_number(threshold.value)}' as the new {label} level (was {fmt_number(old)}).")
            continue
        node = threshold_node(subject, threshold.value, threshold.role, registry)
        _merge(data, "entry" if kind == "adx" else threshold.role, node)
    return notes


def _merge(data: dict[str, Any], role: str, node: Node) -> None:
    """Put a new rule into the draft: it replaces a rule on the same indicator and side, else joins."""
    name = f"{role}_conditions"
    current = data.get(name)
    for condition in conditions(current):
        if condition == node:
            return
    if "left" in node:
        for condition in conditions(current):
            if (
                condition["left"] == node["left"]
                and comparison_side(condition["op"]) == comparison_side(node["op"])
                and _operand_kind(condition["right"]) == _operand_kind(node["right"])
                and (is_number(node["right"]) or not node["op"].startswith("crosses"))
            ):
                condition.update(node)
                return
    key = "all" if role == "entry" else "any"
    if current is None:
        data[name] = {key: [node]}
    elif key in current:
        current[key].append(node)
    else:
        data[name] = {key: [current, node]}


def _operand_kind(operand: Any) -> Any:
    """What a new rule may replace: a level another level, a line another line, a scaled or looked-back series
    only one of the same series ("volume above 3x its average" replaces "2x")."""
    if isinstance(operand, Mapping):
        return ("series", operand.get("ref"))
    return "name" if isinstance(operand, str) else "number"


_INSTEAD = re.compile(r"\binstead\b(?!\s+of\b)|\b(?:make|change|switch|turn)\s+(?:it|that|this)\b")


def _replace_named(data: dict[str, Any], registry: Registry, mention: Mention) -> bool:
    """'make it the 4h EMA 100 instead': the draft's one indicator of that kind (any average, for an average)
    becomes the one named, and its rules follow; False when the draft has none or several to choose from."""
    family = AVERAGES if mention.type in AVERAGES else (mention.type,)
    used = _all_references(data)
    current = [i for i, item in registry.items.items() if item["type"] in family and i in used]
    if len(current) != 1:
        return False
    old = registry.items[current[0]]
    spec = CATALOGUE[mention.type]
    kept = old["params"] if old["type"] == mention.type else {}
    try:
        params = spec.params(**{**kept, **dict(mention.params)}).model_dump()
    except ValidationError:
        return False
    timeframe = mention.timeframe or old.get("timeframe")
    item = {"id": old["id"], "type": mention.type, "params": params, **({"timeframe": timeframe} if timeframe else {})}
    if item != old:
        registry.replace(old["id"], item)
        _rename(data, registry)
        registry.note(f"Changed {indicator_label(old)} to {indicator_label(item)}.")
    return True


def _apply_leftovers(reading: Reading, data: dict[str, Any], registry: Registry) -> list[str]:
    """Indicators named without a rule: another one made the one named ("... instead"), new parameters for the
    draft's own, or the usual rule of a new one."""
    notes: list[str] = []
    before_types = {registry.items[i]["type"] for i in registry.previous if i in registry.items}
    instead = bool(_INSTEAD.search(reading.text))
    for role, mention, filtering, _ in reading.leftovers:
        if instead and (mention.params or mention.timeframe) and _replace_named(data, registry, mention):
            continue
        ident = _leftover_needing_rule(data, registry, mention, filtering, before_types)
        if ident is not None:
            notes.extend(_add_usual_rule(data, registry, mention, ident, role, filtering))
    return notes


def _leftover_needing_rule(
    data: dict[str, Any], registry: Registry, mention: Mention, filtering: bool, before_types: set[str]
) -> str | None:
    """The id of the mentioned indicator when it needs a rule; None when the draft has it in use already."""
    if mention.type in AVERAGES:
        if not mention.params and registry.of_type(mention.type):
            return None  # "use EMA 100 instead of 50" leaves a bare "EMA" behind: the draft has one
        ident = registry.resolve(mention)
        used = references(data.get("entry_conditions")) | references(data.get("exit_conditions"))
        return None if ident in used and not filtering else ident
    if mention.type in before_types:
        if mention.params:  # "use RSI 7": new parameters for the indicator the draft has
            registry.resolve(mention)
        return None
    return registry.resolve(mention)


def _add_usual_rule(
    data: dict[str, Any], registry: Registry, mention: Mention, ident: str, role: str, filtering: bool
) -> list[str]:
    """The indicator's usual rule on its side (a filter on the entry), and the note that says so."""
    if mention.type in MENTION_ONLY:
        note = f"{registry.label(ident)} is calculated but no rule uses it: name a level to trade on it."
        registry.previous.add(ident)
        return [note]
    target_role = "entry" if filtering or mention.type in ENTRY_ONLY else role
    node = usual_rule(mention.type, ident, target_role, filtering)
    if node is None:
        return []
    if "all" in node and target_role == "entry":
        for child in node["all"]:
            _merge(data, "entry", child)
    else:
        _merge(data, target_role, node)
    if mention.type in AVERAGES and target_role == "entry":
        return [f"Added {indicator_label(registry.items[ident])} as a trend filter: entries need the close above it."]
    return [default_note(mention.type, target_role, node, registry)]
