"""Ordinary Freqtrade strategies, as traders write them, shared by the review's and the check's tests (issue 14).

Written for this project (no community code copied), each uses idioms found in community strategies and the
Freqtrade documentation: logging with ``logging.getLogger``, ``'{}'.format`` column names, a dict of reduction
names for ``resample(...).agg``, imports from ``freqtrade.strategy`` submodules, module metadata, private helper
methods, ``self.dp`` informative pairs (``informative_pairs()``, ``get_pair_dataframe``,
``merge_informative_pair``), ``@informative``, ``qtpylib`` crosses, hyperopt parameters, ``custom_stoploss``,
``startup_candle_count``, ``stoploss`` / ``minimal_roi`` / ``trailing_stop``. Every one must pass the review and
the Freqtrade check.
"""

from __future__ import annotations

import pytest

LOGGING_RSI = '''
"""RSI dips with a log line per pair."""
import logging

import talib.abstract as ta
from pandas import DataFrame
from technical import qtpylib

from freqtrade.strategy import IntParameter, IStrategy

logger = logging.getLogger(__name__)


class LoggingRsi(IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "5m"
    minimal_roi = {"0": 0.05, "30": 0.02, "90": 0}
    stoploss = -0.08
    trailing_stop = True
    trailing_stop_positive = 0.01
    trailing_stop_positive_offset = 0.02
    trailing_only_offset_is_reached = True
    startup_candle_count = 30

    rsi_period = IntParameter(7, 21, default=14, space="buy")
    rsi_entry = IntParameter(15, 40, default=30, space="buy")

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        period = self.rsi_period.value
        dataframe["rsi_{}".format(period)] = ta.RSI(dataframe, timeperiod=period)
        dataframe["rsi"] = dataframe["rsi_{}".format(period)]
        logger.info("indicators for %s: %d candles", metadata["pair"], len(dataframe))
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[
            qtpylib.crossed_above(dataframe["rsi"], self.rsi_entry.value) & (dataframe["volume"] > 0),
            ["enter_long", "enter_tag"],
        ] = (1, "rsi_back_up")
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[qtpylib.crossed_below(dataframe["rsi"], 70), "exit_long"] = 1
        if dataframe["exit_long"].sum() == 0:
            logger.debug(f"no exit signal yet on {metadata['pair']}")
        return dataframe
'''

HOURLY_TREND = '''
import logging

import talib.abstract as ta
from pandas import DataFrame

from freqtrade.strategy import IStrategy, merge_informative_pair

logger = logging.getLogger("hourly_trend")
INFORMATIVE_TIMEFRAME = "1h"


class HourlyTrend(IStrategy):
    """Trades 15m pullbacks while the hourly EMA rises; the hourly candles come from the data provider."""

    INTERFACE_VERSION = 3
    timeframe = "15m"
    minimal_roi = {"0": 0.04}
    stoploss = -0.06
    startup_candle_count = 60
    process_only_new_candles = True

    def informative_pairs(self):
        return [(pair, INFORMATIVE_TIMEFRAME) for pair in self.dp.current_whitelist()]

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        if not self.dp:
            logger.warning("no data provider")
            return dataframe
        hourly = self.dp.get_pair_dataframe(pair=metadata["pair"], timeframe=INFORMATIVE_TIMEFRAME)
        hourly["ema"] = ta.EMA(hourly, timeperiod=20)
        hourly["ema_rising"] = hourly["ema"] > hourly["ema"].shift(1)
        dataframe = merge_informative_pair(
            dataframe, hourly, self.timeframe, INFORMATIVE_TIMEFRAME, ffill=True
        )
        dataframe["rsi"] = ta.RSI(dataframe, timeperiod=14)
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[
            (dataframe["ema_rising_1h"] == True) & (dataframe["rsi"] < 40),  # noqa: E712
            "enter_long",
        ] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[dataframe["rsi"] > 65, "exit_long"] = 1
        return dataframe
'''

FOUR_HOUR_FILTER = '''
import talib.abstract as ta
from pandas import DataFrame

from freqtrade.strategy import IStrategy, informative


class FourHourFilter(IStrategy):
    """Hourly MACD crosses, taken only while the 4h RSI is above 50."""

    INTERFACE_VERSION = 3
    timeframe = "1h"
    minimal_roi = {"0": 0.08, "240": 0.03}
    stoploss = -0.1
    startup_candle_count = 50

    @informative("4h")
    def populate_indicators_4h(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["rsi"] = ta.RSI(dataframe, timeperiod=14)
        return dataframe

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        macd = ta.MACD(dataframe, fastperiod=12, slowperiod=26, signalperiod=9)
        dataframe["macd"] = macd["macd"]
        dataframe["macdsignal"] = macd["macdsignal"]
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        crossed = (dataframe["macd"] > dataframe["macdsignal"]) & (
            dataframe["macd"].shift(1) <= dataframe["macdsignal"].shift(1)
        )
        dataframe.loc[crossed & (dataframe["rsi_4h"] > 50), "enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[dataframe["macd"] < dataframe["macdsignal"], "exit_long"] = 1
        return dataframe
'''

BITCOIN_GUARD = '''
import talib.abstract as ta
from pandas import DataFrame

from freqtrade.strategy import IStrategy, informative


class BitcoinGuard(IStrategy):
    """Buys strength in a pair only while Bitcoin itself trades above its hourly SMA."""

    INTERFACE_VERSION = 3
    timeframe = "5m"
    minimal_roi = {"0": 0.03}
    stoploss = -0.05
    startup_candle_count = 40

    @informative("1h", "BTC/{stake}")
    def populate_indicators_btc_1h(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["sma"] = ta.SMA(dataframe, timeperiod=24)
        return dataframe

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["ema_fast"] = ta.EMA(dataframe, timeperiod=9)
        dataframe["ema_slow"] = ta.EMA(dataframe, timeperiod=21)
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        bitcoin_ok = dataframe["btc_usdt_close_1h"] > dataframe["btc_usdt_sma_1h"]
        dataframe.loc[bitcoin_ok & (dataframe["ema_fast"] > dataframe["ema_slow"]), "enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[dataframe["ema_fast"] < dataframe["ema_slow"], "exit_long"] = 1
        return dataframe
'''

RESAMPLED_BANDS = '''
import pandas as pd
import talib.abstract as ta
from pandas import DataFrame

from freqtrade.strategy import IStrategy, merge_informative_pair

CANDLE_RULES = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}


class ResampledBands(IStrategy):
    """Bollinger bands on candles resampled to 1h from the 5m ones, merged back without lookahead."""

    INTERFACE_VERSION = 3
    timeframe = "5m"
    minimal_roi = {"0": 0.02}
    stoploss = -0.04
    startup_candle_count = 300

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        hourly = dataframe.set_index("date").resample("1h").agg(CANDLE_RULES).dropna().reset_index()
        bands = ta.BBANDS(hourly, timeperiod=20, nbdevup=2.0, nbdevdn=2.0)
        hourly["lower"] = bands["lowerband"]
        hourly["middle"] = bands["middleband"]
        dataframe = merge_informative_pair(dataframe, hourly, self.timeframe, "1h", ffill=True)
        day_rules = {"high": "max", "low": "min"}
        day = dataframe[["high", "low"]].rolling(288, min_periods=1).agg(day_rules)
        dataframe["day_range"] = day["high"] - day["low"]
        dataframe["width"] = (dataframe["middle_1h"] - dataframe["lower_1h"]) / dataframe["middle_1h"]
        dataframe["typical"] = pd.Series((dataframe["high"] + dataframe["low"] + dataframe["close"]) / 3)
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[dataframe["close"] < dataframe["lower_1h"], "enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[dataframe["close"] > dataframe["middle_1h"], "exit_long"] = 1
        return dataframe
'''

STOP_LADDER = """
from datetime import datetime, timedelta

import talib.abstract as ta
from pandas import DataFrame

from freqtrade.persistence import Trade
from freqtrade.strategy.interface import IStrategy
from freqtrade.strategy.parameters import DecimalParameter, IntParameter
from freqtrade.strategy.strategy_helper import stoploss_from_open


class StopLadder(IStrategy):
    \"\"\"ADX trend entries with a stop that tightens as profit grows (custom_stoploss).\"\"\"

    INTERFACE_VERSION = 3
    timeframe = "1h"
    minimal_roi = {"0": 0.2, "600": 0.05}
    stoploss = -0.12
    use_custom_stoploss = True
    startup_candle_count: int = 40

    adx_threshold = IntParameter(15, 35, default=22, space="buy")
    lock_in = DecimalParameter(0.005, 0.03, decimals=3, default=0.01, space="sell")

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["adx"] = ta.ADX(dataframe, timeperiod=14)
        dataframe["plus_di"] = ta.PLUS_DI(dataframe, timeperiod=14)
        dataframe["minus_di"] = ta.MINUS_DI(dataframe, timeperiod=14)
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        trending = (dataframe["adx"] > self.adx_threshold.value) & (dataframe["plus_di"] > dataframe["minus_di"])
        dataframe.loc[trending, "enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[dataframe["minus_di"] > dataframe["plus_di"], "exit_long"] = 1
        return dataframe

    def custom_stoploss(
        self, pair: str, trade: Trade, current_time: datetime, current_rate: float, current_profit: float,
        after_fill: bool, **kwargs
    ) -> float | None:
        if current_profit > 0.06:
            return stoploss_from_open(self.lock_in.value * 3, current_profit, is_short=trade.is_short)
        if current_profit > 0.03:
            return stoploss_from_open(self.lock_in.value, current_profit, is_short=trade.is_short)
        if current_time - trade.open_date_utc > timedelta(days=2):
            return -0.05
        return None
"""

HELPER_METHODS = """
import numpy as np
import talib.abstract as ta
from pandas import DataFrame, Series

from freqtrade.strategy import IStrategy


class HelperMethods(IStrategy):
    \"\"\"Keeps its building blocks in private helper methods, as larger community strategies do.\"\"\"

    INTERFACE_VERSION = 3
    timeframe = "15m"
    minimal_roi = {"0": 0.03}
    stoploss = -0.05
    startup_candle_count = 100

    def _trend(self, dataframe: DataFrame) -> Series:
        return ta.EMA(dataframe, timeperiod=50) > ta.EMA(dataframe, timeperiod=100)

    def _volume_spike(self, dataframe: DataFrame, factor: float = 1.5) -> Series:
        return dataframe["volume"] > dataframe["volume"].rolling(20).mean() * factor

    def _score(self, dataframe: DataFrame) -> Series:
        parts = [self._trend(dataframe).astype(int), self._volume_spike(dataframe).astype(int)]
        return parts[0] + parts[1]

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["score"] = self._score(dataframe)
        dataframe["log_return"] = np.log(dataframe["close"] / dataframe["close"].shift(1))
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[dataframe["score"] >= 2, "enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[~self._trend(dataframe), "exit_long"] = 1
        return dataframe
"""

WITH_METADATA = """
# --- Do not remove these libs ---
from functools import reduce

import talib.abstract as ta
from pandas import DataFrame

from freqtrade.strategy import IStrategy

__author__ = "A. Trader"
__copyright__ = "Free to use"
__license__ = "MIT"
__version__ = "1.2"
__email__ = "trader@example.com"
__donation__ = ("BTC", "none yet")

PERIODS = (9, 21, 55)
LEVELS = {"oversold": 25, "overbought": 75}
WEIGHTS = [0.5, 0.3, 0.2]
RATIO = -1.5


class WithMetadata(IStrategy):
    \"\"\"Three EMAs in order plus a CCI filter, with the file metadata some authors keep.\"\"\"

    INTERFACE_VERSION = 3
    timeframe = "30m"
    minimal_roi = {"0": 0.06, "120": 0.02}
    stoploss = -0.07
    startup_candle_count = 60
    order_types = {"entry": "limit", "exit": "limit", "stoploss": "market", "stoploss_on_exchange": False}
    plot_config = {"main_plot": {"ema_9": {}, "ema_21": {}}, "subplots": {"CCI": {"cci": {"color": "blue"}}}}

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        for period in PERIODS:
            dataframe["ema_{}".format(period)] = ta.EMA(dataframe, timeperiod=period)
        dataframe["cci"] = ta.CCI(dataframe, timeperiod=20)
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        conditions = [
            dataframe["ema_{0}".format(PERIODS[0])] > dataframe["ema_{0}".format(PERIODS[1])],
            dataframe["ema_{fast}".format(fast=PERIODS[1])] > dataframe["ema_{slow}".format(slow=PERIODS[2])],
            dataframe["cci"] < LEVELS["overbought"] * 2,
        ]
        dataframe.loc[reduce(lambda a, b: a & b, conditions), "enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[dataframe["cci"] > LEVELS["overbought"] * 2, "exit_long"] = 1
        return dataframe
"""

MARKET_BREADTH = """
import logging

import pandas as pd
import talib.abstract as ta
from pandas import DataFrame

from freqtrade.strategy import BooleanParameter, CategoricalParameter, IStrategy

log = logging.getLogger(__name__)


class MarketBreadth(IStrategy):
    \"\"\"Enters when most pairs of the whitelist trade above their SMA (read through the data provider).\"\"\"

    INTERFACE_VERSION = 3
    timeframe = "1h"
    minimal_roi = {"0": 0.05}
    stoploss = -0.08
    startup_candle_count = 30
    can_short = False

    use_breadth = BooleanParameter(default=True, space="buy")
    sma_kind = CategoricalParameter(["sma", "ema"], default="sma", space="buy")

    def bot_start(self, **kwargs) -> None:
        self.breadth_period = 20

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        above = []
        for pair in self.dp.current_whitelist():
            other = self.dp.get_pair_dataframe(pair=pair, timeframe=self.timeframe)
            average = ta.SMA(other, timeperiod=self.breadth_period)
            above.append((other["close"] > average).astype(int).rename(pair).set_axis(other["date"]))
        share = pd.concat(above, axis=1).mean(axis=1).rename("breadth").reset_index()
        dataframe = dataframe.merge(share, on="date", how="left")
        if self.dp.runmode.value in ("live", "dry_run"):
            log.info("breadth for %s is %.2f", metadata["pair"], dataframe["breadth"].iloc[-1])
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        wanted = dataframe["breadth"] > 0.5 if self.use_breadth.value else dataframe["close"] > 0
        dataframe.loc[wanted & (dataframe["volume"] > 0), "enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[dataframe["breadth"] < 0.3, "exit_long"] = 1
        return dataframe

    def custom_exit(self, pair: str, trade, current_time, current_rate, current_profit, **kwargs):
        if current_profit > 0.03:
            return "take_profit_early"
        return None
"""

DAILY_BITCOIN_BIAS = """
import freqtrade.vendor.qtpylib.indicators as qtpylib
import talib.abstract as ta
from pandas import DataFrame
from technical.qtpylib import crossed_below

from freqtrade.strategy import IStrategy, merge_informative_pair


class DailyBitcoinBias(IStrategy):
    \"\"\"Follows Stochastic crosses on 1h while Bitcoin's daily close is above its 10-day SMA.\"\"\"

    INTERFACE_VERSION = 3
    timeframe = "1h"
    minimal_roi = {"0": 0.1}
    stoploss = -0.1
    startup_candle_count = 30

    def informative_pairs(self):
        return [("BTC/USDT", "1d")]

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        daily = self.dp.get_pair_dataframe(pair="BTC/USDT", timeframe="1d")
        daily["sma"] = ta.SMA(daily, timeperiod=10)
        daily = daily[["date", "close", "sma"]].rename(columns={"close": "btc", "sma": "btc_sma"})
        dataframe = merge_informative_pair(dataframe, daily, self.timeframe, "1d", ffill=True)
        stoch = ta.STOCH(dataframe)
        dataframe["slowk"] = stoch["slowk"]
        dataframe["slowd"] = stoch["slowd"]
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        bullish = dataframe["btc_1d"] > dataframe["btc_sma_1d"]
        dataframe.loc[bullish & qtpylib.crossed_above(dataframe["slowk"], dataframe["slowd"]), "enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[crossed_below(dataframe["slowk"], dataframe["slowd"]), "exit_long"] = 1
        return dataframe
"""

BOTH_WAYS = """
from datetime import datetime

import talib.abstract as ta
from pandas import DataFrame

from freqtrade.strategy import IStrategy


class BothWays(IStrategy):
    \"\"\"Longs above the 200 EMA and shorts below it, with protections as a property.\"\"\"

    INTERFACE_VERSION = 3
    timeframe = "4h"
    can_short = True
    minimal_roi = {"0": 0.15}
    stoploss = -0.1
    startup_candle_count = 200

    @property
    def protections(self):
        return [{"method": "CooldownPeriod", "stop_duration_candles": 2}]

    def leverage(self, pair: str, current_time: datetime, current_rate: float, proposed_leverage: float,
                 max_leverage: float, entry_tag: str | None, side: str, **kwargs) -> float:
        return 1.0

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["ema200"] = ta.EMA(dataframe, timeperiod=200)
        dataframe["rsi"] = ta.RSI(dataframe)
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[(dataframe["close"] > dataframe["ema200"]) & (dataframe["rsi"] < 45), "enter_long"] = 1
        dataframe.loc[(dataframe["close"] < dataframe["ema200"]) & (dataframe["rsi"] > 55), "enter_short"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[dataframe["rsi"] > 70, "exit_long"] = 1
        dataframe.loc[dataframe["rsi"] < 30, "exit_short"] = 1
        return dataframe
"""

BENIGN = [
    pytest.param("LoggingRsi", LOGGING_RSI, id="logging-format-intparameter-qtpylib"),
    pytest.param("HourlyTrend", HOURLY_TREND, id="dp-informative-pairs-merge"),
    pytest.param("FourHourFilter", FOUR_HOUR_FILTER, id="informative-decorator-4h"),
    pytest.param("BitcoinGuard", BITCOIN_GUARD, id="informative-decorator-fixed-pair"),
    pytest.param("ResampledBands", RESAMPLED_BANDS, id="resample-agg-dict"),
    pytest.param("StopLadder", STOP_LADDER, id="submodule-imports-custom-stoploss-decimal"),
    pytest.param("HelperMethods", HELPER_METHODS, id="private-helper-methods"),
    pytest.param("WithMetadata", WITH_METADATA, id="metadata-constants-format-fields"),
    pytest.param("MarketBreadth", MARKET_BREADTH, id="whitelist-breadth-bot-start"),
    pytest.param("DailyBitcoinBias", DAILY_BITCOIN_BIAS, id="informative-pairs-fixed-daily-qtpylib-legacy"),
    pytest.param("BothWays", BOTH_WAYS, id="can-short-property-leverage"),
]
