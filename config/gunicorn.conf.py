"""Gunicorn settings for the GenTrade API: ``gunicorn -c config/gunicorn.conf.py wsgi:app``.

gevent workers serve many slow clients (server-sent events, LLM streams) per process. The
monkey-patching happens here, at the top of the first module gunicorn loads, before anything
imports ``socket``, ``ssl`` or ``threading``; the worker's own patch then finds it done.
"""

import os

worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gevent")
if worker_class == "gevent":
    from gevent import monkey

    monkey.patch_all()

import multiprocessing  # noqa: E402 - after the patch on purpose
from typing import Any  # noqa: E402

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", min(multiprocessing.cpu_count() * 2 + 1, 8)))
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", 1000))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 120))  # streams send data; this guards stuck workers
graceful_timeout = 30
keepalive = 5
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s'
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# The runtime control socket is not used; off, several instances on one host never share its path.
control_socket_disable = True


def on_starting(server: object) -> None:
    """Before any worker is forked: the workers count their Prometheus metrics in files of one directory, summed
    by whichever worker answers ``/metrics`` (prometheus_client reads the variable when a worker first imports
    it). A given ``PROMETHEUS_MULTIPROC_DIR`` is emptied; otherwise a private one is made for this run."""
    from gentrade.metrics.exposition import use_multiprocess_dir

    use_multiprocess_dir()


def child_exit(server: object, worker: Any) -> None:
    """A worker is gone (restarted, killed): its counts stay in the sum."""
    from gentrade.metrics.exposition import process_exited

    process_exited(worker.pid)


def on_exit(server: object) -> None:
    from gentrade.metrics.exposition import release_multiprocess_dir

    release_multiprocess_dir()


def when_ready(server: object) -> None:
    """Before any worker is forked: the master, and every worker it forks (the flag is inherited), become
    non-dumpable, so code they start as the same OS user (the strategy checks) cannot read their secrets
    through ``/proc``."""
    from gentrade.process_guard import forbid_inspection

    forbid_inspection()


def post_worker_init(worker: object) -> None:
    """Import Freqtrade's strategy machinery (about 2 s) before the worker takes requests, not during a deploy.

    Then freeze what is loaded: the garbage collector stops re-scanning those ~500k long-lived
    objects, and its full collections drop from up to a second to a few milliseconds.
    """
    import gc

    from gentrade.strategies.check import warm_up

    warm_up()
    gc.collect()
    gc.freeze()
    _keep_this_host_swept(worker)


def _keep_this_host_swept(worker: Any) -> None:
    """An API host hears no deletion broadcast (those go to the workers): its copies of deleted users' and
    strategies' files go when its workers start and hourly after that (``services/host_files.py``)."""
    from flask import Flask

    from gentrade.services.host_files import keep_swept

    if isinstance(worker.wsgi, Flask):
        keep_swept(worker.wsgi)


def post_request(worker: object, req: object, environ: object, resp: object) -> None:
    """Yield to the other greenlets after each request: a keep-alive client whose next request is
    already waiting would otherwise be served again and again while others wait (long tails)."""
    if worker_class == "gevent":
        import gevent

        gevent.sleep(0)
