"""The lexer (:mod:`gentrade.agents.offline.lexer`): a clause's words as typed tokens, whatever the spelling."""

from __future__ import annotations

from gentrade.agents.offline.lexer import Token, lex_tokens
from gentrade.agents.offline.text import normalize
from gentrade.agents.offline.vocabulary import Mention


def lexed(text: str) -> list[Token]:
    clean = normalize(text)
    return lex_tokens(clean, 0, len(clean))


def kinds(text: str) -> list[str]:
    return [token.kind for token in lexed(text)]


def test_an_indicator_with_a_period_a_comparison_and_a_level() -> None:
    rsi, below, level = lexed("RSI(14) below 30")

    assert rsi.mention == Mention("rsi", (("period", 14),))
    assert (below.kind, below.op) == ("op", "<")
    assert (level.kind, level.value) == ("num", 30.0)


def test_an_average_pair_is_two_averages_and_a_crossing() -> None:
    fast, slow, cross = lexed("EMA 9/21 crossover")

    assert [fast.mention, slow.mention] == [Mention("ema", (("period", 9),)), Mention("ema", (("period", 21),))]
    assert cross.op == "cross"


def test_a_percentage_above_scales_the_comparison() -> None:
    close, above, ema = lexed("close 2% above the EMA 50")

    assert close.name == "close"
    assert (above.op, above.times) == (">", 1.02)
    assert ema.mention == Mention("ema", (("period", 50),))


def test_a_multiple_of_an_average_is_a_factor_and_an_average() -> None:
    volume, factor, average = lexed("volume 3x its 20-candle average")

    assert volume.name == "volume"
    assert (factor.kind, factor.value) == ("times", 3.0)
    assert (average.kind, average.value) == ("avg", 20.0)


def test_named_crossings_and_directions() -> None:
    assert [(t.kind, t.op) for t in lexed("golden cross")] == [("cond", "crosses_above")]
    assert [(t.kind, t.op) for t in lexed("death cross")] == [("cond", "crosses_below")]
    assert [(t.kind, t.name) for t in lexed("bullish cross")] == [("dir", "bullish"), ("op", "")]


def test_references_and_outputs_are_named() -> None:
    macd, _, signal = lexed("MACD crosses its signal line")
    assert (macd.mention, signal.kind, signal.name) == (Mention("macd"), "ref", "signal")

    *_, band = lexed("price touches the lower band")
    assert band.mention == Mention("bbands", output="lower")


def test_a_bare_number_after_an_oscillator_is_left_for_the_sentence_to_decide() -> None:
    (rsi,) = lexed("RSI 25")

    assert rsi.mention == Mention("rsi", bare=25)


def test_an_indicator_name_inside_another_word_is_not_read() -> None:
    assert kinds("xrsi below zero") == ["op", "num"]
    assert lexed("below zero")[1].value == 0.0
