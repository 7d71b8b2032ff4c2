"""Higher timeframes in an offline draft: what fits the history Freqtrade loads, and what a timeframe switch leaves.

Why: a trader may ask for "the daily EMA 200" on a 1h strategy, which needs more history than Freqtrade loads;
the draft refuses it, and the offline drafter (:mod:`gentrade.agents.offline_drafting`) must neither fail nor
change it silently. These functions work on a draft as a dict before it validates, and every change they make
comes back as a plain-English note.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from gentrade.strategies.card import indicator_label
from gentrade.strategies.catalogue import CATALOGUE
from gentrade.strategies.draft import TIMEFRAME_MINUTES, TIMEFRAMES, StrategyDraft

_TOO_MUCH_HISTORY = "more than Freqtrade loads"  # in the draft's own refusal


def fit_history(data: dict[str, Any]) -> list[str]:
    """A higher-timeframe indicator needing more history than Freqtrade loads steps down to the highest timeframe
    that fits (the rest of the draft as asked); a note quotes the draft's refusal and says what is used instead."""
    lowered: dict[str, tuple[str, str]] = {}  # id -> (the timeframe asked for, the draft's words)
    minutes = TIMEFRAME_MINUTES
    while informative := [item for item in data["indicators"] if item.get("timeframe")]:
        problem = _history_problem(data)
        if problem is None:
            break
        item = max(informative, key=lambda i: _lookback(i) * minutes[i["timeframe"]])
        lowered.setdefault(item["id"], (item["timeframe"], problem))
        lower = [tf for tf in TIMEFRAMES if minutes[data["timeframe"]] < minutes[tf] < minutes[item["timeframe"]]]
        if lower:
            item["timeframe"] = lower[-1]
        else:
            del item["timeframe"]
    notes = []
    for item in data["indicators"]:
        if item["id"] in lowered:
            asked, problem = lowered[item["id"]]
            now = indicator_label(item) + ("" if item.get("timeframe") else f" on the strategy's {data['timeframe']}")
            notes.append(
                f"{indicator_label({**item, 'timeframe': asked})} cannot be used on {data['timeframe']} candles: the "
                f"draft {problem}. Using {now} instead; to keep the {asked} one, run the strategy on a higher "
                "timeframe or use a shorter period."
            )
    return notes


def align_timeframes(data: dict[str, Any]) -> list[str]:
    """After a change of the strategy's timeframe, an indicator on a timeframe no longer higher runs on the
    strategy's own (said in a note when it was higher before)."""
    notes = []
    minutes = TIMEFRAME_MINUTES
    for item in data["indicators"]:
        timeframe = item.get("timeframe")
        if timeframe and minutes[timeframe] <= minutes[data["timeframe"]]:
            if minutes[timeframe] < minutes[data["timeframe"]]:
                new = data["timeframe"]
                notes.append(f"{indicator_label(item)} is below the new {new} timeframe: it now runs on {new} too.")
            del item["timeframe"]
    return notes


def _lookback(item: Mapping[str, Any]) -> int:
    spec = CATALOGUE[item["type"]]
    return spec.lookback(spec.params(**item["params"]))


def _history_problem(data: dict[str, Any]) -> str | None:
    """The draft's own words when it needs more history than Freqtrade loads, else None."""
    try:
        StrategyDraft.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            message = str((error.get("ctx") or {}).get("message", ""))
            if _TOO_MUCH_HISTORY in message:
                return message
    return None
