"""StrategyDraft (DESIGN.md §6): the example validates, and every invalid draft names its field and the reason."""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable
from typing import Any

import pytest

from gentrade.samples import DRAFT
from gentrade.strategies.catalogue import CATALOGUE, INDICATOR_TYPES
from gentrade.strategies.draft import DraftInvalid, StrategyDraft, parse_draft
from gentrade.strategies.draft_types import MAX_CONDITIONS, MAX_DEPTH
from tests.cards import RSI_BELOW_30, minimal

DESIGN_EXAMPLE: dict[str, Any] = DRAFT


def design_example(**changes: Any) -> dict[str, Any]:
    """A fresh copy of the DESIGN.md §6 example, with top-level fields replaced."""
    return {**copy.deepcopy(DESIGN_EXAMPLE), **copy.deepcopy(changes)}


def nested(levels: int) -> dict[str, Any]:
    """``levels`` groups, alternating all/any, around one condition."""
    node: dict[str, Any] = dict(RSI_BELOW_30)
    for level in range(levels):
        node = {("all", "any")[level % 2]: [node]}
    return node


def errors_of(data: dict[str, Any]) -> dict[str, list[str]]:
    with pytest.raises(DraftInvalid) as caught:
        parse_draft(data)
    return caught.value.errors


# --- valid drafts -------------------------------------------------------------------------------------


def test_design_example_validates() -> None:
    draft = parse_draft(design_example())

    assert draft.name == "RsiDipBuyer"
    assert draft.pairs == ["BTC/USDT", "ETH/USDT"]
    assert draft.stake_currency == "USDT"
    assert [indicator.type for indicator in draft.indicators] == ["rsi", "ema", "macd"]
    assert draft.indicators[2].params.slow == 26
    assert draft.entry_conditions.all[0].right == 30
    assert isinstance(draft.entry_conditions.all[0].right, float)  # a number stays a number
    assert draft.entry_conditions.all[1].right == "trend"  # an id stays a string
    assert draft.model_dump(mode="json")["exit_conditions"]["any"][1]["op"] == "crosses_below"


def test_design_example_survives_a_json_round_trip() -> None:
    draft = parse_draft(design_example())
    assert parse_draft(json.loads(draft.model_dump_json())) == draft


def test_defaults() -> None:
    draft = parse_draft(minimal())

    assert draft.minimal_roi == {"0": 0.10}
    assert draft.can_short is False
    assert draft.description == ""
    assert draft.trailing_stop is False
    assert draft.exit_conditions is None
    assert draft.entry_short_conditions is None
    assert draft.exit_short_conditions is None
    assert draft.startup_candle_count is None
    assert draft.indicators[0].params.period == 14  # catalogue default


@pytest.mark.parametrize(
    ("indicators", "expected"),
    [
        pytest.param([], 1, id="no-indicators"),
        pytest.param([{"id": "fast", "type": "sma", "params": {"period": 10}}], 11, id="sma-period"),
        pytest.param([{"id": "slow", "type": "ema", "params": {"period": 50}}], 151, id="ema-converges-3x"),
        pytest.param(DESIGN_EXAMPLE["indicators"], 3 * 50 + 1, id="design-example-ema-longest"),
        pytest.param(
            [{"id": "fast", "type": "sma", "params": {"period": 200}}, {"id": "r", "type": "rsi"}], 201, id="max"
        ),
        pytest.param([{"id": "cloud", "type": "ichimoku"}], 52 + 26 + 1, id="ichimoku-displaced"),
        pytest.param([{"id": "volume_flow", "type": "obv"}], 2, id="obv"),
    ],
)
def test_derived_startup_candles_are_the_longest_lookback_plus_one(
    indicators: list[dict[str, Any]], expected: int
) -> None:
    draft = parse_draft(minimal(indicators=indicators, entry_conditions={"left": "close", "op": ">", "right": 1}))
    assert draft.derived_startup_candles == expected
    assert draft.effective_startup_candles == expected


@pytest.mark.parametrize(("explicit", "effective"), [(None, 43), (10, 43), (43, 43), (400, 400)])
def test_effective_startup_candles_never_below_the_derived_ones(explicit: int | None, effective: int) -> None:
    draft = parse_draft(minimal(startup_candle_count=explicit))  # RSI 14 needs 3 * 14 + 1
    assert draft.effective_startup_candles == effective


def test_operands_may_be_numbers_price_columns_ids_and_outputs() -> None:
    draft = parse_draft(
        design_example(
            entry_conditions={
                "any": [
                    {"left": 70, "op": ">=", "right": "rsi"},
                    {"left": "volume", "op": ">", "right": 0},
                    {"left": "macd.hist", "op": "crosses_above", "right": 0},
                    {"left": "open", "op": "<=", "right": "close"},
                ]
            }
        )
    )
    assert [c.left for c in draft.entry_conditions.any] == [70.0, "volume", "macd.hist", "open"]


@pytest.mark.parametrize("levels", range(1, MAX_DEPTH + 1))
def test_groups_may_nest_up_to_the_limit(levels: int) -> None:
    parse_draft(minimal(entry_conditions=nested(levels)))


def test_up_to_the_condition_limit_is_accepted() -> None:
    conditions = [RSI_BELOW_30] * (MAX_CONDITIONS - 1)  # plus the group: exactly the limit
    parse_draft(minimal(entry_conditions={"all": conditions}))


def test_can_short_with_short_conditions_validates() -> None:
    draft = parse_draft(
        minimal(
            can_short=True,
            entry_short_conditions={"left": "rsi", "op": ">", "right": 70},
            exit_short_conditions={"left": "rsi", "op": "<", "right": 50},
        )
    )
    assert [field for field, _ in draft.condition_groups()] == [
        "entry_conditions",
        "entry_short_conditions",
        "exit_short_conditions",
    ]


@pytest.mark.parametrize("kind", INDICATOR_TYPES)
def test_every_catalogue_type_validates_with_its_defaults(kind: str) -> None:
    indicators = [{"id": f"i_{kind}", "type": kind}]
    draft = parse_draft(minimal(indicators=indicators, entry_conditions={"left": "close", "op": ">", "right": 0}))
    assert draft.indicators[0].params == CATALOGUE[kind].params()


def test_json_schema_describes_every_indicator_type() -> None:
    schema = StrategyDraft.model_json_schema()
    text = json.dumps(schema)

    assert schema["title"] == "StrategyDraft"
    assert {"name", "timeframe", "pairs", "entry_conditions", "stoploss"} <= set(schema["required"])
    for kind in INDICATOR_TYPES:
        assert f'"const": "{kind}"' in text or f'"enum": ["{kind}"]' in text, kind
    for op in ("<", "<=", ">", ">=", "crosses_above", "crosses_below"):
        assert json.dumps(op) in text


# --- invalid drafts: each names the exact path and a reason ------------------------------------------


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation that sets ``value`` at a dotted path (list indexes as numbers)."""

    def mutate(draft: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = draft
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value

    return mutate


def _append(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(draft: dict[str, Any]) -> None:
        draft[path].append(value)

    return mutate


INVALID = [
    # indicators
    pytest.param(_set("indicators.0.type", "zigzag"), "indicators.0", "does not match", id="unknown-type"),
    pytest.param(
        _set("indicators.0.params", {"period": 14, "length": 3}),
        "indicators.0.params.length",
        "Extra inputs",
        id="unknown-param",
    ),
    pytest.param(
        _set("indicators.0.params.period", 1),
        "indicators.0.params.period",
        "greater than or equal to 2",
        id="period-too-small",
    ),
    pytest.param(
        _set("indicators.0.params.period", 501),
        "indicators.0.params.period",
        "less than or equal to 500",
        id="period-too-big",
    ),
    pytest.param(_set("indicators.0.params.period", 14.5), "indicators.0.params.period", "integer", id="period-float"),
    pytest.param(
        _set("indicators.2.params", {"fast": 26, "slow": 26, "signal": 9}),
        "indicators.2.params",
        "fast must be smaller than slow",
        id="macd-fast-equals-slow",
    ),
    pytest.param(
        _set("indicators.2.params", {"fast": 30, "slow": 26, "signal": 9}),
        "indicators.2.params",
        "fast must be smaller than slow",
        id="macd-fast-above-slow",
    ),
    pytest.param(_set("indicators.1.id", "rsi"), "indicators.1.id", "already", id="duplicate-id"),
    pytest.param(_set("indicators.1.id", "close"), "indicators.1.id", "price column", id="id-is-price-column"),
    pytest.param(_set("indicators.1.id", "date"), "indicators.1.id", "price column", id="id-is-date"),
    pytest.param(_set("indicators.1.id", "enter_fast"), "indicators.1.id", "enter_", id="id-enter-prefix"),
    pytest.param(_set("indicators.1.id", "exit_fast"), "indicators.1.id", "exit_", id="id-exit-prefix"),
    pytest.param(_set("indicators.1.id", "Trend"), "indicators.1.id", "pattern", id="id-upper-case"),
    pytest.param(_set("indicators.1.id", "tr-end"), "indicators.1.id", "pattern", id="id-dash"),
    pytest.param(
        _append("indicators", {"id": "macd_signal", "type": "sma"}),
        "indicators.3.id",
        "already a column of indicator 'macd'",
        id="id-clashes-with-macd-output-column",
    ),
    # operands
    pytest.param(
        _set("exit_conditions.any.1.left", "macd.foo"),
        "exit_conditions.any.1.left",
        "'foo' is not an output of macd",
        id="unknown-output",
    ),
    pytest.param(
        _set("exit_conditions.any.1.left", "macd"),
        "exit_conditions.any.1.left",
        "several outputs; use one of macd.macd, macd.signal, macd.hist",
        id="multi-output-without-output",
    ),
    pytest.param(
        _set("exit_conditions.any.1.left", "macd."),
        "exit_conditions.any.1.left",
        "several outputs",
        id="multi-output-empty-output",
    ),
    pytest.param(
        _set("exit_conditions.any.0.left", "rsi.value"),
        "exit_conditions.any.0.left",
        "not an output of rsi",
        id="single-output-with-output",
    ),
    pytest.param(
        _set("exit_conditions.any.0.left", "rsi."), "exit_conditions.any.0.left", "not an output", id="trailing-dot"
    ),
    pytest.param(
        _set("entry_conditions.all.1.right", "trnd"),
        "entry_conditions.all.1.right",
        "'trnd' is not a defined indicator id or price column",
        id="undefined-id",
    ),
    pytest.param(
        _set("entry_conditions.all.1.right", "30"),
        "entry_conditions.all.1.right",
        "not a defined indicator",
        id="number-as-string",
    ),
    pytest.param(
        _set("entry_conditions.all.0.left", 20),
        "entry_conditions.all.0",
        "not two numbers",
        id="number-vs-number",
    ),
    pytest.param(
        _set("entry_conditions.all.0.right", float("inf")),
        "entry_conditions.all.0.right",
        "finite",
        id="infinite-number",
    ),
    pytest.param(
        _set("entry_conditions.all.0.left", [1]), "entry_conditions.all.0.left", "valid number", id="operand-list"
    ),
    pytest.param(_set("entry_conditions.all.0.op", "=="), "entry_conditions.all.0.op", "'<', '<='", id="op-equals"),
    pytest.param(
        _set("entry_conditions.all.0.op", "crosses"), "entry_conditions.all.0.op", "crosses_above", id="op-unknown"
    ),
    pytest.param(
        _set("entry_conditions.all.0.extra", 1), "entry_conditions.all.0.extra", "Extra inputs", id="condition-extra"
    ),
    pytest.param(_set("entry_conditions.all", []), "entry_conditions.all", "at least 1", id="empty-group"),
    pytest.param(
        _set("entry_conditions", {"all": [RSI_BELOW_30], "any": [RSI_BELOW_30]}),
        "entry_conditions.any",
        "Extra inputs",
        id="group-with-all-and-any",
    ),
    pytest.param(
        _set("entry_conditions", nested(MAX_DEPTH + 1)),
        "entry_conditions.any.0.all.0.any.0.all.0.any.0",
        "deeper than 5",
        id="too-deep",
    ),
    pytest.param(
        _set("entry_conditions", {"all": [RSI_BELOW_30] * (MAX_CONDITIONS + 1)}),
        "entry_conditions.all",
        "at most 50 items",
        id="group-too-long",
    ),
    pytest.param(
        _set("exit_conditions", {"any": [RSI_BELOW_30] * 48}),  # with entry's group + 2: 52 in all
        "entry_conditions",
        "at most 50 conditions and groups in all",
        id="too-many-conditions-in-all",
    ),
    pytest.param(_set("entry_conditions", None), "entry_conditions", "", id="entry-conditions-null"),
    # pairs
    pytest.param(_set("pairs.1", "eth/usdt"), "pairs.1", "pattern", id="pair-lower-case"),
    pytest.param(_set("pairs.1", "ETHUSDT"), "pairs.1", "pattern", id="pair-no-slash"),
    pytest.param(_set("pairs.1", "BTC/USDT/X"), "pairs.1", "pattern", id="pair-two-slashes"),
    pytest.param(_set("pairs.1", ""), "pairs.1", "pattern", id="pair-empty"),
    pytest.param(_set("pairs.1", "ETH/USDT:USDT"), "pairs.1", "pattern", id="pair-futures-suffix"),
    pytest.param(_set("pairs.1", "ETH/BTC"), "pairs", "one quote currency, got BTC, USDT", id="mixed-quotes"),
    pytest.param(_set("pairs.1", "BTC/USDT"), "pairs", "unique", id="duplicate-pairs"),
    pytest.param(_set("pairs", []), "pairs", "at least 1", id="no-pairs"),
    pytest.param(_set("pairs", [f"C{i:02d}/USDT" for i in range(21)]), "pairs", "at most 20", id="too-many-pairs"),
    # timeframe and risk
    pytest.param(_set("timeframe", "2h"), "timeframe", "'1m', '5m'", id="timeframe-2h"),
    pytest.param(_set("timeframe", "1H"), "timeframe", "'1h'", id="timeframe-upper-case"),
    pytest.param(_set("stoploss", 0), "stoploss", "-0.001", id="stoploss-zero"),
    pytest.param(_set("stoploss", -1), "stoploss", "-0.99", id="stoploss-minus-one"),
    pytest.param(_set("stoploss", 0.05), "stoploss", "-0.001", id="stoploss-positive"),
    pytest.param(_set("stoploss", math.nan), "stoploss", "finite", id="stoploss-nan"),
    pytest.param(_set("minimal_roi", {"1h": 0.05}), "minimal_roi.1h.[key]", "pattern", id="roi-key-not-digits"),
    pytest.param(_set("minimal_roi", {"-5": 0.05}), "minimal_roi.-5.[key]", "pattern", id="roi-key-negative"),
    pytest.param(
        _set("minimal_roi", {"10": 0.05, "010": 0.02}), "minimal_roi.010", "same number of minutes", id="roi-dup"
    ),
    pytest.param(_set("minimal_roi", {"0": math.inf}), "minimal_roi.0", "finite", id="roi-infinite"),
    pytest.param(
        _set("minimal_roi", {"\u0661\u0662": 0.1}), "minimal_roi.\u0661\u0662.[key]", "pattern", id="roi-arabic"
    ),
    pytest.param(_set("minimal_roi", {"10\n": 0.1}), "minimal_roi.10\n.[key]", "pattern", id="roi-key-newline"),
    pytest.param(
        _set("startup_candle_count", -1), "startup_candle_count", "greater than or equal to 0", id="startup-negative"
    ),
    pytest.param(_set("trailing_stop_positive", 1.5), "trailing_stop_positive", "less than 1", id="trailing-big"),
    # names
    pytest.param(_set("name", "lower"), "name", "pattern", id="name-lower-case"),
    pytest.param(_set("name", "Ab"), "name", "pattern", id="name-too-short"),
    pytest.param(_set("name", "Bad Name"), "name", "pattern", id="name-space"),
    pytest.param(_set("name", 'A"; import os'), "name", "pattern", id="name-injection"),
    pytest.param(_set("name", "A" * 65), "name", "pattern", id="name-65-chars"),
    pytest.param(_set("name", "Rsi_Dip"), "name", "pattern", id="name-underscore"),
    pytest.param(_set("name", "RsiDip\n"), "name", "pattern", id="name-trailing-newline"),
    pytest.param(_set("indicators.0.id", "rsi\n"), "indicators.0.id", "pattern", id="id-trailing-newline"),
    pytest.param(_set("pairs.0", "BTC/USDT\n"), "pairs.0", "pattern", id="pair-trailing-newline"),
    pytest.param(_set("name", "Ünicode"), "name", "pattern", id="name-non-ascii"),
    pytest.param(_set("name", "None"), "name", "reserved", id="name-None"),
    pytest.param(_set("name", "IStrategy"), "name", "reserved", id="name-IStrategy"),
    pytest.param(_set("name", "DataFrame"), "name", "reserved", id="name-DataFrame"),
    # shorts
    pytest.param(_set("can_short", True), "entry_short_conditions", "required when can_short", id="short-no-entries"),
    pytest.param(
        _set("entry_short_conditions", RSI_BELOW_30),
        "entry_short_conditions",
        "set can_short to true",
        id="short-entries-without-can-short",
    ),
    pytest.param(
        _set("exit_short_conditions", RSI_BELOW_30),
        "exit_short_conditions",
        "set can_short to true",
        id="short-exits-without-can-short",
    ),
    # unknown fields
    pytest.param(_set("leverage", 10), "leverage", "Extra inputs", id="top-level-extra"),
    pytest.param(_set("description", "x" * 2001), "description", "at most 2000", id="description-too-long"),
]


@pytest.mark.parametrize(("mutate", "path", "reason"), INVALID)
def test_invalid_draft_names_the_path_and_the_reason(
    mutate: Callable[[dict[str, Any]], None], path: str, reason: str
) -> None:
    data = design_example()
    mutate(data)

    errors = errors_of(data)

    assert path in errors, errors
    assert any(reason in message for message in errors[path]), errors[path]


def test_the_depth_error_points_at_the_group_beyond_the_limit() -> None:
    errors = errors_of(minimal(entry_conditions=nested(MAX_DEPTH + 1)))
    (path,) = errors
    assert path == "entry_conditions" + ".any.0.all.0" * 2 + ".any.0"  # the sixth group
    assert errors[path] == [f"groups nest deeper than {MAX_DEPTH} levels"]


def test_absurd_nesting_is_an_error_not_a_crash() -> None:
    data = minimal()
    data["entry_conditions"] = nested(2000)  # not deep-copied: copy.deepcopy would hit the recursion limit
    assert errors_of(data)


def test_draft_invalid_message_lists_every_path() -> None:
    errors = errors_of(design_example(timeframe="2h", stoploss=1, pairs=["btc"]))

    assert set(errors) == {"timeframe", "stoploss", "pairs.0"}


@pytest.mark.parametrize("data", [None, [], "RsiDipBuyer", 42])
def test_non_objects_are_refused(data: Any) -> None:
    with pytest.raises(DraftInvalid) as caught:
        parse_draft(data)
    assert caught.value.errors
    assert str(caught.value)


@pytest.mark.parametrize("missing", ["name", "timeframe", "pairs", "entry_conditions", "stoploss"])
def test_required_fields(missing: str) -> None:
    data = design_example()
    del data[missing]
    assert errors_of(data) == {missing: ["Field required"]}


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(_set("name", "Rsi\ud800"), id="name"),
        pytest.param(_set("description", "\ud800"), id="description"),
        pytest.param(_set("pairs.0", "BTC/\ud800"), id="pair"),
        pytest.param(_set("indicators.0.id", "\udfff"), id="indicator-id"),
        pytest.param(_set("indicators.0.type", "\ud800"), id="indicator-type"),
        pytest.param(_set("entry_conditions.all.0.left", "rsi\ud800"), id="operand"),
        pytest.param(_set("exit_conditions.any.1.left", "macd.\ud800"), id="operand-output"),
        pytest.param(_set("minimal_roi", {"\ud800": 0.1}), id="roi-key"),
        pytest.param(_set("\ud800", 1), id="extra-field"),
    ],
)
def test_lone_surrogates_are_refused_not_a_crash(mutate: Callable[[dict[str, Any]], None]) -> None:
    """``"\\ud800"`` is a valid JSON escape; pydantic cannot encode it, so it must not reach an error message raw."""
    data = design_example()
    mutate(data)
    errors = errors_of(data)
    json.dumps(errors, ensure_ascii=False).encode()  # the errors themselves are encodable
