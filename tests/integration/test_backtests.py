"""Backtests end to end: the API publishes to the real RabbitMQ, a real Celery worker process runs
stock Freqtrade on data downloaded from the local exchange stand-in, and the API reads the outcome.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient

from gentrade import create_app
from gentrade.exchange_sim import ExchangeSimulator, SimulatorConfig
from gentrade.extensions import db
from gentrade.models import Backtest, Strategy, User
from tests.conftest import (
    AUTHORIZED_PARTY,
    ISSUER,
    WEBHOOK_SECRET,
    Tokens,
    production_settings,
    public_pem,
    require_rabbitmq,
)
from tests.samples import draft

ROOT = Path(__file__).resolve().parents[2]
BACKTESTS = "/api/v1/backtests"
FINAL = {"finished", "failed", "cancelled"}
TIMEOUT_SECONDS = 40
STALE_SECONDS = 6
PAIRS = ("BTC/USDT", "ETH/USDT", "LATE/USDT", "GAPPY/USDT", "FAILS/USDT", "SOL/USDT", "ADA/USDT")
TODAY = datetime.now(UTC).date()
END = TODAY - timedelta(days=2)
START = END - timedelta(days=30)


@pytest.fixture(scope="module")
def exchange() -> Iterator[ExchangeSimulator]:
    listed = {"LATE/USDT": datetime.combine(END - timedelta(days=10), datetime.min.time(), tzinfo=UTC)}
    gap_start = datetime.combine(END - timedelta(days=12), datetime.min.time(), tzinfo=UTC)
    config = SimulatorConfig(
        pairs=PAIRS,
        listed=listed,
        gaps={"GAPPY/USDT": [(gap_start, gap_start + timedelta(days=2))]},
        failing={"FAILS/USDT"},
    )
    with ExchangeSimulator(config) as simulator:
        yield simulator


def _settings_env(
    postgres_url: str, broker_url: str, data_dir: Path, clerk_key: rsa.RSAPrivateKey, api_url: str
) -> dict[str, str]:
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
) -> Flask:
    """The API as deployed, publishing to RabbitMQ (the session ``app`` has migrated the database)."""
    env = _settings_env(postgres_url, broker_url, data_dir, clerk_key, exchange.api_url)
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
    backtest_application.extensions["celery"].control.purge()
    return backtest_application


class Worker:
    """A real ``celery -A gentrade.tasks worker`` process (2 pool processes, embedded beat)."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env, self.log_path = env, log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        schedule = self.log_path.with_suffix(".schedule")
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "gentrade.tasks", "worker", "-c", "2", "-B", "-s", str(schedule),
                 "--loglevel", "INFO", "-n", f"test-{uuid.uuid4().hex[:8]}@%h", "--without-mingle", "--without-gossip"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while b"ready." not in self.log_path.read_bytes():
            assert self.process.poll() is None, self.log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, "the worker did not start"
            time.sleep(0.3)

    def kill(self) -> None:
        """``kill -9`` the whole worker: its main process and its pool."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@pytest.fixture(scope="module")
def worker(
    backtest_app: Flask, postgres_url: str, broker_url: str, data_dir: Path, clerk_key: rsa.RSAPrivateKey,
    exchange: ExchangeSimulator, tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Worker]:  # fmt: skip
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path_factory.mktemp("worker-home"))}
    env |= _settings_env(postgres_url, broker_url, data_dir, clerk_key, exchange.api_url)
    running = Worker(env, tmp_path_factory.mktemp("worker") / "worker.log")
    running.start()
    yield running
    running.stop()


@pytest.fixture
def api(backtest_app: Flask, client: FlaskClient, worker: Worker) -> FlaskClient:
    """A client of the RabbitMQ-publishing app, on a clean database (``client`` cleans it)."""
    return backtest_app.test_client()


def deploy(api: FlaskClient, tokens: Tokens, user: str = "user_alice", **changes: Any) -> str:
    headers = tokens.headers(user)
    thread = api.post("/api/v1/chats", json={}, headers=headers).json["thread_id"]
    trading = {"entry_conditions": {"any": [{"left": "rsi", "op": "<", "right": 30}]}, **changes}
    response = api.post("/api/v1/strategies", json={"thread_id": thread, "draft": draft(**trading)}, headers=headers)
    assert response.status_code == 201, response.json
    return response.json["id"]


def start(api: FlaskClient, tokens: Tokens, strategy_id: str, user: str = "user_alice", **body: Any) -> dict[str, Any]:
    payload = {"strategy_id": strategy_id, "start_date": START.isoformat(), "end_date": END.isoformat(), **body}
    response = api.post(BACKTESTS, json=payload, headers=tokens.headers(user))
    assert response.status_code == 202, response.json
    assert response.json["status"] == "queued"
    return response.json


def wait_for(
    api: FlaskClient, tokens: Tokens, backtest_id: str, statuses: set[str], timeout: float = 120
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = api.get(f"{BACKTESTS}/{backtest_id}", headers=tokens.headers()).json
        if body["status"] in statuses:
            return body
        time.sleep(0.3)
    raise AssertionError(f"backtest {backtest_id} stayed {body['status']}: {body}")


def test_backtest_runs_to_a_finished_summary(
    api: FlaskClient, tokens: Tokens, data_dir: Path, exchange: ExchangeSimulator
) -> None:
    strategy_id = deploy(api, tokens)
    backtest = start(api, tokens, strategy_id)
    done = wait_for(api, tokens, backtest["id"], FINAL)
    assert done["status"] == "finished", done["error"]
    summary = done["summary"]
    assert summary["total_trades"] > 0
    assert {row["pair"] for row in summary["pairs"]} == {"BTC/USDT", "ETH/USDT"}
    assert 2 <= len(summary["equity_curve"]) <= 500
    assert done["result_path"].startswith(f"user_data/backtest_results/{backtest['id']}/")
    assert (data_dir / "ft_userdata" / "user_user_alice" / done["result_path"]).is_file()
    assert done["started_at"]
    assert done["finished_at"]
    assert done["attempts"] == 1

    # Data reuse: the same range again downloads nothing.
    before = exchange.requests["klines:BTCUSDT"]
    again = wait_for(api, tokens, start(api, tokens, strategy_id)["id"], FINAL)
    assert again["status"] == "finished"
    assert exchange.requests["klines:BTCUSDT"] == before
    assert again["summary"]["total_trades"] == summary["total_trades"]


def test_concurrent_backtests_of_one_user_keep_their_own_results(api: FlaskClient, tokens: Tokens) -> None:
    first, second = deploy(api, tokens, name="FirstOne"), deploy(api, tokens, name="SecondOne", timeframe="4h")
    started = [start(api, tokens, first), start(api, tokens, second)]
    results = [wait_for(api, tokens, b["id"], FINAL) for b in started]
    assert [r["status"] for r in results] == ["finished", "finished"], [r["error"] for r in results]
    assert results[0]["result_path"] != results[1]["result_path"]
    assert results[0]["result_path"].split("/")[2] == started[0]["id"]


@pytest.mark.parametrize(
    ("pair", "code", "named"),
    [
        ("LATE/USDT", "data_unavailable", "LATE/USDT"),
        ("GAPPY/USDT", "data_invalid", "GAPPY/USDT"),
        ("FAILS/USDT", "data_unavailable", "FAILS/USDT"),
    ],
)
def test_bad_market_data_fails_with_a_precise_error(
    api: FlaskClient, tokens: Tokens, pair: str, code: str, named: str
) -> None:
    strategy_id = deploy(api, tokens)
    done = wait_for(api, tokens, start(api, tokens, strategy_id, pairs=["BTC/USDT", pair])["id"], FINAL)
    assert done["status"] == "failed"
    assert done["error"]["code"] == code, done["error"]
    assert named in done["error"]["message"]
    assert done["summary"] is None


def _hand_written_strategy(backtest_app: Flask, clerk_id: str, name: str, body: str) -> str:
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


def test_a_strategy_that_raises_fails_with_strategy_error(
    api: FlaskClient, tokens: Tokens, backtest_app: Flask
) -> None:
    strategy_id = _hand_written_strategy(backtest_app, "user_alice", "Raises", "raise ValueError('boom in populate')")
    done = wait_for(api, tokens, start(api, tokens, strategy_id)["id"], FINAL)
    assert done["status"] == "failed"
    assert done["error"]["code"] == "strategy_error"
    assert "boom in populate" in done["error"]["detail"]


def test_a_backtest_over_the_time_limit_fails_with_timeout(
    api: FlaskClient, tokens: Tokens, backtest_app: Flask
) -> None:
    strategy_id = _hand_written_strategy(backtest_app, "user_alice", "Sleeper", "time.sleep(600)")
    done = wait_for(api, tokens, start(api, tokens, strategy_id)["id"], FINAL, timeout=TIMEOUT_SECONDS + 90)
    assert done["status"] == "failed"
    assert done["error"]["code"] == "timeout"


def test_cancel_kills_a_running_backtest(api: FlaskClient, tokens: Tokens, backtest_app: Flask) -> None:
    strategy_id = _hand_written_strategy(backtest_app, "user_alice", "Sleeper", "time.sleep(600)")
    backtest = start(api, tokens, strategy_id)
    wait_for(api, tokens, backtest["id"], {"running"})
    response = api.post(f"{BACKTESTS}/{backtest['id']}/cancel", headers=tokens.headers())
    assert response.status_code == 200
    assert response.json["status"] == "cancelled"
    time.sleep(STALE_SECONDS)  # the worker notices within a heartbeat and kills Freqtrade
    assert api.get(f"{BACKTESTS}/{backtest['id']}", headers=tokens.headers()).json["status"] == "cancelled"
    leftover = subprocess.run(["pgrep", "-f", f"backtest_results/{backtest['id']}"], capture_output=True, text=True)
    assert leftover.stdout == "", "the cancelled Freqtrade process is still running"
    again = api.post(f"{BACKTESTS}/{backtest['id']}/cancel", headers=tokens.headers())
    assert again.status_code == 422


def test_killed_worker_leaves_no_backtest_running(api: FlaskClient, tokens: Tokens, worker: Worker) -> None:
    strategy_id = deploy(api, tokens)
    backtest = start(api, tokens, strategy_id)
    wait_for(api, tokens, backtest["id"], {"downloading_data", "running"}, timeout=60)
    worker.kill()
    time.sleep(1)
    assert api.get(f"{BACKTESTS}/{backtest['id']}", headers=tokens.headers()).json["status"] in {
        "downloading_data",
        "running",
    }
    worker.start()  # RabbitMQ redelivers the unacknowledged task; the stale heartbeat lets the new worker claim it
    done = wait_for(api, tokens, backtest["id"], FINAL, timeout=180)
    assert done["status"] == "finished", done["error"]
    assert done["attempts"] == 2


def test_a_redelivered_task_for_a_finished_backtest_does_nothing(
    api: FlaskClient, tokens: Tokens, backtest_app: Flask
) -> None:
    strategy_id = deploy(api, tokens)
    done = wait_for(api, tokens, start(api, tokens, strategy_id)["id"], FINAL)
    assert done["status"] == "finished"
    with backtest_app.app_context():
        from gentrade.tasks.celery_app import publish_run

        publish_run(uuid.UUID(done["id"]))
    time.sleep(3)
    after = api.get(f"{BACKTESTS}/{done['id']}", headers=tokens.headers()).json
    assert (after["status"], after["attempts"], after["finished_at"]) == ("finished", 1, done["finished_at"])


def test_events_stream_every_status_until_the_end(api: FlaskClient, tokens: Tokens) -> None:
    strategy_id = deploy(api, tokens)
    backtest = start(api, tokens, strategy_id)
    response = api.get(f"{BACKTESTS}/{backtest['id']}/events", headers=tokens.headers())
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    events = [block for block in response.get_data(as_text=True).split("\n\n") if block.startswith("event:")]
    statuses = [
        json.loads(block.split("data: ", 1)[1])["status"] for block in events if block.startswith("event: status")
    ]
    assert statuses[-1] == "finished"
    assert statuses == sorted(set(statuses), key=statuses.index)  # each status once, in order
    assert events[-1].startswith("event: end")


def test_validation_ownership_and_limits(api: FlaskClient, tokens: Tokens, backtest_app: Flask) -> None:
    strategy_id = deploy(api, tokens)
    headers = tokens.headers()

    def post(**body: Any) -> Any:
        payload = {"strategy_id": strategy_id, "start_date": START.isoformat(), "end_date": END.isoformat(), **body}
        return api.post(BACKTESTS, json=payload, headers=headers)

    assert post(start_date=END.isoformat()).status_code == 422
    assert post(end_date=TODAY.isoformat()).json["errors"]["end_date"]
    assert post(end_date=(TODAY + timedelta(days=5)).isoformat()).status_code == 422
    assert post(start_date=(END - timedelta(days=2000)).isoformat()).status_code == 422
    assert post(pairs=["btc/usdt"]).status_code == 422
    assert post(pairs=["BTC/USDT", "ETH/BTC"]).json["errors"]["pairs"]
    assert post(timeframe="2h").status_code == 422
    unknown = post(pairs=["BTC/USDT", "NOPE/USDT"])
    assert unknown.status_code == 422
    assert "NOPE/USDT" in unknown.json["errors"]["pairs"][0]
    assert post(strategy_id=str(uuid.uuid4())).status_code == 404
    mallory = api.post(
        BACKTESTS,
        json={"strategy_id": strategy_id, "start_date": START.isoformat(), "end_date": END.isoformat()},
        headers=tokens.headers("user_mallory"),
    )
    assert mallory.status_code == 403

    sleeper = _hand_written_strategy(backtest_app, "user_alice", "Sleeper", "time.sleep(600)")
    running = [start(api, tokens, sleeper) for _ in range(3)]
    too_many = api.post(
        BACKTESTS,
        json={"strategy_id": sleeper, "start_date": START.isoformat(), "end_date": END.isoformat()},
        headers=headers,
    )
    assert too_many.status_code == 429
    for backtest in running:
        assert api.post(f"{BACKTESTS}/{backtest['id']}/cancel", headers=headers).status_code == 200
    listed = api.get(f"{BACKTESTS}?strategy_id={sleeper}&status=cancelled", headers=headers).json
    assert listed["total"] == 3
    assert "summary" not in listed["items"][0]
    assert api.get(f"{BACKTESTS}/{running[0]['id']}", headers=tokens.headers("user_mallory")).status_code == 403


def test_queue_down_fails_the_backtest_at_once(
    app: Flask,
    client: FlaskClient,
    tokens: Tokens,
    postgres_url: str,
    data_dir: Path,
    clerk_key: rsa.RSAPrivateKey,
    exchange: ExchangeSimulator,
) -> None:
    dead_broker = "amqp://guest:guest@127.0.0.1:1//"
    settings = production_settings(
        data_dir, postgres_url, clerk_key, broker_url=dead_broker, exchange_api_url=exchange.api_url
    )
    broken = create_app(settings)
    api = broken.test_client()
    strategy_id = deploy(api, tokens)
    response = api.post(
        BACKTESTS,
        json={"strategy_id": strategy_id, "start_date": START.isoformat(), "end_date": END.isoformat()},
        headers=tokens.headers(),
    )
    assert response.status_code == 503
    backtest_id = response.json["errors"]["backtest_id"][0]
    body = api.get(f"{BACKTESTS}/{backtest_id}", headers=tokens.headers()).json
    assert (body["status"], body["error"]["code"]) == ("failed", "queue_unavailable")
    assert api.get("/readyz").status_code == 503


def test_deleting_the_strategy_removes_its_backtests(api: FlaskClient, tokens: Tokens, backtest_app: Flask) -> None:
    strategy_id = deploy(api, tokens)
    done = wait_for(api, tokens, start(api, tokens, strategy_id)["id"], FINAL)
    assert api.delete(f"/api/v1/strategies/{strategy_id}", headers=tokens.headers()).status_code == 204
    assert api.get(f"{BACKTESTS}/{done['id']}", headers=tokens.headers()).status_code == 404
    with backtest_app.app_context():
        assert db.session.query(Backtest).count() == 0
        assert db.session.query(User).count() >= 1
    assert date.fromisoformat(done["timerange"]["start"]) == START
