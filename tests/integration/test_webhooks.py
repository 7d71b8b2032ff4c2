"""Clerk webhooks with real svix signatures (FR.6-7): verified, idempotent, order-safe."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from gentrade.extensions import db
from gentrade.models import Chat, DeletedUser, User, WebhookEvent
from tests.clerk import Svix, Tokens, clerk_user_event
from tests.spies import user_dir

HOOK = "/api/v1/webhooks/clerk"


def deliver(client: FlaskClient, svix: Svix, body: str, **header_options: object):
    return client.post(HOOK, data=body, headers=svix.headers(body, **header_options))


def count(app: Flask, model: type, *where: object) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_user_created_creates_user_and_directory(client: FlaskClient, svix: Svix, app: Flask, data_dir: Path) -> None:
    response = deliver(client, svix, clerk_user_event("user.created", "user_new1", "new@example.com"))
    assert response.status_code == 200
    assert response.json == {"status": "processed"}
    with app.app_context():
        user = db.session.scalar(select(User).where(User.clerk_id == "user_new1"))
        assert user is not None
        assert user.email == "new@example.com"  # the primary address, not the first one
    assert (user_dir(data_dir, "user_new1") / "user_data" / "config.json").is_file()


def test_user_updated_changes_email(client: FlaskClient, svix: Svix, app: Flask) -> None:
    deliver(client, svix, clerk_user_event("user.created", "user_upd", "a@example.com"))
    response = deliver(client, svix, clerk_user_event("user.updated", "user_upd", "b@example.com"))
    assert response.status_code == 200
    with app.app_context():
        assert db.session.scalar(select(User.email).where(User.clerk_id == "user_upd")) == "b@example.com"


def test_user_deleted_removes_rows_files_and_leaves_tombstone(
    client: FlaskClient, svix: Svix, tokens: Tokens, app: Flask, data_dir: Path
) -> None:
    deliver(client, svix, clerk_user_event("user.created", "user_gone"))
    headers = tokens.headers("user_gone")
    assert client.post("/api/v1/chats", json={"title": "mine"}, headers=headers).status_code == 201
    strategies = user_dir(data_dir, "user_gone") / "user_data" / "strategies"
    (strategies / "Mine.py").write_text("# a strategy file\n")

    response = deliver(client, svix, clerk_user_event("user.deleted", "user_gone"))
    assert response.status_code == 200
    assert count(app, User, User.clerk_id == "user_gone") == 0
    assert count(app, Chat) == 0
    assert count(app, DeletedUser, DeletedUser.clerk_id == "user_gone") == 1
    assert not user_dir(data_dir, "user_gone").exists()
    # A still-valid session token of the deleted user is refused, and does not re-create the user.
    assert client.get("/api/v1/chats", headers=headers).status_code == 401
    assert count(app, User, User.clerk_id == "user_gone") == 0


def test_replay_changes_nothing(client: FlaskClient, svix: Svix, app: Flask) -> None:
    created = clerk_user_event("user.created", "user_rep", "first@example.com")
    headers = svix.headers(created, msg_id="msg_replayed")
    assert client.post(HOOK, data=created, headers=headers).json == {"status": "processed"}
    deliver(client, svix, clerk_user_event("user.updated", "user_rep", "second@example.com"))

    replay = client.post(HOOK, data=created, headers=headers)
    assert replay.status_code == 200
    assert replay.json == {"status": "duplicate"}
    with app.app_context():
        assert db.session.scalar(select(User.email).where(User.clerk_id == "user_rep")) == "second@example.com"
    assert count(app, WebhookEvent, WebhookEvent.svix_id == "msg_replayed") == 1


def test_replayed_delete_after_recreate_attempt(client: FlaskClient, svix: Svix, app: Flask) -> None:
    deleted = clerk_user_event("user.deleted", "user_twice")
    headers = svix.headers(deleted)
    assert client.post(HOOK, data=deleted, headers=headers).status_code == 200
    assert client.post(HOOK, data=deleted, headers=headers).json == {"status": "duplicate"}
    assert count(app, DeletedUser, DeletedUser.clerk_id == "user_twice") == 1


def test_out_of_order_delete_before_create_ends_with_no_user(
    client: FlaskClient, svix: Svix, app: Flask, data_dir: Path
) -> None:
    assert deliver(client, svix, clerk_user_event("user.deleted", "user_ooo")).status_code == 200
    response = deliver(client, svix, clerk_user_event("user.created", "user_ooo"))
    assert response.status_code == 200
    assert response.json == {"status": "ignored"}
    assert count(app, User, User.clerk_id == "user_ooo") == 0
    assert not user_dir(data_dir, "user_ooo").exists()
    assert deliver(client, svix, clerk_user_event("user.updated", "user_ooo")).json == {"status": "ignored"}
    assert count(app, User, User.clerk_id == "user_ooo") == 0


def test_created_after_just_in_time_provisioning_sets_email(
    client: FlaskClient, svix: Svix, tokens: Tokens, app: Flask
) -> None:
    assert client.get("/api/v1/chats", headers=tokens.headers("user_early")).status_code == 200
    deliver(client, svix, clerk_user_event("user.created", "user_early", "late@example.com"))
    with app.app_context():
        assert db.session.scalars(select(User.email).where(User.clerk_id == "user_early")).all() == ["late@example.com"]


def test_unknown_event_type_is_acknowledged_and_ignored(client: FlaskClient, svix: Svix, app: Flask) -> None:
    body = json.dumps({"type": "session.created", "object": "event", "data": {"id": "sess_1"}})
    response = deliver(client, svix, body)
    assert response.status_code == 200
    assert response.json == {"status": "ignored"}
    assert count(app, User) == 0


def _forged_signature(svix: Svix, body: str) -> dict[str, str]:
    headers = svix.headers(body)
    headers["svix-signature"] = Svix("whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=").headers(
        body, msg_id=headers["svix-id"]
    )["svix-signature"]
    return headers


def _tampered_body(svix: Svix, body: str) -> dict[str, str]:
    return svix.headers(body.replace("user_bad", "user_evil"))


def _stale(svix: Svix, body: str) -> dict[str, str]:
    return svix.headers(body, at=datetime.now(UTC) - timedelta(minutes=10))


def _future(svix: Svix, body: str) -> dict[str, str]:
    return svix.headers(body, at=datetime.now(UTC) + timedelta(minutes=10))


def _missing(header: str):
    def build(svix: Svix, body: str) -> dict[str, str]:
        headers = svix.headers(body)
        del headers[header]
        return headers

    return build


@pytest.mark.parametrize(
    "make_headers",
    [
        _forged_signature,
        _tampered_body,
        _stale,
        _future,
        _missing("svix-signature"),
        _missing("svix-id"),
        _missing("svix-timestamp"),
        lambda svix, body: {"Content-Type": "application/json"},
    ],
    ids=["forged", "tampered", "stale", "future", "no-signature", "no-id", "no-timestamp", "no-headers"],
)
def test_unverified_deliveries_are_rejected_and_change_nothing(
    client: FlaskClient, svix: Svix, app: Flask, data_dir: Path, make_headers
) -> None:
    body = clerk_user_event("user.created", "user_bad")
    response = client.post(HOOK, data=body, headers=make_headers(svix, body))
    assert response.status_code == 400
    assert response.json["code"] == 400
    assert "signature" in response.json["message"]
    assert count(app, User) == 0
    assert count(app, WebhookEvent) == 0
    assert not (data_dir / "ft_userdata").exists() or not any((data_dir / "ft_userdata").iterdir())


@pytest.mark.parametrize("clerk_id", ["../etc", "user_../../x", "user_a/b", "user_" + "a" * 60, 42, None])
def test_signed_event_with_bad_user_id_is_422_and_changes_nothing(
    client: FlaskClient, svix: Svix, app: Flask, clerk_id: object
) -> None:
    body = json.dumps({"type": "user.created", "data": {"id": clerk_id, "email_addresses": []}})
    response = deliver(client, svix, body)
    assert response.status_code == 422
    assert count(app, User) == 0
    assert count(app, WebhookEvent) == 0


def test_signed_event_without_data_is_422(client: FlaskClient, svix: Svix) -> None:
    assert deliver(client, svix, json.dumps({"type": "user.created"})).status_code == 422
    assert deliver(client, svix, json.dumps(["not", "an", "object"])).status_code == 422
