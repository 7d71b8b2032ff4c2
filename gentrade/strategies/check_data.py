"""What the Freqtrade check gives a strategy besides its candles: a config and a data provider.

Strategies reach other pairs and timeframes through ``self.dp`` (``informative_pairs()``,
``@informative``, ``get_pair_dataframe``), and Freqtrade's own machinery reads the config
(``candle_type_def``, ``runmode``). The check's data provider is Freqtrade's ``DataProvider`` in
backtest mode without an exchange, serving deterministic synthetic candles for any spot pair and
supported timeframe, and noting what it was asked for: a backtest of the strategy must download
the same candles (:meth:`CheckDataProvider.informative_needs`).

The half of the check that imports Freqtrade (about 2 s): :mod:`gentrade.strategies.check` imports it
when a check runs, not before.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from freqtrade.data.dataprovider import DataProvider
from freqtrade.enums import CandleType, MarginMode, RunMode, TradingMode
from pandas import DataFrame

from gentrade.strategies.check import candles
from gentrade.strategies.loaded import MAX_INFORMATIVE, SPOT_PAIR
from gentrade.timeframes import TIMEFRAME_SECONDS

OTHER_BASES = ("XRP", "LTC", "ADA")  # a whitelist disjoint from the checked pairs tells fixed pairs from per-pair


class CheckDataError(Exception):
    """The strategy asked the data provider for something a backtest cannot give it (the message says what)."""


def check_config(name: str, folder: str, pairs: list[str], stake_currency: str) -> dict[str, Any]:
    """The config Freqtrade loads the strategy with: backtest mode, futures (or can_short strategies are
    refused; the populate methods do not care), and the defaults Freqtrade's Configuration would add."""
    trading_mode = TradingMode.FUTURES
    return {
        "strategy": name,
        "strategy_path": folder,
        "user_data_dir": Path(folder),
        "runmode": RunMode.BACKTEST,
        "stake_currency": stake_currency,
        "stake_amount": "unlimited",
        "dry_run": True,
        "trading_mode": trading_mode,
        "margin_mode": MarginMode.ISOLATED,
        "candle_type_def": CandleType.get_default(trading_mode),
        "exchange": {"name": "binance", "pair_whitelist": list(pairs)},
    }


class CheckDataProvider(DataProvider):
    """Freqtrade's data provider over synthetic candles and synthetic spot markets; records each request.

    Its own state is private (underscored), so reviewed strategy code cannot reach it through ``self.dp``.
    """

    def __init__(self, config: dict[str, Any], whitelist: list[str], range_seconds: int, startup: int) -> None:
        super().__init__(config, exchange=None)
        self._whitelist = list(whitelist)
        self._range_seconds = range_seconds  # what the strategy's own candles cover after their start-up candles
        self._startup = startup
        self._analysing: str | None = None  # the pair whose candles the strategy is working on
        self._requests: set[tuple[str, str, bool]] = set()  # (pair, timeframe, for the pair being analysed)

    def analyse(self, pair: str | None) -> None:
        """Say which pair's candles the strategy works on next (None: none)."""
        self._analysing = pair

    def historic_ohlcv(self, pair: str, timeframe: str, candle_type: str = "") -> DataFrame:
        timeframe = str(timeframe)
        if not isinstance(pair, str) or not SPOT_PAIR.fullmatch(pair):
            raise CheckDataError(f"the strategy asked for candles of {pair!r:.40}, not a spot pair like BTC/USDT")
        if timeframe not in TIMEFRAME_SECONDS:
            raise CheckDataError(
                f"the strategy asked for {timeframe!r:.20} candles; backtests have {', '.join(TIMEFRAME_SECONDS)}"
            )
        self._requests.add((pair, timeframe, pair == self._analysing))
        if len({(p, t) for p, t, _ in self._requests}) > MAX_INFORMATIVE:
            raise CheckDataError(f"the strategy asks for more than {MAX_INFORMATIVE} pairs and timeframes of candles")
        # As Freqtrade loads them in a backtest: the range, plus as many start-up candles of this timeframe.
        return candles(pair, timeframe, math.ceil(self._range_seconds / TIMEFRAME_SECONDS[timeframe]) + self._startup)

    def market(self, pair: str) -> dict[str, Any] | None:
        if not isinstance(pair, str) or not SPOT_PAIR.fullmatch(pair):
            return None
        base, quote = pair.split("/")
        return {"symbol": pair, "base": base, "quote": quote, "type": "spot", "spot": True, "active": True}

    def current_whitelist(self) -> list[str]:
        return list(self._whitelist)

    def informative_needs(self, strategy: Any) -> dict[str, list[Any]]:
        """The candles a backtest of the strategy needs besides its pairs' own: ``timeframes`` it wants for each
        backtested pair, and fixed ``pairs`` ([pair, timeframe]) it wants whatever the pairs.

        Asked of Freqtrade (``gather_informative_pairs``) for the checked pairs and for a disjoint whitelist: an
        entry in both answers is a fixed pair. Requests the populate methods made are added: for the pair being
        analysed (or another checked pair) they need that timeframe for every pair, else that pair.
        Call after the populate methods ran.
        """
        checked = self._whitelist
        quote = checked[0].split("/")[1]
        other = [f"{base}/{quote}" for base in OTHER_BASES if f"{base}/{quote}" not in checked][:1]
        first, second = self._gathered(strategy, checked), self._gathered(strategy, other)
        fixed = first & second
        timeframes = {timeframe for pair, timeframe in first - fixed if pair in checked}
        for pair, timeframe, analysed in self._requests:
            if (pair, timeframe) in fixed:
                continue
            if analysed or pair in checked:
                timeframes.add(timeframe)
            else:
                fixed.add((pair, timeframe))
        if len(fixed) + len(timeframes) > MAX_INFORMATIVE:
            raise CheckDataError(f"the strategy asks for more than {MAX_INFORMATIVE} pairs and timeframes of candles")
        timeframes.discard(strategy.timeframe)  # the backtest has its pairs' own candles anyway
        return {"timeframes": sorted(timeframes, key=TIMEFRAME_SECONDS.__getitem__), "pairs": sorted(map(list, fixed))}

    def _gathered(self, strategy: Any, whitelist: list[str]) -> set[tuple[str, str]]:
        """What Freqtrade would make available to the strategy for this whitelist (``gather_informative_pairs``)."""
        checked = self._whitelist
        self._whitelist = whitelist
        try:
            wanted = strategy.gather_informative_pairs()
        finally:
            self._whitelist = checked
        pairs = set()
        for item in wanted:
            pair, timeframe = str(item[0]), str(item[1])
            if not SPOT_PAIR.fullmatch(pair):
                raise CheckDataError(f"informative pair {pair!r:.40} is not a spot pair like BTC/USDT")
            if timeframe not in TIMEFRAME_SECONDS:
                raise CheckDataError(
                    f"informative timeframe {timeframe!r:.20} is not one of {', '.join(TIMEFRAME_SECONDS)}"
                )
            pairs.add((pair, timeframe))
        return pairs
