"""Faults during backtests, on the real pipeline (RabbitMQ, a Celery worker process, Freqtrade, PostgreSQL).

Each test injects one fault (a worker killed with -9, RabbitMQ stopped, PostgreSQL backends
terminated, the exchange failing, unreachable or hanging, a full disk, the user deleted) and
asserts the end state of every backtest it started: finished, or failed with the exact code;
none left queued or working. Where a service comes back, the API must answer 200 within a
second. Each test prints its figures (``FIGURES {...}``; run with ``-rP`` to see them).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient

from gentrade.exchange_sim import ExchangeSimulator
from gentrade.freqtrade import markets
from tests.backtests import BACKTESTS, FINAL, deploy_strategy, hand_written_strategy, start_backtest, wait_for_backtest
from tests.chats import agent_turn, checkpoint_rows, new_chat
from tests.clerk import Svix, Tokens, clerk_user_event
from tests.concurrency import wait_until
from tests.stack.environment import settings_env
from tests.stack.exchange import END
from tests.stack.gunicorn import gunicorn
from tests.stack.worker import Worker

MAX_ATTEMPTS = 2
DOWNLOAD_TIMEOUT_SECONDS = 12
RECOVERY_LIMIT_SECONDS = 1.0
# Ten days of cached BTC/ETH candles: a backtest of them runs in a few seconds.
CACHED = {"start_date": (END - timedelta(days=10)).isoformat(), "end_date": END.isoformat()}
WORKING = {"downloading_data", "running"}


def uncached(days_back: int) -> dict[str, Any]:
    """A ten-day range of SOL and ADA that no other test downloads, so the exchange is really asked."""
    end = END - timedelta(days=days_back)
    return {"pairs": ["SOL/USDT", "ADA/USDT"], "start_date": (end - timedelta(days=10)).isoformat(),
            "end_date": end.isoformat()}  # fmt: skip


def print_fault_figures(scenario: str, **values: Any) -> None:
    """The measurements the reliability report quotes (``pytest -rP`` shows them)."""
    print(f"FIGURES {json.dumps({'scenario': scenario, **values})}")


@pytest.fixture(scope="module")
def worker_settings(
    postgres_url: str, broker_url: str, data_dir: Path, clerk_key: rsa.RSAPrivateKey, exchange: ExchangeSimulator
) -> dict[str, str]:
    """Few attempts and a short download timeout, so each fault ends within the test's budget."""
    return settings_env(
        postgres_url, broker_url, data_dir, clerk_key, exchange.api_url,
        GENTRADE_BACKTEST_MAX_ATTEMPTS=str(MAX_ATTEMPTS),
        GENTRADE_BACKTEST_DOWNLOAD_TIMEOUT_SECONDS=str(DOWNLOAD_TIMEOUT_SECONDS),
    )  # fmt: skip


def answers_within(api: FlaskClient, tokens: Tokens, backtest_id: str, user: str = "user_alice") -> float:
    """Seconds until GET /backtests/{id} answers 200; no 5xx on the way, and within ``RECOVERY_LIMIT_SECONDS``."""
    began = time.monotonic()
    while True:
        status = api.get(f"{BACKTESTS}/{backtest_id}", headers=tokens.headers(user)).status_code
        elapsed = time.monotonic() - began
        assert status < 500, f"GET answered {status} {elapsed:.2f} s after the fault was lifted"
        if status == 200:
            assert elapsed < RECOVERY_LIMIT_SECONDS
            return round(elapsed, 3)
        assert elapsed < RECOVERY_LIMIT_SECONDS, f"GET answered {status}"
        time.sleep(0.05)


def freqtrade_of(backtest_id: str) -> str:
    """The pids of Freqtrade processes still running this backtest ("" when none)."""
    return subprocess.run(["pgrep", "-f", f"backtest_results/{backtest_id}"], capture_output=True, text=True).stdout


def wait_state(
    api: FlaskClient, tokens: Tokens, backtest_id: str, wanted: Callable[[dict[str, Any]], bool], timeout: float
) -> dict[str, Any]:
    """The backtest as the API shows it once ``wanted`` holds (polled; fails at the deadline)."""
    seen: dict[str, Any] = {}

    def holds() -> bool:
        seen.update(api.get(f"{BACKTESTS}/{backtest_id}", headers=tokens.headers()).json)
        return wanted(seen)

    wait_until(holds, timeout, f"backtest {backtest_id}")
    return seen


def wait_for_retry(api: FlaskClient, tokens: Tokens, backtest_id: str, timeout: float) -> dict[str, Any]:
    """The backtest once a worker has tried it and put it back in the queue (or ended it)."""
    return wait_state(
        api, tokens, backtest_id, lambda b: b["status"] in FINAL or (b["status"] == "queued" and b["attempts"] >= 1),
        timeout,
    )  # fmt: skip


# --- 1. the worker killed with -9 ----------------------------------------------------------------


def test_a_worker_killed_on_every_attempt_ends_failed_worker_lost(
    api: FlaskClient, tokens: Tokens, backtest_app: Flask, worker: Worker
) -> None:
    """Killed mid-run on each of its ``MAX_ATTEMPTS`` attempts: redelivered each time, then failed, never stuck.
    (test_backtests.py shows one kill ending ``finished`` on attempt 2.)"""
    sleeper = hand_written_strategy(backtest_app, "user_alice", "Sleeper", "time.sleep(600)")
    backtest_id = start_backtest(api, tokens, sleeper, **CACHED)["id"]
    recoveries = []
    for attempt in range(1, MAX_ATTEMPTS + 1):

        def claimed(backtest: dict[str, Any], attempt: int = attempt) -> bool:
            return backtest["status"] in FINAL or (backtest["status"] == "running" and backtest["attempts"] == attempt)

        running = wait_state(api, tokens, backtest_id, claimed, 60)
        assert (running["status"], running["attempts"]) == ("running", attempt)
        wait_until(lambda: freqtrade_of(backtest_id) != "", 10, "Freqtrade started")
        worker.kill()
        # Freqtrade runs in its own session, out of the killed group's reach: it must die with its worker.
        orphan_seconds = wait_until(lambda: freqtrade_of(backtest_id) == "", 5, "Freqtrade died with the worker")
        worker.start()
        recoveries.append(answers_within(api, tokens, backtest_id))
    done = wait_for_backtest(api, tokens, backtest_id, FINAL, timeout=60)
    assert (done["status"], done["error"]["code"]) == ("failed", "worker_lost")
    assert done["attempts"] == MAX_ATTEMPTS + 1  # the delivery that found the attempts spent
    print_fault_figures(
        "worker_kill",
        backtests=1,
        kills=MAX_ATTEMPTS,
        final=done["error"]["code"],
        attempts=done["attempts"],
        orphan_seconds=orphan_seconds,
        api_recovery_seconds=recoveries,
        lost=0,
    )


# --- 2. RabbitMQ stopped and started -------------------------------------------------------------


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=60)


def require_rabbitmqctl() -> None:
    """Skip unless this machine's RabbitMQ can be stopped and started (root on the broker's host)."""
    if shutil.which("rabbitmqctl") is None:
        pytest.skip("rabbitmqctl is not installed here")
    try:
        rabbitmqctl("status")
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"rabbitmqctl cannot control the broker here: {exc}")


def test_backtests_queued_across_a_rabbitmq_restart_all_finish(
    api: FlaskClient, tokens: Tokens, worker: Worker
) -> None:
    require_rabbitmqctl()
    alice, bob = deploy_strategy(api, tokens), deploy_strategy(api, tokens, user="user_bob")
    worker.stop()  # the messages wait in the queue, through the restart
    queued = [start_backtest(api, tokens, alice, **CACHED)["id"] for _ in range(3)]
    payload = {"strategy_id": bob, **CACHED}
    down_started = time.monotonic()
    try:
        rabbitmqctl("stop_app")
        refused = api.post(BACKTESTS, json=payload, headers=tokens.headers("user_bob"))
        during = answers_within(api, tokens, queued[0])  # reading needs no broker
    finally:
        rabbitmqctl("start_app")
        downtime = round(time.monotonic() - down_started, 1)
    back = time.monotonic()
    assert refused.status_code == 503
    refused_id = refused.json["errors"]["backtest_id"][0]
    after = answers_within(api, tokens, queued[0])
    accepted = api.post(BACKTESTS, json=payload, headers=tokens.headers("user_bob"))
    publish_after = round(time.monotonic() - back, 3)
    assert accepted.status_code == 202, accepted.json  # the API's broker connection came back by itself
    assert publish_after < RECOVERY_LIMIT_SECONDS

    worker.start()
    finished = [wait_for_backtest(api, tokens, backtest_id, FINAL, timeout=90) for backtest_id in queued]
    assert [b["status"] for b in finished] == ["finished"] * 3, [b["error"] for b in finished]
    bobs = wait_for_backtest(api, tokens, accepted.json["id"], FINAL, timeout=60, user="user_bob")
    assert bobs["status"] == "finished", bobs["error"]
    failed = wait_for_backtest(api, tokens, refused_id, FINAL, timeout=1, user="user_bob")
    assert (failed["status"], failed["error"]["code"]) == ("failed", "queue_unavailable")
    print_fault_figures(
        "rabbitmq_restart",
        backtests=5,
        queued_through_restart=3,
        downtime_seconds=downtime,
        refused_while_down="503 queue_unavailable",
        get_while_down_seconds=during,
        get_after_seconds=after,
        first_publish_after_seconds=publish_after,
        finished=4,
        failed_queue_unavailable=1,
        lost=0,
    )


# --- 3. PostgreSQL connections terminated under load ---------------------------------------------


def terminate_backends(postgres_url: str) -> int:
    """``pg_terminate_backend`` every other connection to this test database (and only this one)."""
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return sum(1 for (killed,) in rows if killed)


class Load:
    """Threads sending GETs until stopped; every answer recorded as (monotonic time, status; 0 = no answer)."""

    def __init__(self, urls: list[str], headers: dict[str, str], threads: int = 4) -> None:
        self.urls, self.headers = urls, headers
        self.answers: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(index,)) for index in range(threads)]

    def _run(self, index: int) -> None:
        with requests.Session() as session:
            while not self._stop.is_set():
                url = self.urls[index % len(self.urls)]
                try:
                    status = session.get(url, headers=self.headers, timeout=5).status_code
                except requests.RequestException:
                    status = 0
                self.answers.append((time.monotonic(), status))
                index += 1

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)


def test_terminated_database_connections_leave_no_5xx_after_and_no_backtest_behind(
    api: FlaskClient, tokens: Tokens, postgres_url: str, data_dir: Path, clerk_key: rsa.RSAPrivateKey,
    worker: Worker, tmp_path: Path,
) -> None:  # fmt: skip
    strategy_id = deploy_strategy(api, tokens)
    api.post("/api/v1/chats", json={"title": "under load"}, headers=tokens.headers())
    with gunicorn(postgres_url, data_dir, clerk_key, tmp_path / "gunicorn.log") as url:
        backtest_id = start_backtest(api, tokens, strategy_id, **CACHED)["id"]
        urls = [f"{url}{BACKTESTS}/{backtest_id}", f"{url}/api/v1/chats"]
        with Load(urls, tokens.headers()) as load:
            time.sleep(1)
            kills, terminated = 0, 0
            fault_began = time.monotonic()
            while time.monotonic() - fault_began < 6:  # every 0.5 s for 6 s, while the backtest runs
                terminated += terminate_backends(postgres_url)
                kills += 1
                time.sleep(0.5)
            lifted = time.monotonic()
            time.sleep(3)
        answers = load.answers
    during = Counter(status for at, status in answers if fault_began <= at < lifted)
    after = Counter(status for at, status in answers if at >= lifted)
    errors_during = sorted(at - fault_began for at, status in answers if fault_began <= at < lifted and status >= 500)
    first_ok = min(at for at, status in answers if at >= lifted and status == 200) - lifted
    assert sum(count for status, count in after.items() if status >= 500 or status == 0) == 0, after
    assert first_ok < RECOVERY_LIMIT_SECONDS
    assert sum(during.values()) > 50  # the load really ran through the fault
    done = wait_for_backtest(api, tokens, backtest_id, FINAL, timeout=90)
    assert done["status"] == "finished", done["error"]
    print_fault_figures(
        "postgres_terminate",
        requests_during=sum(during.values()),
        statuses_during=dict(during),
        fivexx_during=sum(c for s, c in during.items() if s >= 500),
        fivexx_times=[round(t, 2) for t in errors_during],
        requests_after=sum(after.values()),
        fivexx_after=0,
        first_200_after_seconds=round(first_ok, 3),
        terminate_rounds=kills,
        backends_terminated=terminated,
        backtest=done["status"],
        backtest_attempts=done["attempts"],
        lost=0,
    )


# --- 4. the exchange failing, unreachable, hanging -----------------------------------------------


@contextlib.contextmanager
def exchange_fault(exchange: ExchangeSimulator, **changes: Any) -> Iterator[None]:
    """Change the stand-in's behaviour (``failing``, ``hang_seconds``) for the block only."""
    before = {name: getattr(exchange.config, name) for name in changes}
    for name, value in changes.items():
        setattr(exchange.config, name, value)
    try:
        yield
    finally:
        for name, value in before.items():
            setattr(exchange.config, name, value)


def test_an_exchange_answering_500_for_every_pair_fails_data_unavailable(
    api: FlaskClient, tokens: Tokens, exchange: ExchangeSimulator
) -> None:
    strategy_id = deploy_strategy(api, tokens)
    body = uncached(days_back=100)
    began = time.monotonic()
    with exchange_fault(exchange, failing=set(body["pairs"])):
        done = wait_for_backtest(api, tokens, start_backtest(api, tokens, strategy_id, **body)["id"], FINAL, timeout=90)
    assert (done["status"], done["error"]["code"]) == ("failed", "data_unavailable")
    assert "SOL/USDT" in done["error"]["message"] or "ADA/USDT" in done["error"]["message"]
    assert done["attempts"] == 1  # a bad answer is not retried: it is reported
    print_fault_figures(
        "exchange_http_500",
        backtests=1,
        final=done["error"]["code"],
        seconds=round(time.monotonic() - began, 1),
        lost=0,
    )


def test_an_unreachable_exchange_is_retried_and_the_backtest_finishes_once_it_is_back(
    api: FlaskClient, tokens: Tokens, exchange: ExchangeSimulator
) -> None:
    strategy_id = deploy_strategy(api, tokens)
    markets.listed_pairs(exchange.api_url)  # the API has the market list (a 503 without one, as it cannot check)
    exchange.stop()  # connections refused
    try:
        backtest_id = start_backtest(api, tokens, strategy_id, **uncached(days_back=200))["id"]
        retrying = wait_for_retry(api, tokens, backtest_id, timeout=60)
    finally:
        exchange.restart()
    back = time.monotonic()
    assert retrying["status"] == "queued", retrying
    assert retrying["error"]["code"] == "exchange_unavailable"
    recovery = answers_within(api, tokens, backtest_id)
    done = wait_for_backtest(api, tokens, backtest_id, FINAL, timeout=90)
    assert done["status"] == "finished", done["error"]
    assert done["attempts"] == 2
    print_fault_figures(
        "exchange_unreachable",
        backtests=1,
        final=done["status"],
        attempts=done["attempts"],
        api_recovery_seconds=recovery,
        finished_after_return_seconds=round(time.monotonic() - back, 1),
        lost=0,
    )


def test_a_hanging_exchange_is_cut_off_by_the_download_timeout_then_retried(
    api: FlaskClient, tokens: Tokens, exchange: ExchangeSimulator
) -> None:
    strategy_id = deploy_strategy(api, tokens)
    began = time.monotonic()
    with exchange_fault(exchange, hang_seconds=600):  # klines never answer (ccxt gives up after 10 s, then retries)
        backtest_id = start_backtest(api, tokens, strategy_id, **uncached(days_back=300))["id"]
        retrying = wait_for_retry(api, tokens, backtest_id, timeout=DOWNLOAD_TIMEOUT_SECONDS + 30)
    cut_off = round(time.monotonic() - began, 1)
    assert retrying["status"] == "queued", retrying
    assert retrying["error"]["code"] == "exchange_unavailable"
    assert "timed out" in retrying["error"]["detail"]
    done = wait_for_backtest(api, tokens, backtest_id, FINAL, timeout=90)
    assert done["status"] == "finished", done["error"]
    print_fault_figures(
        "exchange_hang",
        backtests=1,
        download_cut_off_after_seconds=cut_off,
        final=done["status"],
        attempts=done["attempts"],
        lost=0,
    )


# --- 5. a full disk ------------------------------------------------------------------------------


@contextlib.contextmanager
def tiny_disk(path: Path, size: str) -> Iterator[None]:
    """A tmpfs of ``size`` mounted on ``path`` (root only; the test skips elsewhere)."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                             capture_output=True, text=True)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here to fill a disk: {mounted.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["umount", str(path)], check=True, timeout=30)


def test_a_full_disk_fails_the_backtest_with_disk_full_and_leaves_no_partial_result(
    api: FlaskClient, tokens: Tokens, data_dir: Path
) -> None:
    strategy_id = deploy_strategy(api, tokens)
    results = data_dir / "ft_userdata" / "user_user_alice" / "user_data" / "backtest_results"
    with tiny_disk(results, "16k"):
        done = wait_for_backtest(
            api, tokens, start_backtest(api, tokens, strategy_id, **CACHED)["id"], FINAL, timeout=60
        )
        left = sorted(str(path.relative_to(results)) for path in results.rglob("*"))
    assert (done["status"], done["error"]["code"]) == ("failed", "disk_full"), done["error"]
    assert done["result_path"] is None
    assert done["summary"] is None
    assert left == []
    again = wait_for_backtest(api, tokens, start_backtest(api, tokens, strategy_id, **CACHED)["id"], FINAL, timeout=60)
    assert again["status"] == "finished", again["error"]  # room again: the same backtest runs
    print_fault_figures(
        "disk_full", backtests=2, final=[done["error"]["code"], again["status"]], partial_files_left=len(left), lost=0
    )


# --- 6. the user deleted while their backtest runs -----------------------------------------------


def user_rows(postgres_url: str, clerk_id: str, user_id: str) -> dict[str, int]:
    """How many rows of the user's remain, table by table."""
    queries = {
        "users": "SELECT count(*) FROM users WHERE clerk_id = %(clerk)s OR id = %(id)s",
        "chats": "SELECT count(*) FROM chats WHERE user_id = %(id)s",
        "strategies": "SELECT count(*) FROM strategies WHERE user_id = %(id)s",
        "backtests": "SELECT count(*) FROM backtests b LEFT JOIN strategies s ON s.id = b.strategy_id"
        " WHERE s.user_id = %(id)s OR s.id IS NULL",
    }
    with psycopg.connect(postgres_url) as connection:
        return {
            table: connection.execute(sql, {"clerk": clerk_id, "id": user_id}).fetchone()[0]
            for table, sql in queries.items()
        }


def test_deleting_a_user_while_their_backtest_runs_leaves_nothing_behind(
    api: FlaskClient, tokens: Tokens, svix: Svix, backtest_app: Flask, postgres_url: str, data_dir: Path,
    worker: Worker,
) -> None:  # fmt: skip
    clerk_id = "user_leaving"
    headers = tokens.headers(clerk_id)
    thread = new_chat(api, headers)
    agent_turn(api, headers, thread, "an RSI strategy on BTC/USDT 1h with a 5% stop")  # writes agent checkpoints
    assert checkpoint_rows(postgres_url, thread) > 0
    sleeper = hand_written_strategy(backtest_app, clerk_id, "Sleeper", "time.sleep(600)")
    backtest_id = start_backtest(api, tokens, sleeper, user=clerk_id, **CACHED)["id"]
    wait_for_backtest(api, tokens, backtest_id, {"running"}, timeout=60, user=clerk_id)
    wait_until(lambda: freqtrade_of(backtest_id) != "", 10, "Freqtrade started")
    with psycopg.connect(postgres_url) as connection:
        user_id = str(connection.execute("SELECT id FROM users WHERE clerk_id = %s", (clerk_id,)).fetchone()[0])
    user_dir = data_dir / "ft_userdata" / f"user_{clerk_id}"
    assert user_dir.is_dir()

    body = clerk_user_event("user.deleted", clerk_id)
    deleted = api.post("/api/v1/webhooks/clerk", data=body, headers=svix.headers(body))
    assert deleted.status_code == 200
    killed_after = wait_until(lambda: freqtrade_of(backtest_id) == "", 10, "Freqtrade killed")
    # The worker is done with it once its task ends (its Celery task id is the backtest id).
    wait_until(lambda: f"[{backtest_id}] succeeded" in worker.log_path.read_text(), 20, "the worker's task ended")
    for _ in range(2):  # right after the worker let go, and once more after a heartbeat period
        assert user_rows(postgres_url, clerk_id, user_id) == {"users": 0, "chats": 0, "strategies": 0, "backtests": 0}
        assert checkpoint_rows(postgres_url, thread) == 0
        assert not user_dir.exists(), sorted(str(path) for path in user_dir.rglob("*"))
        assert freqtrade_of(backtest_id) == ""
        time.sleep(2)
    assert api.get(f"{BACKTESTS}/{backtest_id}", headers=headers).status_code in (401, 403, 404)
    print_fault_figures(
        "user_deleted_mid_run",
        backtests=1,
        freqtrade_killed_after_seconds=killed_after,
        rows_left=0,
        files_left=0,
        checkpoints_left=0,
        lost=0,
    )
