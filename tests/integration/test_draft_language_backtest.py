"""Issue 14's trader requests, end to end: asked of the offline agent in plain English, deployed from the chat,
and backtested to ``finished`` by a real Celery worker running stock Freqtrade on the exchange stand-in's
candles, a higher timeframe's candles downloaded beforehand where the strategy reads one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from gentrade.freqtrade.market_data import cache_root, candle_file
from gentrade.strategies.draft import StrategyDraft
from gentrade.strategies.trees import conditions
from tests.backtests import FINAL, start_backtest, wait_for_backtest
from tests.chats import agent_turn, new_chat
from tests.clerk import Tokens


def rules(node: Any) -> list[dict[str, Any]]:
    """The conditions of a draft's tree, however grouped."""
    return list(conditions(node.model_dump())) if node is not None else []


def supertrend_flip(draft: StrategyDraft) -> None:
    (supertrend,) = [i.id for i in draft.indicators if i.type == "supertrend"]
    assert rules(draft.entry_conditions) == [{"left": f"{supertrend}.direction", "op": "crosses_above", "right": 0}]


def williams_reversal(draft: StrategyDraft) -> None:
    (willr,) = [i.id for i in draft.indicators if i.type == "willr"]
    assert rules(draft.entry_conditions) == [{"left": willr, "op": "<", "right": -80}]
    assert rules(draft.exit_conditions) == [{"left": willr, "op": ">", "right": -20}]


def donchian_volume_breakout(draft: StrategyDraft) -> None:
    kinds = {i.type: i.id for i in draft.indicators}
    assert set(kinds) == {"donchian", "volume_sma"}
    entry = rules(draft.entry_conditions)
    assert {"left": "close", "op": ">", "right": {"ref": f"{kinds['donchian']}.upper", "ago": 1}} in entry
    assert {"left": "volume", "op": ">", "right": {"ref": kinds["volume_sma"], "times": 3.0}} in entry


def rsi_dip_on_rising_4h_ema(draft: StrategyDraft) -> None:
    (ema,) = [i for i in draft.indicators if i.type == "ema"]
    assert (ema.params.period, ema.timeframe, draft.timeframe) == (50, "4h", "1h")
    (rsi,) = [i.id for i in draft.indicators if i.type == "rsi"]
    entry = rules(draft.entry_conditions)
    assert {"left": ema.id, "op": ">", "right": {"ref": ema.id, "ago": 1}} in entry
    assert {"left": rsi, "op": "<", "right": 30} in entry


REQUESTS = [
    pytest.param("Make me a Supertrend strategy on BTC 1h", supertrend_flip, [], id="supertrend-flip"),
    pytest.param(
        "Buy BTC and ETH on the 1h chart when Williams %R is below -80 and sell above -20",
        williams_reversal,
        [],
        id="williams-reversal",
    ),
    pytest.param(
        "Donchian breakout with a volume surge (3x average) on ETH 4h", donchian_volume_breakout, [], id="donchian"
    ),
    pytest.param(
        "Buy BTC on the 1h chart when RSI dips below 30, but only while the 4h EMA 50 is rising",
        rsi_dip_on_rising_4h_ema,
        ["4h"],
        id="rsi-dip-4h-filter",
    ),
]


def ask_and_deploy(api: FlaskClient, tokens: Tokens, message: str) -> tuple[StrategyDraft, dict[str, Any]]:
    """One turn with the offline agent; the draft it showed, deployed from the chat."""
    headers = tokens.headers()
    thread = new_chat(api, headers)
    events = dict(agent_turn(api, headers, thread, message))
    assert "tool_start" in events, events
    draft = StrategyDraft.model_validate(events["tool_start"]["draft"])
    deployed = api.post("/api/v1/strategies", json={"thread_id": thread}, headers=headers)
    assert deployed.status_code == 201, deployed.json
    return draft, deployed.json


@pytest.mark.parametrize(("message", "expected", "higher_timeframes"), REQUESTS)
def test_a_trader_asks_for_it_and_backtests_it(
    api: FlaskClient, tokens: Tokens, data_dir: Path, message: str, expected: Any, higher_timeframes: list[str]
) -> None:
    draft, strategy = ask_and_deploy(api, tokens, message)
    expected(draft)

    backtest = start_backtest(api, tokens, strategy["id"])
    done = wait_for_backtest(api, tokens, backtest["id"], FINAL, timeout=240)

    assert done["status"] == "finished", done["error"]
    assert {row["pair"] for row in done["summary"]["pairs"]} == set(draft.pairs)
    for timeframe in higher_timeframes:  # downloaded for it, though the backtest runs on the strategy's own
        for pair in draft.pairs:
            assert candle_file(cache_root(data_dir), pair, timeframe).is_file(), (pair, timeframe)
    assert api.delete(f"/api/v1/strategies/{strategy['id']}", headers=tokens.headers()).status_code == 204
