"""Sample strategy drafts: the DESIGN.md §6 example and variations of it, shared by the demo, the
benchmarks and the tests (so each does not keep its own copy of a draft that must stay valid)."""

from __future__ import annotations

import copy
from typing import Any

# The DESIGN.md §6 example draft.
DRAFT: dict[str, Any] = {
    "name": "RsiDipBuyer",
    "description": "Buy RSI dips in an uptrend, sell when overbought.",
    "timeframe": "1h",
    "pairs": ["BTC/USDT", "ETH/USDT"],
    "can_short": False,
    "indicators": [
        {"id": "rsi", "type": "rsi", "params": {"period": 14}},
        {"id": "trend", "type": "ema", "params": {"period": 50}},
        {"id": "macd", "type": "macd", "params": {"fast": 12, "slow": 26, "signal": 9}},
    ],
    "entry_conditions": {
        "all": [{"left": "rsi", "op": "<", "right": 30}, {"left": "close", "op": ">", "right": "trend"}]
    },
    "exit_conditions": {
        "any": [
            {"left": "rsi", "op": ">", "right": 70},
            {"left": "macd.macd", "op": "crosses_below", "right": "macd.signal"},
        ]
    },
    "minimal_roi": {"0": 0.10, "120": 0.04},
    "stoploss": -0.05,
    "trailing_stop": False,
}


def draft(**changes: Any) -> dict[str, Any]:
    value = copy.deepcopy(DRAFT)
    value.update(changes)
    return value


def draft_message(value: dict[str, Any]) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": "Here is your draft.",
        "type": "strategy_draft",
        "tool_name": "StrategyDraftOutputTool",
        "tool_data": {"draft": value},
    }
