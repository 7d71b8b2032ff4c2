"""The draft language beyond plain comparisons: scaled and looked-back operands, value ranges, higher timeframes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gentrade.strategies.catalogue import CATALOGUE
from gentrade.strategies.draft import MAX_STARTUP_CANDLES, DraftInvalid, StrategyDraft, parse_draft
from gentrade.strategies.draft_types import Series
from tests.cards import minimal

EMA = {"id": "ema50", "type": "ema", "params": {"period": 50}}
VOL = {"id": "vol_avg", "type": "volume_sma"}


def parsed_draft(entry: Any, indicators: list[dict[str, Any]] | None = None, **fields: Any) -> StrategyDraft:
    fields.setdefault("timeframe", "1h")
    return parse_draft(minimal(indicators=indicators if indicators is not None else [EMA, VOL], entry_conditions=entry,
                               **fields))  # fmt: skip


def errors(entry: Any, indicators: list[dict[str, Any]] | None = None, **fields: Any) -> dict[str, list[str]]:
    with pytest.raises(DraftInvalid) as caught:
        parsed_draft(entry, indicators, **fields)
    return caught.value.errors


# --- scaled and looked-back operands ------------------------------------------------------------------------


def test_a_series_operand_scales_offsets_and_looks_back() -> None:
    result = parsed_draft({"left": "volume", "op": ">", "right": {"ref": "vol_avg", "times": 3}})
    assert result.entry_conditions.right == Series(ref="vol_avg", times=3)


def test_defaults_of_a_series_operand_are_left_out_of_the_stored_draft() -> None:
    result = parsed_draft({"left": "close", "op": ">", "right": {"ref": "ema50", "times": 1.02, "plus": 0, "ago": 0}})
    assert result.model_dump()["entry_conditions"]["right"] == {"ref": "ema50", "times": 1.02}
    assert parse_draft(json.loads(result.model_dump_json())) == result


@pytest.mark.parametrize(
    ("right", "path", "words"),
    [
        ({"ref": "nope", "times": 2}, "entry_conditions.right.ref", "not a defined indicator id"),
        ({"ref": "ema50", "times": 0}, "entry_conditions.right.times", "must not be 0"),
        ({"ref": "ema50", "ago": -1}, "entry_conditions.right.ago", "greater than or equal to 0"),
        ({"ref": "ema50", "ago": 501}, "entry_conditions.right.ago", "less than or equal to 500"),
        ({"ref": "ema50", "times": float("nan")}, "entry_conditions.right.times", "finite number"),
        ({"ref": "ema50", "shift": 1}, "entry_conditions.right.shift", "Extra inputs are not permitted"),
        ({"times": 2}, "entry_conditions.right.ref", "Field required"),
    ],
)
def test_a_bad_series_operand_is_refused_with_its_path(right: dict[str, Any], path: str, words: str) -> None:
    found = errors({"left": "close", "op": ">", "right": right})
    assert path in found, found
    assert any(words in message for message in found[path]), found


# --- value ranges -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("indicator", "left", "level"),
    [
        ({"id": "rsi", "type": "rsi"}, "rsi", -80),
        ({"id": "rsi", "type": "rsi"}, "rsi", 101),
        ({"id": "wr", "type": "willr"}, "wr", 20),
        ({"id": "wr", "type": "willr"}, "wr", -120),
        ({"id": "st", "type": "supertrend"}, "st.direction", 2),
        ({"id": "atr", "type": "atr"}, "atr", -1),
        ({"id": "srsi", "type": "stochrsi"}, "srsi.k", 150),
    ],
)
def test_a_bounded_series_against_a_level_outside_its_range_is_refused(
    indicator: dict[str, Any], left: str, level: float
) -> None:
    found = errors({"left": left, "op": "<", "right": level}, [indicator])
    assert "always" in found["entry_conditions"][0], found
    assert "inside that range" in found["entry_conditions"][0], found


def test_the_range_follows_scaling_and_either_side() -> None:
    rsi = [{"id": "rsi", "type": "rsi"}]
    parsed_draft({"left": {"ref": "rsi", "times": 2}, "op": ">", "right": 150}, rsi)  # 0..200
    parsed_draft({"left": -80, "op": ">", "right": {"ref": "rsi", "times": -1}}, rsi)  # -100..0
    assert (
        "between 0 and 200"
        in errors({"left": 250, "op": "<", "right": {"ref": "rsi", "times": 2}}, rsi)["entry_conditions"][0]
    )
    assert "at least 0" in errors({"left": "close", "op": "<", "right": -5}, [])["entry_conditions"][0]


@pytest.mark.parametrize("kind", sorted(CATALOGUE))
def test_every_range_holds_its_own_ends(kind: str) -> None:
    spec = CATALOGUE[kind]
    for output, (low, high) in spec.bounds.items():
        ref = f"x.{output}" if output else "x"
        for level in (low, high):
            if level is not None:
                parsed_draft({"left": ref, "op": ">=", "right": level}, [{"id": "x", "type": kind}])


# --- Donchian breakouts ------------------------------------------------------------------------------------

DONCHIAN = [{"id": "dc", "type": "donchian"}]


@pytest.mark.parametrize(
    "entry",
    [
        {"left": "close", "op": ">", "right": "dc.upper"},
        {"left": "high", "op": "crosses_above", "right": "dc.upper"},
        {"left": "dc.upper", "op": "<", "right": "close"},
        {"left": "close", "op": "<", "right": "dc.lower"},
    ],
)
def test_a_breakout_of_the_band_of_its_own_candle_is_refused_with_the_fix(entry: dict[str, Any]) -> None:
    message = errors(entry, DONCHIAN)["entry_conditions"][0]
    assert "Donchian" in message, message
    assert '"ago": 1' in message, message


def test_a_breakout_of_the_previous_band_is_accepted() -> None:
    parsed_draft({"left": "close", "op": ">", "right": {"ref": "dc.upper", "ago": 1}}, DONCHIAN)
    parsed_draft({"left": "close", "op": ">=", "right": "dc.upper"}, DONCHIAN)  # can hold: the close at the high


# --- higher timeframes --------------------------------------------------------------------------------------

EMA_4H = {"id": "ema50", "type": "ema", "params": {"period": 50}, "timeframe": "4h"}


def test_an_indicator_on_a_higher_timeframe() -> None:
    result = parsed_draft({"left": "ema50", "op": ">", "right": {"ref": "ema50", "ago": 1}}, [EMA_4H])
    assert result.informative_timeframes == ["4h"]
    assert result.column_of(Series(ref="ema50", ago=1)) == "ema50_ago1_4h"
    assert result.columns_of(result.indicators[0], with_lookbacks=True) == ["ema50_4h", "ema50_ago1_4h"]
    # (EMA(50) needs 150 4h candles, one more for the look-back) x 4, plus one for crossings
    assert result.derived_startup_candles == (150 + 1) * 4 + 1


def test_the_strategys_own_timeframe_written_out_is_the_same_draft() -> None:
    own = {**EMA, "timeframe": "1h"}
    assert parsed_draft({"left": "close", "op": ">", "right": "ema50"}, [own]) == parsed_draft(
        {"left": "close", "op": ">", "right": "ema50"}, [EMA]
    )


def test_a_shorter_timeframe_is_refused() -> None:
    found = errors({"left": "close", "op": ">", "right": "ema50"}, [{**EMA, "timeframe": "15m"}])
    assert "shorter than the strategy's 1h" in found["indicators.0.timeframe"][0]


def test_at_most_two_higher_timeframes() -> None:
    indicators = [{**EMA, "id": "e4h", "timeframe": "4h"}, {"id": "r", "type": "rsi", "timeframe": "1d"}]
    entry = {"left": "close", "op": ">", "right": "e4h"}
    assert parsed_draft(entry, indicators, timeframe="15m").informative_timeframes == ["4h", "1d"]
    found = errors(entry, [*indicators, {"id": "m", "type": "rsi", "timeframe": "1h"}], timeframe="15m")
    assert "at most 2 higher timeframes" in found["indicators"][0]


def test_a_higher_timeframes_columns_may_not_clash_with_an_id() -> None:
    found = errors({"left": "close", "op": ">", "right": "ema50"}, [EMA_4H, {"id": "close_4h", "type": "rsi"}])
    assert "a 4h price column" in found["indicators.1.id"][0]


def test_more_history_than_freqtrade_loads_is_refused() -> None:
    ema_1d = {"id": "ema200", "type": "ema", "params": {"period": 200}, "timeframe": "1d"}
    found = errors({"left": "close", "op": ">", "right": "ema200"}, [ema_1d])
    assert f"more than Freqtrade loads ({MAX_STARTUP_CANDLES})" in found["indicators"][0]


def test_the_json_schema_documents_series_and_timeframes() -> None:
    text = json.dumps(StrategyDraft.model_json_schema())
    assert '"Series"' in text
    assert '"ago"' in text
    assert '"times"' in text
    assert "higher timeframe" in text
