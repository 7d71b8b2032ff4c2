"""The draft's indicators while a message is read: one id per distinct indicator, reused by every mention.

Why: "RSI below 30 ... sell when RSI is above 70" names one RSI, "EMA 9 crosses EMA 21" two averages, and a
revision must find the draft's own indicators again. The registry decides which mention is which indicator and
what id it gets; it never builds a rule.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import ValidationError

from gentrade.agents.offline.text import fmt_number
from gentrade.agents.offline.vocabulary import AVERAGES, Mention, indicator_id
from gentrade.strategies.card import LABELS, indicator_label
from gentrade.strategies.card_indicators import unique_id
from gentrade.strategies.catalogue import CATALOGUE
from gentrade.strategies.trees import series_name


class Registry:
    """The draft's indicators: one id per distinct indicator, reused by every mention of it."""

    def __init__(self, indicators: list[dict[str, Any]], revising: bool) -> None:
        self.items: dict[str, dict[str, Any]] = {i["id"]: copy.deepcopy(i) for i in indicators}
        self.previous = set(self.items)
        self.explicit: set[str] = set(self.items)
        self.revising = revising
        self.notes: list[str] = []
        self.renamed: dict[str, str] = {}

    def of_type(self, kind: str) -> list[str]:
        return [i for i, item in self.items.items() if item["type"] == kind]

    def type_of(self, operand: Any) -> str | None:
        name = series_name(operand)
        item = self.items.get(name.partition(".")[0]) if name else None
        return item["type"] if item else None

    def resolve(self, mention: Mention) -> str:
        """The id for a mention: an existing indicator when it is the same one, else a new one."""
        kind = mention.type
        params, written = self._valid_params(mention)
        existing = [i for i in self.of_type(kind) if self.items[i].get("timeframe") == mention.timeframe]
        if kind in AVERAGES:  # a moving average of another period is another indicator
            same_period = next((i for i in existing if self.items[i]["params"].get("period") == params["period"]), None)
            return same_period if same_period is not None else self._new(mention, params, written)
        if not existing:
            return self._new(mention, params, written)
        return self._same_or_changed(existing, kind, params, written, mention.timeframe)

    def _valid_params(self, mention: Mention) -> tuple[dict[str, Any], dict[str, Any]]:
        """The mention's full parameters and those written; the defaults (and none written) when they are not
        valid, with a note that says so."""
        spec = CATALOGUE[mention.type]
        written = dict(mention.params)
        try:
            return spec.params(**written).model_dump(), written
        except ValidationError:
            self.note(
                f"{LABELS[mention.type]} parameters {self._params_text(written)} are not valid: using the defaults."
            )
            return spec.params().model_dump(), {}

    def _new(self, mention: Mention, params: dict[str, Any], written: dict[str, Any]) -> str:
        if mention.note:
            self.note(mention.note)
        return self._add(indicator_id(mention.type, params), mention.type, params, bool(written), mention.timeframe)

    def _same_or_changed(
        self, existing: list[str], kind: str, params: dict[str, Any], written: dict[str, Any], timeframe: str | None
    ) -> str:
        """One of the draft's indicators of this type: as it is when no parameters are written or they match; with
        the written ones when revising or they were never written; else another one beside it ("rsi7")."""
        if not written:
            return existing[0]
        same = [i for i in existing if self.items[i]["params"] == params]
        if same:
            return same[0]
        first = existing[0]
        if self.revising or first not in self.explicit:
            old = self.items[first]["params"]
            self.items[first]["params"] = params
            self.explicit.add(first)
            if self.revising:
                self.note(
                    f"Changed {LABELS[kind]} parameters from {self._params_text(old)} to {self._params_text(params)}."
                )
            return first
        suffix = "".join(str(int(v)) for v in written.values() if isinstance(v, int | float))
        return self._add(f"{indicator_id(kind, params)}{suffix}", kind, params, True, timeframe)

    def _add(self, wanted: str, kind: str, params: dict[str, Any], explicit: bool, timeframe: str | None = None) -> str:
        if timeframe and wanted in self.items:
            wanted = f"{wanted}_{timeframe}"  # "ema50_4h" beside the strategy's own "ema50"
        ident = unique_id(wanted, self.items)
        self.items[ident] = {
            "id": ident,
            "type": kind,
            "params": params,
            **({"timeframe": timeframe} if timeframe else {}),
        }
        if explicit:
            self.explicit.add(ident)
        return ident

    def note(self, note: str) -> None:
        if note not in self.notes:
            self.notes.append(note)

    @staticmethod
    def _params_text(params: dict[str, Any]) -> str:
        return "(" + ", ".join(fmt_number(v) if isinstance(v, int | float) else str(v) for v in params.values()) + ")"

    def set_param(self, ident: str, name: str, value: int) -> bool:
        """Change one parameter (an "instead of" edit); an average's id follows its period."""
        item = self.items[ident]
        spec = CATALOGUE[item["type"]]
        try:
            params = spec.params(**{**item["params"], name: value}).model_dump()
        except ValidationError:
            return False
        self.replace(ident, {**item, "params": params})
        return True

    def replace(self, ident: str, item: dict[str, Any]) -> str:
        """Put ``item`` in place of indicator ``ident`` ("make it the 4h EMA 100 instead"); an id that said the
        old parameters ("ema50") follows the new ones, and the rules follow through ``renamed``."""
        old = self.items[ident]
        new_id = ident
        if ident == indicator_id(old["type"], old["params"]):
            wanted = indicator_id(item["type"], item["params"])
            new_id = wanted if wanted == ident or wanted not in self.items else ident
        self.items = {
            (new_id if k == ident else k): ({**item, "id": new_id} if k == ident else v) for k, v in self.items.items()
        }
        if new_id != ident:
            self.renamed[ident] = new_id
            self.previous = {new_id if i == ident else i for i in self.previous}
            self.explicit.add(new_id)
        return new_id

    def label(self, ident: str) -> str:
        item = self.items.get(ident)
        return indicator_label(item) if item else ident


def default_output_name(kind: str) -> str:
    defaults = {
        "macd": "macd",
        "bbands": "middle",
        "keltner": "middle",
        "donchian": "middle",
        "supertrend": "direction",
    }
    return defaults.get(kind, CATALOGUE[kind].outputs[0])


def default_output(ident: str, registry: Registry) -> str:
    kind = registry.type_of(ident)
    return f"{ident}.{default_output_name(kind)}" if kind and CATALOGUE[kind].outputs else ident
