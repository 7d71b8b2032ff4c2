"""Backtests end to end with the docker runner: the API, RabbitMQ and a real Celery worker as in
test_backtests.py, with ``GENTRADE_FREQTRADE_RUNNER=docker``, so each Freqtrade run is a container on
the real engine. A backtest finishes; cancel, a user deleted mid-run and a worker killed mid-run
leave no container behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient

from gentrade.exchange_sim import ExchangeSimulator
from gentrade.extensions import db
from gentrade.freqtrade.runners.docker import POOL_LABEL
from gentrade.freqtrade.runners.docker_pool import POOL_DIR
from gentrade.models import Backtest
from tests.backtests import BACKTESTS, FINAL, deploy_strategy, hand_written_strategy, start_backtest, wait_for_backtest
from tests.clerk import Svix, Tokens, clerk_user_event
from tests.concurrency import wait_until
from tests.stack.environment import settings_env
from tests.stack.worker import Worker, running_worker


@pytest.fixture(scope="module")
def worker_settings(
    engine: docker.DockerClient,
    postgres_url: str,
    broker_url: str,
    data_dir: Path,
    clerk_key: rsa.RSAPrivateKey,
    exchange: ExchangeSimulator,
) -> dict[str, str]:
    return settings_env(
        postgres_url, broker_url, data_dir, clerk_key, exchange.api_url, GENTRADE_FREQTRADE_RUNNER="docker"
    )


@pytest.fixture(scope="module")
def worker(
    backtest_app: Flask,
    worker_settings: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
    engine: docker.DockerClient,
    data_dir: Path,
) -> Iterator[Worker]:
    """The stack's worker; once it stopped, none of its pooled containers is left."""
    with running_worker(worker_settings, tmp_path_factory) as running:
        yield running
    wait_until(lambda: pooled(engine, data_dir) == [], 30, "the stopped worker's pooled containers removed")


def containers_of(engine: docker.DockerClient, backtest_id: str) -> list[str]:
    """The backtest's container: a cold one, or a pooled one named after it when it got the job."""
    name = f"gentrade-backtest-{backtest_id}"
    # The low-level list: one request, no inspect per container that a removal meanwhile would turn into a 404.
    found = engine.api.containers(all=True, filters={"name": name})
    return [name for container in found if f"/{name}" in container.get("Names", [])]


def pooled(engine: docker.DockerClient, data_dir: Path) -> list[str]:
    """The ids of this data folder's pooled containers, idle or running a backtest."""
    identity = str(data_dir.resolve() / POOL_DIR)
    return [c["Id"] for c in engine.api.containers(all=True, filters={"label": f"{POOL_LABEL}={identity}"})]


@pytest.fixture(autouse=True)
def no_container_of_this_run_left(engine: docker.DockerClient, backtest_app: Flask, api: FlaskClient) -> Iterator[None]:
    """None of this run's backtests (in its own database, read before ``api`` cleans it) has a container left;
    another run may share the engine."""
    yield
    with backtest_app.app_context():
        ours = {str(backtest_id) for backtest_id in db.session.scalars(db.select(Backtest.id))}
        db.session.remove()
    wait_until(lambda: not [b for b in ours if containers_of(engine, b)], 30, "every container removed")


def test_a_backtest_runs_in_a_pooled_container_to_a_finished_summary(
    api: FlaskClient, tokens: Tokens, worker: Worker, engine: docker.DockerClient, data_dir: Path
) -> None:
    """Each pool process started its container when the worker started; the backtest runs in one of them, which
    then waits for the next."""
    wait_until(lambda: len(pooled(engine, data_dir)) >= 2, 60, "the pool processes' containers started")
    before = set(pooled(engine, data_dir))
    backtest = start_backtest(api, tokens, deploy_strategy(api, tokens))
    wait_until(lambda: containers_of(engine, backtest["id"]) != [], 90, "the Freqtrade container started")
    name = containers_of(engine, backtest["id"])[0]
    [running] = [c["Id"] for c in engine.api.containers(all=True, filters={"name": name})]
    assert running in before
    done = wait_for_backtest(api, tokens, backtest["id"], FINAL)
    assert done["status"] == "finished", done["error"]
    assert done["summary"]["total_trades"] > 0
    assert "the docker runner uses the Docker engine at API" in worker.log_path.read_text()
    # It has backtests left (GENTRADE_DOCKER_CONTAINER_JOBS): back in the pool under its pool name, clean.
    wait_until(lambda: containers_of(engine, backtest["id"]) == [], 20, "the used container renamed back")
    assert running in pooled(engine, data_dir)
    assert engine.api.inspect_container(running)["Name"].startswith("/gentrade-pool-")


def test_cancel_removes_the_container(
    api: FlaskClient, tokens: Tokens, backtest_app: Flask, engine: docker.DockerClient
) -> None:
    sleeper = hand_written_strategy(backtest_app, "user_alice", "Sleeper", "time.sleep(600)")
    backtest = start_backtest(api, tokens, sleeper)
    wait_until(lambda: containers_of(engine, backtest["id"]) != [], 90, "the Freqtrade container started")
    assert api.post(f"{BACKTESTS}/{backtest['id']}/cancel", headers=tokens.headers()).status_code == 200
    wait_until(lambda: containers_of(engine, backtest["id"]) == [], 20, "the container removed")


def test_deleting_the_user_mid_run_removes_the_container_and_the_files(
    api: FlaskClient, tokens: Tokens, svix: Svix, backtest_app: Flask, data_dir: Path, engine: docker.DockerClient
) -> None:
    clerk_id = "user_leaving"
    sleeper = hand_written_strategy(backtest_app, clerk_id, "Sleeper", "time.sleep(600)")
    backtest = start_backtest(api, tokens, sleeper, user=clerk_id)
    wait_until(lambda: containers_of(engine, backtest["id"]) != [], 90, "the Freqtrade container started")
    body = clerk_user_event("user.deleted", clerk_id)
    assert api.post("/api/v1/webhooks/clerk", data=body, headers=svix.headers(body)).status_code == 200
    wait_until(lambda: containers_of(engine, backtest["id"]) == [], 20, "the container removed")
    wait_until(lambda: not (data_dir / "ft_userdata" / f"user_{clerk_id}").exists(), 20, "the user's files removed")


def test_a_worker_killed_mid_run_leaves_no_container_once_it_is_back(
    api: FlaskClient, tokens: Tokens, worker: Worker, engine: docker.DockerClient, data_dir: Path
) -> None:
    backtest = start_backtest(api, tokens, deploy_strategy(api, tokens))
    wait_until(lambda: containers_of(engine, backtest["id"]) != [], 90, "the Freqtrade container started")
    worker.kill()
    orphans = set(pooled(engine, data_dir))  # the killed worker's, idle or running the backtest
    assert orphans
    worker.start()  # the redelivered task takes over once the heartbeat is stale; the leftover is replaced
    done = wait_for_backtest(api, tokens, backtest["id"], FINAL, timeout=180)
    assert done["status"] == "finished", done["error"]
    assert done["attempts"] == 2
    # No lease of theirs is touched any more: the worker that is back sweeps them.
    wait_until(lambda: not orphans & set(pooled(engine, data_dir)), 90, "the killed worker's containers swept")
