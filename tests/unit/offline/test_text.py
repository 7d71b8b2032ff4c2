"""Text helpers (:mod:`gentrade.agents.offline.text`): one normal form for every pattern, numbers in words."""

from __future__ import annotations

from gentrade.agents.offline.text import MAX_TEXT, blank, fmt_number, fmt_percent, normalize


def test_normal_form_is_lower_case_ascii_with_percent_signs() -> None:
    assert normalize("RSI \u2264 30 \u2014 \u201cdip\u201d") == 'rsi <= 30 - "dip"'
    assert normalize("a 5 percent stop, 3 per cent target, 2 pct") == "a 5% stop, 3% target, 2%"


def test_the_before_price_words_is_blanked_keeping_positions() -> None:
    text = "when the price is above"

    assert normalize(text) == "when     price is above"
    assert len(normalize(text)) == len(text)


def test_long_messages_are_read_up_to_the_limit() -> None:
    assert len(normalize("a" * (MAX_TEXT + 100))) == MAX_TEXT


def test_blank_erases_a_span_and_keeps_every_other_position() -> None:
    assert blank("abcdef", 1, 3) == "a  def"


def test_numbers_and_percentages_read_as_a_trader_writes_them() -> None:
    assert fmt_number(0.1 + 0.2) == "0.3"
    assert fmt_number(25.0) == "25"
    assert fmt_number(1 / 3) == "0.333333"
    assert fmt_percent(-0.05) == "5%"
    assert fmt_percent(0.125) == "12.5%"


def test_a_range_is_spelled_out_as_two_comparisons() -> None:
    assert normalize("RSI between 40 and 60") == "rsi above 40 and rsi below 60"
    assert normalize("close is between 2.5 to 1") == "close above 1 and close below 2.5"
    assert normalize("between 40 and 60%") == "between 40 and 60%"  # no subject: left as written
