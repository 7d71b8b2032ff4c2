"""Celery: ``celery -A gentrade.tasks worker``. Tasks are thin: load the row, call the service, record the outcome.

The Celery app lives on the Flask app (``create_app`` makes it, so the API can publish). The
worker command reaches it through this module's ``celery`` attribute, which builds the Flask app
on first access only: importing the tasks from the API does not create a second app.
"""

from __future__ import annotations

from typing import Any

from gentrade.tasks.agent import expire_opened_threads
from gentrade.tasks.backtests import reap_stale_backtests, run_backtest
from gentrade.tasks.hosts import prune_host_files

__all__ = ["expire_opened_threads", "prune_host_files", "reap_stale_backtests", "run_backtest"]


def __getattr__(name: str) -> Any:
    if name in ("celery", "app"):
        from gentrade import create_app

        return create_app().extensions["celery"]
    raise AttributeError(name)
