"""Agent housekeeping tasks: thin wrappers over the agent-threads service."""

from __future__ import annotations

import logging

from celery import shared_task

from gentrade.services import agent_threads
from gentrade.work_queue import EXPIRE_OPENED_THREADS

log = logging.getLogger(__name__)


@shared_task(name=EXPIRE_OPENED_THREADS)
def expire_opened_threads() -> int:
    """Periodic (celery beat): threads opened for chats that were never saved go, checkpoints and all."""
    expired = agent_threads.expire_opened_threads()
    if expired:
        log.info("expired %d agent threads no chat took over", expired)
    return expired
