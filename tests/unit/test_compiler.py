"""The compiler: golden output per indicator and operator, loaded and run by Freqtrade, no lookahead, no injection.

Golden files live in ``tests/unit/golden/<case>.py.golden`` (not ``.py``, so linters leave the generated code
alone). After an intended change to the compiler, regenerate them with
``GENTRADE_UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/test_compiler.py`` and read the diff.
"""

from __future__ import annotations

import ast
import functools
import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from gentrade.freqtrade.synthetic import synthetic_frame
from gentrade.samples import DRAFT
from gentrade.strategies.catalogue import INDICATOR_TYPES
from gentrade.strategies.check import CHECK_END_SECONDS, check_strategy, load_strategy
from gentrade.strategies.compiler import TAG_MAX_LENGTH, compile_strategy, literal
from gentrade.strategies.draft import DraftInvalid, StrategyDraft, parse_draft
from gentrade.strategies.review import review
from gentrade.timeframes import TIMEFRAME_SECONDS

GOLDEN = Path(__file__).parent / "golden"
UPDATE_GOLDEN = os.environ.get("GENTRADE_UPDATE_GOLDEN") == "1"
PAIRS = ["BTC/USDT", "ETH/USDT"]


def cond(left: Any, op: str, right: Any) -> dict[str, Any]:
    return {"left": left, "op": op, "right": right}


def draft_data(name: str, indicators: list[dict[str, Any]], entry: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "name": name,
        "description": f"Golden case {name}.",
        "timeframe": "1h",
        "pairs": PAIRS,
        "indicators": indicators,
        "entry_conditions": entry,
        "stoploss": -0.08,
        **fields,
    }


RSI = {"id": "rsi", "type": "rsi", "params": {"period": 7}}
SMA = {"id": "sma_high", "type": "sma", "params": {"period": 10, "source": "high"}}

INDICATOR_CASES: dict[str, dict[str, Any]] = {
    "indicator_rsi": draft_data(
        "GoldRsi", [RSI], cond("rsi", "<", 30), exit_conditions=cond("rsi", ">", 70), minimal_roi={"0": 0.05}
    ),
    "indicator_sma": draft_data("GoldSma", [SMA], cond("close", ">", "sma_high")),
    "indicator_ema": draft_data(
        "GoldEma",
        [{"id": "ema", "type": "ema", "params": {"period": 21, "source": "open"}}],
        cond("close", "crosses_above", "ema"),
    ),
    "indicator_wma": draft_data(
        "GoldWma", [{"id": "wma", "type": "wma", "params": {"period": 30, "source": "low"}}], cond("close", "<", "wma")
    ),
    "indicator_macd": draft_data(
        "GoldMacd",
        [{"id": "macd", "type": "macd", "params": {"fast": 8, "slow": 21, "signal": 5}}],
        {"all": [cond("macd.macd", "crosses_above", "macd.signal"), cond("macd.hist", ">", 0)]},
        exit_conditions=cond("macd.macd", "crosses_below", "macd.signal"),
    ),
    "indicator_bbands": draft_data(
        "GoldBbands",
        [{"id": "bb", "type": "bbands", "params": {"period": 20, "std": 2.5}}],
        cond("close", "<", "bb.lower"),
        exit_conditions={"any": [cond("close", ">", "bb.upper"), cond("close", "crosses_above", "bb.middle")]},
    ),
    "indicator_atr": draft_data(
        "GoldAtr", [{"id": "atr", "type": "atr", "params": {"period": 10}}], cond("atr", ">", 0.5)
    ),
    "indicator_adx": draft_data("GoldAdx", [{"id": "adx", "type": "adx"}], cond("adx", ">", 25)),
    "indicator_stoch": draft_data(
        "GoldStoch",
        [{"id": "stoch", "type": "stoch", "params": {"k_period": 10, "k_smooth": 3, "d_period": 4}}],
        {"all": [cond("stoch.k", "crosses_above", "stoch.d"), cond("stoch.k", "<", 20)]},
    ),
    "indicator_cci": draft_data("GoldCci", [{"id": "cci", "type": "cci"}], cond("cci", "<", -100)),
    "indicator_mfi": draft_data(
        "GoldMfi", [{"id": "mfi", "type": "mfi", "params": {"period": 10}}], cond("mfi", "<", 20)
    ),
    "indicator_obv": draft_data("GoldObv", [{"id": "obv", "type": "obv"}], cond("obv", ">", 0)),
    "indicator_vwap": draft_data(
        "GoldVwap", [{"id": "vwap", "type": "vwap", "params": {"period": 30}}], cond("close", "crosses_above", "vwap")
    ),
    "indicator_ichimoku": draft_data(
        "GoldIchimoku",
        [
            {
                "id": "cloud",
                "type": "ichimoku",
                "params": {"conversion": 9, "base": 26, "span_b": 52, "displacement": 26},
            }
        ],
        {
            "all": [
                cond("close", ">", "cloud.span_a"),
                cond("close", ">", "cloud.span_b"),
                cond("cloud.tenkan", "crosses_above", "cloud.kijun"),
            ]
        },
    ),
    "indicator_supertrend": draft_data(
        "GoldSupertrend",
        [{"id": "st", "type": "supertrend", "params": {"period": 12, "multiplier": 2.5}}],
        cond("st.direction", "crosses_above", 0),
        exit_conditions=cond("close", "crosses_below", "st.line"),
    ),
    "indicator_sar": draft_data(
        "GoldSar", [{"id": "sar", "type": "sar", "params": {"acceleration": 0.03}}], cond("close", ">", "sar")
    ),
    "indicator_willr": draft_data(
        "GoldWillr",
        [{"id": "wr", "type": "willr"}],
        cond("wr", "crosses_above", -80),
        exit_conditions=cond("wr", ">", -20),
    ),
    "indicator_donchian": draft_data(
        "GoldDonchian",
        [{"id": "dc", "type": "donchian", "params": {"period": 30}}],
        cond("close", ">", {"ref": "dc.upper", "ago": 1}),
        exit_conditions=cond("close", "<", "dc.middle"),
    ),
    "indicator_keltner": draft_data(
        "GoldKeltner",
        [{"id": "kc", "type": "keltner", "params": {"period": 20, "atrs": 1.5}}],
        cond("close", "<", "kc.lower"),
        exit_conditions=cond("close", ">", "kc.upper"),
    ),
    "indicator_roc": draft_data("GoldRoc", [{"id": "roc", "type": "roc"}], cond("roc", ">", 2.5)),
    "indicator_mom": draft_data(
        "GoldMom", [{"id": "mom", "type": "mom", "params": {"period": 5}}], cond("mom", "crosses_above", 0)
    ),
    "indicator_volume_sma": draft_data(
        "GoldVolumeSma",
        [{"id": "vol_avg", "type": "volume_sma", "params": {"period": 24}}],
        cond("volume", ">", {"ref": "vol_avg", "times": 1.5}),
    ),
    "indicator_stochrsi": draft_data(
        "GoldStochRsi",
        [{"id": "srsi", "type": "stochrsi"}],
        {"all": [cond("srsi.k", "crosses_above", "srsi.d"), cond("srsi.k", "<", 20)]},
    ),
    "indicator_cmo": draft_data("GoldCmo", [{"id": "cmo", "type": "cmo"}], cond("cmo", "<", -50)),
    "indicator_aroon": draft_data(
        "GoldAroon", [{"id": "aroon", "type": "aroon"}], cond("aroon.up", "crosses_above", "aroon.down")
    ),
    "indicator_dmi": draft_data(
        "GoldDmi", [{"id": "dmi", "type": "dmi", "params": {"period": 10}}], cond("dmi.plus", ">", "dmi.minus")
    ),
    "indicator_dema": draft_data("GoldDema", [{"id": "dema", "type": "dema"}], cond("close", ">", "dema")),
    "indicator_tema": draft_data(
        "GoldTema",
        [{"id": "tema", "type": "tema", "params": {"period": 9, "source": "high"}}],
        cond("low", ">", "tema"),
    ),
    "indicator_hma": draft_data(
        "GoldHma", [{"id": "hma", "type": "hma", "params": {"period": 16}}], cond("close", "crosses_above", "hma")
    ),
    "indicator_natr": draft_data("GoldNatr", [{"id": "natr", "type": "natr"}], cond("natr", "<", 3)),
}
OPERATOR_CASES: dict[str, dict[str, Any]] = {
    "op_lt": draft_data("GoldLt", [RSI], cond("rsi", "<", 30)),
    "op_le": draft_data("GoldLe", [RSI], cond("rsi", "<=", 30)),
    "op_gt": draft_data("GoldGt", [RSI], cond("rsi", ">", 70)),
    "op_ge": draft_data("GoldGe", [RSI], cond("rsi", ">=", 70.5)),
    "op_crosses_above": draft_data("GoldCrossUp", [SMA], cond("close", "crosses_above", "sma_high")),
    "op_crosses_below": draft_data("GoldCrossDown", [SMA], cond("close", "crosses_below", "sma_high")),
    "op_series_crosses_number": draft_data("GoldCrossLevel", [RSI], cond("rsi", "crosses_above", 30)),
    # "30 crosses above rsi" is "rsi crosses below 30": qtpylib needs the series first.
    "op_number_crosses_above": draft_data("GoldLevelCrossUp", [RSI], cond(30, "crosses_above", "rsi")),
    "op_number_crosses_below": draft_data("GoldLevelCrossDown", [RSI], cond(70, "crosses_below", "rsi")),
    "op_number_left": draft_data("GoldNumberLeft", [RSI], cond(25.5, "<", "rsi")),
}
OTHER_CASES: dict[str, dict[str, Any]] = {
    "design_example": DRAFT,
    "nested_groups": draft_data(
        "GoldNested",
        [RSI, SMA],
        {
            "any": [
                {"all": [cond("rsi", "<", 30), {"any": [cond("close", ">", "sma_high"), cond("volume", ">", 500)]}]},
                cond("rsi", "crosses_above", 20),
            ]
        },
        exit_conditions={"all": [{"any": [cond("rsi", ">", 70), cond("close", "<", "low")]}, cond("volume", ">", 0)]},
    ),
    "can_short": draft_data(
        "GoldShort",
        [RSI, SMA],
        {"any": [cond("rsi", "<", 25), cond("close", "crosses_above", "sma_high")]},
        can_short=True,
        exit_conditions=cond("rsi", ">", 60),
        entry_short_conditions={"any": [cond("rsi", ">", 75), cond("close", "crosses_below", "sma_high")]},
        exit_short_conditions=cond("rsi", "<", 40),
    ),
    "risk_settings": draft_data(
        "GoldRisk",
        [RSI],
        cond("rsi", "<", 30),
        minimal_roi={"60": 0.01, "0": 0.05, "030": 0.02, "1440": -1},
        trailing_stop=True,
        trailing_stop_positive=0.01,
        trailing_stop_positive_offset=0.02,
        trailing_only_offset_is_reached=True,
        startup_candle_count=500,
        timeframe="15m",
        pairs=["SOL/BTC", "ETH/BTC"],
    ),
    "no_indicators": draft_data("GoldPriceOnly", [], cond("close", ">", "open"), description=""),
    "scaled_operands": draft_data(
        "GoldScaled",
        [{"id": "ema50", "type": "ema", "params": {"period": 50}}, {"id": "vol_avg", "type": "volume_sma"}],
        {
            "all": [
                cond("close", ">", {"ref": "ema50", "times": 1.02}),
                cond({"ref": "volume", "times": 0.5}, ">", {"ref": "vol_avg", "plus": 10}),
                cond("ema50", ">", {"ref": "ema50", "ago": 3}),
                cond({"ref": "close", "ago": 1}, "crosses_above", {"ref": "ema50", "times": 0.99, "ago": 1}),
            ]
        },
        exit_conditions=cond("close", "<", {"ref": "ema50", "times": 0.97, "plus": -1}),
    ),
}
# Indicators on a higher timeframe: Freqtrade's @informative methods, which need its data provider to run.
INFORMATIVE_CASES: dict[str, dict[str, Any]] = {
    "informative_timeframe": draft_data(
        "GoldInformative",
        [
            RSI,
            {"id": "ema50", "type": "ema", "params": {"period": 50}, "timeframe": "4h"},
            {"id": "macd", "type": "macd", "timeframe": "1d"},
        ],
        {
            "all": [
                cond("rsi", "<", 30),
                cond("ema50", ">", {"ref": "ema50", "ago": 1}),
                cond("macd.hist", ">", {"ref": "macd.hist", "ago": 2}),
                cond("close", ">", "ema50"),
            ]
        },
        exit_conditions=cond("ema50", "<", {"ref": "ema50", "ago": 1}),
    ),
}
RUNNABLE_CASES = {**INDICATOR_CASES, **OPERATOR_CASES, **OTHER_CASES}
CASES = {**RUNNABLE_CASES, **INFORMATIVE_CASES}


@functools.cache
def compiled(case: str) -> tuple[StrategyDraft, str]:
    draft = parse_draft(CASES[case])
    return draft, compile_strategy(draft)


@functools.cache
def load(code: str, name: str) -> Any:
    """The strategy as Freqtrade's own resolver loads it (as the check does)."""
    return load_strategy(code, name, [])


def candles(draft: StrategyDraft, count: int) -> pd.DataFrame:
    """``count`` synthetic candles of the draft's first pair, ending where the check's end."""
    step = TIMEFRAME_SECONDS[draft.timeframe]
    return synthetic_frame(draft.pairs[0], draft.timeframe, (CHECK_END_SECONDS - count * step) * 1000, count)


def advised_frame(strategy: Any, frame: pd.DataFrame, pair: str = "BTC/USDT") -> pd.DataFrame:
    metadata = {"pair": pair}
    frame = strategy.advise_indicators(frame.copy(), metadata)
    frame = strategy.advise_entry(frame, metadata)
    return strategy.advise_exit(frame, metadata)


def class_attributes(code: str) -> dict[str, Any]:
    (cls,) = [node for node in ast.parse(code).body if isinstance(node, ast.ClassDef)]
    return {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in cls.body
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
    }


def signal_tags(code: str) -> list[str]:
    """The tags in ``dataframe.loc[...] = (1, tag)`` statements, in source order."""
    return [
        node.value.elts[1].value
        for node in ast.walk(ast.parse(code))
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Tuple) and len(node.value.elts) == 2
    ]


# --- golden files --------------------------------------------------------------------------------------


def test_there_is_a_case_for_every_indicator_type_and_operator() -> None:
    assert {parse_draft(data).indicators[0].type for data in INDICATOR_CASES.values()} == set(INDICATOR_TYPES)
    operators = {parse_draft(data).entry_conditions.op for data in OPERATOR_CASES.values()}
    assert operators == {"<", "<=", ">", ">=", "crosses_above", "crosses_below"}


@pytest.mark.parametrize("case", CASES)
def test_golden(case: str) -> None:
    _, code = compiled(case)
    path = GOLDEN / f"{case}.py.golden"
    if UPDATE_GOLDEN:
        path.write_text(code, encoding="utf-8")
    assert path.exists(), f"no golden file {path.name}: run with GENTRADE_UPDATE_GOLDEN=1"
    assert code == path.read_text(encoding="utf-8")


def test_no_stale_golden_files() -> None:
    assert {path.name.removesuffix(".py.golden") for path in GOLDEN.glob("*.py.golden")} == set(CASES)


@pytest.mark.parametrize("case", CASES)
def test_compiling_is_deterministic(case: str) -> None:
    draft, code = compiled(case)
    assert compile_strategy(parse_draft(draft.model_dump(mode="json"))) == code
    assert compile_strategy(draft) == code


@pytest.mark.parametrize("case", CASES)
def test_review_accepts_compiled_code(case: str) -> None:
    draft, code = compiled(case)
    review(code, draft.name)


@pytest.mark.parametrize("case", CASES)
def test_freqtrade_loads_and_runs_compiled_code(case: str) -> None:
    draft, code = compiled(case)

    result = check_strategy(code, draft.name, list(draft.pairs), draft.stake_currency)

    assert result["candles_per_pair"] == draft.effective_startup_candles + 300
    strategy = load(code, draft.name)
    assert type(strategy).__name__ == draft.name
    assert strategy.timeframe == draft.timeframe
    assert strategy.stoploss == draft.stoploss
    assert strategy.can_short is draft.can_short
    assert strategy.startup_candle_count == draft.effective_startup_candles
    assert strategy.INTERFACE_VERSION == 3


# --- what the generated strategies compute --------------------------------------------------------------


@pytest.mark.parametrize("case", RUNNABLE_CASES)
def test_no_lookahead(case: str) -> None:
    """Every row computed from a prefix of the candles equals the row computed from all of them."""
    draft, code = compiled(case)
    strategy = load(code, draft.name)
    count = draft.effective_startup_candles + 120
    full = advised_frame(strategy, candles(draft, count))
    for cut in (count - 1, count - 7, count - 60):
        prefix = advised_frame(strategy, full.iloc[:cut][["date", "open", "high", "low", "close", "volume"]])
        pd.testing.assert_frame_equal(prefix, full.iloc[:cut], check_exact=False, rtol=1e-9)


@pytest.mark.parametrize("case", INDICATOR_CASES)
def test_indicator_columns_are_ready_after_the_startup_candles(case: str) -> None:
    draft, code = compiled(case)
    strategy = load(code, draft.name)
    frame = strategy.advise_indicators(candles(draft, draft.effective_startup_candles + 50), {"pair": "BTC/USDT"})
    columns = [column for indicator in draft.indicators for column in draft.columns_of(indicator)]

    ready = frame.iloc[draft.effective_startup_candles :][columns]

    assert ready.notna().all().all(), ready.isna().sum()
    assert all(np.issubdtype(dtype, np.floating) for dtype in ready.dtypes)


def test_indicator_parameters_reach_ta_lib() -> None:
    import talib

    draft, code = compiled("indicator_sma")  # period 10 on highs
    frame = load(code, draft.name).advise_indicators(candles(draft, 80), {"pair": "BTC/USDT"})
    np.testing.assert_allclose(frame["sma_high"], talib.SMA(frame["high"].to_numpy(), 10), equal_nan=True)

    draft, code = compiled("indicator_bbands")  # period 20, 2.5 standard deviations
    frame = load(code, draft.name).advise_indicators(candles(draft, 80), {"pair": "BTC/USDT"})
    upper, middle, lower = talib.BBANDS(frame["close"].to_numpy(), 20, 2.5, 2.5, 0)
    np.testing.assert_allclose(frame[["bb_upper", "bb_middle", "bb_lower"]].T, [upper, middle, lower], equal_nan=True)


def test_a_top_level_any_group_tags_each_rule_and_the_first_rule_wins() -> None:
    data = draft_data(
        "TagProbe",
        [RSI],
        {"any": [cond("close", ">", 0), cond("volume", ">", 0), cond("rsi", "<", 0)]},  # true, true, never
        exit_conditions={"any": [cond("rsi", "<", 40), cond("rsi", "<", 60)]},
    )
    draft = parse_draft(data)
    code = compile_strategy(draft)
    frame = candles(draft, draft.effective_startup_candles + 100)
    frame.loc[frame.index[-10:], "volume"] = 0.0  # no signals without volume

    result = advised_frame(load(code, draft.name), frame)

    traded = result["volume"] > 0
    assert (result.loc[traded, "enter_long"] == 1).all()
    assert (result.loc[traded, "enter_tag"] == "close > 0").all()  # rule 2 fires too, rule 1 wins
    assert not (result.loc[~traded, "enter_long"] == 1).any()
    assert (result.loc[~traded, "enter_tag"].fillna("") == "").all()

    rsi = result["rsi"]
    below_40, from_40_to_60 = traded & (rsi < 40), traded & (rsi >= 40) & (rsi < 60)
    assert below_40.any(), "the synthetic candles should reach both bands"
    assert from_40_to_60.any(), "the synthetic candles should reach both bands"
    assert (result.loc[below_40, "exit_tag"] == "rsi < 40").all()
    assert (result.loc[from_40_to_60, "exit_tag"] == "rsi < 60").all()
    assert (result.loc[below_40 | from_40_to_60, "exit_long"] == 1).all()
    assert not (result.loc[~(below_40 | from_40_to_60), "exit_long"] == 1).any()


def test_tags_describe_rules_and_are_bounded() -> None:
    _, code = compiled("nested_groups")
    assert signal_tags(code) == [
        "rsi crosses_above 20",  # written last-rule-first, so that the first rule's tag wins
        "rsi < 30 and (close > sma_high or volume > 500)",
        "(rsi > 70 or close < low) and volume > 0",
    ]
    long_rule = {"all": [cond("rsi", "<", 10 + i) for i in range(30)]}
    (tag,) = signal_tags(compile_strategy(parse_draft(draft_data("LongTag", [RSI], long_rule))))
    assert len(tag) == TAG_MAX_LENGTH
    assert tag.startswith("rsi < 10 and rsi < 11 and ")


def test_can_short_entries_and_exits_use_their_own_columns() -> None:
    draft, code = compiled("can_short")
    result = advised_frame(load(code, draft.name), candles(draft, draft.effective_startup_candles + 200))

    assert set(result.columns) >= {"enter_long", "enter_short", "exit_long", "exit_short", "enter_tag", "exit_tag"}
    shorts = result["enter_short"] == 1
    assert shorts.any()
    assert set(result.loc[shorts & (result["enter_long"] != 1), "enter_tag"]) <= {
        "rsi > 75",
        "close crosses_below sma_high",
    }
    assert (result.loc[result["exit_short"] == 1, "rsi"] < 40).all()
    assert (result.loc[result["exit_long"] == 1, "rsi"] > 60).all()


def test_number_on_the_left_of_a_crossing_is_mirrored() -> None:
    for case, function in (("op_number_crosses_above", "crossed_below"), ("op_number_crosses_below", "crossed_above")):
        draft, code = compiled(case)
        assert f"qtpylib.{function}(dataframe['rsi'], " in code
        result = advised_frame(load(code, draft.name), candles(draft, 400))
        level = draft.entry_conditions.left
        rsi, previous = result["rsi"], result["rsi"].shift(1)
        if function == "crossed_below":
            expected = (rsi < level) & (previous >= level)
        else:
            expected = (rsi > level) & (previous <= level)
        assert expected.any()
        pd.testing.assert_series_equal(result["enter_long"] == 1, expected, check_names=False)


# --- attributes ------------------------------------------------------------------------------------------


def test_startup_candles_are_the_effective_ones() -> None:
    for case in CASES:
        draft, code = compiled(case)
        assert class_attributes(code)["startup_candle_count"] == draft.effective_startup_candles, case
    draft, code = compiled("risk_settings")
    assert draft.derived_startup_candles < 500
    assert class_attributes(code)["startup_candle_count"] == 500  # an explicit larger count wins


def test_risk_attributes() -> None:
    _, code = compiled("risk_settings")
    attributes = class_attributes(code)

    assert list(attributes["minimal_roi"].items()) == [("0", 0.05), ("30", 0.02), ("60", 0.01), ("1440", -1.0)]
    assert attributes["trailing_stop"] is True
    assert attributes["trailing_stop_positive"] == 0.01
    assert attributes["trailing_stop_positive_offset"] == 0.02
    assert attributes["trailing_only_offset_is_reached"] is True
    assert attributes["timeframe"] == "15m"
    assert attributes["use_exit_signal"] is False
    assert attributes["gentrade_pairs"] == ["SOL/BTC", "ETH/BTC"]


def test_design_example_attributes() -> None:
    draft, code = compiled("design_example")
    attributes = class_attributes(code)
    assert attributes["minimal_roi"] == {"0": 0.10, "120": 0.04}
    assert attributes["use_exit_signal"] is True
    assert attributes["can_short"] is False
    assert ast.get_docstring(next(n for n in ast.parse(code).body if isinstance(n, ast.ClassDef))) == (
        draft.description
    )


# --- injection --------------------------------------------------------------------------------------------

HOSTILE_TEXT = [
    "'",
    '"',
    "'''",
    '"""',
    "end'''; import os; '''",
    'end"""\nimport os\n"""',
    "line\nbreak",
    "carriage\rreturn",
    "back\\slash\\",
    "\\'",
    "nul\x00byte",
    "line\u2028separator\u2029paragraph",
    "# comment",
    "__import__('os').system('id')",
    '"); import os; ("',
    "{0.__class__}",
    "\u202eright-to-left override",
    "caf\u00e9 \U0001f680",
    "\t\x0b\x0c",
]
LONE_SURROGATE = "lone \ud800 surrogate"  # a valid JSON escape, but not encodable: refused, see test_draft
BENIGN_TEXT = "A benign description."


def node_types(code: str) -> list[str]:
    return [type(node).__name__ for node in ast.walk(ast.parse(code))]


def string_constants(code: str) -> set[str]:
    return {n.value for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


@pytest.mark.parametrize("text", HOSTILE_TEXT)
def test_literal_round_trips_any_string(text: str) -> None:
    assert ast.literal_eval(literal(text)) == text
    assert ast.literal_eval(literal({text: [text, 1.5, None, True]})) == {text: [text, 1.5, None, True]}


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, {1, 2}, object()])
def test_literal_refuses_what_is_not_a_literal(value: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        literal(value)


@pytest.mark.parametrize("text", HOSTILE_TEXT)
def test_hostile_description_stays_a_string(text: str) -> None:
    benign = compile_strategy(parse_draft({**DRAFT, "description": BENIGN_TEXT}))
    draft = parse_draft({**DRAFT, "description": text})

    code = compile_strategy(draft)

    assert node_types(code) == node_types(benign)
    assert text in string_constants(code)
    assert BENIGN_TEXT not in string_constants(code)
    review(code, draft.name)
    assert load(code, draft.name).__doc__ == text


@pytest.mark.parametrize("text", [*HOSTILE_TEXT, LONE_SURROGATE])
@pytest.mark.parametrize("place", ["name", "pair", "indicator id", "operand", "timeframe", "roi key"])
def test_hostile_strings_in_code_bearing_fields_are_refused(text: str, place: str) -> None:
    data = {**DRAFT, "indicators": [dict(i) for i in DRAFT["indicators"]]}
    if place == "name":
        data["name"] = "Rsi" + text
    elif place == "pair":
        data["pairs"] = ["BTC/USDT" + text]
    elif place == "indicator id":
        data["indicators"][0]["id"] = "rsi" + text
    elif place == "operand":
        data["entry_conditions"] = cond("rsi" + text, "<", 30)
    elif place == "timeframe":
        data["timeframe"] = "1h" + text
    else:
        data["minimal_roi"] = {"0" + text: 0.1}
    with pytest.raises(DraftInvalid):
        parse_draft(data)


def test_tags_are_built_from_validated_operands_only() -> None:
    """Tags are the only condition text in the code; every piece of them passed the draft's patterns."""
    for case in CASES:
        draft, code = compiled(case)
        allowed = {i.id for i in draft.indicators} | {"open", "high", "low", "close", "volume"}
        for tag in signal_tags(code):
            for word in re.sub(r"[()*\[\]]|(?<=\w)[+-](?=\d)", " ", tag).split():
                assert (
                    word in {"and", "or", "<", "<=", ">", ">=", "crosses_above", "crosses_below"}
                    or word.split(".")[0] in allowed
                    or is_number(word)
                ), (case, tag, word)


def is_number(word: str) -> bool:
    try:
        return math.isfinite(float(word))
    except ValueError:
        return False
