"""Timeframes in an offline draft: the words for one ("4h", "hourly", "the daily"), the nearest supported one,
what fits the history Freqtrade loads, and what a timeframe switch leaves.

Why: traders write timeframes many ways and sometimes ones no draft supports ("2h": read as the nearest, said in
a note). A trader may also ask for "the daily EMA 200" on a 1h strategy, which needs more history than Freqtrade
loads; the draft refuses it, and the offline drafter (:mod:`gentrade.agents.offline.drafting`) must neither fail
nor change it silently. The draft-side functions work on a draft as a dict before it validates, and every change
they make comes back as a plain-English note.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError

from gentrade.strategies.card import indicator_label
from gentrade.strategies.catalogue import CATALOGUE
from gentrade.strategies.draft import StrategyDraft
from gentrade.timeframes import TIMEFRAME_MINUTES, TIMEFRAMES

TIMEFRAME_PATTERNS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(r"\b(\d{1,2})\s*-?\s*(?:m|min|mins|minutes?)\b"), lambda m: f"{int(m.group(1))}m"),
    (re.compile(r"\b(\d{1,2})\s*-?\s*(?:h|hr|hrs|hours?|hourly)\b"), lambda m: f"{int(m.group(1))}h"),
    (
        re.compile(
            r"\b(\d{1,2})\s*-?\s*(?:d|days?)\b(?!\s*(?:sma|ema|wma|ma|moving|average|avg|mean|highs?|lows?|hull|[dt]ema|hma))"
        ),
        lambda m: f"{int(m.group(1))}d",
    ),
    (re.compile(r"\b(\d{1,2})\s*-?\s*(?:w|wk|weeks?)\b"), lambda m: f"{int(m.group(1))}w"),
    (re.compile(r"\b(one|five|fifteen|thirty)[\s-]+minutes?\b"), lambda m: _WORD_MINUTES[m.group(1)]),
    # Before "an hour", which would read "half an hour" as 1h.
    (re.compile(r"\bhalf[\s-]+(?:an[\s-]+)?hour(?:ly)?\b"), lambda m: "30m"),
    (re.compile(r"\b(?:one[\s-]+hour|an?\s+hour(?:ly)?|hourly)\b"), lambda m: "1h"),
    (re.compile(r"\b(?:four|4)[\s-]*hourly\b|\bfour[\s-]+hours?\b"), lambda m: "4h"),
    (re.compile(r"\b(?:daily|one[\s-]+day|(?:the\s+)?day\s+(?:chart|candles?|timeframe|bars?))\b"), lambda m: "1d"),
    (re.compile(r"\b(?:weekly|one[\s-]+week)\b"), lambda m: "1w"),
]
_WORD_MINUTES = {"one": "1m", "five": "5m", "fifteen": "15m", "thirty": "30m"}
_UNIT_MINUTES = {"m": 1, "h": 60, "d": 1440, "w": 10080}


def supported_timeframe(wanted: str) -> tuple[str, str | None]:
    """A timeframe as written ("2h"), as the nearest supported one and a note when they differ."""
    if wanted in TIMEFRAME_MINUTES:
        return wanted, None
    minutes = int(wanted[:-1]) * _UNIT_MINUTES[wanted[-1]]
    nearest = min(TIMEFRAME_MINUTES, key=lambda tf: (abs(TIMEFRAME_MINUTES[tf] - minutes), TIMEFRAME_MINUTES[tf]))
    return nearest, f"{wanted} is not a supported timeframe (1m 5m 15m 30m 1h 4h 1d): using {nearest}."


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
