"""The reads whose JSON PostgreSQL builds (``gentrade.services.json_reads``) answer exactly what the ORM and the
response schemas answer for the same rows: the same body, ``X-Pagination`` header, statuses and ordering.

Each case asks the same URL twice, once on the JSON path and once with it switched off (the ORM and
marshmallow path SQLite uses), and compares the two answers.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from gentrade.extensions import db
from gentrade.models import Chat, DeletedUser, Strategy, User
from gentrade.samples import DRAFT, draft
from gentrade.services import json_reads
from tests.clerk import Tokens

CHATS = "/api/v1/chats"
# Whole seconds, microseconds with trailing zeros (Python keeps all six digits), the smallest fraction, a
# leap day and a time past midnight UTC that is still the day before in the Americas.
MOMENTS = [
    datetime(2026, 12, 4, 18, 30, 0, tzinfo=UTC),
    datetime(2026, 12, 4, 18, 30, 0, 120000, tzinfo=UTC),
    datetime(2026, 12, 4, 18, 30, 0, 1, tzinfo=UTC),
    datetime(2028, 2, 29, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2026, 1, 1, 0, 0, 5, 500000, tzinfo=UTC),
]
TITLES = [None, "", 'quotes " and \\ backslash', "émoji 🚀 and ünïcode", "tab\tnew\nline", "</script>&amp;"]


def read_answer(client: FlaskClient, path: str, headers: dict[str, str]) -> tuple[int, Any, str | None]:
    response = client.get(path, headers=headers)
    assert response.mimetype == "application/json"
    return response.status_code, response.json, response.headers.get("X-Pagination")


def both_answers(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch, path: str, headers: dict[str, str]
) -> tuple[tuple[int, Any, str | None], tuple[int, Any, str | None]]:
    """(the JSON path's answer, the ORM and schema path's answer) to ``GET path``."""
    fast = read_answer(client, path, headers)
    with monkeypatch.context() as patched:
        patched.setattr(json_reads, "supported", lambda: False)
        reference = read_answer(client, path, headers)
    return fast, reference


def without_request_id(body: Any) -> Any:
    return {key: value for key, value in body.items() if key != "request_id"} if isinstance(body, dict) else body


@pytest.fixture
def alice_headers(client: FlaskClient, tokens: Tokens, app: Flask) -> dict[str, str]:
    """Alice (provisioned by a first request) and her headers."""
    headers = tokens.headers("user_alice")
    assert client.get(CHATS, headers=headers).status_code == 200
    return headers


def alice_id(app: Flask) -> uuid.UUID:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.clerk_id == "user_alice"))


def add_chats(app: Flask, user_id: uuid.UUID, count: int) -> None:
    """Chats with every title and moment above; several share an ``updated_at`` (the id breaks the tie)."""
    with app.app_context():
        for index in range(count):
            moment = MOMENTS[index % len(MOMENTS)] + timedelta(days=index // (2 * len(MOMENTS)))
            db.session.add(
                Chat(
                    user_id=user_id,
                    title=TITLES[index % len(TITLES)],
                    messages=[{"role": "user", "content": f"message {index}"}],
                    created_at=MOMENTS[(index + 2) % len(MOMENTS)],
                    updated_at=moment,
                )
            )
        db.session.commit()


def other_user(app: Flask) -> uuid.UUID:
    with app.app_context():
        user = User(clerk_id="user_bob", created_at=MOMENTS[0], updated_at=MOMENTS[0])
        db.session.add(user)
        db.session.commit()
        return user.id


@pytest.mark.parametrize(
    "query",
    ["", "?page=1&page_size=7", "?page=2&page_size=7", "?page=5&page_size=7", "?page=6&page_size=7",
     "?page=1&page_size=500", "?page=3&page_size=40", "?page=99999999999999999999&page_size=500"],
)  # fmt: skip
def test_the_chat_list_is_what_the_schema_dumps(
    client: FlaskClient, app: Flask, alice_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch, query: str
) -> None:
    add_chats(app, alice_id(app), 33)
    add_chats(app, other_user(app), 4)  # another user's chats never show
    fast, reference = both_answers(client, monkeypatch, CHATS + query, alice_headers)
    assert fast == reference
    assert fast[0] == 200


def test_the_datetime_strings_are_pythons_isoformat(
    client: FlaskClient, app: Flask, alice_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The strings themselves, not only what they parse to: ``.120000``, no fraction on a whole second."""
    add_chats(app, alice_id(app), len(MOMENTS))
    body = client.get(CHATS, headers=alice_headers).json
    assert {chat["updated_at"] for chat in body} == {moment.isoformat() for moment in MOMENTS}
    assert "2026-12-04T18:30:00+00:00" in {chat["updated_at"] for chat in body}
    assert "2026-12-04T18:30:00.120000+00:00" in {chat["updated_at"] for chat in body}


@pytest.mark.parametrize("zone", ["UTC", "America/St_Johns", "Asia/Kathmandu", "Pacific/Kiritimati"])
def test_iso_datetime_does_not_depend_on_the_sessions_time_zone(app: Flask, zone: str) -> None:
    with app.app_context():
        connection = db.session.connection()
        connection.exec_driver_sql(f"SET TIME ZONE '{zone}'")
        try:
            for moment in MOMENTS:
                sql = f"SELECT {json_reads.iso_datetime('%(moment)s::timestamptz')}"
                assert connection.exec_driver_sql(sql, {"moment": moment}).scalar_one() == moment.isoformat()
        finally:
            db.session.rollback()
            db.session.remove()


def test_an_empty_list_and_a_new_users_first_list(
    client: FlaskClient, tokens: Tokens, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = tokens.headers("user_fresh")
    status, body, pagination = read_answer(client, CHATS + "?page=3", fresh)  # provisions user_fresh
    assert (status, body, json.loads(pagination or "")) == (200, [], {"total": 0, "total_pages": 0})
    with app.app_context():
        assert db.session.scalar(select(User.id).where(User.clerk_id == "user_fresh")) is not None
    fast, reference = both_answers(client, monkeypatch, CHATS, fresh)
    assert fast == reference


def test_a_bad_page_is_a_422_after_the_account_check(client: FlaskClient, tokens: Tokens, app: Flask) -> None:
    """As under ``login_required``: a deleted account's 401 comes first; a new account is provisioned."""
    with app.app_context():
        db.session.add(DeletedUser(clerk_id="user_gone"))
        db.session.commit()
    gone = client.get(CHATS + "?page=0", headers=tokens.headers("user_gone"))
    assert gone.status_code == 401
    assert "deleted" in gone.json["message"]
    fresh = client.get(CHATS + "?page_size=501", headers=tokens.headers("user_new"))
    assert fresh.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(User.id).where(User.clerk_id == "user_new")) is not None
        assert db.session.scalar(select(User.id).where(User.clerk_id == "user_gone")) is None


def store_strategy(app: Flask, user_id: uuid.UUID, **fields: Any) -> str:
    values: dict[str, Any] = {
        "name": f"S{uuid.uuid4().hex[:8]}",
        "code": 'class S:\n    pass  # "quoted" \\ and ünïcode\n',
        "file_path": "user_data/strategies/S.py",
        "draft": draft(),
        "created_at": MOMENTS[0],
        "updated_at": MOMENTS[1],
        **fields,
    }
    with app.app_context():
        strategy = Strategy(user_id=user_id, **values)
        db.session.add(strategy)
        db.session.commit()
        return str(strategy.id)


STRATEGY_ROWS: dict[str, dict[str, Any]] = {
    "a draft": {},
    "brought as code": {"draft": {}, "loaded": {"timeframe": "5m", "can_short": True}},
    "code, nothing loaded": {"draft": {}, "loaded": None},
    "draft without timeframe": {"draft": {"name": "X", "pairs": None}, "loaded": {"timeframe": "15m"}},
    "empty timeframe": {"draft": draft(timeframe=""), "loaded": {"timeframe": "4h"}},
    "null description": {"draft": draft(description=None, extra={"nested": [1.5, 1e-05, "ü", None]})},
    "whole-second times": {"created_at": MOMENTS[0], "updated_at": MOMENTS[3]},
}


@pytest.mark.parametrize("case", sorted(STRATEGY_ROWS))
def test_a_strategy_is_what_the_schema_dumps(
    client: FlaskClient, app: Flask, alice_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    strategy_id = store_strategy(app, alice_id(app), **STRATEGY_ROWS[case])
    fast, reference = both_answers(client, monkeypatch, f"/api/v1/strategies/{strategy_id}", alice_headers)
    assert fast == reference
    assert fast[0] == 200
    assert fast[1]["id"] == strategy_id


def test_a_deployed_strategy_with_its_chat_and_without_it(
    client: FlaskClient, app: Flask, alice_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    thread_id = client.post(CHATS, json={"title": "t"}, headers=alice_headers).json["thread_id"]
    deployed = client.post("/api/v1/strategies", json={"thread_id": thread_id, "draft": DRAFT}, headers=alice_headers)
    assert deployed.status_code == 201
    path = f"/api/v1/strategies/{deployed.json['id']}"
    fast, reference = both_answers(client, monkeypatch, path, alice_headers)
    assert fast == reference
    assert fast[1]["thread_id"] == thread_id
    assert fast[1] == deployed.json
    with app.app_context():  # the chat unlinked (as ON DELETE SET NULL leaves it)
        db.session.execute(update(Strategy).values(chat_id=None))
        db.session.commit()
    fast, reference = both_answers(client, monkeypatch, path, alice_headers)
    assert fast == reference
    assert fast[1]["thread_id"] is None


def test_another_users_strategy_is_403_and_an_unknown_one_404_on_both_paths(
    client: FlaskClient, tokens: Tokens, app: Flask, alice_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    strategy_id = store_strategy(app, alice_id(app))
    for headers in (tokens.headers("user_mallory"), tokens.headers("user_mallory")):  # a new account, then known
        fast, reference = both_answers(client, monkeypatch, f"/api/v1/strategies/{strategy_id}", headers)
        assert fast[0] == reference[0] == 403
        assert without_request_id(fast[1]) == without_request_id(reference[1])
    for headers in (alice_headers, tokens.headers("user_newcomer")):
        fast, reference = both_answers(client, monkeypatch, f"/api/v1/strategies/{uuid.uuid4()}", headers)
        assert fast[0] == reference[0] == 404
        assert without_request_id(fast[1]) == without_request_id(reference[1])
    with app.app_context():
        assert db.session.scalar(select(User.id).where(User.clerk_id == "user_newcomer")) is not None


def test_a_deleted_account_reading_a_strategy_is_401(
    client: FlaskClient, tokens: Tokens, app: Flask, alice_headers: dict[str, str]
) -> None:
    strategy_id = store_strategy(app, alice_id(app))
    with app.app_context():
        db.session.add(DeletedUser(clerk_id="user_gone"))
        db.session.commit()
    response = client.get(f"/api/v1/strategies/{strategy_id}", headers=tokens.headers("user_gone"))
    assert response.status_code == 401
    assert "deleted" in response.json["message"]
