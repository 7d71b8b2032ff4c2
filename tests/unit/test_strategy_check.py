"""The Freqtrade check (load with Freqtrade's resolver, run on synthetic candles) and the synthetic candles."""

from __future__ import annotations

import numpy as np
import pytest

from gentrade.freqtrade.synthetic import synthetic_frame, synthetic_ohlcv
from gentrade.samples import DRAFT
from gentrade.strategies.check import CHECK_CANDLES, StrategyCheckFailed, check_strategy
from gentrade.strategies.compiler import compile_strategy
from gentrade.strategies.draft import parse_draft
from gentrade.strategies.loaded import valid_loaded
from gentrade.timeframes import TIMEFRAME_SECONDS
from tests.benign import BENIGN

PROBE = """
from freqtrade.strategy import IStrategy
from pandas import DataFrame


class Probe(IStrategy):
    timeframe = {timeframe!r}
    stoploss = -0.1
    minimal_roi = {{"0": 0.1}}
    startup_candle_count = {startup}

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        {indicators}

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[dataframe["close"] > dataframe["open"], "enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[dataframe["close"] < dataframe["open"], "exit_long"] = 1
        return dataframe
"""


def probe_strategy(indicators: str = "return dataframe", timeframe: str = "5m", startup: object = 10) -> str:
    return PROBE.format(indicators=indicators, timeframe=timeframe, startup=startup)


# --- check_strategy ----------------------------------------------------------------------------------------


def test_compiled_draft_passes_and_signals_are_counted() -> None:
    draft = parse_draft(DRAFT)

    result = check_strategy(compile_strategy(draft), draft.name, list(draft.pairs), draft.stake_currency)

    assert result["candles_per_pair"] == draft.effective_startup_candles + CHECK_CANDLES
    assert set(result["signals"]) == {"enter_long", "exit_long", "enter_short", "exit_short"}
    assert result["signals"]["exit_long"] > 0  # rsi > 70 or a MACD cross happens in 450 candles
    assert result["signals"]["enter_short"] == result["signals"]["exit_short"] == 0
    assert 0 <= result["seconds"] < 5


def test_signal_counts_add_up_over_pairs() -> None:
    code = probe_strategy()
    one = check_strategy(code, "Probe", ["BTC/USDT"])
    two = check_strategy(code, "Probe", ["BTC/USDT", "ETH/USDT"])

    assert one["candles_per_pair"] == 10 + CHECK_CANDLES
    assert 0 < one["signals"]["enter_long"] < one["candles_per_pair"]
    assert one["signals"]["enter_long"] < two["signals"]["enter_long"]
    assert one["signals"]["enter_long"] + one["signals"]["exit_long"] <= one["candles_per_pair"]


def test_can_short_strategy_loads() -> None:
    draft = parse_draft(
        {
            **DRAFT,
            "can_short": True,
            "entry_short_conditions": {"left": "rsi", "op": ">", "right": 70},
            "exit_short_conditions": {"left": "rsi", "op": "<", "right": 40},
        }
    )
    result = check_strategy(compile_strategy(draft), draft.name, list(draft.pairs), draft.stake_currency)
    assert result["signals"]["enter_short"] > 0


@pytest.mark.parametrize(
    ("code", "name", "message"),
    [
        pytest.param(
            probe_strategy("dataframe['x'] = dataframe['missing']\n        return dataframe"),
            "Probe",
            "failed on BTC/USDT candles: populate_indicators raised KeyError: 'missing'",
            id="populate-raises",
        ),
        pytest.param(probe_strategy("pass"), "Probe", "populate_indicators returned NoneType", id="returns-none"),
        pytest.param(
            probe_strategy("return dataframe['close']"),
            "Probe",
            "populate_indicators returned Series",
            id="returns-series",
        ),
        pytest.param(probe_strategy(), "Other", "Freqtrade cannot load the strategy", id="class-name-differs"),
        pytest.param(
            probe_strategy("return dataframe.iloc[5:]"),
            "Probe",
            "changed the number of candles on BTC/USDT",
            id="drops-rows",
        ),
        pytest.param(
            probe_strategy("dataframe['x'] = dataframe['close'].rolling(3).mean()\n        return dataframe.dropna()"),
            "Probe",
            "changed the number of candles",
            id="dropna",
        ),
        pytest.param(
            probe_strategy().replace("stoploss = -0.1", "stoploss = 1 / 0"),
            "Probe",
            "loading the strategy raised ZeroDivisionError",
            id="raises-on-import",
        ),
        pytest.param(
            probe_strategy().replace("class Probe(IStrategy):", "class Probe:"),
            "Probe",
            "cannot load",
            id="not-a-strategy",
        ),
        pytest.param("class Probe(:\n", "Probe", "cannot load", id="syntax-error"),
        pytest.param(
            probe_strategy(timeframe="3m"), "Probe", "timeframe '3m' is not one of", id="unsupported-timeframe"
        ),
        pytest.param(probe_strategy(startup=10**7), "Probe", "startup_candle_count", id="huge-startup"),
        pytest.param(probe_strategy(startup=-5), "Probe", "startup_candle_count", id="negative-startup"),
        pytest.param(probe_strategy(startup="'many'"), "Probe", "startup_candle_count", id="startup-not-a-number"),
    ],
)
def test_broken_strategy_fails_with_a_useful_message(code: str, name: str, message: str) -> None:
    with pytest.raises(StrategyCheckFailed, match=message):
        check_strategy(code, name, ["BTC/USDT", "ETH/USDT"])


def test_failure_names_the_pair() -> None:
    code = probe_strategy(
        "if metadata['pair'] == 'ETH/USDT':\n            raise ValueError('no ETH')\n        return dataframe"
    )
    with pytest.raises(StrategyCheckFailed, match="on ETH/USDT candles: populate_indicators raised ValueError: no ETH"):
        check_strategy(code, "Probe", ["BTC/USDT", "ETH/USDT"])


def test_entry_failure_names_the_method() -> None:
    code = probe_strategy().replace(
        'dataframe.loc[dataframe["close"] > dataframe["open"]', 'dataframe.loc[dataframe["nope"]'
    )
    with pytest.raises(StrategyCheckFailed, match="populate_entry_trend raised KeyError"):
        check_strategy(code, "Probe", ["BTC/USDT"])


# --- synthetic candles ------------------------------------------------------------------------------------

START_MS = 1_735_689_600_000  # 2025-01-01T00:00:00Z


@pytest.mark.parametrize("timeframe", list(TIMEFRAME_SECONDS))
def test_same_request_gives_identical_candles(timeframe: str) -> None:
    first = synthetic_ohlcv("BTC/USDT", timeframe, START_MS, 500)
    second = synthetic_ohlcv("BTC/USDT", timeframe, START_MS, 500)
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize("timeframe", ["1m", "1h", "1d"])
@pytest.mark.parametrize("offset", [1, 95, 96, 97, 250])
def test_overlapping_slices_agree_candle_by_candle(timeframe: str, offset: int) -> None:
    step_ms = TIMEFRAME_SECONDS[timeframe] * 1000
    whole = synthetic_ohlcv("ETH/USDT", timeframe, START_MS, 400)
    later = synthetic_ohlcv("ETH/USDT", timeframe, START_MS + offset * step_ms, 400)

    np.testing.assert_array_equal(later[: 400 - offset], whole[offset:])


def test_unaligned_start_opens_at_the_next_candle() -> None:
    aligned = synthetic_ohlcv("BTC/USDT", "1h", START_MS + 3_600_000, 5)
    unaligned = synthetic_ohlcv("BTC/USDT", "1h", START_MS + 1, 5)
    np.testing.assert_array_equal(aligned, unaligned)


@pytest.mark.parametrize("timeframe", list(TIMEFRAME_SECONDS))
@pytest.mark.parametrize("pair", ["BTC/USDT", "ETH/USDT", "SOL/BTC", "X1/Y2"])
def test_candles_are_well_formed(pair: str, timeframe: str) -> None:
    rows = synthetic_ohlcv(pair, timeframe, START_MS, 2000)
    stamps, open_, high, low, close, volume = rows.T

    assert rows.shape == (2000, 6)
    assert not np.isnan(rows).any()
    assert np.isfinite(rows).all()
    assert (low <= np.minimum(open_, close)).all()
    assert (np.minimum(open_, close) <= np.maximum(open_, close)).all()
    assert (np.maximum(open_, close) <= high).all()
    assert (low > 0).all()
    assert (volume > 0).all()
    assert (np.diff(stamps) == TIMEFRAME_SECONDS[timeframe] * 1000).all()
    assert stamps[0] == START_MS
    np.testing.assert_array_equal(open_[1:], close[:-1])  # each candle opens where the last one closed


def test_frame_matches_the_rows() -> None:
    frame = synthetic_frame("BTC/USDT", "1h", START_MS, 48)
    rows = synthetic_ohlcv("BTC/USDT", "1h", START_MS, 48)

    assert list(frame.columns) == ["date", "open", "high", "low", "close", "volume"]
    assert str(frame["date"].dt.tz) == "UTC"
    assert frame["date"].is_monotonic_increasing
    assert frame["date"].is_unique
    assert (frame["date"].diff().dropna() == frame["date"].iloc[1] - frame["date"].iloc[0]).all()
    assert frame["date"].iloc[0].value // 1_000_000 == START_MS
    np.testing.assert_array_equal(frame[["open", "high", "low", "close", "volume"]].to_numpy(), rows[:, 1:])


def test_different_pairs_differ() -> None:
    pairs = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "ETH/BTC"]
    shapes = {pair: synthetic_ohlcv(pair, "1h", START_MS, 200)[:, 4] for pair in pairs}
    shapes = {pair: close / close[0] for pair, close in shapes.items()}  # compare shapes, not price levels
    for index, first in enumerate(pairs):
        for second in pairs[index + 1 :]:
            assert not np.allclose(shapes[first], shapes[second]), (first, second)


def test_prices_move() -> None:
    close = synthetic_ohlcv("BTC/USDT", "1h", START_MS, 24 * 30)[:, 4]
    returns = np.diff(np.log(close))
    assert (returns > 0).any()
    assert (returns < 0).any()
    assert close.max() / close.min() > 1.02  # a month trends or swings by more than 2 %


def test_zero_candles() -> None:
    assert synthetic_ohlcv("BTC/USDT", "5m", START_MS, 0).shape[0] == 0
    assert synthetic_frame("BTC/USDT", "5m", START_MS, 0).empty


# --- the data provider, the config and what the check reads off the class (issue 14) ----------------------

# What each benign strategy reads besides its own candles, as the check reports it for the backtest's download.
INFORMATIVE = {
    "HourlyTrend": {"timeframes": ["1h"], "pairs": []},  # informative_pairs() over the whitelist
    "FourHourFilter": {"timeframes": ["4h"], "pairs": []},  # @informative('4h')
    "BitcoinGuard": {"timeframes": [], "pairs": [["BTC/USDT", "1h"]]},  # @informative('1h', 'BTC/{stake}')
    "DailyBitcoinBias": {"timeframes": [], "pairs": [["BTC/USDT", "1d"]]},  # a fixed pair, though BTC/USDT is checked
    "MarketBreadth": {"timeframes": [], "pairs": []},  # the other whitelist pairs, at its own timeframe
    "LoggingRsi": {"timeframes": [], "pairs": []},
}


@pytest.mark.parametrize(("name", "code"), [p for p in BENIGN if p.values[0] in INFORMATIVE])
def test_the_check_reports_the_candles_a_backtest_must_download(name: str, code: str) -> None:
    loaded = check_strategy(code, name, ["BTC/USDT", "ETH/USDT"])["loaded"]

    assert loaded["informative"] == INFORMATIVE[name]
    assert valid_loaded(loaded)


def test_the_check_reads_timeframe_shorting_and_startup_off_the_class() -> None:
    (both_ways,) = [p.values[1] for p in BENIGN if p.values[0] == "BothWays"]
    loaded = check_strategy(both_ways, "BothWays", ["BTC/USDT"])["loaded"]
    assert loaded == {
        "timeframe": "4h",
        "can_short": True,
        "startup_candle_count": 200,
        "informative": {"timeframes": [], "pairs": []},
    }


def test_a_fixed_pair_outside_the_whitelist_is_reported_as_fixed() -> None:
    code = probe_strategy(
        "other = self.dp.get_pair_dataframe('SOL/USDT', '1h')\n"
        "        dataframe['n'] = len(other) + len(self.dp.current_whitelist())\n        return dataframe"
    )
    loaded = check_strategy(code, "Probe", ["BTC/USDT", "ETH/USDT"])["loaded"]
    assert loaded["informative"] == {"timeframes": [], "pairs": [["SOL/USDT", "1h"]]}


NO_TIMEFRAME = "the strategy sets no timeframe"


@pytest.mark.parametrize(
    ("code", "message"),
    [
        pytest.param(probe_strategy().replace("    timeframe = '5m'\n", ""), NO_TIMEFRAME, id="no-timeframe"),
        pytest.param(
            "from freqtrade.strategy import informative\n"
            + probe_strategy()
            .replace("    timeframe = '5m'\n", "")
            .replace(
                "    def populate_entry_trend",
                "    @informative('1h')\n    def populate_indicators_1h(self, dataframe, metadata):\n"
                "        return dataframe\n\n    def populate_entry_trend",
            ),
            NO_TIMEFRAME,
            id="no-timeframe-with-informative",
        ),
        pytest.param(
            probe_strategy("self.dp.get_pair_dataframe('BTC/USDT:USDT', '1h')\n        return dataframe"),
            "populate_indicators: the strategy asked for candles of 'BTC/USDT:USDT', not a spot pair like BTC/USDT",
            id="futures-pair",
        ),
        pytest.param(
            probe_strategy("self.dp.get_pair_dataframe('BTC/USDT', '1w')\n        return dataframe"),
            "the strategy asked for '1w' candles; backtests have 1m, 5m",
            id="unsupported-timeframe",
        ),
        pytest.param(
            probe_strategy(
                "for n in range(25):\n            self.dp.get_pair_dataframe(f'C{n}/USDT', '1h')\n"
                "        return dataframe"
            ),
            "asks for more than 20 pairs and timeframes",
            id="too-many-informative",
        ),
        pytest.param(
            probe_strategy("self.dp.orderbook('BTC/USDT', 5)\n        return dataframe"),
            "populate_indicators raised OperationalException: Exchange is not available to DataProvider.",
            id="live-only-data",
        ),
        pytest.param(
            probe_strategy().replace(
                "    def populate_indicators", "    def bot_start(self):\n        1 / 0\n\n    def populate_indicators"
            ),
            r"starting the strategy \(bot_start\) raised StrategyError",
            id="bot-start-raises",
        ),
        pytest.param(
            probe_strategy().replace(
                "    def populate_indicators",
                "    def informative_pairs(self):\n        return [('BTC/USDT', '2w')]\n\n    def populate_indicators",
            ),
            "informative timeframe '2w' is not one of",
            id="informative-pairs-unsupported",
        ),
        pytest.param(
            probe_strategy("raise ValueError('in ' + __file__)"),
            r"populate_indicators raised ValueError: in <strategy folder>/Probe\.py$",
            id="no-server-paths",
        ),
    ],
)
def test_a_strategy_the_check_cannot_serve_fails_with_a_clear_message(code: str, message: str) -> None:
    with pytest.raises(StrategyCheckFailed, match=message):
        check_strategy(code, "Probe", ["BTC/USDT", "ETH/USDT"])


def test_the_strategy_gets_freqtrades_config_and_a_backtest_data_provider() -> None:
    code = probe_strategy(
        "assert self.config['candle_type_def'] == 'futures' and self.config['runmode'].value == 'backtest'\n"
        "        assert self.dp.runmode.value == 'backtest'\n"
        "        assert self.dp.current_whitelist() == ['BTC/USDT', 'ETH/USDT']\n"
        "        assert self.dp.market(metadata['pair'])['quote'] == 'USDT'\n"
        "        same = self.dp.get_pair_dataframe(metadata['pair'], self.timeframe)\n"
        "        assert same['close'].tolist() == dataframe['close'].tolist()\n"
        "        return dataframe"
    )
    check_strategy(code, "Probe", ["BTC/USDT", "ETH/USDT"])
