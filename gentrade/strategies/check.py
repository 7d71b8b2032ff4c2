"""The Freqtrade check: the strategy loads with Freqtrade's own resolver and produces signals.

Run on reviewed code only. It loads the module from a private temporary folder, gives the strategy
a data provider over synthetic candles (``self.dp``: informative pairs, ``@informative``) as a
backtest would, runs ``bot_start``, then ``populate_indicators`` / ``populate_entry_trend`` /
``populate_exit_trend`` on synthetic candles for every pair, and reports what it read off the class
(``loaded``: timeframe, shorting, start-up candles, the other candles it reads). Every failure is a
:class:`StrategyCheckFailed` whose message is safe to show (no server paths). Freqtrade is imported
on first use (about 2 s), so workers warm it up at start (``warm_up``).
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pandas import DataFrame

from gentrade.freqtrade.synthetic import synthetic_frame
from gentrade.strategies.loaded import MAX_STARTUP_CANDLES
from gentrade.timeframes import TIMEFRAME_SECONDS

CHECK_CANDLES = 300  # beyond the strategy's start-up candles
CHECK_END_SECONDS = 1_767_225_600  # the synthetic candles end at 2026-01-01 00:00 UTC
SIGNAL_COLUMNS = ("enter_long", "exit_long", "enter_short", "exit_short")
POPULATE_METHODS = ("populate_indicators", "populate_entry_trend", "populate_exit_trend")
NO_TIMEFRAME = "the strategy sets no timeframe (e.g. timeframe = '5m' in the class)"
SOURCE_ROOT = str(Path(__file__).resolve().parents[2])
log = logging.getLogger(__name__)


class StrategyCheckFailed(Exception):
    """Freqtrade could not load or run the strategy; the message says why (safe to show)."""


def warm_up() -> None:
    """Import Freqtrade's strategy machinery now, so the first deploy does not pay for it."""
    from freqtrade.resolvers import StrategyResolver  # noqa: F401

    from gentrade.strategies import check_data  # noqa: F401


def candles(pair: str, timeframe: str, count: int) -> DataFrame:
    """``count`` synthetic candles of ``pair`` ending at the check's fixed end (every request agrees)."""
    start_ms = (CHECK_END_SECONDS - count * TIMEFRAME_SECONDS[timeframe]) * 1000
    return synthetic_frame(pair, timeframe, start_ms, count)


def _without_paths(message: str, folder: str = "") -> str:
    """The message without the strategy's folder, the interpreter's or the project's paths."""
    labels = {
        folder: "<strategy folder>",
        sys.prefix: "<python>",
        sys.base_prefix: "<python>",
        SOURCE_ROOT: "<app>",
    }
    for path in sorted(filter(None, labels), key=len, reverse=True):  # the longest first: a folder inside another
        message = message.replace(path, labels[path])
    return message


def load_strategy(code: str, name: str, pairs: list[str], stake_currency: str = "USDT") -> Any:
    """The strategy as Freqtrade's own resolver loads it, from a private temporary folder."""
    from freqtrade.exceptions import OperationalException
    from freqtrade.resolvers import StrategyResolver

    from gentrade.strategies.check_data import check_config

    with tempfile.TemporaryDirectory(prefix="gentrade-check-") as folder:
        (Path(folder) / f"{name}.py").write_text(code, encoding="utf-8")
        try:
            return StrategyResolver.load_strategy(check_config(name, folder, pairs, stake_currency))
        except OperationalException as exc:
            message = f"Freqtrade cannot load the strategy: {exc}"
        except AttributeError as exc:  # @informative methods read the timeframe while the class is made
            message = NO_TIMEFRAME if exc.name == "timeframe" else f"loading the strategy raised AttributeError: {exc}"
        except Exception as exc:
            message = f"loading the strategy raised {type(exc).__name__}: {exc}"
        raise StrategyCheckFailed(_without_paths(message, folder))


def _startup(strategy: Any) -> int:
    timeframe = getattr(strategy, "timeframe", None)
    if timeframe is None:
        raise StrategyCheckFailed(NO_TIMEFRAME)
    if not isinstance(timeframe, str) or timeframe not in TIMEFRAME_SECONDS:
        raise StrategyCheckFailed(f"timeframe {timeframe!r:.20} is not one of {', '.join(TIMEFRAME_SECONDS)}")
    startup = strategy.startup_candle_count
    if not isinstance(startup, int) or isinstance(startup, bool) or not 0 <= startup <= MAX_STARTUP_CANDLES:
        raise StrategyCheckFailed(f"startup_candle_count must be a whole number from 0 to {MAX_STARTUP_CANDLES}")
    return startup


def _failure(strategy: Any, stage: str, exc: Exception) -> StrategyCheckFailed:
    from gentrade.strategies.check_data import CheckDataError

    if isinstance(exc, CheckDataError):
        return StrategyCheckFailed(f"{stage}: {exc}")
    folder = str(Path(strategy.__file__).parent) if getattr(strategy, "__file__", "") else ""
    return StrategyCheckFailed(_without_paths(f"{stage} raised {type(exc).__name__}: {exc}", folder))


def check_strategy(code: str, name: str, pairs: list[str], stake_currency: str = "USDT") -> dict[str, Any]:
    """Load ``code`` as Freqtrade would and run its populate methods; return what was seen."""
    from gentrade.strategies.check_data import CheckDataProvider

    started = time.perf_counter()
    strategy = load_strategy(code, name, pairs, stake_currency)
    startup = _startup(strategy)
    count = startup + CHECK_CANDLES
    dp = CheckDataProvider(strategy.config, pairs, CHECK_CANDLES * TIMEFRAME_SECONDS[strategy.timeframe], startup)
    strategy.dp = dp
    try:
        strategy.ft_bot_start()
    except Exception as exc:
        raise _failure(strategy, "starting the strategy (bot_start)", exc) from exc
    signals = dict.fromkeys(SIGNAL_COLUMNS, 0)
    for pair in pairs:
        dp.analyse(pair)
        frame = candles(pair, strategy.timeframe, count)
        for method, advise in zip(
            POPULATE_METHODS, (strategy.advise_indicators, strategy.advise_entry, strategy.advise_exit), strict=True
        ):
            try:
                frame = advise(frame, {"pair": pair})
            except Exception as exc:
                raise _failure(strategy, f"the strategy failed on {pair} candles: {method}", exc) from exc
            if not isinstance(frame, DataFrame):
                raise StrategyCheckFailed(f"{method} returned {type(frame).__name__} on {pair}, not the dataframe")
        if len(frame) != count:
            raise StrategyCheckFailed(f"the strategy changed the number of candles on {pair}")
        for signal in SIGNAL_COLUMNS:
            if signal in frame:
                signals[signal] += int((frame[signal] == 1).sum())
    dp.analyse(None)
    try:
        informative = dp.informative_needs(strategy)
    except Exception as exc:
        raise _failure(strategy, "asking the strategy for its informative pairs", exc) from exc
    elapsed = time.perf_counter() - started
    log.debug("checked %s in %.0f ms: %s", name, elapsed * 1000, signals)
    loaded = {
        "timeframe": strategy.timeframe,
        "can_short": bool(strategy.can_short),
        "startup_candle_count": startup,
        "informative": informative,
    }
    return {"candles_per_pair": count, "signals": signals, "seconds": round(elapsed, 4), "loaded": loaded}
