"""Chats CRUD over HTTP on PostgreSQL (FR.8-16)."""

from __future__ import annotations

import json
import uuid

import pytest
from flask.testing import FlaskClient

from gentrade.schemas.chats import MESSAGE_CONTENT_MAX, MESSAGES_MAX
from tests.clerk import Tokens

CHATS = "/api/v1/chats"


def create_chat(client: FlaskClient, headers: dict[str, str], **body: object) -> dict:
    response = client.post(CHATS, json=body, headers=headers)
    assert response.status_code == 201, response.json
    return response.json


def test_create_returns_ids_and_empty_history(client: FlaskClient, tokens: Tokens) -> None:
    chat = create_chat(client, tokens.headers())
    assert uuid.UUID(chat["thread_id"])
    assert uuid.UUID(chat["id"])
    assert chat["messages"] == []
    assert chat["title"] is None
    assert chat["created_at"].endswith("+00:00")


def test_get_returns_messages(client: FlaskClient, tokens: Tokens) -> None:
    messages = [
        {"role": "user", "content": "Buy BTC when RSI < 30"},
        {
            "role": "assistant",
            "content": "Here is a draft.",
            "type": "strategy_draft",
            "tool_name": "StrategyDraftOutputTool",
            "tool_data": {"draft": {"name": "RsiDip", "pairs": ["BTC/USDT"]}},
            "strategy_id": None,
        },
    ]
    chat = create_chat(client, tokens.headers(), title="RSI", messages=messages)
    response = client.get(f"{CHATS}/{chat['thread_id']}", headers=tokens.headers())
    assert response.status_code == 200
    assert response.json["messages"] == messages
    assert response.json["title"] == "RSI"


def test_list_is_paginated_newest_update_first(client: FlaskClient, tokens: Tokens) -> None:
    headers = tokens.headers()
    threads = [create_chat(client, headers, title=f"chat {i}")["thread_id"] for i in range(5)]
    # Touch the oldest chat: it moves to the top.
    client.patch(f"{CHATS}/{threads[0]}", json={"title": "renamed"}, headers=headers)

    first = client.get(f"{CHATS}?page=1&page_size=2", headers=headers)
    assert first.status_code == 200
    assert [c["thread_id"] for c in first.json] == [threads[0], threads[4]]
    assert set(first.json[0]) == {"id", "thread_id", "title", "created_at", "updated_at"}
    paging = json.loads(first.headers["X-Pagination"])
    assert paging == {"total": 5, "total_pages": 3, "first_page": 1, "last_page": 3, "page": 1, "next_page": 2}

    pages = [client.get(f"{CHATS}?page={p}&page_size=2", headers=headers).json for p in (1, 2, 3)]
    seen = [c["thread_id"] for page in pages for c in page]
    assert sorted(seen) == sorted(threads)
    assert len(pages[2]) == 1


@pytest.mark.parametrize("query", ["page=0", "page_size=0", "page_size=501", "page=x"])
def test_list_rejects_bad_pagination(client: FlaskClient, tokens: Tokens, query: str) -> None:
    response = client.get(f"{CHATS}?{query}", headers=tokens.headers())
    assert response.status_code == 422
    assert response.json["errors"]["query"]


def test_list_defaults_to_a_hundred_per_page(client: FlaskClient, tokens: Tokens) -> None:
    headers = tokens.headers()
    for _ in range(101):
        create_chat(client, headers)
    listed = client.get(CHATS, headers=headers)
    assert len(listed.json) == 100
    paging = json.loads(listed.headers["X-Pagination"])
    assert (paging["total"], paging["page"], paging["total_pages"]) == (101, 1, 2)
    assert len(client.get(f"{CHATS}?page_size=500", headers=headers).json) == 101


def test_list_shows_only_own_chats(client: FlaskClient, tokens: Tokens) -> None:
    create_chat(client, tokens.headers("user_alice"))
    create_chat(client, tokens.headers("user_bob"))
    listed = client.get(CHATS, headers=tokens.headers("user_bob"))
    assert len(listed.json) == 1
    assert json.loads(listed.headers["X-Pagination"])["total"] == 1


def test_patch_by_path_updates_title_and_messages(client: FlaskClient, tokens: Tokens) -> None:
    headers = tokens.headers()
    chat = create_chat(client, headers)
    messages = [{"role": "user", "content": "hi"}]
    response = client.patch(f"{CHATS}/{chat['thread_id']}", json={"title": "T", "messages": messages}, headers=headers)
    assert response.status_code == 200
    assert response.json["title"] == "T"
    assert response.json["messages"] == messages
    assert response.json["updated_at"] > chat["updated_at"]


def test_patch_by_body_thread_id(client: FlaskClient, tokens: Tokens) -> None:
    headers = tokens.headers()
    chat = create_chat(client, headers, title="old")
    response = client.patch(CHATS, json={"thread_id": chat["thread_id"], "title": "new"}, headers=headers)
    assert response.status_code == 200
    assert response.json["title"] == "new"
    assert client.get(f"{CHATS}/{chat['thread_id']}", headers=headers).json["title"] == "new"


def test_patch_only_messages_keeps_title(client: FlaskClient, tokens: Tokens) -> None:
    headers = tokens.headers()
    chat = create_chat(client, headers, title="keep")
    response = client.patch(
        f"{CHATS}/{chat['thread_id']}", json={"messages": [{"role": "user", "content": "x"}]}, headers=headers
    )
    assert response.json["title"] == "keep"


def test_patch_needs_something_to_change(client: FlaskClient, tokens: Tokens) -> None:
    headers = tokens.headers()
    chat = create_chat(client, headers)
    response = client.patch(f"{CHATS}/{chat['thread_id']}", json={}, headers=headers)
    assert response.status_code == 422
    response = client.patch(CHATS, json={"title": "no thread"}, headers=headers)
    assert response.status_code == 422
    assert "thread_id" in response.json["errors"]["json"]


def test_patch_unknown_thread_is_404(client: FlaskClient, tokens: Tokens) -> None:
    response = client.patch(CHATS, json={"thread_id": str(uuid.uuid4()), "title": "x"}, headers=tokens.headers())
    assert response.status_code == 404


def test_delete_removes_the_chat(client: FlaskClient, tokens: Tokens) -> None:
    headers = tokens.headers()
    chat = create_chat(client, headers)
    assert client.delete(f"{CHATS}/{chat['thread_id']}", headers=headers).status_code == 204
    assert client.get(f"{CHATS}/{chat['thread_id']}", headers=headers).status_code == 404
    assert client.delete(f"{CHATS}/{chat['thread_id']}", headers=headers).status_code == 404


def test_unknown_and_malformed_thread_ids_are_404(client: FlaskClient, tokens: Tokens) -> None:
    headers = tokens.headers()
    assert client.get(f"{CHATS}/{uuid.uuid4()}", headers=headers).status_code == 404
    response = client.get(f"{CHATS}/not-a-uuid", headers=headers)
    assert response.status_code == 404
    assert response.json["code"] == 404


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"title": "x" * (MESSAGE_CONTENT_MAX + 1)}, ["title"]),  # up to that, a long title is shortened
        ({"messages": [{"role": "user", "content": "x" * (MESSAGE_CONTENT_MAX + 1)}]}, ["messages", "0", "content"]),
        ({"messages": [{"role": "user", "content": "x"}] * (MESSAGES_MAX + 1)}, ["messages"]),
        ({"messages": [{"role": "robot", "content": "x"}]}, ["messages", "0", "role"]),
        ({"messages": [{"content": "x"}]}, ["messages", "0", "role"]),
        ({"messages": [{"role": "user", "content": "x", "strategy_id": "nope"}]}, ["messages", "0", "strategy_id"]),
        ({"messages": [{"role": "user", "content": "x", "extra": "x" * 140_000}]}, ["messages", "0", "_schema"]),
        (
            {"messages": [{"role": "assistant", "content": "", "toolInvocations": [{"state": "done"}]}]},
            ["messages", "0", "toolInvocations", "0", "state"],
        ),
        ({"messages": "not a list"}, ["messages"]),
        ({"unknown": 1}, ["unknown"]),
    ],
)
def test_invalid_bodies_name_the_field(client: FlaskClient, tokens: Tokens, body: dict, path: list[str]) -> None:
    response = client.post(CHATS, json=body, headers=tokens.headers())
    assert response.status_code == 422, response.json
    node = response.json["errors"]["json"]
    for key in path:
        node = node[key]
    assert node


def test_request_body_over_the_limit_is_413(client: FlaskClient, tokens: Tokens) -> None:
    body = json.dumps({"messages": [{"role": "user", "content": "x" * 30_000}] * 40})
    response = client.post(CHATS, data=body, content_type="application/json", headers=tokens.headers())
    assert response.status_code == 413
    assert response.json["code"] == 413
    assert response.json["message"]


def test_non_json_body_is_rejected(client: FlaskClient, tokens: Tokens) -> None:
    response = client.post(CHATS, data="{not json", content_type="application/json", headers=tokens.headers())
    assert response.status_code in (400, 422)
    assert response.json["code"] == response.status_code


def test_message_strategy_id_round_trips_as_string(client: FlaskClient, tokens: Tokens) -> None:
    strategy_id = str(uuid.uuid4())
    chat = create_chat(
        client, tokens.headers(), messages=[{"role": "assistant", "content": "done", "strategy_id": strategy_id}]
    )
    assert chat["messages"][0]["strategy_id"] == strategy_id
