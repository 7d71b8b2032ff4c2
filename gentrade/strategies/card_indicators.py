"""The card's indicators as the draft's: which listed indicator is which, and the ids of new ones.

Why: the card names indicators by label ("EMA(50)", "the MACD line") and the draft by id ("trend",
"macd.macd"). Keeping an indicator's id when only its parameters change is what lets the rules that
use it follow an edit of the indicators field; new ids follow the offline drafter's convention
("ema200", "bb", "rsi_2"), which :mod:`gentrade.agents.offline` uses from here too.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from gentrade.strategies.card import LABELS, indicator_label, operand_text
from gentrade.strategies.card_names import IndicatorRef
from gentrade.strategies.card_rules import Tree
from gentrade.strategies.card_text import Unusable
from gentrade.strategies.catalogue import CATALOGUE, PRICE_COLUMNS

MOVING_AVERAGES = ("ema", "sma", "wma")
SINGLE_IDS = {"bbands": "bb"}


def preferred_id(kind: str, params: Mapping[str, Any]) -> str:
    """The id a new indicator gets: "ema50" for a moving average, "bb" for Bollinger Bands, else its type."""
    if kind in MOVING_AVERAGES:
        return f"{kind}{params['period']}"
    return SINGLE_IDS.get(kind, kind)


def unique_id(wanted: str, taken: set[str] | Mapping[str, Any]) -> str:
    """``wanted``, or ``wanted_2``, ``wanted_3``... when taken (or a price column)."""
    ident, n = wanted, 2
    while ident in taken or ident in PRICE_COLUMNS or ident == "date":
        ident, n = f"{wanted}_{n}", n + 1
    return ident


def match_listed(
    old: list[dict[str, Any]], refs: list[IndicatorRef], timeframe: str | None = None
) -> tuple[list[dict[str, Any]], dict[str, str], list[dict[str, Any]]]:
    """The indicators as listed, matched to the draft's (on a strategy of ``timeframe``): the same one keeps its
    id, one of the same type with other parameters or another timeframe too (a moving average's id follows its
    period); returns them, the renames and the removed."""
    matching = _Matching(old, refs, [higher_timeframe(ref, timeframe) for ref in refs])
    matching.same_ones()
    matching.unparametrised_ones()
    matching.changed_ones()
    matching.new_ones()
    items = [item for item in matching.result if item is not None]
    labels = [indicator_label(item) for item in items]
    twice = next((label for label in labels if labels.count(label) > 1), None)
    if twice:
        raise Unusable(f"{twice} is listed twice")
    return items, matching.renamed, [old[j] for j in matching.free]


class _Matching:
    """The listed indicators (``refs``) matched to the draft's (``old``) in passes, the closest matches first; each
    of the draft's is taken once, and ``free`` holds those no listed one took."""

    def __init__(self, old: list[dict[str, Any]], refs: list[IndicatorRef], timeframes: list[str | None]) -> None:
        self.old, self.refs, self.timeframes = old, refs, timeframes
        self.result: list[dict[str, Any] | None] = [None] * len(refs)
        self.free = list(range(len(old)))
        self.taken = {item["id"] for item in old}
        self.renamed: dict[str, str] = {}

    def _take(self, k: int, match: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
        j = next((j for j in self.free if self.old[j]["type"] == self.refs[k].type and match(self.old[j])), None)
        if j is None:
            return None
        self.free.remove(j)
        return copy.deepcopy(self.old[j])

    def _unmatched(self) -> list[tuple[int, IndicatorRef]]:
        return [(k, ref) for k, ref in enumerate(self.refs) if self.result[k] is None]

    def same_ones(self) -> None:
        """The same indicator, written with its parameters."""
        for k, ref in enumerate(self.refs):
            if ref.params is not None:
                self.result[k] = self._take(k, lambda item, k=k: _same(item, self.refs[k], self.timeframes[k]))

    def unparametrised_ones(self) -> None:
        """Written without parameters: the draft's one of that type, as it is."""
        for k, ref in self._unmatched():
            if ref.params is None:
                self.result[k] = self._take(k, lambda item, k=k: item.get("timeframe") == self.timeframes[k])

    def changed_ones(self) -> None:
        """The same type with new parameters or on another timeframe."""
        for k, ref in self._unmatched():
            item = self._take(k, lambda item: True)
            if item is not None:
                if ref.params is not None:
                    _reparametrised(item, ref.params, self.taken, self.renamed)
                self.result[k] = _on_timeframe(item, self.timeframes[k])

    def new_ones(self) -> None:
        for k, ref in self._unmatched():
            item = new_indicator(ref, self.timeframes[k], self.taken)
            self.taken.add(item["id"])
            self.result[k] = item


def higher_timeframe(ref: IndicatorRef, timeframe: str | None) -> str | None:
    """The timeframe written for an indicator as the draft keeps it: None for the strategy's own."""
    return None if ref.timeframe == timeframe else ref.timeframe


def new_indicator(ref: IndicatorRef, timeframe: str | None, taken: set[str] | Mapping[str, Any]) -> dict[str, Any]:
    """An indicator the draft lacks, as named (default parameters when none are written), with a free id."""
    params = ref.params if ref.params is not None else CATALOGUE[ref.type].params().model_dump()
    item = {"id": unique_id(preferred_id(ref.type, params), taken), "type": ref.type, "params": params}
    return _on_timeframe(item, timeframe)


def _same(item: Mapping[str, Any], ref: IndicatorRef, timeframe: str | None) -> bool:
    return item["params"] == ref.params and item.get("timeframe") == timeframe


def _reparametrised(item: dict[str, Any], params: dict[str, Any], taken: set[str], renamed: dict[str, str]) -> None:
    """``item`` with new parameters; a moving average named by its period ("ema50") is renamed after the new one."""
    wanted = preferred_id(item["type"], params)
    if item["id"] == preferred_id(item["type"], item["params"]) and wanted not in taken:
        renamed[item["id"]] = wanted
        taken.add(wanted)
        item["id"] = wanted
    item["params"] = params


def _on_timeframe(item: dict[str, Any], timeframe: str | None) -> dict[str, Any]:
    """``item`` on ``timeframe`` (None: the strategy's own, and no key, as the draft dumps it)."""
    item.pop("timeframe", None)
    if timeframe:
        item["timeframe"] = timeframe
    return item


class Resolver:
    """Turns the indicators a written rule names into the draft's ids, adding one the draft lacks (unless the
    indicators field was edited: then it must be listed there)."""

    def __init__(
        self, items: list[dict[str, Any]], listed: bool, old_ids: set[str], timeframe: str | None = None
    ) -> None:
        self.items = items
        self.listed = listed
        self.old_ids = old_ids
        self.timeframe = timeframe  # the strategy's: "EMA(50) on 1h" on a 1h strategy is its own EMA(50)

    def tree(self, node: Tree | None) -> Tree | None:
        if node is None:
            return None
        for key in ("all", "any"):
            if key in node:
                return {key: [self.tree(child) for child in node[key]]}
        return {"left": self._operand(node["left"]), "op": node["op"], "right": self._operand(node["right"])}

    def _operand(self, value: Any) -> Any:
        if isinstance(value, dict):  # a Series: {"ref": <IndicatorRef or price>, "times", "ago", "plus"}
            return {**value, "ref": self._operand(value["ref"])}
        if not isinstance(value, IndicatorRef):
            return value
        item = self._item(value)
        outputs = CATALOGUE[value.type].outputs
        if outputs and value.output is None:
            names = ", ".join(_output_names(value.type))
            raise Unusable(f"'{value.text}' has several lines: name one ({names})")
        return f"{item['id']}.{value.output}" if outputs else item["id"]

    def _item(self, ref: IndicatorRef) -> dict[str, Any]:
        timeframe = higher_timeframe(ref, self.timeframe)
        found = [i for i in self.items if i["type"] == ref.type and i.get("timeframe") == timeframe]
        if ref.params is not None:
            found = [i for i in found if i["params"] == ref.params]
        elif len(found) > 1:
            older = [i for i in found if i["id"] in self.old_ids]
            if len(older) != 1:
                options = " or ".join(indicator_label(i) for i in found)
                raise Unusable(f"which {LABELS.get(ref.type, ref.type)}? Write {options}")
            found = older
        if found:
            return found[0]
        item = new_indicator(ref, timeframe, {i["id"] for i in self.items})
        if self.listed:
            listed = ", ".join(indicator_label(i) for i in self.items) or "none"
            raise Unusable(f"{indicator_label(item)} is not among the indicators ({listed}): add it there too")
        self.items.append(item)
        return item


def _output_names(kind: str) -> list[str]:
    """How the card names each output of an indicator type: "the MACD line", "the MACD signal line", ..."""
    alone = {"x": {"type": kind, "params": {}}}
    return [operand_text(f"x.{output}", alone) for output in CATALOGUE[kind].outputs]
