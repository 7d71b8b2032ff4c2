"""Tasks every worker host runs (a broadcast): keep this host's folders in step with the database."""

from __future__ import annotations

import logging

from celery import shared_task

from gentrade.services import host_files
from gentrade.work_queue import PRUNE_HOST_FILES

log = logging.getLogger(__name__)


@shared_task(name=PRUNE_HOST_FILES)
def prune_host_files(clerk_id: str | None = None) -> int:
    """Remove what this host keeps of one user (``clerk_id``) that the database no longer has (the broadcast after a
    deletion); without one, of everyone."""
    removed = host_files.sweep(clerk_id)
    if removed:
        log.info("removed %d deleted users', strategies' or backtests' folders and files on this host", removed)
    return removed
