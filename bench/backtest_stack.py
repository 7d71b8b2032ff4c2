"""A backtest stack for benchmarks: the API app on PostgreSQL, RabbitMQ on a private queue, a real
Celery worker process (local or docker runner), and the local exchange stand-in. Everything is torn down
afterwards. ``baseline_command`` is the stock tool the service is measured against: the ``freqtrade`` CLI,
or ``docker run`` of the stock image for the docker runner."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade

from bench.common import POSTGRES_URL
from bench.docker_cli import docker_run_command
from gentrade import create_app, devkeys
from gentrade.demo import stop_stack
from gentrade.exchange_sim import ExchangeSimulator, SimulatorConfig
from gentrade.freqtrade.jobs import BacktestJob
from gentrade.samples import draft
from gentrade.settings import Settings
from gentrade.tasks.celery_app import remove_queue

ROOT = Path(__file__).resolve().parent.parent
BROKER_URL = os.environ.get("GENTRADE_BENCH_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
END = datetime.now(UTC).date() - timedelta(days=2)
START = END - timedelta(days=60)


@dataclass
class BacktestStack:
    app: Flask
    client: FlaskClient
    data_dir: Path
    exchange: ExchangeSimulator
    headers: dict[str, str]
    runner: str = "local"

    def deploy(self, name: str, **changes: Any) -> str:
        thread = self.client.post("/api/v1/chats", json={}, headers=self.headers).json["thread_id"]
        trading = {"entry_conditions": {"any": [{"left": "rsi", "op": "<", "right": 30}]}, **changes}
        body = {"thread_id": thread, "draft": draft(name=name, **trading)}
        response = self.client.post("/api/v1/strategies", json=body, headers=self.headers)
        assert response.status_code == 201, response.json
        return response.json["id"]

    def start(self, strategy_id: str, **body: Any) -> str:
        payload = {"strategy_id": strategy_id, "start_date": START.isoformat(), "end_date": END.isoformat(), **body}
        response = self.client.post("/api/v1/backtests", json=payload, headers=self.headers)
        assert response.status_code == 202, response.json
        return response.json["id"]

    def wait_all(self, backtest_ids: list[str], poll: float = 0.1, timeout: float = 900) -> None:
        """Wait for several backtests with one list request per poll (the benchmark's own load stays small)."""
        pending, deadline = set(backtest_ids), time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            page = self.client.get("/api/v1/backtests?page_size=100", headers=self.headers).json
            for item in page:
                if item["id"] in pending and item["status"] in ("finished", "failed", "cancelled"):
                    assert item["status"] == "finished", item["error"]
                    pending.discard(item["id"])
            time.sleep(poll)
        if pending:
            raise TimeoutError(sorted(pending))

    def _ran(self, ran: str) -> tuple[Path, Path]:
        """(user_data, results folder) of the worker's backtest ``ran``."""
        results = self.data_dir / "ft_userdata" / "user_user_bench" / "user_data" / "backtest_results" / ran
        return results.parent.parent, results

    def cli_command(self, strategy: str, ran: str, out: Path) -> list[str]:
        """Stock ``freqtrade backtesting`` for ``strategy`` on the files and range the worker used for backtest
        ``ran``, writing into ``out``: the local runner's baseline."""
        user_data, results = self._ran(ran)
        timerange = f"{START:%Y%m%d}-{END + timedelta(days=1):%Y%m%d}"
        return [
            sys.executable, "-m", "freqtrade", "backtesting",
            "--config", str(user_data / "config.json"), "--config", str(results / "config.json"),
            "--userdir", str(user_data), "--datadir", str(self.data_dir / "market_data" / "binance"),
            "--strategy", strategy, "--timeframe", "1h", "--timerange", timerange,
            "--cache", "none", "--export", "trades", "--backtest-directory", str(out),
        ]  # fmt: skip

    def baseline_command(self, strategy: str, ran: str, out: Path) -> list[str]:
        """The stock tool for the stack's runner: the CLI (``out`` its results), or ``docker run --rm`` of the
        stock image with the docker runner's own options, its results in a new folder of the user's."""
        if self.runner == "local":
            return self.cli_command(strategy, ran, out)
        user_data, results = self._ran(ran)
        timerange = f"{START:%Y%m%d}-{END + timedelta(days=1):%Y%m%d}"
        baseline_id = uuid.uuid4()
        job = BacktestJob(
            baseline_id, strategy, user_data, (user_data / "config.json", results / "config.json"),
            self.data_dir / "market_data" / "binance", user_data / "backtest_results" / f"baseline-{baseline_id}",
            timerange, "1h", (),
        )  # fmt: skip
        return docker_run_command(self.data_dir, job)

    def wait(self, backtest_id: str, poll: float = 0.05, timeout: float = 600) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            body = self.client.get(f"/api/v1/backtests/{backtest_id}", headers=self.headers).json
            if body["status"] in ("finished", "failed", "cancelled"):
                assert body["status"] == "finished", body["error"]
                return body
            time.sleep(poll)
        raise TimeoutError(backtest_id)


def _start_worker(env: dict[str, str], data_dir: Path, processes: int) -> subprocess.Popen[bytes]:
    """A Celery worker with its own data folder (a worker host), started and ready; its log in that folder."""
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "worker.log"
    worker_env = {"PATH": os.environ.get("PATH", ""), "HOME": str(data_dir), **env, "GENTRADE_DATA_DIR": str(data_dir)}
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "gentrade.tasks", "worker", "-c", str(processes),
             "-n", f"bench-{uuid.uuid4().hex[:8]}@%h", "--without-mingle", "--without-gossip", "--loglevel", "INFO"],
            cwd=ROOT, env=worker_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    deadline = time.monotonic() + 60
    while b"ready." not in log_path.read_bytes():
        if worker.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(log_path.read_text()[-3000:])
        time.sleep(0.2)
    return worker


@contextmanager
def backtest_stack(
    pairs: tuple[str, ...], worker_processes: int = 2, max_active: int = 50, runner: str = "local", hosts: int = 1
) -> Iterator[BacktestStack]:
    """``hosts`` > 1: that many workers, each with a data folder of its own (``<data>/hosts/<n>``), sharing only
    PostgreSQL and RabbitMQ with the API and each other, as worker hosts do."""
    schema = f"gentrade_bench_{uuid.uuid4().hex[:8]}"
    queue = f"gentrade-bench-{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    folder = tempfile.TemporaryDirectory(prefix="gentrade-bench-")
    data_dir = Path(folder.name)
    exchange = ExchangeSimulator(SimulatorConfig(pairs=pairs)).start()
    env = {
        "GENTRADE_DATA_DIR": str(data_dir),
        "GENTRADE_DATABASE_URL": f"{POSTGRES_URL}?options=-csearch_path%3D{schema}",
        "GENTRADE_BROKER_URL": BROKER_URL,
        "GENTRADE_TASK_QUEUE": queue,
        "GENTRADE_EXCHANGE_API_URL": exchange.api_url,
        "GENTRADE_BACKTEST_MAX_ACTIVE_PER_USER": str(max_active),
        "GENTRADE_LOG_LEVEL": "WARNING",
        "GENTRADE_FREQTRADE_RUNNER": runner,
    }
    settings = Settings(_env_file=None, **{k.removeprefix("GENTRADE_").lower(): v for k, v in env.items()})
    app = create_app(settings)
    with app.app_context():
        upgrade()
    host_dirs = [data_dir] if hosts == 1 else [data_dir / "hosts" / str(index) for index in range(hosts)]
    workers: list[subprocess.Popen[bytes]] = []
    try:
        for host_dir in host_dirs:
            workers.append(_start_worker(env, host_dir, worker_processes))
        headers = {"Authorization": f"Bearer {devkeys.mint_token(data_dir, 'user_bench')}"}
        yield BacktestStack(app, app.test_client(), data_dir, exchange, headers, runner)
    finally:
        for worker in workers:
            stop_stack(worker)
        exchange.stop()
        with app.app_context():
            from gentrade.extensions import db

            db.session.remove()
            db.engine.dispose()
            app.extensions["celery"].control.purge()
            remove_queue(app.extensions["celery"], queue)
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        folder.cleanup()
