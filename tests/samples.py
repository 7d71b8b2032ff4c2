"""Sample inputs shared by several test modules."""

from __future__ import annotations

import copy
import uuid
from datetime import date
from typing import Any

from flask import Flask

from gentrade.extensions import db
from gentrade.models import Backtest

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


def add_backtest_row(app: Flask, strategy_id: str, **fields: Any) -> str:
    """A backtest row for a test that needs one to exist, without publishing a task (no worker runs it);
    returns its id."""
    values: dict[str, Any] = {
        "timerange_start": date(2026, 1, 1),
        "timerange_end": date(2026, 2, 1),
        "pairs": ["BTC/USDT"],
        "timeframe": "1h",
        **fields,
    }
    with app.app_context():
        backtest = Backtest(strategy_id=uuid.UUID(strategy_id), **values)
        db.session.add(backtest)
        db.session.commit()
        return str(backtest.id)
