"""The Celery app, bound to the Flask app so every task runs inside its app context: its configuration, the
queues it declares (the task queue, and the hosts' fanout exchange on RabbitMQ), and what the worker's processes
do at their start (the runner check, the sweep of this host's files, the metrics server).

Sending work is ``gentrade.work_queue``'s (services use it, and must not import this module).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery, Task
from celery.signals import (
    beat_init,
    worker_init,
    worker_process_init,
    worker_process_shutdown,
    worker_ready,
    worker_shutdown,
)
from flask import Flask
from kombu import Queue
from kombu.common import Broadcast

from gentrade.extensions import db
from gentrade.metrics import exposition
from gentrade.process_guard import forbid_inspection
from gentrade.services import host_files
from gentrade.settings import Settings
from gentrade.work_queue import EXPIRE_OPENED_THREADS, PRUNE_HOST_FILES, REAP_STALE_BACKTESTS, hosts_exchange

log = logging.getLogger(__name__)

REAP_EVERY_SECONDS = 60.0
EXPIRE_THREADS_EVERY_SECONDS = 3600.0


def celery_init_app(app: Flask, settings: Settings) -> Celery:
    """The Celery app of ``app``: its tasks run inside the Flask app's context; put on ``app.extensions``, where
    ``gentrade.work_queue`` finds it to publish."""

    class FlaskTask(Task):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery = Celery(app.name, task_cls=FlaskTask)
    celery.conf.update(_configuration(settings))
    if _has_fanout(settings.effective_broker_url):
        _broadcast_to_hosts(celery, settings.task_queue)
    celery.set_default()
    app.extensions["celery"] = celery
    _prepare_worker_processes(app, settings)
    _prepare_worker(app)
    if settings.worker_metrics_port is not None:
        _serve_metrics(settings, settings.worker_metrics_port)
    return celery


def _configuration(settings: Settings) -> dict[str, Any]:
    return {
        "broker_url": settings.effective_broker_url,
        "broker_connection_retry_on_startup": True,
        "task_ignore_result": True,
        "task_serializer": "json",
        "accept_content": ["json"],
        # A backtest is acknowledged only when it is done: a worker that dies leaves it in the queue.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "worker_max_tasks_per_child": 50,  # Freqtrade runs in subprocesses, but keep workers fresh anyway
        "task_default_queue": settings.task_queue,
        "beat_schedule": {
            "reap-stale-backtests": {"task": REAP_STALE_BACKTESTS, "schedule": REAP_EVERY_SECONDS},
            "expire-opened-threads": {"task": EXPIRE_OPENED_THREADS, "schedule": EXPIRE_THREADS_EVERY_SECONDS},
        },
        "include": ["gentrade.tasks.backtests", "gentrade.tasks.agent", "gentrade.tasks.hosts"],
    }


def _prepare_worker_processes(app: Flask, settings: Settings) -> None:
    """What each pool process does when it starts and ends: its own database connections, a warm runner."""

    @worker_process_init.connect(weak=False)
    def _fresh_connections(**kwargs: Any) -> None:
        """A forked pool process must not share the parent's database connections; it starts its backtest fork
        server, or its pooled Freqtrade containers, now (in the background), so its first backtest starts warm too."""
        with app.app_context():
            db.engine.dispose(close=False)
        if settings.freqtrade_runner == "local" and settings.backtest_warm_start:
            from gentrade.freqtrade.runners.warm import SERVERS

            SERVERS.prestart()
        if settings.freqtrade_runner == "docker" and settings.docker_pool_size > 0:
            from gentrade.services.backtest_runners import prestart_pool  # the runners: loaded by workers only

            with app.app_context():
                prestart_pool()

    @worker_process_shutdown.connect(weak=False)
    def _remove_pooled_containers(**kwargs: Any) -> None:
        """A pool process ending takes its idle Freqtrade containers with it (one killed leaves them to the sweep)."""
        if settings.freqtrade_runner == "docker":
            from gentrade.freqtrade.runners.docker_pool import POOL

            POOL.close()


def _prepare_worker(app: Flask) -> None:
    """What the worker's main process does at its start: check its runner, then keep this host's files swept."""

    @worker_ready.connect(weak=False)
    def _sweep_this_host(**kwargs: Any) -> None:
        """A worker starting removes what this host keeps of users, strategies and backtests deleted while it was
        down, and again hourly (in the background: it may be many folders)."""
        host_files.keep_swept(app)

    @worker_init.connect(weak=False)
    def _check_runner(**kwargs: Any) -> None:
        """A runner that cannot work here (no Docker engine, one too old) stops the worker at its start, with
        the reason, instead of failing every backtest. SystemExit: Celery logs and ignores other exceptions."""
        from gentrade.services.backtest_runners import runner_problem  # the runners: loaded by workers only

        with app.app_context():
            problem = runner_problem()
        if problem:
            log.critical("the worker cannot run backtests: %s", problem)
            raise SystemExit(f"the worker cannot run backtests: {problem}")


def _has_fanout(broker_url: str) -> bool:
    """RabbitMQ: several hosts, told things by broadcast. The embedded SQLite queue has no fanout exchanges; it
    serves a single host, whose API removes deleted users' files itself."""
    return broker_url.split("://", 1)[0] in ("amqp", "amqps", "pyamqp")


def _broadcast_to_hosts(celery: Celery, task_queue: str) -> None:
    """Every worker gets each message of the hosts exchange on a queue of its own, gone with its connection."""
    hosts = Broadcast(hosts_exchange(task_queue), durable=False, exclusive=True)
    celery.conf.update(
        task_queues=(Queue(task_queue), hosts),
        task_routes={PRUNE_HOST_FILES: {"queue": hosts.alias, "exchange": hosts.alias}},
    )


def _serve_metrics(settings: Settings, port: int) -> None:
    """The worker's main process serves the metrics its pool processes count (``GENTRADE_WORKER_METRICS_PORT``).

    The shared directory is set at ``worker_init``: after the app is loaded, before the pool forks, so every
    pool process inherits it. Connected once per process (``dispatch_uid``), however many apps it builds.
    """
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None

    @worker_init.connect(weak=False, dispatch_uid="gentrade.metrics.serve")
    def _serve(**kwargs: Any) -> None:
        exposition.use_multiprocess_dir()
        try:
            exposition.serve(settings.worker_metrics_host, port, token)
        except OSError as exc:  # backtests matter more than their metrics: run them anyway
            log.error("the worker serves no metrics: %s:%d: %s", settings.worker_metrics_host, port, exc)

    @worker_process_shutdown.connect(weak=False, dispatch_uid="gentrade.metrics.process_exited")
    def _process_exited(pid: int, **kwargs: Any) -> None:
        exposition.process_exited(pid)

    @worker_shutdown.connect(weak=False, dispatch_uid="gentrade.metrics.release")
    def _release(**kwargs: Any) -> None:
        exposition.release_multiprocess_dir()


@worker_init.connect
@beat_init.connect
def _guard_secrets(**kwargs: Any) -> None:
    """Before any backtest runs: Freqtrade children (same OS user) cannot read this process's
    environment or working directory through ``/proc``; the pool processes inherit it."""
    forbid_inspection()


def remove_queue(celery: Celery, task_queue: str) -> None:
    """Delete a task queue and its two exchanges (its own, and the hosts' fanout), which RabbitMQ keeps after the
    queue: for a test's or benchmark's private queue once it is done."""
    with celery.connection_for_write() as connection:
        channel = connection.default_channel
        channel.queue_delete(task_queue)
        for exchange in (task_queue, hosts_exchange(task_queue)):
            channel.exchange_delete(exchange)
