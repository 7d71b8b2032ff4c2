"""The card speaks the broader draft language: Series operands (scaled, offset, looked back on), the outputs of
the newer indicators and indicators on a higher timeframe, rendered, read back, edited and mirrored short.

Pure unit tests: the offline model reads edits with the card grammar.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from gentrade.agents.card_edits import CardUnreadable, read_card_edits
from gentrade.agents.offline import OfflineChatModel
from gentrade.samples import DRAFT
from gentrade.strategies.card import OUTPUT_WORDS, render_card
from gentrade.strategies.card_reading import read_card
from gentrade.strategies.catalogue import CATALOGUE
from gentrade.strategies.draft import StrategyDraft
from gentrade.strategies.short_side import NoMirror, mirror_for_short
from tests.cards import canonical, make, rule

RSI, EMA, MACD = DRAFT["indicators"]  # ids rsi, trend (EMA(50)), macd
LANGUAGE = [
    RSI,
    EMA,
    {"id": "vol", "type": "volume_sma", "params": {"period": 20}},
    {"id": "dc", "type": "donchian", "params": {"period": 20}},
    {"id": "kc", "type": "keltner", "params": {"period": 20, "atrs": 2}},
    {"id": "st", "type": "supertrend", "params": {}},
    {"id": "dmi", "type": "dmi", "params": {"period": 14}},
    {"id": "aroon", "type": "aroon", "params": {}},
    {"id": "srsi", "type": "stochrsi", "params": {}},
    {"id": "wr", "type": "willr", "params": {}},
    {"id": "natr", "type": "natr", "params": {}},
    {"id": "trend4h", "type": "ema", "params": {"period": 50}, "timeframe": "4h"},
    {"id": "dc4h", "type": "donchian", "params": {"period": 20}, "timeframe": "4h"},
]


def language_draft(entry: Any, **changes: Any) -> StrategyDraft:
    """The design example with the indicators above and ``entry`` as its entry rules."""
    return make(indicators=LANGUAGE, entry_conditions=entry, exit_conditions=None, **changes)


# --- rendering ------------------------------------------------------------------------------------------------

RENDERED = [
    (rule("volume", ">", {"ref": "vol", "times": 3}), "volume is above 3 x Volume SMA(20)"),
    (rule("close", "<", {"ref": "trend", "times": 0.98}), "the close is below 0.98 x EMA(50)"),
    (rule("close", ">", {"ref": "trend", "plus": 100}), "the close is above EMA(50) + 100"),
    (rule("close", ">", {"ref": "trend", "plus": -0.5}), "the close is above EMA(50) - 0.5"),
    (rule("close", ">", {"ref": "close", "ago": 3}), "the close is above the close 3 candles ago"),
    (rule(2.5, "<", {"ref": "close", "ago": 1}), "2.5 is below the close 1 candle ago"),
    (rule({"ref": "rsi", "ago": 1}, "<", 30), "RSI(14) 1 candle ago is below 30"),
    (
        rule("close", ">", {"ref": "dc.upper", "ago": 1}),
        "the close is above the upper Donchian(20) band 1 candle ago",
    ),
    (rule("trend4h", ">", {"ref": "trend4h", "ago": 1}), "EMA(50) on 4h is above EMA(50) on 4h 1 candle ago"),
    (
        rule("close", ">", {"ref": "dc4h.upper", "times": 1.02, "ago": 2, "plus": 5}),
        "the close is above 1.02 x the upper Donchian(20) band on 4h 2 candles ago + 5",
    ),
    (rule({"ref": "close", "times": -1}, "<=", "open"), "-1 x the close is at or below the open"),
    (rule("close", "crosses_below", "kc.lower"), "the close crosses below the lower Keltner band"),
    (rule("kc.middle", "<", "kc.upper"), "the middle Keltner band is below the upper Keltner band"),
    (rule("st.direction", "crosses_above", 0), "the Supertrend direction crosses above 0"),
    (rule("close", ">", "st.line"), "the close is above the Supertrend line"),
    (rule("dmi.plus", "crosses_above", "dmi.minus"), "+DI crosses above -DI"),
    (rule("aroon.up", ">", "aroon.down"), "Aroon up is above Aroon down"),
    (rule("srsi.k", "crosses_above", "srsi.d"), "Stoch RSI %K crosses above Stoch RSI %D"),
    (rule("wr", "<", -80), "Williams %R(14) is below -80"),
]


def test_every_output_of_the_catalogue_has_its_card_words() -> None:
    assert set(OUTPUT_WORDS) == {(kind, output) for kind, spec in CATALOGUE.items() for output in spec.outputs}


@pytest.mark.parametrize(("entry", "words"), RENDERED, ids=[words for _, words in RENDERED])
def test_a_rule_in_the_broader_language_reads_in_trader_words(entry: dict[str, Any], words: str) -> None:
    assert render_card(language_draft(entry))["entry_signals"] == words


def test_an_indicator_on_a_higher_timeframe_is_listed_with_it() -> None:
    assert render_card(language_draft(rule("close", ">", "trend4h")))["indicators"] == (
        "RSI(14), EMA(50), Volume SMA(20), Donchian(20), Keltner(20, 2), Supertrend(10, 3), DMI(14), Aroon(14), "
        "Stoch RSI(14, 5, 3), Williams %R(14), NATR(14), EMA(50) on 4h, Donchian(20) on 4h"
    )


def test_two_dmis_name_their_period() -> None:
    indicators = [{"id": "d14", "type": "dmi", "params": {}}, {"id": "d7", "type": "dmi", "params": {"period": 7}}]
    draft = make(indicators=indicators, entry_conditions=rule("d14.plus", ">", "d7.minus"), exit_conditions=None)
    assert render_card(draft)["entry_signals"] == "+DI(14) is above -DI(7)"


@pytest.mark.parametrize(("entry", "words"), RENDERED, ids=[words for _, words in RENDERED])
def test_each_rendered_rule_reads_back_as_the_same_draft(entry: dict[str, Any], words: str) -> None:
    draft = language_draft(entry, can_short=True, entry_short_conditions=entry)
    reading = read_card(draft, render_card(draft))
    assert (reading.errors, reading.unread) == ({}, {})
    assert canonical(reading.draft) == canonical(draft)


# --- a trader's edits in the card's words -----------------------------------------------------------------------

VOLUME_SMA = {"id": "volume_sma", "type": "volume_sma", "params": {"period": 20}}
DONCHIAN = {"id": "donchian", "type": "donchian", "params": {"period": 20}}
EMA_4H = {"id": "ema50", "type": "ema", "params": {"period": 50}, "timeframe": "4h"}
WRITTEN = [
    (
        "volume is above 3 x Volume SMA(20)",
        [rule("volume", ">", {"ref": "volume_sma", "times": 3})],
        [VOLUME_SMA],
    ),
    ("volume > 3x the volume sma 20", [rule("volume", ">", {"ref": "volume_sma", "times": 3})], [VOLUME_SMA]),
    (
        "the close is above the upper Donchian band 1 candle ago",
        [rule("close", ">", {"ref": "donchian.upper", "ago": 1})],
        [DONCHIAN],
    ),
    (
        "close above the upper donchian channel a candle ago",
        [rule("close", ">", {"ref": "donchian.upper", "ago": 1})],
        [DONCHIAN],
    ),
    ("EMA(50) on 4h is above EMA(50) on 4h 1 candle ago", [rule("ema50", ">", {"ref": "ema50", "ago": 1})], [EMA_4H]),
    ("the close is above EMA 50 on the 4 hour chart", [rule("close", ">", "ema50")], [EMA_4H]),
    ("the close is above 1.02 * EMA(50)", [rule("close", ">", {"ref": "trend", "times": 1.02})], [EMA]),
    ("the close is above EMA(50) on 1h - 20", [rule("close", ">", {"ref": "trend", "plus": -20})], [EMA]),
    ("the close is above the close 2 candles ago +5", [rule("close", ">", {"ref": "close", "ago": 2, "plus": 5})], []),
    (
        "+DI crosses above -DI and Aroon up is above 70",
        [rule("dmi.plus", "crosses_above", "dmi.minus"), rule("aroon.up", ">", 70)],
        [{"id": "dmi", "type": "dmi", "params": {}}, {"id": "aroon", "type": "aroon", "params": {}}],
    ),
]


@pytest.mark.parametrize(("written", "rules", "added"), WRITTEN, ids=[written for written, _, _ in WRITTEN])
def test_an_entry_written_in_the_cards_words_reads_into_the_draft(
    written: str, rules: list[dict[str, Any]], added: list[dict[str, Any]]
) -> None:
    """The entry becomes "RSI(14) is below 30 and <written>": the EMA goes unless the rule uses it."""
    result = read_card_edits(make(), {"entry_signals": f"RSI(14) is below 30 and {written}"}, OfflineChatModel())
    expected = make(
        indicators=[RSI, *(item for item in added if item is EMA), MACD, *(item for item in added if item is not EMA)],
        entry_conditions={"all": [rule("rsi", "<", 30), *rules]},
    )
    assert canonical(result) == canonical(expected)


def test_moving_a_listed_indicator_to_a_higher_timeframe_takes_its_rules_along() -> None:
    edits = {"indicators": "RSI(14), EMA(50) on 4h, MACD(12, 26, 9)"}
    result = read_card_edits(make(), edits, OfflineChatModel())
    assert result.model_dump()["indicators"][1] == {
        **EMA,
        "params": {"period": 50, "source": "close"},
        "timeframe": "4h",
    }
    assert render_card(result)["entry_signals"] == "RSI(14) is below 30 and the close is above EMA(50) on 4h"


REFUSED = [
    ({"entry_signals": "the close is above the upper Donchian band"}, "entry_signals", "one candle ago"),
    ({"entry_signals": "the close is above EMA(50) on 15m"}, "entry_signals", "shorter than the strategy's 1h"),
    ({"entry_signals": "the close is above EMA(50) on 2h"}, "entry_signals", "not a supported timeframe"),
    ({"entry_signals": "the close is above EMA(50) + 2%"}, "entry_signals", "1.02 x EMA(50)"),
    ({"entry_signals": "volume is above 0 x Volume SMA(20)"}, "entry_signals", "must not be 0"),
    ({"entry_signals": "the close is above EMA(50) 501 candles ago"}, "entry_signals", "less than or equal to 500"),
    ({"entry_signals": "RSI(14) is below 3 x 30"}, "entry_signals", "a factor multiplies"),
    ({"entry_signals": "the close is above the Donchian band"}, "entry_signals", "several lines"),
    ({"entry_signals": "DMI(14) is above 20"}, "entry_signals", "+DI, -DI"),
    ({"entry_signals": "Williams %R(14) is below -120"}, "entry_signals", "between -100 and 0"),
    ({"entry_signals": "the close is above EMA(50) +"}, "entry_signals", "a number after '+'"),
    ({"indicators": "RSI(14), EMA(50) 1 candle ago, MACD(12, 26, 9)"}, "indicators", "list indicators"),
]


@pytest.mark.parametrize(("edits", "field", "words"), REFUSED, ids=[json.dumps(e)[:70] for e, _, _ in REFUSED])
def test_a_wrongly_written_edit_is_refused_saying_why(edits: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(CardUnreadable) as caught:
        read_card_edits(make(), edits, OfflineChatModel())
    assert set(caught.value.errors) == {field}
    assert any(words in reason for reason in caught.value.errors[field]), caught.value.errors


# --- the short side -------------------------------------------------------------------------------------------

INDICATORS = {item["id"]: item for item in LANGUAGE}
MIRRORS = [
    (rule("wr", "<", -80), rule("wr", ">", -20)),
    (rule({"ref": "rsi", "ago": 1}, "<", 30), rule({"ref": "rsi", "ago": 1}, ">", 70)),
    (rule("close", ">", {"ref": "dc.upper", "ago": 1}), rule("close", "<", {"ref": "dc.lower", "ago": 1})),
    (rule("close", "crosses_below", "kc.lower"), rule("close", "crosses_above", "kc.upper")),
    (rule("close", ">", "kc.middle"), rule("close", "<", "kc.middle")),
    (rule("dmi.plus", "crosses_above", "dmi.minus"), rule("dmi.minus", "crosses_above", "dmi.plus")),
    (rule("aroon.up", ">", 70), rule("aroon.down", ">", 70)),
    (
        rule("dmi.plus", ">", {"ref": "dmi.minus", "times": 1.2}),
        rule("dmi.minus", ">", {"ref": "dmi.plus", "times": 1.2}),
    ),
    (rule("st.direction", "crosses_above", 0), rule("st.direction", "crosses_below", 0)),
    (rule("close", ">", "st.line"), rule("close", "<", "st.line")),
    (rule("srsi.k", "crosses_above", "srsi.d"), rule("srsi.k", "crosses_below", "srsi.d")),
    (rule("volume", ">", {"ref": "vol", "times": 3}), rule("volume", ">", {"ref": "vol", "times": 3})),
    (rule("natr", ">", 2), rule("natr", ">", 2)),
    (rule("close", ">", {"ref": "trend", "times": 1.02}), rule("close", "<", {"ref": "trend", "times": 0.98})),
    (
        rule("close", ">", {"ref": "trend", "times": 1.1, "plus": 5}),
        rule("close", "<", {"ref": "trend", "times": 0.9, "plus": -5}),
    ),
    (rule("trend4h", ">", {"ref": "trend4h", "ago": 1}), rule("trend4h", "<", {"ref": "trend4h", "ago": 1})),
]


@pytest.mark.parametrize(("long", "short"), MIRRORS, ids=[json.dumps(long) for long, _ in MIRRORS])
def test_the_short_side_mirrors_the_broader_language(long: dict[str, Any], short: dict[str, Any]) -> None:
    assert mirror_for_short({"all": [long]}, INDICATORS) == {"all": [short]}


NO_MIRRORS = [
    (rule("close", ">", {"ref": "trend", "times": 3}), "a factor of 3"),
    (rule({"ref": "rsi", "plus": 5}, "<", 30), "a level on a scaled series"),
    (rule("dmi.plus", ">", "close"), "a pair of lines"),
    (rule("st.line", ">", 100), "the Supertrend line is above 100"),
]


@pytest.mark.parametrize(("long", "words"), NO_MIRRORS, ids=[words for _, words in NO_MIRRORS])
def test_a_rule_without_a_natural_mirror_is_refused_saying_which(long: dict[str, Any], words: str) -> None:
    with pytest.raises(NoMirror, match="no natural mirror") as caught:
        mirror_for_short(long, INDICATORS)
    assert words in str(caught.value)


def test_ticking_can_short_mirrors_the_broader_language_and_the_card_reads_back() -> None:
    long = {
        "all": [
            rule("close", ">", {"ref": "dc4h.upper", "ago": 1}),
            rule("volume", ">", {"ref": "vol", "times": 3}),
            rule("dmi.plus", ">", "dmi.minus"),
        ]
    }
    result = read_card_edits(language_draft(long), {"can_short": True}, OfflineChatModel())
    assert result.model_dump()["entry_short_conditions"] == {
        "all": [
            rule("close", "<", {"ref": "dc4h.lower", "ago": 1}),
            rule("volume", ">", {"ref": "vol", "times": 3}),
            rule("dmi.minus", ">", "dmi.plus"),
        ]
    }
    assert render_card(result)["entry_signals"].endswith(
        "Short: the close is below the lower Donchian(20) band on 4h 1 candle ago, volume is above "
        "3 x Volume SMA(20) and -DI is above +DI"
    )
    reading = read_card(result, render_card(result))
    assert canonical(reading.draft) == canonical(result)
