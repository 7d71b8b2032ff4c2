"""The API served beside ``bench.backtest_stack``'s worker, and what the stack's queue and table hold."""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path

import psutil
import psycopg

from bench.api_server import ROOT, start_server
from bench.backtest_stack import BacktestStack
from gentrade.runtime import EXTENSION_KEY
from gentrade.settings import Settings
from gentrade.tasks.celery_app import remove_queue


def start_api(settings: Settings, port: int, log_path: Path) -> subprocess.Popen[bytes]:
    """The API as ``bench.api_load`` starts it, on the stack's database, broker, queue and exchange."""
    stack_env = {
        "GENTRADE_BROKER_URL": str(settings.broker_url),
        "GENTRADE_TASK_QUEUE": settings.task_queue,
        "GENTRADE_EXCHANGE_API_URL": str(settings.exchange_api_url),
    }
    return start_server(settings.data_dir, str(settings.database_url), port, log_path, stack_env)


def celery_pid(stack: BacktestStack) -> int:
    """The stack's Celery worker: the child of this process started in the stack's data folder."""
    for child in psutil.Process().children(recursive=False):
        if "celery" in " ".join(child.cmdline()) and Path(child.cwd()) == ROOT:
            return child.pid
    raise RuntimeError(f"no Celery worker among this process's children ({stack.data_dir})")


def queue_depth(stack: BacktestStack) -> int:
    """Messages left in the stack's queue (a backtest published but never acknowledged stays there)."""
    celery = stack.app.extensions["celery"]
    queue = stack.app.extensions[EXTENSION_KEY].settings.task_queue
    with celery.connection_for_write() as connection:
        return connection.default_channel.queue_declare(queue=queue, passive=True).message_count


def delete_queue(stack: BacktestStack) -> None:
    """``bench.backtest_stack`` purges its queue; the queue itself goes too."""
    remove_queue(stack.app.extensions["celery"], stack.app.extensions[EXTENSION_KEY].settings.task_queue)


def table_statuses(settings: Settings) -> Counter[str]:
    """Backtest rows by status, straight from the private schema (a backtest the API lost shows here)."""
    with psycopg.connect(str(settings.database_url)) as conn:
        return Counter(dict(conn.execute("SELECT status, count(*) FROM backtests GROUP BY status").fetchall()))
