"""Backtest tasks: thin wrappers that hand the id to the service and act on its answer."""

from __future__ import annotations

import logging
import uuid

from celery import Task, shared_task

from gentrade.services import backtest_runs
from gentrade.work_queue import REAP_STALE_BACKTESTS, RUN_BACKTEST

log = logging.getLogger(__name__)


@shared_task(name=RUN_BACKTEST, bind=True, max_retries=None, acks_late=True)
def run_backtest(self: Task, backtest_id: str) -> str:
    """Idempotent: a redelivered task for a finished backtest does nothing; retries are the service's call."""
    step = backtest_runs.execute(uuid.UUID(backtest_id), self.request.id, self.request.retries)
    if step.retry_in is not None:
        raise self.retry(countdown=step.retry_in)
    return step.outcome


@shared_task(name=REAP_STALE_BACKTESTS)
def reap_stale_backtests() -> int:
    """Periodic (celery beat): backtests whose worker died are run again or failed, never left running."""
    handled = backtest_runs.reap()
    if handled:
        log.warning("reaped %d backtests whose worker had stopped", handled)
    return handled
