"""Chats and agent turns through the API, on both streams: ours (``POST /api/v1/agent/stream``) and LangServe's
(``POST /chat/stream_events``, as LangChain's ``RemoteRunnable`` calls it). Events are read back with the
package's one SSE reader (``gentrade.sse_reader``)."""

from __future__ import annotations

import dataclasses
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient

from gentrade.sse_reader import parse
from tests.clerk import Tokens

CHATS = "/api/v1/chats"
STREAM = "/api/v1/agent/stream"
STREAM_EVENTS = "/chat/stream_events"
ASK = "an RSI strategy on BTC/USDT 1h with a 5% stop"


def new_chat(client: FlaskClient, headers: dict[str, str], messages: list[dict] | None = None) -> str:
    """A new chat of the headers' user (with ``messages`` already in it); its thread id."""
    response = client.post(CHATS, json={"messages": messages or []}, headers=headers)
    assert response.status_code == 201
    return response.json["thread_id"]


def with_settings(monkeypatch: pytest.MonkeyPatch, app: Flask, **changes: Any) -> None:
    """Run the app with some settings changed for this test."""
    current = app.extensions["gentrade"]
    changed = dataclasses.replace(current, settings=current.settings.model_copy(update=changes))
    monkeypatch.setitem(app.extensions, "gentrade", changed)


def checkpoint_rows(postgres_url: str, thread: str) -> int:
    with psycopg.connect(postgres_url) as conn:
        return conn.execute("SELECT count(*) FROM checkpoints WHERE thread_id = %s", (thread,)).fetchone()[0]


# --- our stream ----------------------------------------------------------------------------------


def agent_turn(
    client: FlaskClient, headers: dict[str, str], thread: str, message: str
) -> list[tuple[str, dict[str, Any]]]:
    """One message on our stream; its events."""
    response = client.post(STREAM, json={"thread_id": thread, "message": message}, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/event-stream"
    return parse(response.get_data(as_text=True))


def hosted_turn(
    client: FlaskClient, tokens: Tokens, message: str, thread: str | None = None
) -> tuple[Any, dict[str, Any]]:
    """One message of ``user_alice`` on our stream (in a new chat unless ``thread``): the response, and its
    events, thread and each event's (last) data by name."""
    headers = tokens.headers()
    thread = thread or new_chat(client, headers)
    response = client.post(STREAM, json={"thread_id": thread, "message": message}, headers=headers)
    assert response.status_code == 200
    events = parse(response.get_data(as_text=True))
    return response, {"events": events, "thread": thread, **dict(events)}


def turn_request(endpoint: str, thread: str, message: str) -> dict[str, Any]:
    """The body each endpoint takes for one message in ``thread``."""
    if endpoint == STREAM:
        return {"thread_id": thread, "message": message}
    return {
        "input": {"messages": [{"role": "user", "content": message}]},
        "config": {"configurable": {"thread_id": thread, "checkpoint_ns": "", "checkpoint_id": ""}},
        "kwargs": {"version": "v2"},
    }


# --- LangServe's stream --------------------------------------------------------------------------


def langserve_request(message: str, thread: str | None = "new", **extra: Any) -> dict[str, Any]:
    """What RemoteRunnable.streamEvents sends (LangChain JS 0.3), the frontend's options included."""
    return {
        "input": {"messages": [{"role": "user", "content": message}]},
        "config": {
            "tags": [],
            "metadata": {"from": "the frontend"},
            "recursionLimit": 25,
            "configurable": {"thread_id": thread, "checkpoint_ns": "", "checkpoint_id": ""},
        },
        "kwargs": {"version": "v2"},
        "diff": False,
        **extra,
    }


def langserve_turn(client: FlaskClient, headers: dict[str, str], message: str, thread: str | None = "new") -> list[Any]:
    """One message on LangServe's stream; the data of its ``data`` events (it must end with ``end``)."""
    response = client.post(STREAM_EVENTS, json=langserve_request(message, thread), headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/event-stream"
    events = parse(response.get_data(as_text=True))
    assert events[-1] == ("end", None)
    assert all(kind == "data" for kind, _ in events[:-1])
    return [data for _, data in events[:-1]]


def draft_events(events: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    starts = [e for e in events if e["event"] == "on_tool_start"]
    ends = [e for e in events if e["event"] == "on_tool_end"]
    assert len(starts) == len(ends) == 1
    return starts[0], ends[0]


def answer_text(events: list[dict[str, Any]]) -> str:
    return "".join(e["data"]["chunk"]["content"] for e in events if e["event"] == "on_chat_model_stream")
