"""Rows a test needs to exist, written without the API."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from flask import Flask

from gentrade.extensions import db
from gentrade.models import Backtest


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
