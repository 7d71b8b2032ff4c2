"""One run: the stack started, the users let loose, the processes sampled, everything stopped again."""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.api_server import wait_until_serving
from bench.backtest_stack import BacktestStack, backtest_stack
from bench.load_users.checks import assess
from bench.load_users.plan import CELERY_PROCESSES, IDLE_SECONDS, PAIRS, Options
from bench.load_users.processes import Sampler
from bench.load_users.stack import celery_pid, delete_queue, queue_depth, start_api, table_statuses
from bench.load_users.traffic import Backtests, Stats, load
from gentrade import devkeys
from gentrade.demo import free_port, stop_stack
from gentrade.runtime import EXTENSION_KEY
from gentrade.settings import Settings


def run(options: Options) -> dict[str, Any]:
    """Start the stack, load it, measure; the figures as a dict."""
    stats = Stats()
    backtests = Backtests(budget=options.backtests)
    stacks: list[BacktestStack] = []
    try:
        with (
            backtest_stack(PAIRS, worker_processes=CELERY_PROCESSES) as stack,
            tempfile.TemporaryDirectory() as scratch,
        ):
            stacks.append(stack)
            settings: Settings = stack.app.extensions[EXTENSION_KEY].settings
            port, log_path = free_port(), Path(scratch) / "gunicorn.log"
            url = f"http://127.0.0.1:{port}"
            server = start_api(settings, port, log_path)
            sampler = None
            try:
                wait_until_serving(url, server, log_path)
                tokens = [devkeys.mint_token(stack.data_dir, f"user_load{i:03d}") for i in range(options.users)]
                sampler = Sampler(server.pid, celery_pid(stack))
                sampler.take()
                sampler.phase = "load"
                sampler.start()
                generator = asyncio.run(load(url, tokens, options, stats, backtests))
                sampler.phase = "idle"
                time.sleep(IDLE_SECONDS)
                sampler.stop()
                sampler.phase = "after"
                sampler.take()
            finally:
                if sampler is not None:
                    sampler.stop()
                    sampler.conn.close()
                stop_stack(server)
            rows = table_statuses(settings)
            depth = queue_depth(stack)
            server_log = log_path.read_text(errors="replace")
            worker_log = (stack.data_dir / "worker.log").read_text(errors="replace")
    finally:
        for stack in stacks:
            try:
                delete_queue(stack)
            except Exception as exc:  # never hide the run's own error
                print(f"could not delete the queue: {exc!r}", file=sys.stderr)
    return assess(options, settings, stats, backtests, sampler.samples, generator, rows, depth, server_log, worker_log)
