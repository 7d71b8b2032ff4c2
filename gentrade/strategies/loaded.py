"""What the Freqtrade check read off a loaded strategy class, kept with a strategy that has no draft.

A strategy brought as code has no draft to say its timeframe, whether it shorts, how many start-up
candles it needs, or which other candles it reads through ``self.dp``. The check loads the class
and reports these (``loaded``); the strategy row stores them, the backtest service and the worker
read them. The check's answer comes from a child that ran untrusted code, so its shape is checked
here before anything stores it. Free of Freqtrade imports: the API and the worker use it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from gentrade.freqtrade.candle_times import range_end, timeframe_delta
from gentrade.strategies.draft import MAX_STARTUP_CANDLES, DraftInvalid, parse_draft
from gentrade.timeframes import TIMEFRAME_SECONDS

MAX_INFORMATIVE = 20  # distinct (pair, timeframe) a strategy may read besides its own candles
SPOT_PAIR = re.compile(r"^[A-Z0-9]{2,15}/[A-Z0-9]{2,15}$")
# A stored draft that no longer validates (the catalogue changed): assume it needs plenty.
FALLBACK_STARTUP_CANDLES = 500
LOADED_KEYS = {"timeframe", "can_short", "startup_candle_count", "informative"}


def valid_loaded(loaded: Any) -> bool:
    """The shape the check reports: ``{timeframe, can_short, startup_candle_count, informative}``, where
    ``informative`` is ``{"timeframes": [...], "pairs": [[pair, timeframe], ...]}``."""
    if not isinstance(loaded, dict) or set(loaded) != LOADED_KEYS:
        return False
    startup = loaded["startup_candle_count"]
    return (
        loaded["timeframe"] in TIMEFRAME_SECONDS
        and isinstance(loaded["can_short"], bool)
        and isinstance(startup, int)
        and not isinstance(startup, bool)
        and 0 <= startup <= MAX_STARTUP_CANDLES
        and _valid_informative(loaded["informative"])
    )


def _valid_informative(informative: Any) -> bool:
    if not isinstance(informative, dict) or set(informative) != {"timeframes", "pairs"}:
        return False
    timeframes, pairs = informative["timeframes"], informative["pairs"]
    return (
        isinstance(timeframes, list)
        and isinstance(pairs, list)
        and len(timeframes) + len(pairs) <= MAX_INFORMATIVE
        and all(isinstance(timeframe, str) and timeframe in TIMEFRAME_SECONDS for timeframe in timeframes)
        and all(_valid_pair_timeframe(item) for item in pairs)
    )


def _valid_pair_timeframe(item: Any) -> bool:
    return (
        isinstance(item, list)
        and len(item) == 2
        and isinstance(item[0], str)
        and SPOT_PAIR.fullmatch(item[0]) is not None
        and isinstance(item[1], str)
        and item[1] in TIMEFRAME_SECONDS
    )


def startup_candles(draft: dict[str, Any], loaded: dict[str, Any] | None) -> int:
    """The candles before a backtest's range its strategy needs: what the check read, else the draft's."""
    if loaded:
        return int(loaded["startup_candle_count"])
    try:
        return parse_draft(draft).effective_startup_candles
    except DraftInvalid:
        return FALLBACK_STARTUP_CANDLES


@dataclass(frozen=True)
class CandleRange:
    """Candles of ``pairs`` at ``timeframe`` over ``[start, end)``, as the market-data cache takes them."""

    pairs: list[str]
    timeframe: str
    start: datetime
    end: datetime


def informative_of(draft: dict[str, Any], loaded: dict[str, Any] | None) -> dict[str, Any]:
    """The other candles a strategy reads (``{"timeframes": [...], "pairs": [[pair, timeframe], ...]}``): what
    the check read off its class, else its draft's higher timeframes (for every traded pair)."""
    if loaded:
        return loaded["informative"]
    try:
        return {"timeframes": parse_draft(draft).informative_timeframes, "pairs": []}
    except DraftInvalid:
        return {"timeframes": [], "pairs": []}


def informative_ranges(
    informative: dict[str, Any], pairs: Iterable[str], start: datetime, last_day: date, now: datetime, startup: int
) -> list[CandleRange]:
    """The candles a backtest of ``pairs`` from ``start`` to ``last_day`` reads besides its pairs' own timeframe:
    per timeframe the backtested pairs (``timeframes``) and the fixed ``pairs``, with as many start-up candles
    of that timeframe as Freqtrade loads for them (its ``startup_candle_count`` of each timeframe), up to the
    last candle closed."""
    wanted: dict[str, list[str]] = {timeframe: list(pairs) for timeframe in informative["timeframes"]}
    for pair, timeframe in informative["pairs"]:
        wanted.setdefault(timeframe, [])
        if pair not in wanted[timeframe]:
            wanted[timeframe].append(pair)
    return [
        CandleRange(
            wanted_pairs, timeframe, start - startup * timeframe_delta(timeframe), range_end(last_day, timeframe, now)
        )
        for timeframe, wanted_pairs in wanted.items()
    ]
