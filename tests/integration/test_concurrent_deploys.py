"""Concurrent deploys of one strategy name, against the real gunicorn/gevent server (issue 7).

Every request starts together (a barrier), so several pass the early name check and race to the
``(user_id, name)`` unique constraint: exactly one per user may win, the others get the JSON 409,
and the disk holds one file per winner, no temporary leftovers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import psycopg
import pytest
import requests
from flask import Flask
from sqlalchemy import func, select

from gentrade.extensions import db
from gentrade.models import Strategy, User
from gentrade.samples import DRAFT
from tests.clerk import Tokens
from tests.concurrency import all_at_once, backends_waiting, wait_until

STRATEGIES = "/api/v1/strategies"
FILE = f"{DRAFT['name']}.py"


def strategy_files(data_dir: Path, clerk_id: str) -> list[str]:
    """Everything in the user's strategies folder, temporary files included."""
    folder = data_dir / "ft_userdata" / f"user_{clerk_id}" / "user_data" / "strategies"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def strategy_rows_of(app: Flask, clerk_id: str) -> int:
    with app.app_context():
        query = select(func.count()).select_from(Strategy).join(User).where(User.clerk_id == clerk_id)
        return db.session.scalar(query) or 0


def deploys(url: str, tokens: Tokens, clerk_ids: list[str], per_user: int) -> list[Callable[[], requests.Response]]:
    """``per_user`` deploys of the same draft for each user (grouped by user), each user provisioned first."""
    calls = []
    for clerk_id in clerk_ids:
        headers = tokens.headers(clerk_id)
        chat = requests.post(f"{url}/api/v1/chats", json={}, headers=headers, timeout=10)
        assert chat.status_code == 201  # provisions the user: the race is the deploy's, not the sign-up's
        body = {"thread_id": chat.json()["thread_id"], "draft": DRAFT}
        calls += [lambda b=body, h=headers: requests.post(url + STRATEGIES, json=b, headers=h, timeout=60)] * per_user
    return calls


def assert_conflict(response: requests.Response) -> None:
    """The JSON error shape every 4xx has, with the field that clashed."""
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == 409
    assert body["status"] == "Conflict"
    assert body["message"] == f"you already have a strategy named {DRAFT['name']}"
    assert body["errors"] == {"draft": {"name": ["Already used."]}}
    assert body["request_id"] == response.headers["X-Request-ID"]


def print_deploy_figures(scenario: str, statuses: list[int]) -> None:
    """The numbers docs/reliability.md quotes (shown with ``pytest -s``)."""
    fives = sum(1 for s in statuses if s >= 500)
    print(f"\n[figures] {scenario}: sent={len(statuses)} {dict(Counter(statuses))} 5xx={fives}")


@pytest.mark.parametrize(
    ("users", "per_user"),
    [(1, 2), (1, 10), (2, 1), (3, 4)],
    ids=["one-user-x2", "one-user-x10", "two-users-x1", "three-users-x4"],
)
def test_concurrent_deploys_of_one_name_give_one_201_per_user(
    url: str, tokens: Tokens, app: Flask, data_dir: Path, users: int, per_user: int
) -> None:
    clerk_ids = [f"user_deployer{n}" for n in range(users)]

    responses = all_at_once(deploys(url, tokens, clerk_ids, per_user))

    statuses = [r.status_code for r in responses]
    assert [s for s in statuses if s >= 500] == []
    for n, clerk_id in enumerate(clerk_ids):
        mine = statuses[n * per_user : (n + 1) * per_user]
        assert Counter(mine) == Counter({201: 1, 409: per_user - 1}), clerk_id
        assert strategy_rows_of(app, clerk_id) == 1
        assert strategy_files(data_dir, clerk_id) == [FILE]  # one file, no temporary leftovers
    for conflict in (r for r in responses if r.status_code == 409):
        assert_conflict(conflict)
    assert len({r.json()["id"] for r in responses if r.status_code == 201}) == users
    print_deploy_figures(f"deploys {users} user(s) x{per_user}", statuses)


@pytest.mark.parametrize("blocker_ends", ["rollback", "commit"])
def test_deploys_held_at_the_unique_constraint_settle_there(
    url: str, tokens: Tokens, app: Flask, data_dir: Path, postgres_url: str, blocker_ends: str
) -> None:
    """Force the worst case: an uncommitted row holds the name, so all 10 deploys pass the early name check,
    build their code and wait: one at the constraint, the others for the user's lock it holds (a deploy writes
    its file under it). Released, they settle there: one 201 (none if the name was really taken), the rest 409,
    and no loser ever writes a file.
    """
    clerk_id, per_user = "user_held", 10
    calls = deploys(url, tokens, [clerk_id], per_user)
    with psycopg.connect(postgres_url) as blocker, ThreadPoolExecutor(max_workers=1) as pool:
        blocker.execute(
            "INSERT INTO strategies (id, user_id, name, code, file_path, draft, created_at, updated_at) "
            "SELECT gen_random_uuid(), id, %s, '', '', '{}', now(), now() FROM users WHERE clerk_id = %s",
            (DRAFT["name"], clerk_id),
        )
        running = pool.submit(all_at_once, calls)
        at_the_constraint = partial(backends_waiting, postgres_url, "INSERT INTO strategies")
        at_the_user_lock = partial(backends_waiting, postgres_url, "SELECT pg_advisory_xact_lock")
        wait_until(lambda: at_the_constraint() == 1 and at_the_user_lock() == per_user - 1)
        blocker.rollback() if blocker_ends == "rollback" else blocker.commit()
        responses = running.result(timeout=60)

    statuses = [r.status_code for r in responses]
    winners = 1 if blocker_ends == "rollback" else 0
    assert Counter(statuses) == Counter({201: winners, 409: per_user - winners})
    for conflict in (r for r in responses if r.status_code == 409):
        assert_conflict(conflict)
    assert strategy_rows_of(app, clerk_id) == 1
    assert strategy_files(data_dir, clerk_id) == [FILE] * winners
    print_deploy_figures(f"deploys held at the constraint, blocker {blocker_ends}s", statuses)


def test_deploy_racing_the_deletion_of_its_chat_is_not_reported_as_a_name_clash(
    url: str, tokens: Tokens, app: Flask, data_dir: Path, postgres_url: str
) -> None:
    """The chat is deleted (uncommitted, by a blocker) after the deploy has read it: the insert's foreign key
    check waits, then fails once the delete commits. That is not "you already have a strategy named ...".
    """
    clerk_id = "user_chatless"
    [call] = deploys(url, tokens, [clerk_id], 1)
    with psycopg.connect(postgres_url) as blocker, ThreadPoolExecutor(max_workers=1) as pool:
        blocker.execute("DELETE FROM chats")
        running = pool.submit(call)
        wait_until(lambda: backends_waiting(postgres_url, "INSERT INTO strategies") == 1)
        blocker.commit()
        response = running.result(timeout=60)

    assert response.status_code == 404, response.text
    assert response.json()["message"] == "chat not found"
    assert strategy_rows_of(app, clerk_id) == 0
    assert strategy_files(data_dir, clerk_id) == []
