"""The real backtest pipeline for integration tests, shared by the test modules that drive it.

The API publishes to the real RabbitMQ, a real ``celery -A gentrade.tasks worker`` process runs
stock Freqtrade on candles downloaded from the local exchange stand-in, and the API reads the
outcome. A test module imports the fixtures it needs (``exchange``, ``broker_url``,
``backtest_app``, ``worker_settings``, ``worker``, ``api``) by name; each module gets its own instances.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from gentrade import create_app
from gentrade.exchange_sim import ExchangeSimulator, SimulatorConfig
from gentrade.extensions import db
from gentrade.models import Backtest, Strategy
from gentrade.models.backtest import ACTIVE_STATUSES
from gentrade.samples import draft
from gentrade.services import backtest_state
from gentrade.tasks.celery_app import remove_queue
from tests.conftest import (
    AUTHORIZED_PARTY,
    ISSUER,
    TASK_QUEUE,
    WEBHOOK_SECRET,
    Tokens,
    production_settings,
    public_pem,
    require_rabbitmq,
)

ROOT = Path(__file__).resolve().parents[1]
BACKTESTS = "/api/v1/backtests"
FINAL = {"finished", "failed", "cancelled"}
TIMEOUT_SECONDS = 40
STALE_SECONDS = 6
SETTLE_SECONDS = 60  # a cancelled backtest's task ends within a heartbeat, a poll and Freqtrade's kill grace
PAIRS = ("BTC/USDT", "ETH/USDT", "LATE/USDT", "GAPPY/USDT", "FAILS/USDT", "SOL/USDT", "ADA/USDT")
TODAY = datetime.now(UTC).date()
END = TODAY - timedelta(days=2)
START = END - timedelta(days=30)


def exchange_config() -> SimulatorConfig:
    """The stand-in's pairs: two healthy ones, a late listing, a gap, one whose klines answer HTTP 500."""
    listed = {"LATE/USDT": datetime.combine(END - timedelta(days=10), datetime.min.time(), tzinfo=UTC)}
    gap_start = datetime.combine(END - timedelta(days=12), datetime.min.time(), tzinfo=UTC)
    return SimulatorConfig(
        pairs=PAIRS,
        listed=listed,
        gaps={"GAPPY/USDT": [(gap_start, gap_start + timedelta(days=2))]},
        failing={"FAILS/USDT"},
    )


@pytest.fixture(scope="module")
def exchange() -> Iterator[ExchangeSimulator]:
    with ExchangeSimulator(exchange_config()) as simulator:
        yield simulator


def settings_env(
    postgres_url: str, broker_url: str, data_dir: Path, clerk_key: rsa.RSAPrivateKey, api_url: str, **extra: str
) -> dict[str, str]:
    """The ``GENTRADE_*`` environment of the API and the worker; ``extra`` adds or overrides variables."""
    return {
        "GENTRADE_ENV": "production",
        "GENTRADE_DATA_DIR": str(data_dir),
        "GENTRADE_DATABASE_URL": postgres_url,
        "GENTRADE_BROKER_URL": broker_url,
        "GENTRADE_CLERK_JWT_KEY": public_pem(clerk_key),
        "GENTRADE_CLERK_ISSUER": ISSUER,
        "GENTRADE_CLERK_AUTHORIZED_PARTIES": AUTHORIZED_PARTY,
        "GENTRADE_CLERK_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "GENTRADE_EXCHANGE_API_URL": api_url,
        "GENTRADE_BACKTEST_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS),
        "GENTRADE_BACKTEST_STALE_SECONDS": str(STALE_SECONDS),
        "GENTRADE_BACKTEST_MAX_ACTIVE_PER_USER": "3",
        "GENTRADE_LOG_LEVEL": "INFO",
        "GENTRADE_TASK_QUEUE": TASK_QUEUE,
        **extra,
    }


@pytest.fixture(scope="module")
def broker_url() -> str:
    return require_rabbitmq()


@pytest.fixture(scope="module")
def backtest_app(
    app: Flask,
    postgres_url: str,
    broker_url: str,
    data_dir: Path,
    clerk_key: rsa.RSAPrivateKey,
    exchange: ExchangeSimulator,
) -> Iterator[Flask]:
    """The API as deployed, publishing to RabbitMQ (the session ``app`` has migrated the database).
    The session's own queue is deleted afterwards."""
    env = settings_env(postgres_url, broker_url, data_dir, clerk_key, exchange.api_url)
    overrides = {key.removeprefix("GENTRADE_").lower(): value for key, value in env.items()}
    for key in (
        "env",
        "data_dir",
        "database_url",
        "broker_url",
        "clerk_jwt_key",
        "clerk_issuer",
        "clerk_webhook_secret",
    ):
        overrides.pop(key)
    overrides["clerk_authorized_parties"] = [AUTHORIZED_PARTY]
    backtest_application = create_app(
        production_settings(data_dir, postgres_url, clerk_key, broker_url=broker_url, **overrides)
    )
    celery = backtest_application.extensions["celery"]
    celery.control.purge()
    yield backtest_application
    remove_queue(celery, TASK_QUEUE)


class Worker:
    """A real ``celery -A gentrade.tasks worker`` process (2 pool processes, embedded beat unless ``beat`` is False).

    ``prefix`` runs the command inside another one, e.g. ``nsenter ...`` to start it on a cluster host.
    """

    def __init__(self, env: dict[str, str], log_path: Path, prefix: Sequence[str] = (), *, beat: bool = True) -> None:
        self.env, self.log_path, self.prefix, self.beat = env, log_path, list(prefix), beat
        self.process: subprocess.Popen[bytes] | None = None
        self.nodename = ""

    def start(self) -> None:
        schedule = self.log_path.with_suffix(".schedule")
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        self.nodename = f"test-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
        beat = ["-B", "-s", str(schedule)] if self.beat else []
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [*self.prefix, sys.executable, "-m", "celery", "-A", "gentrade.tasks", "worker", "-c", "2", *beat,
                 "--loglevel", "INFO", "-n", self.nodename, "--without-mingle", "--without-gossip"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        wait_for_log(self.log_path, b"ready.", self.process, offset, what="the worker")

    def kill(self) -> None:
        """``kill -9`` the whole worker: its main process and its pool."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_idle(self, celery: Celery, timeout: float = SETTLE_SECONDS) -> None:
        """Wait until this worker has no task running or waiting for a pool process (asked twice in a row, so
        a task passing from waiting to running between the two questions is not missed).

        Tasks delayed by a retry's countdown, and messages still in the queue, do not count: once their
        backtest is final or gone they only try to claim it, one single-table ``UPDATE`` that fails.
        """
        inspect = celery.control.inspect(destination=[self.nodename], timeout=1.0)
        deadline = time.monotonic() + timeout
        busy: Any = "no answer yet"
        quiet = 0
        while self.running():
            try:
                active, reserved = inspect.active(), inspect.reserved()
            except Exception as exc:  # the broker restarting: ask again
                active = reserved = None
                busy = f"no answer: {exc}"
            if active is not None and reserved is not None:
                busy = [
                    task["name"] + str(task["args"])
                    for tasks in (active, reserved)
                    for task in tasks.get(self.nodename, [])
                ]
                quiet = 0 if busy else quiet + 1
                if quiet == 2:
                    return
            assert time.monotonic() < deadline, f"the worker still has tasks in hand after {timeout} s: {busy}"
            time.sleep(0.2)

    def stop(self) -> None:
        if self.running():
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def wait_for_log(
    log_path: Path, marker: bytes, process: subprocess.Popen[bytes], offset: int = 0, what: str = "the process"
) -> None:
    """Wait until the log shows ``marker`` past ``offset`` (this start's, not a previous one's); fail with the
    log's tail when the process exits first, or after a minute."""
    deadline = time.monotonic() + 60
    while marker not in log_path.read_bytes()[offset:]:
        assert process.poll() is None, log_path.read_text()[-3000:]
        assert time.monotonic() < deadline, f"{what} did not start"
        time.sleep(0.3)


def worker_env(home: Path, settings: dict[str, str]) -> dict[str, str]:
    """A worker's whole environment: PATH, a private HOME, and the settings (nothing else leaks in)."""
    return {"PATH": os.environ.get("PATH", ""), "HOME": str(home), **settings}


@pytest.fixture(scope="module")
def worker_settings(
    postgres_url: str, broker_url: str, data_dir: Path, clerk_key: rsa.RSAPrivateKey, exchange: ExchangeSimulator
) -> dict[str, str]:
    """The worker's settings; a test module overrides this fixture to change some."""
    return settings_env(postgres_url, broker_url, data_dir, clerk_key, exchange.api_url)


@pytest.fixture(scope="module")
def worker(
    backtest_app: Flask, worker_settings: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Worker]:
    home, logs = tmp_path_factory.mktemp("worker-home"), tmp_path_factory.mktemp("worker")
    running = Worker(worker_env(home, worker_settings), logs / "worker.log")
    running.start()
    yield running
    running.stop()


@pytest.fixture
def api(backtest_app: Flask, client: FlaskClient, worker: Worker) -> Iterator[FlaskClient]:
    """A client of the RabbitMQ-publishing app, on a clean database (``client`` cleans it).

    Afterwards, before ``client`` cleans up, whatever the test left running is stopped and waited for
    (``settle``): a backtest's task still in the worker while the next ``TRUNCATE`` runs can deadlock with it.
    """
    yield backtest_app.test_client()
    settle(backtest_app, worker)


def settle(backtest_app: Flask, worker: Worker) -> None:
    """Cancel every backtest still queued or working, then wait until the worker has no task in hand.

    The worker reads a backtest with its strategy and user (``backtest_runs._plan``), and checks a cancelled
    run's backtest and then its user (``_remove_orphans``): child tables before parent tables, the reverse of
    the ``TRUNCATE`` of ``deleted_users, users, ..., strategies, backtests``. A task of the test just ended
    that overlaps the cleaning can so hold ``backtests`` while waiting for ``users`` that the ``TRUNCATE``
    holds while waiting for ``backtests``: PostgreSQL's ``DeadlockDetected``. Cancelled first, every task
    still to come finds its backtest final (or gone) and stops at its claim.
    """
    with backtest_app.app_context():
        working = db.session.scalars(
            select(Backtest.id).where(Backtest.status.in_([str(s) for s in ACTIVE_STATUSES]))
        ).all()
        db.session.commit()
        for backtest_id in working:
            backtest_state.cancel(backtest_id)
    worker.wait_idle(backtest_app.extensions["celery"])


def deploy(api: FlaskClient, tokens: Tokens, user: str = "user_alice", **changes: Any) -> str:
    """A reviewed strategy of ``user`` (RSI entry unless ``changes`` say otherwise); its id."""
    headers = tokens.headers(user)
    thread = api.post("/api/v1/chats", json={}, headers=headers).json["thread_id"]
    trading = {"entry_conditions": {"any": [{"left": "rsi", "op": "<", "right": 30}]}, **changes}
    response = api.post("/api/v1/strategies", json={"thread_id": thread, "draft": draft(**trading)}, headers=headers)
    assert response.status_code == 201, response.json
    return response.json["id"]


def start(api: FlaskClient, tokens: Tokens, strategy_id: str, user: str = "user_alice", **body: Any) -> dict[str, Any]:
    """POST a backtest of ``START``-``END`` (``body`` overrides); it must be accepted as ``queued``."""
    payload = {"strategy_id": strategy_id, "start_date": START.isoformat(), "end_date": END.isoformat(), **body}
    response = api.post(BACKTESTS, json=payload, headers=tokens.headers(user))
    assert response.status_code == 202, response.json
    assert response.json["status"] == "queued"
    return response.json


def wait_for(
    api: FlaskClient,
    tokens: Tokens,
    backtest_id: str,
    statuses: set[str],
    timeout: float = 120,
    user: str = "user_alice",
) -> dict[str, Any]:
    """Poll the backtest until its status is one of ``statuses``; fail with its last state at the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = api.get(f"{BACKTESTS}/{backtest_id}", headers=tokens.headers(user)).json
        if body["status"] in statuses:
            return body
        time.sleep(0.3)
    raise AssertionError(f"backtest {backtest_id} stayed {body['status']}: {body}")


def hand_written_strategy(backtest_app: Flask, clerk_id: str, name: str, body: str) -> str:
    """A strategy row and file written directly (not through the review), to test the runner's limits."""
    code = f"""
from freqtrade.strategy import IStrategy
from pandas import DataFrame
import time


class {name}(IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "1h"
    stoploss = -0.1
    minimal_roi = {{"0": 0.1}}

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        {body}
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe
"""
    with backtest_app.app_context():
        from gentrade.runtime import runtime
        from gentrade.services import users

        user = users.get_or_provision(clerk_id)
        assert user is not None
        path = runtime().user_dirs.strategy_file(clerk_id, name)
        path.write_text(code)
        never = {"all": [{"left": "close", "op": ">", "right": 0}]}
        strategy = Strategy(
            user_id=user.id,
            name=name,
            code=code,
            file_path=f"user_data/strategies/{name}.py",
            draft=draft(name=name, indicators=[], entry_conditions=never, exit_conditions=None),
        )
        db.session.add(strategy)
        db.session.commit()
        return str(strategy.id)
