"""What an agent turn knows beyond its thread: the chat's latest finished backtest, and the names already taken.

Why here: the graph must not query the database; this is the one place that decides which backtest the coach
talks about. It is the newest finished backtest of a strategy deployed from the turn's chat (the one the
trader just watched finish), given to the model as its figures without the equity curve (which says nothing
the other figures do not, at many times the size) and the draft it ran.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from gentrade.agents.graph import TurnContext
from gentrade.extensions import db
from gentrade.models import Backtest, BacktestStatus, Chat, Strategy

LEFT_OUT = frozenset({"equity_curve"})


def turn_context(user_id: uuid.UUID, thread_id: uuid.UUID) -> TurnContext:
    """The context of a turn by ``user_id`` on ``thread_id`` (a thread no chat holds yet has no backtest)."""
    taken = frozenset(db.session.scalars(select(Strategy.name).where(Strategy.user_id == user_id)).all())
    return TurnContext(backtest=latest_backtest(user_id, thread_id), taken_names=taken)


def latest_backtest(user_id: uuid.UUID, thread_id: uuid.UUID) -> dict[str, Any] | None:
    """The newest finished backtest of a strategy deployed from the user's chat on ``thread_id``, as the coach
    reads it; None when there is none."""
    row = db.session.execute(
        select(Backtest, Strategy)
        .join(Strategy, Backtest.strategy_id == Strategy.id)
        .join(Chat, Strategy.chat_id == Chat.id)
        .where(
            Chat.thread_id == thread_id,
            Chat.user_id == user_id,
            Strategy.user_id == user_id,
            Backtest.status == BacktestStatus.FINISHED.value,
            Backtest.summary.is_not(None),
        )
        .order_by(Backtest.finished_at.desc().nulls_last(), Backtest.created_at.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    backtest, strategy = row
    return coach_view(backtest, strategy)


def coach_view(backtest: Backtest, strategy: Strategy) -> dict[str, Any]:
    """A finished backtest as the coach reads it: what ran, over what, and its figures."""
    summary = backtest.summary or {}
    return {
        "backtest_id": str(backtest.id),
        "strategy": strategy.name,
        "pairs": list(backtest.pairs),
        "timeframe": backtest.timeframe,
        "timerange": {"start": backtest.timerange_start.isoformat(), "end": backtest.timerange_end.isoformat()},
        "figures": {key: value for key, value in summary.items() if key not in LEFT_OUT},
        "draft": strategy.draft or None,
    }
