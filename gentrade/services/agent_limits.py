"""Admitting an agent turn: the thread is free (409), and the user is within their limits (429 with
``Retry-After``): turns per minute, turns at once, and tokens per UTC day on a hosted model.

Every count lives in PostgreSQL (or the embedded SQLite), so all processes and hosts share it. A
turn is counted when it is admitted; its tokens, from the model's ``usage_metadata``, when it ends.
The offline model costs nothing and has no budget.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from gentrade.extensions import db
from gentrade.models import AgentTokenUsage, AgentTurnStart, User, utcnow
from gentrade.runtime import runtime
from gentrade.services.errors import Conflict, TooManyRequests
from gentrade.services.turn_locks import ThreadBusy, TurnLock, UserBusy, lock_turn
from gentrade.settings import LlmProvider, Settings

RATE_WINDOW = timedelta(minutes=1)
BUSY_RETRY_SECONDS = 5  # a running turn usually ends within seconds


class TurnInProgress(Conflict):
    """Another turn is running in the same chat."""


def admit(user_id: uuid.UUID, thread_id: uuid.UUID) -> TurnLock:
    """Lock the thread and one of the user's turn slots and count the turn, or raise (nothing held then).
    The caller releases the lock when the turn ends."""
    settings = runtime().settings
    try:
        lock = lock_turn(settings, user_id, thread_id)
    except ThreadBusy:
        raise TurnInProgress(
            "another turn is running in this chat; wait for it to end", {"thread_id": [str(thread_id)]}
        ) from None
    except UserBusy:
        raise TooManyRequests(
            f"at most {settings.agent_concurrent_turns} assistant turns may run at once; wait for one to end",
            BUSY_RETRY_SECONDS,
        ) from None
    try:
        _check_budget(settings, user_id)
        _count_start(settings, user_id)
    except BaseException:
        db.session.rollback()
        lock.release()
        raise
    return lock


def has_budget(settings: Settings) -> bool:
    return settings.llm_provider is not LlmProvider.OFFLINE and settings.agent_daily_tokens > 0


def _today() -> datetime:
    return datetime.combine(utcnow().date(), time(), tzinfo=UTC)


def _check_budget(settings: Settings, user_id: uuid.UUID) -> None:
    if not has_budget(settings):
        return
    today = _today()
    used = db.session.scalar(
        select(AgentTokenUsage.tokens).where(AgentTokenUsage.user_id == user_id, AgentTokenUsage.day == today.date())
    )
    if (used or 0) >= settings.agent_daily_tokens:
        renews = math.ceil((today + timedelta(days=1) - utcnow()).total_seconds())
        raise TooManyRequests(
            f"today's assistant budget of {settings.agent_daily_tokens} tokens is spent; it renews at 00:00 UTC",
            renews,
        )


def _count_start(settings: Settings, user_id: uuid.UUID) -> None:
    """Count the turn unless the user started ``agent_turns_per_minute`` in the last minute (a sliding window)."""
    now = utcnow()
    since = now - RATE_WINDOW
    db.session.execute(select(User.id).where(User.id == user_id).with_for_update())  # one user's starts in turn
    db.session.execute(
        delete(AgentTurnStart).where(AgentTurnStart.user_id == user_id, AgentTurnStart.started_at <= since)
    )
    starts = db.session.scalars(
        select(AgentTurnStart.started_at)
        .where(AgentTurnStart.user_id == user_id, AgentTurnStart.started_at > since)
        .order_by(AgentTurnStart.started_at)
    ).all()
    limit = settings.agent_turns_per_minute
    if len(starts) >= limit:
        frees_up = starts[len(starts) - limit] + RATE_WINDOW  # when fewer than ``limit`` remain in the window
        raise TooManyRequests(
            f"at most {limit} assistant turns per minute; try again shortly",
            math.ceil((frees_up - now).total_seconds()),
        )
    db.session.add(AgentTurnStart(user_id=user_id, started_at=now))
    db.session.commit()


def record_tokens(user_id: uuid.UUID, tokens: int) -> None:
    """Add a turn's tokens to the user's count for today (one upsert, safe under concurrent turns)."""
    if tokens <= 0 or not has_budget(runtime().settings):
        return
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(AgentTokenUsage).values(user_id=user_id, day=_today().date(), tokens=tokens)
    db.session.execute(
        insert.on_conflict_do_update(
            index_elements=[AgentTokenUsage.user_id, AgentTokenUsage.day],
            set_={"tokens": AgentTokenUsage.tokens + insert.excluded.tokens},
        )
    )
    db.session.commit()
