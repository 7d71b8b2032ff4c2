"""The work queue as the rest of the app sees it: task names, and sending work to the workers by name.

Why a module of its own: services queue backtests and tell worker hosts to prune files, and the Celery app
(``gentrade.tasks.celery_app``) registers the tasks that run them, which call services. If services imported
the Celery app, the layers would point both ways; instead both import this, which knows the broker only
through the Celery app ``create_app`` put on the Flask app, and sends tasks by name.
"""

from __future__ import annotations

import logging
import uuid

from celery import Celery
from flask import current_app

from gentrade.runtime import runtime

log = logging.getLogger(__name__)

RUN_BACKTEST = "gentrade.run_backtest"
REAP_STALE_BACKTESTS = "gentrade.reap_stale_backtests"
EXPIRE_OPENED_THREADS = "gentrade.expire_opened_threads"
PRUNE_HOST_FILES = "gentrade.prune_host_files"
# A pooled broker connection that died with a broker restart fails the first send; one new connection fixes it. A
# broker that is really down still fails within a second (no long back-off while a request waits).
PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.25, "interval_max": 0.5}


def hosts_exchange(task_queue: str) -> str:
    """The fanout exchange every worker host listens on (one per task queue, so separate deployments on one
    broker stay apart)."""
    return f"{task_queue}.hosts"


def _celery() -> Celery:
    """This app's Celery (explicitly: several apps may live in one process)."""
    return current_app.extensions["celery"]


def publish_run(backtest_id: uuid.UUID) -> None:
    """Queue ``run_backtest`` for the backtest on this app's broker (the task id is the backtest's)."""
    _celery().send_task(
        RUN_BACKTEST, args=[str(backtest_id)], task_id=str(backtest_id), retry=True, retry_policy=PUBLISH_RETRY
    )


def publish_prune(clerk_id: str) -> None:
    """Tell every worker host to remove what it keeps of this user that the database no longer has (the user, a
    strategy, backtests). Best effort: a host that misses it catches up at its start and hourly."""
    celery = _celery()
    hosts = celery.amqp.queues.aliases.get(hosts_exchange(runtime().settings.task_queue))
    if hosts is None:  # a broker without broadcast: one host
        return
    try:
        # declare: the exchange may not exist yet (no worker has started); a message no host hears is dropped
        celery.send_task(
            PRUNE_HOST_FILES, args=[clerk_id], retry=True, retry_policy=PUBLISH_RETRY, declare=[hosts.exchange]
        )
    except Exception:
        log.warning("could not tell the worker hosts to remove the files of %s", clerk_id, exc_info=True)


def broker_reachable(timeout: float = 2.0) -> bool:
    """Whether this app's broker accepts a connection within ``timeout`` seconds (one try)."""
    try:
        with _celery().connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=timeout)
    except Exception:
        return False
    return True
