"""The backtest state machine, as conditional UPDATEs: a transition happens only from the states it allows.

``queued -> downloading_data -> running -> finished | failed | cancelled``. Every write checks
the current status in its WHERE clause, so a cancel and a finishing worker, or two deliveries of
one task, can race without one overwriting the other's final state. Each function commits. A first
claim records how long the backtest waited in the queue.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, func, or_, select, update

from gentrade.extensions import db
from gentrade.metrics import instruments
from gentrade.models import Backtest, BacktestArchive, BacktestStatus, utcnow
from gentrade.models.backtest import ACTIVE_STATUSES
from gentrade.runtime import runtime
from gentrade.services.public_errors import public_error

log = logging.getLogger(__name__)
WORKING = (BacktestStatus.DOWNLOADING_DATA, BacktestStatus.RUNNING)


@dataclass(frozen=True)
class Archive:
    """A result archive to store: Freqtrade's file name and the zip's bytes."""

    filename: str
    content: bytes


def stale_after() -> timedelta:
    """No heartbeat for this long: the worker is gone (``GENTRADE_BACKTEST_STALE_SECONDS``)."""
    return timedelta(seconds=runtime().settings.backtest_stale_seconds)


def heartbeat_every() -> float:
    return max(1.0, runtime().settings.backtest_stale_seconds / 6)


class Claim(StrEnum):
    CLAIMED = "claimed"  # this delivery now owns the backtest
    FINAL = "final"  # already finished, failed or cancelled: nothing to do
    BUSY = "busy"  # another worker is on it (fresh heartbeat)
    MISSING = "missing"  # deleted (with its strategy or user)


def user_error(code: str, message: str, detail: Any = None) -> dict[str, Any]:
    """The ``error`` a user sees: message and detail without tracebacks or server paths (``public_errors``)."""
    return public_error({"code": code, "message": message, "detail": detail})


def _conditional_update(backtest_id: uuid.UUID, allowed: tuple[str, ...], **values: Any) -> bool:
    """The conditional UPDATE, in the current transaction; True when the backtest was in an allowed state."""
    result = db.session.execute(
        update(Backtest)
        .where(Backtest.id == backtest_id, Backtest.status.in_([str(s) for s in allowed]))
        .values(updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _transition(backtest_id: uuid.UUID, allowed: tuple[str, ...], **values: Any) -> bool:
    """:func:`_conditional_update`, committed at once."""
    moved = _conditional_update(backtest_id, allowed, **values)
    db.session.commit()
    return moved


def claim(backtest_id: uuid.UUID, task_id: str | None) -> Claim:
    """Take the backtest for this delivery: when queued, or when its worker's heartbeat has gone stale."""
    now = utcnow()
    result = db.session.execute(
        update(Backtest)
        .where(
            Backtest.id == backtest_id,
            or_(
                Backtest.status == BacktestStatus.QUEUED,
                and_(
                    Backtest.status.in_([str(s) for s in WORKING]),
                    or_(Backtest.heartbeat_at.is_(None), Backtest.heartbeat_at < now - stale_after()),
                ),
            ),
        )
        .values(
            status=BacktestStatus.DOWNLOADING_DATA,
            attempts=Backtest.attempts + 1,
            heartbeat_at=now,
            started_at=func.coalesce(Backtest.started_at, now),
            task_id=task_id,
            error=None,
            updated_at=now,
        )
        .returning(Backtest.attempts, Backtest.created_at)
        .execution_options(synchronize_session=False)
    )
    claimed = result.one_or_none()
    db.session.commit()
    if claimed is not None:
        if claimed.attempts == 1:  # its first pickup: the time it waited in the queue for a worker
            instruments.backtest_picked_up((now - claimed.created_at).total_seconds())
        return Claim.CLAIMED
    status = db.session.scalar(select(Backtest.status).where(Backtest.id == backtest_id))
    if status is None:
        return Claim.MISSING
    return Claim.BUSY if status in ACTIVE_STATUSES else Claim.FINAL


def start_running(backtest_id: uuid.UUID) -> bool:
    return _transition(backtest_id, (BacktestStatus.DOWNLOADING_DATA,), status=BacktestStatus.RUNNING, progress=0.0)


def advance(backtest_id: uuid.UUID, progress: float) -> None:
    """Record how far the running backtest is; it only moves forward, and only while it runs."""
    db.session.execute(
        update(Backtest)
        .where(
            Backtest.id == backtest_id,
            Backtest.status == BacktestStatus.RUNNING,
            or_(Backtest.progress.is_(None), Backtest.progress < progress),
        )
        .values(progress=progress)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def finish(backtest_id: uuid.UUID, summary: dict[str, Any], result_path: str, archive: Archive | None) -> bool:
    """End it ``finished`` with its result archive, in one transaction: a finished backtest whose archive fitted
    always has it stored."""
    finished = _conditional_update(
        backtest_id,
        (BacktestStatus.RUNNING,),
        status=BacktestStatus.FINISHED,
        progress=1.0,
        summary=summary,
        result_path=result_path,
        finished_at=utcnow(),
        heartbeat_at=None,
    )
    if finished and archive is not None:
        db.session.add(
            BacktestArchive(
                backtest_id=backtest_id,
                filename=archive.filename,
                size=len(archive.content),
                sha256=hashlib.sha256(archive.content).hexdigest(),
                content=archive.content,
            )
        )
    db.session.commit()
    return finished


def fail(backtest_id: uuid.UUID, code: str, message: str, detail: Any = None) -> bool:
    """End it ``failed``; the log keeps the whole detail (a traceback, the paths), the row the scrubbed one."""
    log.warning("backtest %s failed: %s: %s%s", backtest_id, code, message, f"\n{detail}" if detail else "")
    return _transition(
        backtest_id,
        ACTIVE_STATUSES,
        status=BacktestStatus.FAILED,
        error=user_error(code, message, detail),
        finished_at=utcnow(),
        heartbeat_at=None,
    )


def cancel(backtest_id: uuid.UUID) -> bool:
    return _transition(
        backtest_id,
        ACTIVE_STATUSES,
        status=BacktestStatus.CANCELLED,
        error=user_error("cancelled", "cancelled by the user"),
        finished_at=utcnow(),
        heartbeat_at=None,
    )


def requeue(backtest_id: uuid.UUID, reason: dict[str, Any]) -> bool:
    """Back to ``queued`` (a transient failure will be retried); the reason (from :func:`error`) stays visible."""
    return _transition(backtest_id, WORKING, status=BacktestStatus.QUEUED, heartbeat_at=None, error=reason)


def beat(backtest_id: uuid.UUID) -> bool:
    """Record that the worker is alive; False when the backtest is no longer ours (cancelled or deleted).

    Uses its own connection: it runs in the heartbeat thread, beside the task's session.
    """
    with db.engine.begin() as connection:
        result = connection.execute(
            update(Backtest)
            .where(Backtest.id == backtest_id, Backtest.status.in_([str(s) for s in WORKING]))
            .values(heartbeat_at=utcnow())
        )
    return result.rowcount == 1


def stale(limit: int = 100) -> list[tuple[uuid.UUID, int]]:
    """Backtests whose worker stopped beating twice as long ago as the staleness limit: (id, attempts)."""
    cutoff = utcnow() - 2 * stale_after()
    rows = db.session.execute(
        select(Backtest.id, Backtest.attempts)
        .where(Backtest.status.in_([str(s) for s in WORKING]), Backtest.heartbeat_at < cutoff)
        .limit(limit)
    ).all()
    return [(row.id, row.attempts) for row in rows]
