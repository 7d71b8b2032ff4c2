"""Issue 17: GenTrade scaled out over hosts that share nothing but PostgreSQL and RabbitMQ.

Three real hosts on this machine (``tests/cluster.py``): ``api`` (gunicorn and celery beat) and the worker hosts
``w1`` and ``w2``, each with a disk of its own. Everything goes through the api host over HTTP, with real tokens
and svix-signed Clerk webhooks: backtests spread over both workers with the same results wherever they ran, a
result archive comes from the api host whatever worker wrote it, a worker host that dies mid-backtest loses
nothing (the other one finishes its backtests), and a deleted user's files go from every host, a host that was
down included, once it is back.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import time
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from gentrade.freqtrade.results import RESULT_JSON
from gentrade.samples import DRAFT
from tests.backtests import BACKTESTS, FINAL, deploy_strategy, start_backtest, wait_for_backtest
from tests.clerk import Svix, Tokens, clerk_user_event
from tests.cluster import WORKER_HOSTS, Cluster, require_namespaces, run_cluster
from tests.concurrency import wait_until
from tests.services import require_rabbitmq
from tests.stack.exchange import END

pytestmark = pytest.mark.postgres

ALICE, BOB = "user_clusterAlice", "user_clusterBob"
STALE_SECONDS = 10  # a dead worker's backtests are reaped once their heartbeat is twice this old
FIRST_ROUND = 4  # backtests per user
# Long enough to be caught running on a worker host and killed there: 5m candles over three months (2-3 s).
LONG = {"timeframe": "5m", "start_date": (END - timedelta(days=90)).isoformat()}
# The reaper runs every 60 s (beat) and takes backtests without a heartbeat for 2 x STALE_SECONDS; then w1 runs them.
TAKEOVER_SECONDS = 240
DELETION_SECONDS = 30


@pytest.fixture(scope="module")
def cluster(
    postgres_url: str, clerk_key: rsa.RSAPrivateKey, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    require_namespaces()
    broker_url = require_rabbitmq()
    with run_cluster(
        tmp_path_factory.mktemp("cluster"), postgres_url, broker_url, clerk_key,
        GENTRADE_BACKTEST_STALE_SECONDS=str(STALE_SECONDS), GENTRADE_BACKTEST_MAX_ACTIVE_PER_USER="50",
        GENTRADE_BACKTEST_TIMEOUT_SECONDS="300", GENTRADE_DB_POOL_SIZE="5", GENTRADE_DB_MAX_OVERFLOW="5",
    ) as built:  # fmt: skip
        yield built


@pytest.fixture(scope="module")
def strategies(cluster: Cluster, tokens: Tokens) -> dict[str, str]:
    """A strategy of each user, deployed through the api host: clerk id -> strategy id."""
    with cluster.explained():
        bob_entry = {"any": [{"left": "rsi", "op": "<", "right": 35}]}
        return {
            ALICE: deploy_strategy(cluster.api, tokens, ALICE),
            BOB: deploy_strategy(cluster.api, tokens, BOB, entry_conditions=bob_entry),
        }


@pytest.fixture(scope="module")
def first_round(cluster: Cluster, tokens: Tokens, strategies: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    """``FIRST_ROUND`` backtests of each user's strategy, started one user after the other (consecutive messages
    go to both workers, so a strategy runs on both), waited for: (clerk id, final state) each."""
    with cluster.explained():
        started = [
            (user, start_backtest(cluster.api, tokens, strategy_id, user)["id"])
            for user, strategy_id in strategies.items()
            for _ in range(FIRST_ROUND)
        ]
        return [
            (user, wait_for_backtest(cluster.api, tokens, backtest_id, FINAL, 180, user))
            for user, backtest_id in started
        ]


def test_backtests_spread_over_both_worker_hosts_with_the_same_results(
    cluster: Cluster, first_round: list[tuple[str, dict[str, Any]]]
) -> None:
    with cluster.explained():
        assert [body["status"] for _, body in first_round] == ["finished"] * len(first_round), first_round
        ran_on = {body["id"]: cluster.ran_on(user, body["id"]) for user, body in first_round}
        assert all(len(hosts) == 1 for hosts in ran_on.values()), f"results folder on none or several: {ran_on}"
        assert {hosts[0] for hosts in ran_on.values()} == set(WORKER_HOSTS), ran_on
        by_strategy: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for _, body in first_round:
            by_strategy.setdefault(body["strategy_id"], []).append((ran_on[body["id"]][0], body["summary"]))
        for runs in by_strategy.values():
            assert runs[0][1], runs
            assert all(summary == runs[0][1] for _, summary in runs), "one strategy, different summaries"
        assert any({host for host, _ in runs} == set(WORKER_HOSTS) for runs in by_strategy.values()), ran_on


def test_a_result_archive_comes_from_the_api_host_whichever_worker_wrote_it(
    cluster: Cluster, tokens: Tokens, first_round: list[tuple[str, dict[str, Any]]]
) -> None:
    with cluster.explained():
        finished = [(user, body) for user, body in first_round if body["status"] == "finished"]
        assert finished, f"no finished backtest to download: {first_round}"
        user, body = finished[0]
        reply = cluster.api.get(f"{BACKTESTS}/{body['id']}/result", headers=tokens.headers(user))
        assert reply.status_code == 200, reply.data[:500]
        assert reply.headers["Content-Type"].split(";")[0] == "application/zip"
        disposition = reply.headers.get("Content-Disposition", "")
        assert re.fullmatch(r'attachment;\s*filename="?[^";/]+\.zip"?', disposition), disposition
        with zipfile.ZipFile(io.BytesIO(reply.data)) as archive:
            results = [name for name in archive.namelist() if RESULT_JSON.fullmatch(name)]
            assert results, archive.namelist()
            stats = json.loads(archive.read(results[0]))
        assert DRAFT["name"] in stats["strategy"]


def test_a_dead_worker_hosts_backtests_finish_on_the_other(
    cluster: Cluster, tokens: Tokens, strategies: dict[str, str]
) -> None:
    with cluster.explained():
        started = [
            (user, start_backtest(cluster.api, tokens, strategy_id, user, **LONG)["id"])
            for user, strategy_id in strategies.items()
            for _ in range(2)
        ]
        caught = caught_running_on(cluster, tokens, "w2", started)
        cluster.kill("w2")
        owners = {id_: user for user, id_ in started}
        assert all(status(cluster, tokens, owners[id_], id_) == "running" for id_ in caught), "w2 finished first"
        done = [
            (user, wait_for_backtest(cluster.api, tokens, id_, FINAL, TAKEOVER_SECONDS, user)) for user, id_ in started
        ]
        assert [body["status"] for _, body in done] == ["finished"] * len(done), done
        for user, body in done:
            assert list(cluster.results("w1", user, body["id"]).glob("*.zip")), f"{body['id']} not finished on w1"
        assert all(body["attempts"] >= 2 for _, body in done if body["id"] in caught), done
        for user in strategies:
            listed = cluster.api.get(f"{BACKTESTS}?page_size=100", headers=tokens.headers(user)).json
            assert all(item["status"] in FINAL for item in listed), f"stuck: {listed}"


def test_a_deleted_users_files_go_from_every_host_one_that_was_down_once_it_is_back(
    cluster: Cluster, tokens: Tokens, svix: Svix, first_round: list[tuple[str, dict[str, Any]]]
) -> None:
    with cluster.explained():
        if cluster.hosts["w2"].alive():
            cluster.kill("w2")  # down while the user is deleted
        both = [user for user in (ALICE, BOB) if all(cluster.user_folder(h, user).is_dir() for h in WORKER_HOSTS)]
        assert both, "no user has files on both worker hosts"
        deleted, kept = both[0], next(user for user in (ALICE, BOB) if user != both[0])
        body = clerk_user_event("user.deleted", deleted)
        reply = cluster.api.post("/api/v1/webhooks/clerk", data=body, headers=svix.headers(body))
        assert reply.status_code == 200, reply.json
        assert_gone(cluster, deleted, ("api", "w1"))
        assert cluster.user_folder("w2", deleted).is_dir()  # w2 was down: its copy is still there
        cluster.restart_worker("w2")
        assert_gone(cluster, deleted, ("w2",))
        assert all(cluster.user_folder(h, kept).is_dir() for h in WORKER_HOSTS), "another user's files went too"


def caught_running_on(cluster: Cluster, tokens: Tokens, name: str, started: list[tuple[str, str]]) -> list[str]:
    """Wait until some of the backtests run on the host: their results folder appears on its disk (made as the row
    turns ``running``). The disk is polled, not the API, to catch a run of a few seconds at its start."""
    deadline, next_look = time.monotonic() + 120, 0.0
    while not (caught := [id_ for user, id_ in started if cluster.results(name, user, id_).is_dir()]):
        if time.monotonic() > next_look:
            states = {id_: status(cluster, tokens, user, id_) for user, id_ in started}
            assert not set(states.values()) <= FINAL, f"all over, none ran on {name}: {states}"
            assert time.monotonic() < deadline, f"none ran on {name}: {states}"
            next_look = time.monotonic() + 1
        time.sleep(0.02)
    return caught


def status(cluster: Cluster, tokens: Tokens, user: str, backtest_id: str) -> str:
    return cluster.api.get(f"{BACKTESTS}/{backtest_id}", headers=tokens.headers(user)).json["status"]


def assert_gone(cluster: Cluster, clerk_id: str, hosts: tuple[str, ...]) -> None:
    """Within ``DELETION_SECONDS`` the user's folder is gone from each host's disk."""

    def leftovers() -> list[Path]:
        return [cluster.user_folder(h, clerk_id) for h in hosts if cluster.user_folder(h, clerk_id).exists()]

    with contextlib.suppress(AssertionError):
        wait_until(lambda: not leftovers(), DELETION_SECONDS)
    assert not leftovers(), f"still there after {DELETION_SECONDS} s: {leftovers()}"
