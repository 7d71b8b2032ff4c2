"""Chats as the web frontend saves them: its own thread ids, the AI SDK's UI messages stored exactly as sent,
the keys it sends that the backend does not use, and every refusal."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.clerk import Tokens

CHATS = "/api/v1/chats"


def ui_turn() -> list[dict[str, Any]]:
    """Two messages as the AI SDK 3.4 ``useChat`` builds them (with keys this backend has never heard of)."""
    card = json.dumps(
        {
            "name": "RsiDip",
            "description": "d",
            "indicators": "RSI(14)",
            "entry_signals": "RSI(14) below 30",
            "exit_signals": "RSI(14) above 70",
            "minimal_roi": "10% at once",
            "stoploss": "-5%",
            "timeframe": "1h",
            "can_short": False,
        }
    )
    return [
        {"id": "Yx3kq1P", "role": "user", "content": "an RSI strategy", "createdAt": "2026-12-04T08:00:00.000Z"},
        {
            "id": "msg-9f8e",
            "role": "assistant",
            "content": "Here is a draft.",
            "createdAt": "2026-12-04T08:00:02.000Z",
            "revisionId": "r1",
            "annotations": [{"any": ["json", 1, None]}],
            "toolInvocations": [
                {
                    "state": "result",
                    "step": 0,
                    "toolCallId": str(uuid.uuid4()),
                    "toolName": "StrategyDraftOutputTool",
                    "args": {"draft": {"name": "RsiDip"}},
                    "result": card,
                }
            ],
        },
    ]


def test_a_chat_is_saved_under_the_clients_thread_id_with_messages_exactly_as_sent(
    client: FlaskClient, tokens: Tokens
) -> None:
    headers = tokens.headers()
    thread, messages = str(uuid.uuid4()), ui_turn()
    created = client.post(CHATS, json={"thread_id": thread, "messages": messages, "title": "RSI"}, headers=headers)
    assert created.status_code == 201
    assert created.json["thread_id"] == thread
    assert created.json["messages"] == messages
    assert client.get(f"{CHATS}/{thread}", headers=headers).json["messages"] == messages

    # Saving the same chat again is not an error: it is updated.
    longer = [*messages, {"id": "u2", "role": "user", "content": "make it 4h"}]
    again = client.post(CHATS, json={"thread_id": thread, "messages": longer, "title": "RSI"}, headers=headers)
    assert again.status_code == 200
    assert again.json["id"] == created.json["id"]
    assert client.get(f"{CHATS}/{thread}", headers=headers).json["messages"] == longer
    assert len(client.get(CHATS, headers=headers).json) == 1


def test_the_frontends_patch_with_the_chat_id_in_the_body_is_accepted(client: FlaskClient, tokens: Tokens) -> None:
    headers = tokens.headers()
    thread = str(uuid.uuid4())
    chat = client.post(CHATS, json={"thread_id": thread, "messages": []}, headers=headers).json
    for sent_id in (chat["id"], 0, None):  # the frontend sends its chat's id, or 0 for a chat it just made
        body = {"id": sent_id, "thread_id": thread, "messages": ui_turn(), "title": "t"}
        response = client.patch(CHATS, json=body, headers=headers)
        assert response.status_code == 200, response.json
        assert response.json["id"] == chat["id"]
        assert response.json["messages"] == body["messages"]


def test_the_frontends_patch_with_a_null_title_keeps_the_title(client: FlaskClient, tokens: Tokens) -> None:
    """The frontend's Save sends ``title: null`` (it titles a chat only when it first saves it)."""
    headers = tokens.headers()
    thread = str(uuid.uuid4())
    client.post(CHATS, json={"thread_id": thread, "messages": [], "title": "RSI dip"}, headers=headers)
    response = client.patch(CHATS, json={"thread_id": thread, "messages": ui_turn(), "title": None}, headers=headers)
    assert response.status_code == 200, response.json
    assert response.json["title"] == "RSI dip"


def test_a_long_first_message_as_title_is_shortened_not_refused(client: FlaskClient, tokens: Tokens) -> None:
    title = "buy " * 300
    response = client.post(CHATS, json={"thread_id": str(uuid.uuid4()), "title": title}, headers=tokens.headers())
    assert response.status_code == 201
    assert len(response.json["title"]) <= 200
    assert response.json["title"].endswith("…")


def test_someone_elses_thread_id_is_a_conflict(client: FlaskClient, tokens: Tokens) -> None:
    thread = str(uuid.uuid4())
    assert client.post(CHATS, json={"thread_id": thread}, headers=tokens.headers("user_alice")).status_code == 201
    taken = client.post(CHATS, json={"thread_id": thread, "messages": []}, headers=tokens.headers("user_bob"))
    assert taken.status_code == 409
    assert "thread_id" in taken.json["errors"]
    alice = client.get(f"{CHATS}/{thread}", headers=tokens.headers("user_alice")).json
    assert alice["messages"] == []


def test_our_own_message_format_keeps_working(client: FlaskClient, tokens: Tokens) -> None:
    ours = [
        {"role": "user", "content": "hi", "created_at": "2026-12-04T08:00:00+00:00"},
        {"role": "assistant", "content": "hello", "type": "text", "tool_data": {"draft": {}}, "strategy_id": None},
    ]
    response = client.post(CHATS, json={"messages": ours}, headers=tokens.headers())
    assert response.status_code == 201
    assert response.json["messages"] == ours


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"content": "no role"}, "role"),
        ({"role": "wizard", "content": "x"}, "role"),
        ({"role": "user"}, "content"),
        ({"role": "user", "content": 5}, "content"),
        ({"role": "user", "content": "x" * 32_001}, "content"),
        ({"role": "user", "content": "x", "createdAt": 5}, "createdAt"),
        ({"role": "assistant", "content": "", "toolInvocations": "no"}, "toolInvocations"),
        ({"role": "assistant", "content": "", "toolInvocations": [{"state": "done"}]}, "toolInvocations"),
        ({"role": "assistant", "content": "", "toolInvocations": [{}] * 51}, "toolInvocations"),
        ({"role": "user", "content": "x", "strategy_id": "not-a-uuid"}, "strategy_id"),
        ({"role": "user", "content": "x", "blob": "y" * 140_000}, "_schema"),
        ("not an object", "0"),
    ],
)
def test_malformed_messages_are_422_naming_the_field(
    client: FlaskClient, tokens: Tokens, message: Any, field: str
) -> None:
    response = client.post(CHATS, json={"messages": [message]}, headers=tokens.headers())
    assert response.status_code == 422, response.json
    assert field in str(response.json["errors"]["json"]["messages"]["0"] if field != "0" else response.json["errors"])


@pytest.mark.parametrize(
    "body",
    [{"thread_id": "not-a-uuid"}, {"unknown": 1}, {"title": 5}],
)
def test_malformed_chat_bodies_are_422(client: FlaskClient, tokens: Tokens, body: dict[str, Any]) -> None:
    assert client.post(CHATS, json=body, headers=tokens.headers()).status_code == 422
