"""The Freqtrade check: the strategy loads with Freqtrade's own resolver and produces signals.

Run on reviewed code only. It loads the module from a private temporary folder, then runs
``populate_indicators`` / ``populate_entry_trend`` / ``populate_exit_trend`` on synthetic
candles for every pair, as a backtest would. Freqtrade is imported on first use (about 2 s),
so workers warm it up at start (``warm_up``).
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from pandas import DataFrame

from gentrade.freqtrade.synthetic import TIMEFRAME_SECONDS, synthetic_frame

CHECK_CANDLES = 300  # beyond the strategy's start-up candles
CHECK_END_SECONDS = 1_767_225_600  # the synthetic candles end at 2026-01-01 00:00 UTC
MAX_STARTUP_CANDLES = 5000  # as StrategyDraft allows; hand-written code must not make the check allocate without bound
SIGNAL_COLUMNS = ("enter_long", "exit_long", "enter_short", "exit_short")
log = logging.getLogger(__name__)


class StrategyCheckFailed(Exception):
    """Freqtrade could not load or run the strategy; the message says why (safe to show)."""


def warm_up() -> None:
    """Import Freqtrade's strategy machinery now, so the first deploy does not pay for it."""
    from freqtrade.resolvers import StrategyResolver  # noqa: F401


def load_strategy(code: str, name: str, pairs: list[str], stake_currency: str = "USDT") -> Any:
    """The strategy as Freqtrade's own resolver loads it, from a private temporary folder."""
    from freqtrade.exceptions import OperationalException
    from freqtrade.resolvers import StrategyResolver

    with tempfile.TemporaryDirectory(prefix="gentrade-check-") as folder:
        (Path(folder) / f"{name}.py").write_text(code, encoding="utf-8")
        config = {
            "strategy": name,
            "strategy_path": folder,
            "user_data_dir": Path(folder),
            "stake_currency": stake_currency,
            "stake_amount": "unlimited",
            "dry_run": True,
            # Futures, or Freqtrade refuses to load can_short strategies; the populate methods ignore the mode.
            "trading_mode": "futures",
            "margin_mode": "isolated",
            "exchange": {"name": "binance", "pair_whitelist": list(pairs)},
        }
        try:
            return StrategyResolver.load_strategy(config)
        except OperationalException as exc:
            raise StrategyCheckFailed(f"Freqtrade cannot load the strategy: {exc}") from exc
        except Exception as exc:
            raise StrategyCheckFailed(f"loading the strategy raised {type(exc).__name__}: {exc}") from exc


def check_strategy(code: str, name: str, pairs: list[str], stake_currency: str = "USDT") -> dict[str, Any]:
    """Load ``code`` as Freqtrade would and run its populate methods; return what was seen."""
    started = time.perf_counter()
    strategy = load_strategy(code, name, pairs, stake_currency)
    if strategy.timeframe not in TIMEFRAME_SECONDS:
        raise StrategyCheckFailed(f"timeframe {strategy.timeframe!r:.20} is not one of {', '.join(TIMEFRAME_SECONDS)}")
    startup = strategy.startup_candle_count
    if not isinstance(startup, int) or not 0 <= startup <= MAX_STARTUP_CANDLES:
        raise StrategyCheckFailed(f"startup_candle_count must be a whole number from 0 to {MAX_STARTUP_CANDLES}")
    count = startup + CHECK_CANDLES
    signals = dict.fromkeys(SIGNAL_COLUMNS, 0)
    for pair in pairs:
        start_ms = (CHECK_END_SECONDS - count * TIMEFRAME_SECONDS[strategy.timeframe]) * 1000
        frame = synthetic_frame(pair, strategy.timeframe, start_ms, count)
        for method, advise in (
            ("populate_indicators", strategy.advise_indicators),
            ("populate_entry_trend", strategy.advise_entry),
            ("populate_exit_trend", strategy.advise_exit),
        ):
            try:
                frame = advise(frame, {"pair": pair})
            except Exception as exc:
                raise StrategyCheckFailed(
                    f"the strategy failed on {pair} candles: {method} raised {type(exc).__name__}: {exc}"
                ) from exc
            if not isinstance(frame, DataFrame):
                raise StrategyCheckFailed(f"{method} returned {type(frame).__name__} on {pair}, not the dataframe")
        if len(frame) != count:
            raise StrategyCheckFailed(f"the strategy changed the number of candles on {pair}")
        for signal in SIGNAL_COLUMNS:
            if signal in frame:
                signals[signal] += int((frame[signal] == 1).sum())
    elapsed = time.perf_counter() - started
    log.debug("checked %s in %.0f ms: %s", name, elapsed * 1000, signals)
    return {"candles_per_pair": count, "signals": signals, "seconds": round(elapsed, 4)}
