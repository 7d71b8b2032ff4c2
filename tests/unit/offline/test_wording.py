"""Words for drafts (:mod:`gentrade.agents.offline.wording`): the announcement says what the draft does."""

from __future__ import annotations

from gentrade.agents.offline import describe_draft, draft_from_text
from gentrade.samples import DRAFT
from gentrade.strategies.draft import StrategyDraft


def test_describe_draft_says_what_the_draft_does() -> None:
    text = describe_draft(StrategyDraft.model_validate(DRAFT), ["No timeframe named: using 1h."], revised=True)

    assert text.startswith("I've revised the draft: RsiDipBuyer")
    assert "BTC/USDT and ETH/USDT on 1h candles" in text
    assert "RSI(14) is below 30 and the close is above EMA(50)" in text
    assert "RSI(14) is above 70 or the MACD line crosses below the MACD signal line" in text
    assert "Stop loss 5%" in text
    assert "Assumptions: No timeframe named: using 1h." in text


def test_scaled_and_looked_back_rules_are_put_into_words() -> None:
    result, assumptions = draft_from_text("Donchian breakout with a volume surge (3x average) on ETH 4h", None)

    text = describe_draft(result, assumptions, revised=False)
    assert "the close is above the upper Donchian band 1 candle ago and volume is above 3 x Volume SMA(20)" in text
    rising, _ = draft_from_text("buy when RSI < 30 and the 4h EMA 50 is rising", None)
    assert "EMA(50) on 4h is above EMA(50) on 4h 1 candle ago" in rising.description
