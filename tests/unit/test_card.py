"""The draft card: rendering a draft in trader words, spotting edits, and reading edits back into the draft.

Pure unit tests: the offline model reads edits with the card grammar; a scripted model stands in for a
hosted one where the checks of a model's reading are under test.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatResult
from langchain_core.runnables import Runnable, RunnableLambda
from pydantic import Field

from gentrade.agents.card_edits import CardUnreadable, read_card_edits
from gentrade.agents.context import DRAFT_HEADING, card_edits_text, draft_message
from gentrade.agents.offline import (
    OfflineChatModel,
    as_messages,
    draft_for,
    draft_from_text,
)
from gentrade.samples import DRAFT
from gentrade.strategies.card import (
    CARD_FIELDS,
    NO_EXIT_TEXT,
    NO_ROI_TEXT,
    edited_fields,
    render_card,
    summary,
)
from gentrade.strategies.card_reading import read_card
from gentrade.strategies.card_rules import read_signals
from gentrade.strategies.card_text import Unusable, read_roi, read_stoploss, read_timeframe
from gentrade.strategies.catalogue import CATALOGUE
from gentrade.strategies.draft import StrategyDraft
from gentrade.strategies.short_side import NoMirror, mirror_for_short
from tests.cards import canonical, make, rule


class NoModel(BaseChatModel):
    """A model that must not be asked."""

    @property
    def _llm_type(self) -> str:
        return "no-model"

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> ChatResult:
        raise AssertionError("the model was called")

    def with_structured_output(self, schema: Any, **kwargs: Any) -> Runnable[Any, Any]:
        raise AssertionError("the model was called")


class ScriptedModel(NoModel):
    """Answers structured output with the drafts given, in turn (the last one repeats); records what it saw."""

    answers: list[Any]
    seen: list[list[BaseMessage]] = Field(default_factory=list)

    def with_structured_output(self, schema: Any, **kwargs: Any) -> Runnable[Any, Any]:
        def answer(value: Any) -> StrategyDraft:
            self.seen.append(as_messages(value))
            return self.answers[min(len(self.seen), len(self.answers)) - 1]

        return RunnableLambda(answer)


# --- rendering ----------------------------------------------------------------------------------------------


def test_the_card_of_the_design_example_reads_in_plain_words() -> None:
    assert render_card(make()) == {
        "name": "RsiDipBuyer",
        "description": "Buy RSI dips in an uptrend, sell when overbought.",
        "indicators": "RSI(14), EMA(50), MACD(12, 26, 9)",
        "entry_signals": "RSI(14) is below 30 and the close is above EMA(50)",
        "exit_signals": "RSI(14) is above 70 or the MACD line crosses below the MACD signal line",
        "minimal_roi": "10% at once, 4% after 2 h",
        "stoploss": "-5%",
        "timeframe": "1h",
        "can_short": False,
        "pairs": "BTC/USDT, ETH/USDT",
    }


def test_every_card_field_is_a_non_empty_string_and_can_short_a_bool() -> None:
    bare = make(
        description="", exit_conditions=None, minimal_roi={}, indicators=[], entry_conditions=rule("close", ">", "open")
    )
    for draft in (make(), bare):
        card = render_card(draft)
        assert set(CARD_FIELDS) <= set(card)
        assert all(isinstance(card[name], str) and card[name].strip() for name in CARD_FIELDS if name != "can_short")
        assert isinstance(card["can_short"], bool)


LABELS_OF_DEFAULTS = {
    "rsi": "RSI(14)",
    "sma": "SMA(20)",
    "ema": "EMA(20)",
    "wma": "WMA(20)",
    "macd": "MACD(12, 26, 9)",
    "bbands": "Bollinger Bands(20, 2)",
    "atr": "ATR(14)",
    "adx": "ADX(14)",
    "stoch": "Stochastic(14, 3, 3)",
    "cci": "CCI(20)",
    "mfi": "MFI(14)",
    "obv": "OBV",
    "vwap": "VWAP(20)",
    "ichimoku": "Ichimoku(9, 26, 52, 26)",
    "supertrend": "Supertrend(10, 3)",
    "sar": "Parabolic SAR(0.02, 0.2)",
    "willr": "Williams %R(14)",
    "donchian": "Donchian(20)",
    "keltner": "Keltner(20, 2)",
    "roc": "ROC(10)",
    "mom": "Momentum(10)",
    "volume_sma": "Volume SMA(20)",
    "stochrsi": "Stoch RSI(14, 5, 3)",
    "cmo": "CMO(14)",
    "aroon": "Aroon(14)",
    "dmi": "DMI(14)",
    "dema": "DEMA(20)",
    "tema": "TEMA(20)",
    "hma": "HMA(20)",
    "natr": "NATR(14)",
}


def level_inside(low: float | None, high: float | None) -> float:
    """A number a series of that range can be compared with (RSI: 50, Williams %R: -50)."""
    if low is not None and high is not None:
        return (low + high) / 2
    return low + 1 if low is not None else high - 1 if high is not None else 1


def test_every_catalogue_indicator_has_a_label() -> None:
    assert set(LABELS_OF_DEFAULTS) == set(CATALOGUE)


@pytest.mark.parametrize("kind", sorted(CATALOGUE))
def test_every_catalogue_indicator_is_shown_with_its_parameters(kind: str) -> None:
    spec = CATALOGUE[kind]
    ident = f"x{kind}"
    output = spec.outputs[0] if spec.outputs else ""
    left = f"{ident}.{output}" if output else ident
    draft = make(
        indicators=[{"id": ident, "type": kind, "params": {}}],
        entry_conditions=rule(left, ">", level_inside(*spec.range_of(output))),
        exit_conditions=None,
    )
    assert render_card(draft)["indicators"] == LABELS_OF_DEFAULTS[kind]


def test_parameters_other_than_numbers_show_when_not_the_default() -> None:
    indicators = [{"id": "e", "type": "ema", "params": {"period": 50, "source": "high"}}, DRAFT["indicators"][0]]
    draft = make(indicators=indicators, entry_conditions=rule("close", ">", "e"), exit_conditions=None)
    card = render_card(draft)
    assert card["indicators"] == "EMA(50, high), RSI(14)"
    assert card["entry_signals"] == "the close is above EMA(50, high)"


@pytest.mark.parametrize(
    ("op", "words"),
    [
        ("<", "RSI(14) is below 30"),
        ("<=", "RSI(14) is at or below 30"),
        (">", "RSI(14) is above 30"),
        (">=", "RSI(14) is at or above 30"),
        ("crosses_above", "RSI(14) crosses above 30"),
        ("crosses_below", "RSI(14) crosses below 30"),
    ],
)
def test_each_operator_reads_as_words(op: str, words: str) -> None:
    assert render_card(make(entry_conditions=rule("rsi", op, 30)))["entry_signals"] == words


def test_nested_groups_are_bracketed() -> None:
    entry = {
        "all": [
            {"any": [rule("rsi", "<", 30), rule("macd.macd", "crosses_above", "macd.signal")]},
            rule("close", ">", "trend"),
        ]
    }
    assert render_card(make(entry_conditions=entry))["entry_signals"] == (
        "(RSI(14) is below 30 or the MACD line crosses above the MACD signal line) and the close is above EMA(50)"
    )


def test_outputs_of_two_indicators_of_one_type_name_their_parameters() -> None:
    indicators = [
        *DRAFT["indicators"],
        {"id": "macd2", "type": "macd", "params": {"fast": 8, "slow": 21, "signal": 5}},
    ]
    entry = {"all": [rule("macd.macd", ">", "macd2.signal")]}
    card = render_card(make(indicators=indicators, entry_conditions=entry))
    assert card["entry_signals"] == "the MACD(12, 26, 9) line is above the MACD(8, 21, 5) signal line"


@pytest.mark.parametrize(
    ("roi", "words"),
    [
        ({"0": 0.10}, "10% at once"),
        ({"0": 0.10, "120": 0.04}, "10% at once, 4% after 2 h"),
        ({"1440": 0.01, "0": 0.05, "30": 0.02}, "5% at once, 2% after 30 min, 1% after 1 d"),
        ({"90": 0.015}, "1.5% after 90 min"),
        ({}, NO_ROI_TEXT),
    ],
)
def test_roi_steps_read_with_whole_hours_and_days(roi: dict[str, float], words: str) -> None:
    assert render_card(make(minimal_roi=roi))["minimal_roi"] == words


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"stoploss": -0.05}, "-5%"),
        ({"stoploss": -0.035}, "-3.5%"),
        ({"stoploss": -0.1, "trailing_stop": True}, "-10%, trailing"),
        (
            {
                "stoploss": -0.1,
                "trailing_stop": True,
                "trailing_stop_positive": 0.02,
                "trailing_stop_positive_offset": 0.03,
            },
            "-10%, trailing, 2% behind the peak once 3% in profit",
        ),
        (
            {
                "stoploss": -0.1,
                "trailing_stop": True,
                "trailing_stop_positive": 0.02,
                "trailing_stop_positive_offset": 0.03,
                "trailing_only_offset_is_reached": True,
            },
            "-10%, trailing, 2% behind the peak once 3% in profit, fixed until then",
        ),
    ],
)
def test_stop_loss_reads_as_a_signed_percentage_with_any_trailing_stop(settings: dict[str, Any], words: str) -> None:
    assert render_card(make(**settings))["stoploss"] == words


def test_a_draft_without_exit_rules_says_how_it_exits() -> None:
    assert render_card(make(exit_conditions=None))["exit_signals"] == NO_EXIT_TEXT


def test_an_empty_description_is_replaced_by_a_summary_of_the_rules() -> None:
    card = render_card(make(description=""))
    assert card["description"] == summary(make().model_dump())
    assert card["description"].startswith("Buys when RSI(14) is below 30 and the close is above EMA(50); sells when")


def test_a_draft_that_trades_short_shows_both_sides() -> None:
    card = render_card(
        make(
            can_short=True,
            entry_short_conditions=rule("rsi", ">", 70),
            exit_short_conditions=None,
        )
    )
    assert (
        card["entry_signals"] == "Long: RSI(14) is below 30 and the close is above EMA(50). Short: RSI(14) is above 70"
    )
    assert card["exit_signals"].endswith(". Short: none")
    assert card["can_short"] is True


# --- edited fields -----------------------------------------------------------------------------------------


def test_an_unedited_card_has_no_edits() -> None:
    draft = make()
    assert edited_fields(draft, render_card(draft)) == {}


def test_whitespace_and_case_are_not_edits_except_in_the_name_and_description() -> None:
    draft = make()
    card = render_card(draft)
    same = {**card, "entry_signals": "  rsi(14)  is below 30 AND the close is above ema(50) ", "can_short": "false"}
    assert edited_fields(draft, same) == {}
    assert edited_fields(draft, {**card, "name": "RSIDipBuyer"}) == {"name": "RSIDipBuyer"}


def test_edits_are_the_fields_that_differ_and_absent_or_unknown_keys_are_not() -> None:
    draft = make()
    card = {"stoploss": "-8%", "can_short": True, "timeframe": "1h", "tool_call_id": "x", "pairs": "BTC/USDT"}
    assert edited_fields(draft, card) == {"stoploss": "-8%", "can_short": True, "pairs": "BTC/USDT"}


# --- the card grammar ---------------------------------------------------------------------------------------


def every_output_draft() -> StrategyDraft:
    """A draft with every catalogue indicator, every output, every operator and nested groups."""
    indicators = [{"id": f"x{kind}", "type": kind, "params": {}} for kind in list(CATALOGUE)[:14]]
    entry = {
        "all": [
            {"any": [rule("close", ">", "xbbands.upper"), rule("close", "<=", "xbbands.middle")]},
            rule("close", ">=", "xbbands.lower"),
            rule("xstoch.k", "crosses_above", "xstoch.d"),
            {"any": [rule("xmacd.macd", "crosses_below", "xmacd.signal"), rule("xmacd.hist", ">", 0)]},
            rule("xichimoku.tenkan", ">", "xichimoku.kijun"),
            rule("close", ">", "xichimoku.span_a"),
            rule("close", ">", "xichimoku.span_b"),
            rule("xrsi", "<", 30),
            rule("xema", ">", "xsma"),
            rule("xwma", ">", "xvwap"),
            rule("xadx", ">", 25),
            rule("xatr", ">", 1.5),
            rule("xcci", "<", -100),
            rule("xmfi", "<", 20),
            rule("xobv", ">", 0),
            rule("volume", ">", 1000000),
            rule("high", ">", "low"),
            rule(2.5, "<", "open"),
        ]
    }
    return make(indicators=indicators, entry_conditions=entry, exit_conditions=None)


def every_new_output_draft() -> StrategyDraft:
    """The rest of the catalogue (a draft holds at most 20 indicators), every output of it, Series operands
    (scaled, offset, looked back on, a number on the left) and indicators on a higher timeframe."""
    indicators = [{"id": f"x{kind}", "type": kind, "params": {}} for kind in list(CATALOGUE)[14:]]
    indicators += [
        {"id": "trend4h", "type": "ema", "params": {"period": 50}, "timeframe": "4h"},
        {"id": "dc4h", "type": "donchian", "params": {"period": 55}, "timeframe": "4h"},
    ]
    entry = {
        "all": [
            rule("xsupertrend.direction", "crosses_above", 0),
            rule("close", ">", "xsupertrend.line"),
            rule("close", ">", "xsar"),
            rule("xwillr", "<", -80),
            rule("close", ">", {"ref": "xdonchian.upper", "ago": 1}),
            {"any": [rule("close", ">=", "xdonchian.middle"), rule("low", ">", "xdonchian.lower")]},
            {
                "any": [
                    rule("close", "<", "xkeltner.lower"),
                    rule("close", ">", "xkeltner.upper"),
                    rule("close", ">", "xkeltner.middle"),
                ]
            },
            rule("xroc", ">", 0),
            rule("xmom", "crosses_above", 0),
            rule("volume", ">", {"ref": "xvolume_sma", "times": 3}),
            rule("xstochrsi.k", "crosses_above", "xstochrsi.d"),
            rule("xcmo", ">", 0),
            rule("xaroon.up", ">", "xaroon.down"),
            rule("xdmi.plus", ">", {"ref": "xdmi.minus", "times": 1.2, "plus": -0.5}),
            rule("xdema", ">", "xtema"),
            rule("close", ">", {"ref": "xhma", "plus": 100}),
            rule("xnatr", "<", 5),
            rule("trend4h", ">", {"ref": "trend4h", "ago": 1}),
            rule("close", ">", {"ref": "dc4h.upper", "ago": 2, "times": 0.98}),
            rule(2.5, "<", {"ref": "close", "ago": 3, "plus": -1}),
            rule({"ref": "close", "times": -1}, "<=", "open"),
        ]
    }
    return make(indicators=indicators, entry_conditions=entry, exit_conditions=None)


READ_BACK = {
    "design example": make,
    "every indicator, output and operator": every_output_draft,
    "the rest of the catalogue, Series operands and a higher timeframe": every_new_output_draft,
    "no exit, no ROI, custom source": lambda: make(
        exit_conditions=None,
        minimal_roi={},
        indicators=[{"id": "e", "type": "ema", "params": {"period": 21, "source": "open"}}],
        entry_conditions=rule("close", "crosses_above", "e"),
    ),
    "trades short": lambda: make(
        can_short=True,
        entry_short_conditions={"all": [rule("rsi", ">", 75), rule("close", "<", "trend")]},
        exit_short_conditions={"any": [rule("rsi", "<", 25)]},
    ),
    "trailing stop and steps": lambda: make(
        stoploss=-0.1,
        trailing_stop=True,
        trailing_stop_positive=0.02,
        trailing_stop_positive_offset=0.03,
        trailing_only_offset_is_reached=True,
        minimal_roi={"0": 0.2, "45": 0.05, "240": 0.02, "2880": -0.01},
    ),
    "two of a kind": lambda: make(
        indicators=[
            *DRAFT["indicators"],
            {"id": "macd2", "type": "macd", "params": {"fast": 8, "slow": 21, "signal": 5}},
            {"id": "bb", "type": "bbands", "params": {"period": 20, "std": 2}},
            {"id": "bb2", "type": "bbands", "params": {"period": 50, "std": 2.5}},
        ],
        entry_conditions={"all": [rule("macd.macd", ">", "macd2.signal"), rule("close", "<", "bb.lower")]},
        exit_conditions={"any": [rule("close", ">", "bb2.upper")]},
    ),
    "rules on prices only": lambda: make(
        indicators=[], entry_conditions=rule("close", "crosses_above", "open"), exit_conditions=None
    ),
    "offline draft": lambda: draft_from_text(
        "buy ETH when the 50 EMA crosses above the 200 EMA and RSI is below 40, sell when MACD crosses below its "
        "signal, 4h chart, 3% trailing stop, take profit at 8%",
        None,
    )[0],
}


@pytest.mark.parametrize("name", sorted(READ_BACK))
def test_every_rendered_card_reads_back_as_the_same_draft(name: str) -> None:
    draft = READ_BACK[name]()
    reading = read_card(draft, render_card(draft))  # every field given, as if each were edited
    assert (reading.errors, reading.unread) == ({}, {})
    assert canonical(reading.draft) == canonical(draft)


@pytest.mark.parametrize(
    ("text", "value"),
    [("4h", "4h"), ("4 hours", "4h"), ("4 Hour", "4h"), ("15 min", "15m"), ("1 day", "1d"), ("daily", "1d")],
)
def test_timeframes_read_in_common_forms(text: str, value: str) -> None:
    assert read_timeframe(text) == value


@pytest.mark.parametrize("text", ["-8%", "8%", "8 percent", "-0.08", "8", "stop loss of 8%", "-8 %"])
def test_stop_losses_read_in_common_forms(text: str) -> None:
    assert read_stoploss(text)["stoploss"] == -0.08


def test_roi_steps_read_in_minutes_hours_and_days() -> None:
    assert read_roi("10% at once, 5% after 60 minutes, 1% after 3 h") == {"0": 0.1, "60": 0.05, "180": 0.01}
    assert read_roi("4% after 1 day and 2% after 2 days") == {"1440": 0.04, "2880": 0.02}
    assert read_roi("take profit at 12%") == {"0": 0.12}
    assert read_roi("none") == {}


def test_brackets_and_field_length_are_bounded() -> None:
    with pytest.raises(Unusable, match="deeper"):
        read_signals("(" * 6 + "RSI(14) is below 30" + ")" * 6)
    with pytest.raises(Unusable, match="characters"):
        read_signals("RSI(14) is below 30 and " * 500)


MIRRORS = [
    (rule("rsi", "<", 30), rule("rsi", ">", 70)),
    (rule("close", ">", "trend"), rule("close", "<", "trend")),
    (rule("macd.macd", "crosses_above", "macd.signal"), rule("macd.macd", "crosses_below", "macd.signal")),
    (rule("close", "<=", "bb.lower"), rule("close", ">=", "bb.upper")),
    (rule("cci", "<", -100), rule("cci", ">", 100)),
    (rule("adx", ">", 25), rule("adx", ">", 25)),
    (rule("volume", ">", 1000), rule("volume", ">", 1000)),
]
MIRROR_INDICATORS = {
    "rsi": {"type": "rsi"},
    "trend": {"type": "ema"},
    "macd": {"type": "macd"},
    "bb": {"type": "bbands"},
    "cci": {"type": "cci"},
    "adx": {"type": "adx"},
}


@pytest.mark.parametrize(("long", "short"), MIRRORS, ids=[json.dumps(long) for long, _ in MIRRORS])
def test_the_short_side_mirrors_direction_and_keeps_strength_and_volume(long: dict[str, Any], short: Any) -> None:
    assert mirror_for_short({"all": [long]}, MIRROR_INDICATORS) == {"all": [short]}


def test_a_price_level_has_no_short_mirror() -> None:
    with pytest.raises(NoMirror):
        mirror_for_short(rule("close", ">", 100), MIRROR_INDICATORS)


# --- reading edits back (offline model) -------------------------------------------------------------------


def test_the_offline_model_reads_the_card_edits_block() -> None:
    edits = card_edits_text({"stoploss": "3%", "timeframe": "nope"})
    messages = [draft_message(make().model_dump(mode="json")), f"edited\n\n{edits}"]
    drafted, notes = draft_for(messages)
    assert (drafted.stoploss, drafted.timeframe) == (-0.03, "1h")
    assert [note.split(":")[0] for note in notes] == ["Could not read timeframe"]


OFFLINE_BASE = "buy BTC when RSI(14) drops under 30 and price above EMA 50, sell above 70, 5% stop loss, 1h"
REVISIONS = [
    ("threshold", "RSI 25 instead of 30"),
    ("timeframe", "use the 4h chart"),
    ("stop", "make the stop 3%"),
    ("roi", "take profit at 5%"),
    ("trend filter", "add EMA 200 as a trend filter"),
    ("remove condition", "remove the trend filter"),
    ("remove exit", "drop the RSI exit"),
    ("exit level", "sell when RSI is above 75"),
    ("rename", "call it RsiTrendRider"),
    ("pairs", "add SOL"),
    ("indicator parameter", "use EMA 100 instead of 50"),
    ("trailing", "add a trailing stop"),
]
BASES = {"design example": make, "offline draft": lambda: draft_from_text(OFFLINE_BASE, None)[0]}


@pytest.mark.parametrize("base", sorted(BASES))
@pytest.mark.parametrize(("what", "feedback"), REVISIONS, ids=[what for what, _ in REVISIONS])
def test_an_edited_card_reads_back_as_the_revised_draft(base: str, what: str, feedback: str) -> None:
    draft = BASES[base]()
    revised, _ = draft_from_text(feedback, draft)
    edits = edited_fields(draft, render_card(revised))
    assert edits, f"'{feedback}' changes nothing on the {base}"
    assert canonical(read_card_edits(draft, edits, OfflineChatModel())) == canonical(revised)


HAND_EDITS = [
    (
        {"entry_signals": "RSI(14) under 25 and close above EMA 50"},
        {"entry_conditions": {"all": [rule("rsi", "<", 25.0), rule("close", ">", "trend")]}},
    ),
    (
        {
            "indicators": "RSI(14), EMA(50), MACD(12, 26, 9), EMA(200)",
            "entry_signals": "RSI(14) is below 30, the close is above EMA(50) and the close is above EMA(200)",
        },
        {
            "indicators": [*DRAFT["indicators"], {"id": "ema200", "type": "ema", "params": {"period": 200}}],
            "entry_conditions": {
                "all": [rule("rsi", "<", 30), rule("close", ">", "trend"), rule("close", ">", "ema200")]
            },
        },
    ),
    (
        {"exit_signals": "RSI(14) is above 70", "indicators": "RSI(14), EMA(50)"},
        {"exit_conditions": {"any": [rule("rsi", ">", 70)]}, "indicators": DRAFT["indicators"][:2]},
    ),
    (
        {"indicators": "RSI(7), EMA(50), MACD(12, 26, 9)"},  # the rules that use the RSI follow
        {"indicators": [{"id": "rsi", "type": "rsi", "params": {"period": 7}}, *DRAFT["indicators"][1:]]},
    ),
    (
        {"minimal_roi": "10% at once, 5% after 60 minutes, 1% after 3 h"},
        {"minimal_roi": {"0": 0.1, "60": 0.05, "180": 0.01}},
    ),
    ({"timeframe": "4 hours", "stoploss": "8 percent"}, {"timeframe": "4h", "stoploss": -0.08}),
    ({"stoploss": "-5%, trailing"}, {"trailing_stop": True}),
    ({"exit_signals": "None"}, {"exit_conditions": None, "indicators": DRAFT["indicators"][:2]}),
    ({"name": "RsiDeepDip", "description": "Deeper dips."}, {"name": "RsiDeepDip", "description": "Deeper dips."}),
    ({"pairs": "BTC/USDT, SOL/USDT"}, {"pairs": ["BTC/USDT", "SOL/USDT"]}),
    (
        {"can_short": True},
        {
            "can_short": True,
            "entry_short_conditions": {"all": [rule("rsi", ">", 70), rule("close", "<", "trend")]},
            "exit_short_conditions": {"any": [rule("rsi", "<", 30), rule("macd.macd", "crosses_above", "macd.signal")]},
        },
    ),
]


@pytest.mark.parametrize(("edits", "changes"), HAND_EDITS, ids=[", ".join(edits) for edits, _ in HAND_EDITS])
def test_a_trader_edit_changes_exactly_what_it_says(edits: dict[str, Any], changes: dict[str, Any]) -> None:
    result = read_card_edits(make(), {**render_card(make()), **edits}, OfflineChatModel())
    assert canonical(result) == canonical(make(**changes))


def test_turning_short_off_drops_the_short_rules() -> None:
    short = make(can_short=True, entry_short_conditions=rule("rsi", ">", 70))
    result = read_card_edits(short, {"can_short": False}, OfflineChatModel())
    assert (result.can_short, result.entry_short_conditions) == (False, None)


def test_a_written_short_side_is_used_instead_of_the_mirror() -> None:
    edits = {"can_short": True, "entry_signals": "Long: RSI(14) is below 30. Short: RSI(14) is above 80"}
    result = read_card_edits(make(), edits, OfflineChatModel())
    assert result.model_dump()["entry_short_conditions"] == {"all": [rule("rsi", ">", 80.0)]}


def test_an_unedited_card_gives_the_same_draft_without_asking_a_model() -> None:
    draft = make()
    assert read_card_edits(draft, render_card(draft), NoModel()) is draft


def test_name_and_description_edits_need_no_model() -> None:
    result = read_card_edits(make(), {"name": "RsiDeepDip", "description": "  Deeper dips.  "}, NoModel())
    assert (result.name, result.description) == ("RsiDeepDip", "Deeper dips.")


def test_a_generated_description_follows_the_edited_rules() -> None:
    draft = make(description=summary(make().model_dump()))
    result = read_card_edits(draft, {"entry_signals": "RSI(14) is below 25"}, OfflineChatModel())
    assert result.description.startswith("Buys when RSI(14) is below 25; sells when")


UNREADABLE = [
    ({"stoploss": "banana"}, "stoploss"),
    ({"stoploss": "-150%"}, "stoploss"),
    ({"entry_signals": "when the moon is full"}, "entry_signals"),
    ({"entry_signals": "RSI(14) is below 30 and the close is above EMA(50) or RSI(14) is below 20"}, "entry_signals"),
    ({"entry_signals": "RSI(1) is below 30"}, "entry_signals"),
    ({"exit_signals": "the MACD is above 0"}, "exit_signals"),
    ({"timeframe": "2h"}, "timeframe"),
    ({"timeframe": "soon"}, "timeframe"),
    ({"minimal_roi": "lots"}, "minimal_roi"),
    ({"name": "my strategy"}, "name"),
    ({"indicators": "RSI(14), MACD(12, 26, 9)"}, "indicators"),  # EMA(50) is still used by the entry
    ({"indicators": "RSI(14), EMA(50), MACD(26, 12, 9)"}, "indicators"),
    (
        {"indicators": "RSI(14), EMA(50)", "exit_signals": "RSI(14) is above 70 or the close is below EMA(20)"},
        "exit_signals",
    ),
    ({"can_short": "maybe"}, "can_short"),
    ({"pairs": "bitcoin"}, "pairs"),
    ({"pairs": "BTC/USDT, ETH/EUR"}, "pairs"),
    ({"entry_signals": "None"}, "entry_signals"),
]


@pytest.mark.parametrize(("edits", "field"), UNREADABLE, ids=[json.dumps(e)[:60] for e, _ in UNREADABLE])
def test_an_unreadable_edit_is_refused_naming_its_field(edits: dict[str, Any], field: str) -> None:
    with pytest.raises(CardUnreadable) as caught:
        read_card_edits(make(), edits, OfflineChatModel())
    assert set(caught.value.errors) == {field}
    assert all(reason for reason in caught.value.errors[field])


def test_a_rule_without_a_natural_short_side_refuses_can_short() -> None:
    with pytest.raises(CardUnreadable) as caught:
        read_card_edits(make(entry_conditions=rule("close", ">", 100)), {"can_short": True}, OfflineChatModel())
    assert "can_short" in caught.value.errors
    assert "no natural mirror" in caught.value.errors["can_short"][0]


# --- checking a model's reading ------------------------------------------------------------------------------


def test_the_model_sees_the_draft_prompt_the_previous_draft_and_the_edits() -> None:
    model = ScriptedModel(answers=[make(stoploss=-0.08)])
    read_card_edits(make(), {"stoploss": "-8%"}, model)
    system, previous, human = model.seen[0]
    assert "StrategyDraft" in str(system.content)
    assert str(previous.content).startswith(DRAFT_HEADING)
    assert "- stoploss (the stop loss, and any trailing stop): -8%" in str(human.content)
    assert str(human.content).endswith(card_edits_text({"stoploss": "-8%"}))


def test_a_wrong_reading_is_sent_back_once_and_a_right_one_accepted() -> None:
    model = ScriptedModel(answers=[make(stoploss=-0.8), make(stoploss=-0.08)])
    assert read_card_edits(make(), {"stoploss": "-8%"}, model).stoploss == -0.08
    assert len(model.seen) == 2
    assert "should read '-8%'" in str(model.seen[1][-1].content)


def test_a_model_that_keeps_reading_wrong_is_refused_naming_the_field() -> None:
    model = ScriptedModel(answers=[make(stoploss=-0.08, timeframe="4h")])
    with pytest.raises(CardUnreadable) as caught:
        read_card_edits(make(), {"stoploss": "-8%"}, model)
    assert set(caught.value.errors) == {"timeframe"}


def test_a_model_may_read_free_text_rules_the_grammar_cannot() -> None:
    understood = make(entry_conditions={"all": [rule("rsi", "<", 25), rule("close", ">", "trend")]})
    result = read_card_edits(
        make(), {"entry_signals": "deeper RSI dips, still in the uptrend"}, ScriptedModel(answers=[understood])
    )
    assert canonical(result) == canonical(understood)


def test_a_free_text_reading_may_not_change_what_was_not_edited() -> None:
    overreach = make(entry_conditions=rule("rsi", "<", 25), exit_conditions={"any": [rule("rsi", ">", 80)]})
    with pytest.raises(CardUnreadable) as caught:
        read_card_edits(make(), {"entry_signals": "deeper RSI dips"}, ScriptedModel(answers=[overreach]))
    assert "exit_signals" in caught.value.errors


def test_a_model_that_cannot_make_a_valid_draft_leaves_the_edit_unread() -> None:
    with pytest.raises(CardUnreadable) as caught:
        read_card_edits(make(), {"stoploss": "-8%"}, ScriptedModel(answers=[{"not": "a draft"}]))
    assert set(caught.value.errors) == {"stoploss"}


def test_a_model_cannot_change_what_the_card_does_not_show() -> None:
    model = ScriptedModel(answers=[make(stoploss=-0.08, startup_candle_count=900, trailing_stop_positive=0.5)])
    result = read_card_edits(make(), {"stoploss": "-8%"}, model)
    assert (result.startup_candle_count, result.trailing_stop_positive) == (None, None)


def test_a_model_cannot_rename_the_draft() -> None:
    model = ScriptedModel(answers=[make(stoploss=-0.08, name="SomethingElse", description="Other.")])
    result = read_card_edits(make(), {"stoploss": "-8%"}, model)
    assert (result.name, result.description) == ("RsiDipBuyer", DRAFT["description"])
