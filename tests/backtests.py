"""Backtests in tests, through the API as a client drives them (a strategy deployed, a backtest started and
waited for), or written directly (a row, a hand-written strategy) when a test needs one to exist."""

from __future__ import annotations

import time
import uuid
from datetime import date
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from gentrade.extensions import db
from gentrade.models import Backtest, Strategy
from gentrade.models.backtest import ACTIVE_STATUSES
from gentrade.samples import draft
from gentrade.services import backtest_state
from tests.clerk import Tokens
from tests.stack.exchange import END, START
from tests.stack.worker import Worker

BACKTESTS = "/api/v1/backtests"
FINAL = {"finished", "failed", "cancelled"}


def settle(backtest_app: Flask, worker: Worker) -> None:
    """Cancel every backtest still queued or working, then wait until the worker has no task in hand.

    The worker reads a backtest with its strategy and user (``backtest_runs._plan``), and checks a cancelled
    run's backtest and then its user (``_remove_orphans``): child tables before parent tables, the reverse of
    the ``TRUNCATE`` of ``deleted_users, users, ..., strategies, backtests``. A task of the test just ended
    that overlaps the cleaning can so hold ``backtests`` while waiting for ``users`` that the ``TRUNCATE``
    holds while waiting for ``backtests``: PostgreSQL's ``DeadlockDetected``. Cancelled first, every task
    still to come finds its backtest final (or gone) and stops at its claim.
    """
    with backtest_app.app_context():
        working = db.session.scalars(
            select(Backtest.id).where(Backtest.status.in_([str(s) for s in ACTIVE_STATUSES]))
        ).all()
        db.session.commit()
        for backtest_id in working:
            backtest_state.cancel(backtest_id)
    worker.wait_idle(backtest_app.extensions["celery"])


def deploy_strategy(api: FlaskClient, tokens: Tokens, user: str = "user_alice", **changes: Any) -> str:
    """A reviewed strategy of ``user`` (RSI entry unless ``changes`` say otherwise); its id."""
    headers = tokens.headers(user)
    thread = api.post("/api/v1/chats", json={}, headers=headers).json["thread_id"]
    trading = {"entry_conditions": {"any": [{"left": "rsi", "op": "<", "right": 30}]}, **changes}
    response = api.post("/api/v1/strategies", json={"thread_id": thread, "draft": draft(**trading)}, headers=headers)
    assert response.status_code == 201, response.json
    return response.json["id"]


def start_backtest(
    api: FlaskClient, tokens: Tokens, strategy_id: str, user: str = "user_alice", **body: Any
) -> dict[str, Any]:
    """POST a backtest of ``START``-``END`` (``body`` overrides); it must be accepted as ``queued``."""
    payload = {"strategy_id": strategy_id, "start_date": START.isoformat(), "end_date": END.isoformat(), **body}
    response = api.post(BACKTESTS, json=payload, headers=tokens.headers(user))
    assert response.status_code == 202, response.json
    assert response.json["status"] == "queued"
    return response.json


def wait_for_backtest(
    api: FlaskClient,
    tokens: Tokens,
    backtest_id: str,
    statuses: set[str],
    timeout: float = 120,
    user: str = "user_alice",
) -> dict[str, Any]:
    """Poll the backtest until its status is one of ``statuses``; fail with its last state at the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = api.get(f"{BACKTESTS}/{backtest_id}", headers=tokens.headers(user)).json
        if body["status"] in statuses:
            return body
        time.sleep(0.3)
    raise AssertionError(f"backtest {backtest_id} stayed {body['status']}: {body}")


def hand_written_strategy(backtest_app: Flask, clerk_id: str, name: str, body: str) -> str:
    """A strategy row and file written directly (not through the review), to test the runner's limits."""
    code = f"""
from freqtrade.strategy import IStrategy
from pandas import DataFrame
import time


class {name}(IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "1h"
    stoploss = -0.1
    minimal_roi = {{"0": 0.1}}

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        {body}
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe
"""
    with backtest_app.app_context():
        from gentrade.runtime import runtime
        from gentrade.services import users

        user = users.get_or_provision(clerk_id)
        assert user is not None
        path = runtime().user_dirs.strategy_file(clerk_id, name)
        path.write_text(code)
        never = {"all": [{"left": "close", "op": ">", "right": 0}]}
        strategy = Strategy(
            user_id=user.id,
            name=name,
            code=code,
            file_path=f"user_data/strategies/{name}.py",
            draft=draft(name=name, indicators=[], entry_conditions=never, exit_conditions=None),
        )
        db.session.add(strategy)
        db.session.commit()
        return str(strategy.id)


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
