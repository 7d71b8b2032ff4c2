"""Clerk webhooks under attack and under races, against the real gunicorn/gevent server (issue 7).

test_webhooks.py proves each rule one delivery at a time; here the same rules hold when deliveries
arrive together: 50 concurrent replays of one svix message, forgeries racing valid deliveries, and
created/updated/deleted in every order. Effects are counted in PostgreSQL and on disk.
"""

from __future__ import annotations

import itertools
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import requests
from flask import Flask
from sqlalchemy import func, select

from gentrade.extensions import db
from gentrade.models import Chat, DeletedUser, User, WebhookEvent
from tests.clerk import Svix, Tokens, clerk_user_event
from tests.concurrency import all_at_once, backends_waiting, wait_until

HOOK = "/api/v1/webhooks/clerk"
REPLAYS = 50
TOLERANCE = timedelta(minutes=5)  # svix's window for svix-timestamp
FIRST, SECOND = "first@example.com", "second@example.com"
Call = Callable[[], "Delivery"]


@dataclass(frozen=True)
class Delivery:
    status: int
    outcome: str | None  # "processed", "duplicate" or "ignored" on a 2xx
    message: str


@dataclass(frozen=True)
class EndState:
    users: int
    email: str | None
    tombstones: int
    chats: int
    directory: bool


def deliver_webhook(url: str, body: str | bytes, headers: dict[str, str]) -> Delivery:
    response = requests.post(url + HOOK, data=body, headers=headers, timeout=60)
    payload = response.json()
    return Delivery(response.status_code, payload.get("status"), payload.get("message", ""))


def delivery(url: str, body: str | bytes, headers: dict[str, str]) -> Call:
    return lambda: deliver_webhook(url, body, headers)


def end_state(app: Flask, data_dir: Path, clerk_id: str) -> EndState:
    with app.app_context():
        emails = db.session.scalars(select(User.email).where(User.clerk_id == clerk_id)).all()
        tombstones = db.session.scalar(select(func.count()).where(DeletedUser.clerk_id == clerk_id))
        chats = db.session.scalar(select(func.count()).select_from(Chat))
    directory = (data_dir / "ft_userdata" / f"user_{clerk_id}").exists()
    return EndState(len(emails), emails[0] if emails else None, tombstones or 0, chats or 0, directory)


def user_dirs(data_dir: Path) -> list[str]:
    root = data_dir / "ft_userdata"
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def svix_ids(app: Flask) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(select(WebhookEvent.svix_id)))


def no_server_errors(results: list[Delivery]) -> None:
    assert [r for r in results if r.status >= 500] == []


def print_delivery_figures(scenario: str, results: list[Delivery], effects: str) -> None:
    """The numbers docs/reliability.md quotes (shown with ``pytest -s``)."""
    statuses = Counter(r.status for r in results)
    outcomes = Counter(r.outcome for r in results if r.outcome)
    fives = sum(n for s, n in statuses.items() if s >= 500)
    print(f"\n[figures] {scenario}: sent={len(results)} {dict(statuses)} {dict(outcomes)} 5xx={fives} {effects}")


# -- 50 concurrent deliveries of one svix message ------------------------------------------------------------------

REPLAY_END_STATES = {
    "user.created": EndState(users=1, email=FIRST, tombstones=0, chats=0, directory=True),
    "user.updated": EndState(users=1, email=SECOND, tombstones=0, chats=1, directory=True),
    "user.deleted": EndState(users=0, email=None, tombstones=1, chats=0, directory=False),
}


@pytest.mark.parametrize("event_type", list(REPLAY_END_STATES))
def test_one_message_delivered_50_times_at_once_takes_effect_once(
    url: str, svix: Svix, tokens: Tokens, app: Flask, data_dir: Path, event_type: str
) -> None:
    clerk_id = "user_replayed"
    if event_type != "user.created":  # an account with a chat, so a delete has rows and files to remove
        created = clerk_user_event("user.created", clerk_id, FIRST)
        assert deliver_webhook(url, created, svix.headers(created)).outcome == "processed"
        chat = requests.post(f"{url}/api/v1/chats", json={}, headers=tokens.headers(clerk_id), timeout=10)
        assert chat.status_code == 201
    body = clerk_user_event(event_type, clerk_id, SECOND if event_type == "user.updated" else FIRST)
    headers = svix.headers(body, msg_id="msg_replayed")
    before = svix_ids(app)

    results = all_at_once([delivery(url, body, headers)] * REPLAYS)

    no_server_errors(results)
    assert {r.status for r in results} == {200}
    assert Counter(r.outcome for r in results) == {"processed": 1, "duplicate": REPLAYS - 1}
    assert svix_ids(app) - before == {"msg_replayed"}
    assert end_state(app, data_dir, clerk_id) == REPLAY_END_STATES[event_type]
    assert user_dirs(data_dir) == ([f"user_{clerk_id}"] if event_type != "user.deleted" else [])
    print_delivery_figures(f"replay {event_type} x{REPLAYS}", results, f"effects={end_state(app, data_dir, clerk_id)}")


# -- forgeries and stale deliveries, racing valid ones -------------------------------------------------------------

OTHER_SECRET = Svix("whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=")
VALID_ID = "msg_valid"


def forgeries(svix: Svix, body: str, headers: dict[str, str]) -> dict[str, tuple[str | bytes, dict[str, str]]]:
    """Hostile deliveries, by name: (body, headers). Several reuse the valid message's svix-id or signature."""
    evil = clerk_user_event("user.created", "user_evil", "evil@example.com")
    now = datetime.now(UTC)

    def without(*names: str) -> dict[str, str]:
        return {k: v for k, v in svix.headers(evil).items() if k not in names}

    return {
        "wrong-secret": (evil, OTHER_SECRET.headers(evil)),
        "wrong-secret-valid-id": (evil, OTHER_SECRET.headers(evil, msg_id=VALID_ID)),
        "tampered-body": (evil, headers),
        "signature-of-another-id": (body, {**headers, "svix-id": "msg_stolen"}),
        "stale": (evil, svix.headers(evil, at=now - TOLERANCE - timedelta(seconds=30))),
        "stale-valid-replay": (body, svix.headers(body, msg_id="msg_old", at=now - timedelta(hours=1))),
        "future": (evil, svix.headers(evil, at=now + TOLERANCE + timedelta(seconds=30))),
        "no-signature": (evil, without("svix-signature")),
        "no-id": (evil, without("svix-id")),
        "no-timestamp": (evil, without("svix-timestamp")),
        "no-headers": (evil, {"Content-Type": "application/json"}),
        # Malformed rather than wrong: svix raises ValueError, not its own error, for these.
        "signature-not-base64": (evil, {**svix.headers(evil), "svix-signature": "v1,AAAA v1,!!not-base64"}),
        "signature-without-version": (evil, {**svix.headers(evil), "svix-signature": "c2lnbmF0dXJl"}),
        "body-not-utf8": (b"\xff\xfe" + evil.encode(), svix.headers(evil)),
    }


def test_forged_and_stale_deliveries_racing_valid_ones_are_400_and_change_nothing(
    url: str, svix: Svix, app: Flask, data_dir: Path
) -> None:
    body = clerk_user_event("user.created", "user_real", FIRST)
    headers = svix.headers(body, msg_id=VALID_ID)
    almost_stale = clerk_user_event("user.updated", "user_late", FIRST)  # inside the window: accepted
    late_headers = svix.headers(almost_stale, at=datetime.now(UTC) - TOLERANCE + timedelta(seconds=60))
    hostile = forgeries(svix, body, headers)
    copies = 4  # each forgery sent this many times, interleaved with the valid deliveries
    calls = [delivery(url, b, h) for b, h in hostile.values()] * copies
    valid = [delivery(url, body, headers)] * 10 + [delivery(url, almost_stale, late_headers)]

    results = all_at_once(valid + calls)

    no_server_errors(results)
    valid_results, hostile_results = results[: len(valid)], results[len(valid) :]
    assert Counter(r.outcome for r in valid_results) == {"processed": 2, "duplicate": 9}
    rejected = [(name, r.status) for name, r in zip(list(hostile) * copies, hostile_results, strict=True)]
    assert {name: status for name, status in rejected if status != 400} == {}
    assert all("signature" in r.message for r in hostile_results)
    assert svix_ids(app) == {VALID_ID, late_headers["svix-id"]}
    assert end_state(app, data_dir, "user_real") == EndState(1, FIRST, 0, 0, True)
    assert end_state(app, data_dir, "user_late").users == 1
    assert end_state(app, data_dir, "user_evil") == EndState(0, None, 0, 0, False)
    assert user_dirs(data_dir) == ["user_user_late", "user_user_real"]
    print_delivery_figures(
        f"{len(hostile)} forgery kinds x{copies} racing 11 valid", results, f"svix_ids={len(svix_ids(app))}"
    )


# -- out of order: every permutation, each delivery at most once ---------------------------------------------------

EVENTS = ("user.created", "user.updated", "user.deleted")
ORDERS = [*itertools.permutations(EVENTS), ("user.updated", "user.created")]


def expected_outcomes(order: tuple[str, ...]) -> list[str]:
    """Clerk's intent: nothing brings a deleted user back; before the delete every event applies."""
    deleted_at = order.index("user.deleted") if "user.deleted" in order else len(order)
    return ["processed" if i <= deleted_at else "ignored" for i in range(len(order))]


@pytest.mark.parametrize("order", ORDERS, ids=["-".join(e.split(".")[1] for e in o) for o in ORDERS])
def test_out_of_order_deliveries_end_as_clerk_intends(
    url: str, svix: Svix, app: Flask, data_dir: Path, order: tuple[str, ...]
) -> None:
    clerk_id = "user_ooo"
    emails = {"user.created": FIRST, "user.updated": SECOND, "user.deleted": None}
    sent = [(body, svix.headers(body)) for body in (clerk_user_event(e, clerk_id, emails[e]) for e in order)]

    results = [deliver_webhook(url, body, headers) for body, headers in sent]
    replays = all_at_once([delivery(url, body, headers) for body, headers in sent] * 3)

    no_server_errors(results + replays)
    assert [r.outcome for r in results] == expected_outcomes(order)
    assert {r.outcome for r in replays} == {"duplicate"}
    assert len(svix_ids(app)) == len(order)
    if "user.deleted" in order:
        assert end_state(app, data_dir, clerk_id) == EndState(0, None, 1, 0, False)
        assert user_dirs(data_dir) == []
    else:  # user.updated arrived first, but user.created is older: the updated address stays
        assert end_state(app, data_dir, clerk_id) == EndState(1, SECOND, 0, 0, True)


def test_created_updated_deleted_at_once_leave_the_user_deleted(
    url: str, svix: Svix, app: Flask, data_dir: Path
) -> None:
    """All three events of one account in flight together, many times over: the delete always wins."""
    rounds = 10
    results: list[Delivery] = []
    for n in range(rounds):
        clerk_id = f"user_race{n}"
        bodies = [clerk_user_event(e, clerk_id, SECOND if e == "user.updated" else FIRST) for e in EVENTS]
        results += all_at_once([delivery(url, b, svix.headers(b, msg_id=f"msg_{uuid.uuid4().hex}")) for b in bodies])
    no_server_errors(results)
    for n in range(rounds):
        assert end_state(app, data_dir, f"user_race{n}") == EndState(0, None, 1, 0, False), n
    assert user_dirs(data_dir) == []
    print_delivery_figures(
        f"created+updated+deleted at once x{rounds}", results, f"user_dirs={len(user_dirs(data_dir))}"
    )


def test_created_racing_a_delete_cannot_bring_the_user_back(
    url: str, svix: Svix, app: Flask, data_dir: Path, postgres_url: str
) -> None:
    """The worst interleaving, forced with a real row lock: the delete has run its DELETE (no row yet) and
    waits to write the tombstone while the user.created checks for a tombstone and inserts the user.

    Without a per-user lock both commit: a user row next to its tombstone, and a folder, for a deleted
    account. With it, the created waits for the delete and is ignored.
    """
    clerk_id = "user_resurrected"
    deleted, created = (clerk_user_event(e, clerk_id) for e in ("user.deleted", "user.created"))
    with psycopg.connect(postgres_url) as blocker, ThreadPoolExecutor(max_workers=2) as pool:
        blocker.execute("INSERT INTO deleted_users (clerk_id, deleted_at) VALUES (%s, now())", (clerk_id,))
        delete_done = pool.submit(deliver_webhook, url, deleted, svix.headers(deleted))
        wait_until(lambda: backends_waiting(postgres_url, "INSERT INTO deleted_users") == 1)
        create_done = pool.submit(deliver_webhook, url, created, svix.headers(created))
        wait_until(lambda: create_done.done() or backends_waiting(postgres_url, "SELECT pg_advisory_xact_lock") == 1)
        blocker.rollback()  # the delete goes on and commits its own tombstone
        results = [delete_done.result(timeout=30), create_done.result(timeout=30)]

    no_server_errors(results)
    assert [r.outcome for r in results] == ["processed", "ignored"]
    assert end_state(app, data_dir, clerk_id) == EndState(0, None, 1, 0, False)
    print_delivery_figures("created racing a blocked delete", results, f"effects={end_state(app, data_dir, clerk_id)}")


def test_a_first_token_racing_a_delete_cannot_bring_the_user_back(
    url: str, svix: Svix, tokens: Tokens, app: Flask, data_dir: Path, postgres_url: str
) -> None:
    """The same interleaving for just-in-time provisioning: the account's deletion is under way (its
    tombstone not yet visible) when the user's first request arrives; the request waits for the user's
    lock, then finds the tombstone: a 401, and no row or folder comes back."""
    clerk_id = "user_firsttoken"
    deleted = clerk_user_event("user.deleted", clerk_id)
    with psycopg.connect(postgres_url) as blocker, ThreadPoolExecutor(max_workers=2) as pool:
        blocker.execute("INSERT INTO deleted_users (clerk_id, deleted_at) VALUES (%s, now())", (clerk_id,))
        delete_done = pool.submit(deliver_webhook, url, deleted, svix.headers(deleted))
        wait_until(lambda: backends_waiting(postgres_url, "INSERT INTO deleted_users") == 1)
        request_done = pool.submit(requests.get, url + "/api/v1/chats", headers=tokens.headers(clerk_id), timeout=60)
        wait_until(lambda: request_done.done() or backends_waiting(postgres_url, "SELECT pg_advisory_xact_lock") == 1)
        blocker.rollback()  # the delete goes on and commits its own tombstone
        delivered, response = delete_done.result(timeout=30), request_done.result(timeout=30)

    assert delivered.outcome == "processed"
    assert response.status_code == 401, response.text
    assert end_state(app, data_dir, clerk_id) == EndState(0, None, 1, 0, False)
