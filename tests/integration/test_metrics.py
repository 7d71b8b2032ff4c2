"""Prometheus metrics over HTTP: the API's /metrics (token, labels, backtests by state, agent turns, LLM errors),
gunicorn's workers summed in one scrape, and the Celery worker's metrics port after a real backtest."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.runnables import Runnable, RunnableLambda
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from gentrade import create_app, sse_reader
from gentrade.agents.schemas import RouteDecision
from gentrade.exchange_sim import ExchangeSimulator
from gentrade.extensions import db
from gentrade.models import Backtest, Strategy, User
from gentrade.settings import Settings
from tests.backtests import FINAL, deploy_strategy, start_backtest, wait_for_backtest
from tests.clerk import Tokens
from tests.settings import production_settings
from tests.stack.environment import settings_env
from tests.stack.gunicorn import free_port, gunicorn

TOKEN = "metrics-token-for-tests"
AUTHORIZED = {"Authorization": f"Bearer {TOKEN}"}
ERROR_KEYS = {"code", "status", "message", "errors", "request_id"}
STREAM = "/api/v1/agent/stream"

# The backtest pipeline's fixtures, this module's own instances; ``worker_settings`` is this module's.


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sample with exactly these labels; 0 when absent (a counter nobody has incremented yet)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture(scope="module")
def metrics_app(app: Flask, postgres_url: str, data_dir: Path, clerk_key: rsa.RSAPrivateKey) -> Flask:
    """The production app with GENTRADE_METRICS_TOKEN (the session ``app`` has migrated the database)."""
    return create_app(production_settings(data_dir, postgres_url, clerk_key, metrics_token=TOKEN))


@pytest.fixture
def metrics_client(metrics_app: Flask, client: FlaskClient) -> FlaskClient:
    """A client of ``metrics_app`` on a clean database (``client`` cleans it)."""
    return metrics_app.test_client()


def scrape(client: FlaskClient) -> Samples:
    response = client.get("/metrics", headers=AUTHORIZED)
    assert response.status_code == 200, response.get_data(as_text=True)
    return parse(response.get_data(as_text=True))


# --- the API's /metrics ------------------------------------------------------------------------------------


def test_requests_are_counted_by_route_template_and_status(metrics_client: FlaskClient, tokens: Tokens) -> None:
    backtest_id = uuid.uuid4()
    before = scrape(metrics_client)
    assert metrics_client.get(f"/api/v1/backtests/{backtest_id}", headers=tokens.headers()).status_code == 404
    assert metrics_client.get(f"/no/such/{backtest_id}").status_code == 404
    assert metrics_client.get("/api/v1/chats").status_code == 401
    assert metrics_client.open("/api/v1/chats", method="BREW").status_code == 405
    response = metrics_client.get("/metrics", headers=AUTHORIZED)
    after = parse(response.get_data(as_text=True))

    def counted(method: str, route: str, status: str) -> float:
        labels = {"method": method, "route": route, "status": status}
        return value(after, "gentrade_http_requests_total", **labels) - value(
            before, "gentrade_http_requests_total", **labels
        )

    assert counted("GET", "/api/v1/backtests/<uuid:backtest_id>", "404") == 1
    assert counted("GET", "<unmatched>", "404") == 1
    assert counted("GET", "/api/v1/chats", "401") == 1
    assert counted("other", "<unmatched>", "405") == 1
    assert counted("GET", "/metrics", "200") == 1  # the first scrape; this one is counted once it is answered
    timed = {"method": "GET", "route": "/api/v1/backtests/<uuid:backtest_id>"}
    durations = value(after, "gentrade_http_request_duration_seconds_count", **timed)
    assert durations - value(before, "gentrade_http_request_duration_seconds_count", **timed) == 1
    assert str(backtest_id) not in response.get_data(as_text=True)  # paths never become labels


def test_metrics_need_the_token(metrics_client: FlaskClient) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
        refused = metrics_client.get("/metrics", headers=headers)
        assert refused.status_code == 401
        assert set(refused.json) == ERROR_KEYS
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
        assert b"gentrade_" not in refused.data
    served = metrics_client.get("/metrics", headers=AUTHORIZED)
    assert served.status_code == 200
    assert served.headers["Content-Type"] == CONTENT_TYPE_LATEST


def test_production_without_a_token_has_no_metrics(client: FlaskClient) -> None:
    response = client.get("/metrics", headers=AUTHORIZED)
    assert response.status_code == 404
    assert set(response.json) == ERROR_KEYS


def test_development_without_a_token_serves_metrics(tmp_path: Path) -> None:
    app = create_app(Settings(_env_file=None, data_dir=tmp_path, log_level="WARNING"))
    with app.app_context():
        upgrade()
    samples = parse(app.test_client().get("/metrics").get_data(as_text=True))
    assert value(samples, "gentrade_backtests", state="queued") == 0


def test_a_database_that_does_not_answer_leaves_only_the_backtest_gauge_out(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path, database_url="postgresql://nobody@127.0.0.1:1/none")
    response = create_app(settings).test_client().get("/metrics")
    assert response.status_code == 200
    names = {family.name for family in text_string_to_metric_families(response.get_data(as_text=True))}
    assert "gentrade_http_requests" in names
    assert "gentrade_backtests" not in names


def test_backtests_by_state_are_counted_from_the_database(metrics_app: Flask, metrics_client: FlaskClient) -> None:
    with metrics_app.app_context():
        user = User(clerk_id="user_counted")
        db.session.add(user)
        db.session.flush()
        strategy = Strategy(user_id=user.id, name="Counted", code="", file_path="Counted.py", draft={})
        db.session.add(strategy)
        db.session.flush()
        for status, how_many in {"queued": 2, "running": 1, "finished": 3}.items():
            for _ in range(how_many):
                db.session.add(
                    Backtest(
                        strategy_id=strategy.id,
                        status=status,
                        timerange_start=date(2026, 1, 1),
                        timerange_end=date(2026, 2, 1),
                        pairs=["BTC/USDT"],
                        timeframe="1h",
                    )
                )
        db.session.commit()
    samples = scrape(metrics_client)
    counted = {state: value(samples, "gentrade_backtests", state=state) for state in (
        "queued", "downloading_data", "running", "finished", "failed", "cancelled"
    )}  # fmt: skip
    assert counted == {"queued": 2, "downloading_data": 0, "running": 1, "finished": 3, "failed": 0, "cancelled": 0}


# --- agent turns and LLM errors ------------------------------------------------------------------------------


def turn_event_kinds(client: FlaskClient, tokens: Tokens, message: str) -> list[str]:
    headers = tokens.headers()
    thread = client.post("/api/v1/chats", json={}, headers=headers).json["thread_id"]
    response = client.post(STREAM, json={"thread_id": thread, "message": message}, headers=headers)
    assert response.status_code == 200
    return [event for event, _ in sse_reader.parse(response.get_data(as_text=True))]


def test_an_offline_turn_is_counted_as_completed(metrics_client: FlaskClient, tokens: Tokens) -> None:
    before = scrape(metrics_client)
    assert turn_event_kinds(metrics_client, tokens, "an RSI strategy on BTC/USDT 1h")[-2:] == ["message", "end"]
    after = scrape(metrics_client)
    completed = value(after, "gentrade_agent_turns_total", outcome="completed")
    assert completed - value(before, "gentrade_agent_turns_total", outcome="completed") == 1
    assert value(after, "gentrade_agent_turns_total", outcome="failed") == value(
        before, "gentrade_agent_turns_total", outcome="failed"
    )


class TimingOutModel(GenericFakeChatModel):
    """Routes to the general answer, whose streamed call then times out as a provider would."""

    def with_structured_output(self, schema: Any, **kwargs: Any) -> Runnable:
        return RunnableLambda(lambda _: RouteDecision(route="general", reason="a question"))

    def _stream(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        raise TimeoutError("the provider timed out")


def test_a_provider_failure_counts_an_llm_error_and_a_failed_turn(
    metrics_client: FlaskClient, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = TimingOutModel(messages=iter([]))
    monkeypatch.setattr("gentrade.services.agent.chat_model", lambda settings: model)
    before = scrape(metrics_client)
    assert turn_event_kinds(metrics_client, tokens, "what is a stop loss?")[-2:] == ["error", "end"]
    after = scrape(metrics_client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("gentrade_llm_errors_total", provider="offline", kind="timeout") == 1
    assert grew("gentrade_agent_turns_total", outcome="failed") == 1
    assert grew("gentrade_agent_turns_total", outcome="completed") == 0


# --- gunicorn: every worker's counts in one scrape ------------------------------------------------------------


def gunicorn_workers(port: int) -> set[int]:
    """The worker pids of the gunicorn listening on ``port``. Found by the socket (gunicorn retitles its processes):
    psutil names one of the processes sharing it, the master (whose children are the workers) or a worker."""
    (owner,) = {
        connection.pid
        for connection in psutil.net_connections(kind="tcp")
        if connection.pid and connection.status == psutil.CONN_LISTEN and connection.laddr.port == port
    }
    process = psutil.Process(owner)
    master = process if process.children() else process.parent()
    assert master is not None
    return {child.pid for child in master.children()}


def wait_through_errors(condition: Callable[[], bool], timeout: float = 120) -> None:
    """Wait for ``condition``; a request that fails meanwhile (new workers still booting), or a process that exits
    while it is looked at (a killed worker still listed as the socket's owner), counts as not yet."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return
        except (requests.RequestException, psutil.Error):
            pass
        assert time.monotonic() < deadline, "not in time"
        time.sleep(0.3)


def test_gunicorn_workers_are_summed_in_one_scrape_and_a_dead_workers_counts_stay(
    client: FlaskClient, postgres_url: str, data_dir: Path, clerk_key: rsa.RSAPrivateKey, tmp_path: Path
) -> None:
    with gunicorn(postgres_url, data_dir, clerk_key, tmp_path / "gunicorn.log", GENTRADE_METRICS_TOKEN=TOKEN) as url:

        def refused_chats() -> float:
            response = requests.get(f"{url}/metrics", headers=AUTHORIZED, timeout=10)
            assert response.status_code == 200
            assert response.headers["Content-Type"] == CONTENT_TYPE_LATEST
            labels = {"method": "GET", "route": "/api/v1/chats", "status": "401"}
            return value(parse(response.text), "gentrade_http_requests_total", **labels)

        def refuse(times: int) -> None:
            with ThreadPoolExecutor(max_workers=8) as pool:
                statuses = pool.map(lambda _: requests.get(f"{url}/api/v1/chats", timeout=10).status_code, range(times))
            assert list(statuses) == [401] * times

        refuse(40)
        assert {refused_chats() for _ in range(8)} == {40}  # whichever worker answers, it sums both

        port = int(url.rsplit(":", 1)[1])
        workers = gunicorn_workers(port)
        assert len(workers) == 2
        for pid in workers:
            os.kill(pid, signal.SIGKILL)
        wait_through_errors(lambda: len(gunicorn_workers(port) - workers) == 2)
        wait_through_errors(lambda: requests.get(f"{url}/healthz", timeout=10).status_code == 200)
        assert refused_chats() == 40  # counted by workers that are gone, read by new ones
        refuse(10)
        assert refused_chats() == 50
    assert "Using worker: gevent" in (tmp_path / "gunicorn.log").read_text()


# --- the Celery worker's metrics port ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def worker_metrics_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def worker_settings(
    postgres_url: str,
    broker_url: str,
    data_dir: Path,
    clerk_key: rsa.RSAPrivateKey,
    exchange: ExchangeSimulator,
    worker_metrics_port: int,
) -> dict[str, str]:
    """As deployed: the port (and the token) and nothing else; the worker makes its own metrics directory."""
    return settings_env(
        postgres_url,
        broker_url,
        data_dir,
        clerk_key,
        exchange.api_url,
        GENTRADE_WORKER_METRICS_PORT=str(worker_metrics_port),
        GENTRADE_METRICS_TOKEN=TOKEN,
    )


def test_the_worker_serves_its_pools_backtest_metrics(
    api: FlaskClient, tokens: Tokens, worker_metrics_port: int
) -> None:
    url = f"http://127.0.0.1:{worker_metrics_port}/metrics"
    refused = requests.get(url, timeout=10)
    assert refused.status_code == 401
    assert set(json.loads(refused.text)) == ERROR_KEYS

    done = wait_for_backtest(api, tokens, start_backtest(api, tokens, deploy_strategy(api, tokens))["id"], FINAL)
    assert done["status"] == "finished", done["error"]

    def worker_samples() -> Samples:
        response = requests.get(url, headers=AUTHORIZED, timeout=10)
        assert response.status_code == 200
        return parse(response.text)

    wait_through_errors(
        lambda: value(worker_samples(), "gentrade_backtest_run_seconds_count", outcome="finished") == 1, 30
    )
    samples = worker_samples()
    assert value(samples, "gentrade_backtest_queue_wait_seconds_count") == 1
    assert value(samples, "gentrade_backtest_run_seconds_count", outcome="failed") == 0
    assert 0 < value(samples, "gentrade_backtest_run_seconds_sum", outcome="finished") < 120
