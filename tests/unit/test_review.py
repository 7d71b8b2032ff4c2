"""The static review: hostile code is rejected with its rule and line; ordinary strategies pass.

Each hostile snippet goes into an otherwise valid strategy module (class ``Probe``): ``top`` lines after the
imports, ``body`` lines inside ``populate_indicators``, ``tail`` lines after the class. The line that must be
reported ends with the marker ``#!``.
"""

from __future__ import annotations

import importlib
import re

import pytest

from gentrade.samples import DRAFT
from gentrade.strategies.compiler import compile_strategy
from gentrade.strategies.draft import parse_draft
from gentrade.strategies.review import STRATEGY_API_NAMES, ReviewRejected, Violation, review
from tests.hostile import HOSTILE, marked_line, probe


def violations_of(code: str, name: str = "Probe") -> list[Violation]:
    with pytest.raises(ReviewRejected) as caught:
        review(code, name)
    return caught.value.violations


def test_the_probe_itself_passes() -> None:
    review(probe(), "Probe")
    review(probe(top="import numpy as np", body="dataframe['x'] = np.log(dataframe['close'])"), "Probe")


@pytest.mark.parametrize(("top", "body", "rule"), HOSTILE)
def test_hostile_snippet_is_rejected_with_rule_and_line(top: str, body: str, rule: str) -> None:
    code = probe(top=top, body=body)
    line = marked_line(code)

    violations = violations_of(code)

    assert (line, rule) in [(v.line, v.rule) for v in violations], violations
    with pytest.raises(ReviewRejected, match=rf"line {line}: .*\[{rule}\]"):
        review(code, "Probe")


def test_dunder_method_definition_is_rejected() -> None:
    code = probe(tail="    def __init_subclass__(cls):  #!\n        pass")
    assert (marked_line(code), "dunder-access") in [(v.line, v.rule) for v in violations_of(code)]


def test_helper_class_is_rejected() -> None:
    code = probe(tail="class Helper:  #!\n    pass")
    assert [(v.line, v.rule) for v in violations_of(code)] == [(marked_line(code), "one-strategy")]


def _helper_call_line(code: str) -> int:
    return code.splitlines().index("        return self._helper(dataframe)") + 1


def test_two_strategy_classes_are_rejected() -> None:
    code = probe(tail="class Probe2(IStrategy):\n    pass")
    # Without exactly one strategy class, self._helper is refused too: self is not known to be the strategy.
    assert [(v.line, v.rule) for v in violations_of(code)] == [
        (1, "one-strategy"),
        (_helper_call_line(code), "private-access"),
    ]
    assert "found 2" in violations_of(code)[0].message


def test_zero_strategy_classes_are_rejected() -> None:
    code = probe(base="object")
    class_line = code.splitlines().index("class Probe(object):") + 1
    assert [(v.line, v.rule) for v in violations_of(code)] == [
        (1, "one-strategy"),
        (class_line, "one-strategy"),
        (_helper_call_line(code), "private-access"),
    ]
    assert "found 0" in violations_of(code)[0].message


def test_a_module_without_classes_is_rejected() -> None:
    assert [(v.line, v.rule) for v in violations_of("x = 1\n")] == [(1, "one-strategy")]


def test_strategy_class_must_match_the_file_name() -> None:
    code = probe()
    class_line = code.splitlines().index("class Probe(IStrategy):") + 1
    violations = violations_of(code, name="Other")
    assert [(v.line, v.rule) for v in violations] == [(class_line, "strategy-name")]
    assert violations[0].message == "the strategy class is Probe, expected Other"


def test_strategy_may_subclass_istrategy_by_attribute() -> None:
    review(probe(top="import freqtrade.strategy as fts", base="fts.IStrategy"), "Probe")


@pytest.mark.parametrize(
    "body",
    [
        "dataframe['m'] = dataframe['close'].rolling(5).apply(lambda window: window.mean())",
        "dataframe['m'] = dataframe[['open', 'close']].agg(['min', 'max'])",
        "dataframe['m'] = dataframe['close'].transform('cumsum')",
        "dataframe['m'] = dataframe['close'].apply(np.log)",
        "dataframe['m'] = np.lib.stride_tricks.sliding_window_view(dataframe['close'], 3).mean(axis=1)[0]",
        "dataframe['m'] = np.random.default_rng(1).random(len(dataframe))",
    ],
)
def test_legitimate_pandas_and_numpy_use_passes(body: str) -> None:
    review(probe(top="import numpy as np", body=body), "Probe")


@pytest.mark.parametrize(
    ("code", "line"),
    [
        pytest.param("class Probe(IStrategy:\n    pass\n", 1, id="unclosed-paren"),
        pytest.param(probe(body="x = = 1"), 12, id="in-method"),
        pytest.param(probe(body="if True:\nreturn dataframe"), 13, id="indentation"),
    ],
)
def test_syntax_error_reports_its_line(code: str, line: int) -> None:
    (violation,) = violations_of(code)
    assert (violation.line, violation.rule) == (line, "syntax")
    assert str(violation).startswith(f"line {line}: syntax error")


def test_all_violations_are_reported_in_line_order() -> None:
    code = probe(top="import os\nimport sys", body="eval('1')\nx = self.__dict__")
    violations = violations_of(code)

    assert [(v.line, v.rule) for v in violations] == [
        (3, "import-allow-list"),
        (4, "import-allow-list"),
        (13, "forbidden-name"),
        (14, "dunder-access"),
    ]
    message = str(ReviewRejected(violations))
    assert "line 3: import of os is not allowed [import-allow-list]" in message
    assert "line 14: access to attribute __dict__ is not allowed [dunder-access]" in message


def test_module_docstring_and_future_import_are_allowed() -> None:
    review('"""A strategy."""\nfrom __future__ import annotations\n' + probe(), "Probe")


# --- accepted -------------------------------------------------------------------------------------------


def test_compiled_design_example_passes() -> None:
    draft = parse_draft(DRAFT)
    review(compile_strategy(draft), draft.name)


HAND_WRITTEN = '''
"""A typical hand-written Freqtrade strategy, as a user or the LLM would write it."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from functools import reduce
from typing import Optional

import numpy as np
import pandas as pd
import talib.abstract as ta
from pandas import DataFrame
from technical import qtpylib

from freqtrade.exchange import timeframe_to_minutes
from freqtrade.persistence import Trade
from freqtrade.strategy import DecimalParameter, IntParameter, IStrategy, informative, stoploss_from_open

LOOKBACK: int = 20


def helper(series: pd.Series) -> pd.Series:
    return series.rolling(LOOKBACK).mean()


class HandWritten(IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "15m"
    can_short = False
    minimal_roi = {"0": 0.04, "60": 0.01}
    stoploss = -0.10
    use_custom_stoploss = True
    startup_candle_count: int = 200

    buy_rsi = IntParameter(10, 40, default=30, space="buy")
    sell_rsi = DecimalParameter(60.0, 90.0, default=70.0, space="sell")

    @informative("1h")
    def populate_indicators_1h(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["rsi"] = ta.RSI(dataframe, timeperiod=14)
        return dataframe

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["rsi"] = ta.RSI(dataframe, timeperiod=14)
        dataframe["ema"] = ta.EMA(dataframe, timeperiod=50)
        dataframe["mean"] = helper(dataframe["close"])
        dataframe["log_return"] = np.log(dataframe["close"] / dataframe["close"].shift(1))
        dataframe["bars"] = math.ceil(timeframe_to_minutes(self.timeframe) / 5)
        bollinger = qtpylib.bollinger_bands(qtpylib.typical_price(dataframe), window=20, stds=2)
        dataframe["bb_lower"] = bollinger["lower"]
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        conditions = [dataframe["rsi"] < self.buy_rsi.value, dataframe["close"] > dataframe["ema"]]
        dataframe.loc[reduce(lambda a, b: a & b, conditions), ["enter_long", "enter_tag"]] = (1, "rsi_dip")
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[qtpylib.crossed_above(dataframe["rsi"], self.sell_rsi.value), "exit_long"] = 1
        return dataframe

    def custom_stoploss(
        self,
        pair: str,
        trade: Trade,
        current_time: datetime,
        current_rate: float,
        current_profit: float,
        after_fill: bool,
        **kwargs,
    ) -> Optional[float]:
        if current_time - trade.open_date_utc > timedelta(hours=4):
            return stoploss_from_open(0.01, current_profit, is_short=trade.is_short, leverage=trade.leverage)
        return None
'''


def test_typical_hand_written_strategy_passes() -> None:
    review(HAND_WRITTEN, "HandWritten")


@pytest.mark.parametrize(
    "snippet",
    [
        "dataframe['open_close'] = dataframe.open - dataframe.close",  # 'open' as a column attribute is fine
        "dataframe['x'] = dataframe['close'].rolling(5).agg('mean')",
        "x = {'format': 1, 'eval': 2}",  # forbidden words as data
        "x = 'import os; os.system(\"id\")'",
        "x = [_ for _ in range(3)]",
        "x = self.dp.runmode.value if self.dp else None",
    ],
)
def test_harmless_code_passes(snippet: str) -> None:
    review(probe(body=snippet), "Probe")


# --- ordinary idioms allowed in context (issue 14); their harmful neighbours are tests.hostile.NEAR_MISSES ------

LOGGER = "import logging\nlogger = logging.getLogger(__name__)"


@pytest.mark.parametrize(
    ("top", "body"),
    [
        pytest.param("import logging", "", id="logging-imported-unused"),
        pytest.param(
            LOGGER,
            "logger.debug('a')\nlogger.info('%s rows', len(dataframe))\nlogger.warning(f\"{metadata['pair']}\")\n"
            "logger.error('e')\nlogger.exception('x')\nlogger.critical('c', exc_info=True)",
            id="logger-every-level",
        ),
        pytest.param("import logging as log\nLOG = log.getLogger('my.strategy')", "LOG.info('x')", id="logger-literal"),
        pytest.param(
            "",
            "a = 'ema_{}'.format(5)\nb = '{0}_{1}'.format('x', 2)\nc = '{n:>{w}}'.format(n=1, w=3)\n"
            "d = '{!r}'.format(a)\ne = '{{literal}} {}'.format(1)",
            id="format-plain-fields",
        ),
        pytest.param(
            "OHLC = {'open': 'first', 'high': 'max', 'low': 'min', 'close': 'last', 'volume': 'sum'}",
            "hourly = dataframe.set_index('date').resample('1h').agg(OHLC)",
            id="agg-dict-module-constant",
        ),
        pytest.param(
            "",
            "how = {'close': ['min', 'max'], 'volume': 'sum'}\nx = dataframe.agg(how)\ny = dataframe.agg(func=how)",
            id="agg-dict-local",
        ),
        pytest.param("", "how = 'mean'\nx = dataframe.rolling(3).agg(how)", id="agg-name-in-variable"),
        pytest.param(
            "from freqtrade.strategy.interface import IStrategy as Base\n"
            "from freqtrade.strategy.parameters import DecimalParameter, IntParameter\n"
            "from freqtrade.strategy.strategy_helper import merge_informative_pair, stoploss_from_open\n"
            "from freqtrade.strategy.informative_decorator import informative",
            "",
            id="freqtrade-strategy-submodules",
        ),
        pytest.param(
            "__author__ = 'A. Trader'\n__version__ = (1, 2)\n__BTC_donation__ = 'none'\n"
            "LEVELS = {'low': -1, 'high': [1.5, None]}\nRATIO = -0.5",
            "",
            id="module-metadata-and-constants",
        ),
        pytest.param(
            "", "x = self._helper(dataframe)\nf = self._helper\ny = dataframe.apply(self._helper)", id="helper"
        ),
    ],
)
def test_ordinary_idiom_passes(top: str, body: str) -> None:
    review(probe(top=top, body=body), "Probe")


@pytest.mark.parametrize(
    ("top", "decorator"),
    [
        pytest.param("", "@staticmethod", id="staticmethod"),
        pytest.param("", "@classmethod", id="classmethod"),
        pytest.param("def other_self(f):\n    return lambda s, *a: f(s.dp, *a)", "@other_self", id="own-decorator"),
        pytest.param("import functools", "@functools.lru_cache", id="library-decorator"),
        pytest.param(
            "from freqtrade.strategy import informative\ninformative = print",
            "@informative('1h')",
            id="informative-rebound",
        ),
        pytest.param("property = print", "@property", id="property-rebound"),
    ],
)
def test_the_helper_allowance_is_off_when_a_method_could_get_another_self(top: str, decorator: str) -> None:
    """A decorator could call a method with another object as ``self``; then ``self._x`` reaches its privates."""
    code = probe(top=top, body="x = self._helper  #!", tail=f"\n    {decorator}\n    def other(self):\n        pass")
    assert (marked_line(code), "private-access") in [(v.line, v.rule) for v in violations_of(code)]


@pytest.mark.parametrize("name", ["_ft_informative", "_ft_hyper_params", "_analyze_ticker_internal"])
def test_a_helper_named_like_freqtrades_own_internals_stays_private(name: str) -> None:
    """IStrategy sets ``self._ft_informative`` (and others) on the instance: the name would reach Freqtrade's data."""
    code = probe(body=f"x = self.{name}  #!", tail=f"\n    def {name}(self):\n        pass")
    assert (marked_line(code), "private-access") in [(v.line, v.rule) for v in violations_of(code)]


def test_the_helper_allowance_is_off_when_the_class_is_named() -> None:
    """``Probe.method(other)`` would call a method with another object as ``self``."""
    code = probe(body="unbound = Probe.populate_exit_trend\nx = self._helper  #!")
    assert (marked_line(code), "private-access") in [(v.line, v.rule) for v in violations_of(code)]


def test_the_helper_allowance_holds_with_informative_and_property() -> None:
    tail = (
        "\n    @informative('1h')\n    def populate_indicators_1h(self, dataframe, metadata):\n"
        "        return self._helper(dataframe)\n\n    @property\n    def protections(self):\n        return []"
    )
    review(probe(top="from freqtrade.strategy import informative", tail=tail), "Probe")


def test_the_freqtrade_strategy_names_allowed_are_defined_in_their_modules() -> None:
    """Each allowed name is defined in its module (in the installed Freqtrade), not imported into it."""
    for module_name, names in STRATEGY_API_NAMES.items():
        module = importlib.import_module(module_name)
        for name in names:
            assert getattr(module, name).__module__ == module_name, (module_name, name)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        pytest.param("x = '\ud800'\n", "line 0: the code is not UTF-8 text [syntax]", id="lone-surrogate"),
        pytest.param("x = " + " + ".join(["1"] * 100_000) + "\n", "nested too deeply", id="deep-nesting"),
    ],
)
def test_code_the_parser_cannot_take_is_rejected_not_raised(code: str, message: str) -> None:
    with pytest.raises(ReviewRejected, match=re.escape(message)):
        review(code, "Probe")
