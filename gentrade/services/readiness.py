"""Whether this process can serve: the database and the task broker answer (``GET /readyz``).

A use case of its own so the health blueprint stays HTTP only: it asks here and words the answer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from gentrade.extensions import db
from gentrade.work_queue import broker_reachable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Readiness:
    """Which dependencies answered; the broker is not asked once the database failed (``None``)."""

    database: bool
    broker: bool | None


def check() -> Readiness:
    """Ask the database (``SELECT 1``), then the broker (a connection within two seconds)."""
    if not _database_answers():
        return Readiness(database=False, broker=None)
    broker = broker_reachable()
    if not broker:
        log.warning("readiness check failed: broker unreachable")
    return Readiness(database=True, broker=broker)


def _database_answers() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.warning("readiness check failed: %s", exc)
        return False
    return True
