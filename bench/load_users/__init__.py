"""Issue 7 "Load": many concurrent users on the whole stack, for correctness under concurrency.

The stack: the API on gunicorn (``config/gunicorn.conf.py``, 2 gevent workers) on PostgreSQL (a private
schema), RabbitMQ (a private queue), one Celery worker with 2 pool processes (``celery -A gentrade.tasks
worker -c 2``, from ``bench.backtest_stack``), the local exchange stand-in, the offline LLM provider.

The users: ``--users`` virtual users (asyncio + aiohttp, one development token each) loop for
``--seconds`` over a journey with a seeded random think time between requests: create a chat, list the
chats, read it, stream an agent turn (SSE, read to ``end``), rename it. ``--deployers`` of them also
deploy the turn's draft once and start backtests (short: 1 pair, 1h, 30 days) while a shared budget of
``--backtests`` lasts, polling each to a final state; at the end every backtest gets a bounded time to end.

Measured: requests and errors per route (any 5xx, connection error, timeout or unexpected status is an
error; 429 on a backtest start is expected), p50/p95/p99 per CRUD route, SSE first byte, backtests
started/finished/failed/stuck (the API, the table and the queue), database connections of the API and
worker processes (their sockets to PostgreSQL, joined with ``pg_stat_activity``) before/peak/after an idle
period, RSS of the Celery worker processes (not the Freqtrade subprocesses) and of the API workers, and
the load generator's own CPU and event-loop lag (it must not be the bottleneck).

Exit status 1 when a request failed, a backtest failed, was lost or stuck, connections leaked, the
Celery worker's memory grew by more than 20 % after warm-up, or the API's log shows an error or traceback.

Run: ``.venv/bin/python -m bench.load_users [--users 200 --seconds 120]`` (PostgreSQL at 127.0.0.1:5432,
database ``test``, a private schema dropped afterwards; RabbitMQ at 127.0.0.1:5672, a private queue deleted
afterwards). Everything it starts is stopped, also on Ctrl-C or SIGTERM.

Its parts: ``plan`` (the options, the stack's size, the routes), ``traffic`` (the virtual users), ``stack``
(the API beside the worker; the queue and the table), ``processes`` (sampling memory, CPU and connections),
``checks`` (figures and verdicts), ``report`` (the readable report and the figures), ``run`` (one run, wired
together), ``__main__`` (the arguments).
"""
