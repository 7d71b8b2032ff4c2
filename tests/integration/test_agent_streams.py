"""Agent streams that start at once and end consistent (issue 15), on both endpoints: a first event within
100 ms while the model is slow, keep-alive comments through long model calls, the step the turn is at,
and a failed turn that leaves the chat and the checkpoint in agreement with an alternating history.

The model is LangChain's fake chat model made slow (``tests.slow_models``); the gunicorn tests serve
the same slow model in real gevent workers (``tests.slow_agent_wsgi``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from langchain_core.messages import AIMessage, HumanMessage

from gentrade.agents.checkpoints import checkpointer
from gentrade.agents.schemas import RouteDecision
from gentrade.runtime import runtime
from gentrade.samples import DRAFT
from gentrade.sse_reader import parse
from gentrade.strategies.draft import StrategyDraft
from tests.chats import STREAM, STREAM_EVENTS, new_chat, turn_request, with_settings
from tests.clerk import Tokens
from tests.concurrency import all_at_once
from tests.slow_models import per_turn, slow_model

FIRST_EVENT_SECONDS = 0.1
KEEP_ALIVE = b": keep-alive\n\n"


def first_chunk_then_rest(client: FlaskClient, endpoint: str, body: dict[str, Any], headers: dict[str, str]):
    """Seconds from sending the request to its first body chunk (headers included), the first chunk, the rest."""
    started = time.perf_counter()
    response = client.post(endpoint, json=body, headers=headers, buffered=False)
    assert response.status_code == 200, response.get_data(as_text=True)
    chunks: Iterator[bytes] = iter(response.response)
    first = next(chunks)
    elapsed = time.perf_counter() - started
    rest = b"".join(chunks)
    response.close()
    return elapsed, first, rest


@pytest.mark.parametrize("endpoint", [STREAM, STREAM_EVENTS])
def test_first_event_leaves_at_once_while_the_model_is_slow(
    client: FlaskClient, tokens: Tokens, monkeypatch: pytest.MonkeyPatch, endpoint: str
) -> None:
    """Measured before: no byte, not even headers, until the router's call returned (fails before, passes
    after on our stream; the LangServe stream guards that its opening comment stays first)."""
    monkeypatch.setattr("gentrade.services.agent.chat_model", per_turn(lambda: slow_model(1.0)))
    headers = tokens.headers()
    thread = new_chat(client, headers)
    elapsed, first, rest = first_chunk_then_rest(
        client, endpoint, turn_request(endpoint, thread, "what is RSI?"), headers
    )
    assert elapsed < FIRST_EVENT_SECONDS, f"first byte after {elapsed * 1000:.0f} ms"
    if endpoint == STREAM:
        assert first == b'event: status\ndata: {"step": "reading"}\n\n'
        assert rest.endswith(b"event: end\ndata: {}\n\n")
    else:
        assert first == KEEP_ALIVE  # a comment: the only thing LangServe's protocol lets come before its events
        assert rest.endswith(b"event: end\n\n")


@pytest.mark.parametrize("endpoint", [STREAM, STREAM_EVENTS])
def test_keep_alive_comments_flow_during_a_long_model_call(
    app: Flask, client: FlaskClient, tokens: Tokens, monkeypatch: pytest.MonkeyPatch, endpoint: str
) -> None:
    """Measured before: a slow call left the stream silent past a proxy's read timeout (fails before)."""
    with_settings(monkeypatch, app, agent_keepalive_seconds=0.1)
    monkeypatch.setattr("gentrade.services.agent.chat_model", per_turn(lambda: slow_model(0.6)))
    headers = tokens.headers()
    thread = new_chat(client, headers)
    _, first, rest = first_chunk_then_rest(client, endpoint, turn_request(endpoint, thread, "what is RSI?"), headers)
    body = first + rest
    answer = b"event: token" if endpoint == STREAM else b"on_chat_model_stream"
    assert answer in body
    assert body.split(answer)[0].count(KEEP_ALIVE) >= 4  # two silent calls of 0.6 s, a comment every 0.1 s


def test_status_events_name_each_step(client: FlaskClient, tokens: Tokens, monkeypatch: pytest.MonkeyPatch) -> None:
    headers = tokens.headers()
    draft = client.post(STREAM, json={"thread_id": new_chat(client, headers), "message": DRAFT_ASK}, headers=headers)
    assert steps(draft.get_data(as_text=True)) == ["reading", "drafting", "writing"]
    answer = client.post(
        STREAM, json={"thread_id": new_chat(client, headers), "message": "what is RSI?"}, headers=headers
    )
    assert steps(answer.get_data(as_text=True)) == ["reading", "writing"]


DRAFT_ASK = "an RSI strategy on BTC/USDT 1h with a 5% stop"


def steps(text: str) -> list[str]:
    return [data["step"] for event, data in parse(text) if event == "status"]


# --- a failed turn -----------------------------------------------------------------------------------------


def checkpoint_values(app: Flask, thread: str) -> dict[str, Any]:
    with app.app_context():
        saved = checkpointer(runtime().settings).get_tuple({"configurable": {"thread_id": thread, "checkpoint_ns": ""}})
    assert saved is not None
    return saved.checkpoint["channel_values"]


def conversation(values: dict[str, Any]) -> list[str]:
    """The history a model is given: human and AI messages with text, by role."""
    return [
        "user" if isinstance(m, HumanMessage) else "assistant"
        for m in values.get("messages", [])
        if isinstance(m, HumanMessage | AIMessage) and m.content
    ]


@pytest.mark.parametrize("where", ["after_tool_start", "before_any_answer"])
def test_a_failed_turn_leaves_chat_and_checkpoint_agreeing_and_the_next_turn_works(
    app: Flask, client: FlaskClient, tokens: Tokens, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """Measured before: a turn failing after ``tool_start`` left the draft in the checkpoint but not in the
    chat, and any failed turn left ``user, user`` in the history (fails before, passes after)."""
    if where == "after_tool_start":
        failing = slow_model(
            0,
            structured=[RouteDecision(route="strategy"), StrategyDraft.model_validate(DRAFT)],
            fail_streaming=TimeoutError("the provider timed out"),
        )
    else:
        failing = slow_model(0, structured=[TimeoutError("the provider timed out")])
    monkeypatch.setattr("gentrade.services.agent.chat_model", lambda settings: failing)
    headers = tokens.headers()
    thread = new_chat(client, headers)
    failed = client.post(STREAM, json={"thread_id": thread, "message": "make me a strategy"}, headers=headers)
    kinds = [block.split("\n")[0] for block in failed.get_data(as_text=True).split("\n\n") if block.startswith("event")]
    assert kinds[-2:] == ["event: error", "event: end"]
    assert ("event: tool_start" in kinds) == (where == "after_tool_start")

    messages = client.get(f"/api/v1/chats/{thread}", headers=headers).json["messages"]
    assert [(m["role"], m.get("type")) for m in messages] == [("user", None), ("assistant", "error")]
    deploy = client.post("/api/v1/strategies", json={"thread_id": thread}, headers=headers)
    assert deploy.status_code == 422  # the chat shows no draft ...
    values = checkpoint_values(app, thread)
    assert values.get("draft") is None  # ... and the checkpoint has none to send as the previous draft
    assert conversation(values) == ["user", "assistant"]

    monkeypatch.setattr("gentrade.services.agent.chat_model", per_turn(lambda: slow_model(0, "RSI is momentum.")))
    again = client.post(STREAM, json={"thread_id": thread, "message": "what is RSI?"}, headers=headers)
    assert "RSI is momentum." in again.get_data(as_text=True).replace('"', "")
    messages = client.get(f"/api/v1/chats/{thread}", headers=headers).json["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    assert conversation(checkpoint_values(app, thread)) == ["user", "assistant", "user", "assistant"]


# --- the real server ---------------------------------------------------------------------------------------


def warm_up(url: str, headers: dict[str, str]) -> None:
    """Whole turns at once on other threads, so both workers have run one: a worker's very first turn pays
    for its first connections and compiled statements, which is no provider's doing."""

    def whole_turn() -> int:
        thread = requests.post(f"{url}/api/v1/chats", json={}, headers=headers, timeout=10).json()["thread_id"]
        return requests.post(
            f"{url}{STREAM}", json={"thread_id": thread, "message": "hi"}, headers=headers, timeout=30
        ).status_code

    assert all_at_once([whole_turn] * 2) == [200, 200]


@pytest.mark.parametrize("endpoint", [STREAM, STREAM_EVENTS])
def test_first_event_at_once_and_a_second_turn_refused_on_gunicorn_gevent(
    slow_server: str, client: FlaskClient, tokens: Tokens, endpoint: str
) -> None:
    """Through real gunicorn gevent workers: the first byte within 100 ms while the model thinks (measured
    before: 61 s of silence; fails before, passes after), keep-alives while it is silent, and a second turn
    on the same thread, from any worker or another process, is a 409 until the first ends."""
    headers = tokens.headers("user_gunicorn")
    thread = requests.post(f"{slow_server}/api/v1/chats", json={}, headers=headers, timeout=10).json()["thread_id"]
    body = turn_request(endpoint, thread, "what is RSI?")
    warm_up(slow_server, headers)
    started = time.perf_counter()
    with requests.post(f"{slow_server}{endpoint}", json=body, headers=headers, stream=True, timeout=30) as response:
        chunks = response.iter_content(chunk_size=None)
        first = next(chunks)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200
        assert elapsed < FIRST_EVENT_SECONDS, f"first byte after {elapsed * 1000:.0f} ms"
        assert first.startswith(b"event: status" if endpoint == STREAM else b": keep-alive")

        others = [
            requests.post(f"{slow_server}{endpoint}", json=body, headers=headers, timeout=10) for _ in range(3)
        ]  # gunicorn's workers take them as they come: some land on the other worker
        from_here = client.post(endpoint, json=body, headers=headers)  # this process: another host, as it were
        for refused in [*others, from_here]:
            assert refused.status_code == 409
        assert "another turn is running" in others[0].json()["message"]
        rest = b"".join(chunks)
    assert rest.count(KEEP_ALIVE) >= 4  # two silent calls of 2 s, a comment every 0.5 s, from a gevent worker
    assert rest.rstrip().endswith(b"event: end" if endpoint == STREAM_EVENTS else b"data: {}")
    after = requests.post(f"{slow_server}{endpoint}", json=body, headers=headers, timeout=30)
    assert after.status_code == 200


def test_a_failed_langserve_turn_ends_with_an_error_and_leaves_the_checkpoint_consistent(
    app: Flask, client: FlaskClient, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LangServe's client saves the chat itself, so here the checkpoint alone must stay right: no half-shown
    draft to send as the previous one, an alternating history, and a next turn that works."""
    failing = slow_model(
        0,
        structured=[RouteDecision(route="strategy"), StrategyDraft.model_validate(DRAFT)],
        fail_streaming=TimeoutError("the provider timed out"),
    )
    monkeypatch.setattr("gentrade.services.agent.chat_model", lambda settings: failing)
    headers = tokens.headers()
    thread = new_chat(client, headers)

    failed = client.post(STREAM_EVENTS, json=turn_request(STREAM_EVENTS, thread, "make me a strategy"), headers=headers)

    text = failed.get_data(as_text=True)
    assert "on_tool_start" in text  # it failed after showing the draft
    last = [block for block in text.split("\n\n") if block.startswith("event")][-1]
    assert last.splitlines()[0] == "event: error"
    assert "timed out" not in text  # the provider's words stay in the log
    values = checkpoint_values(app, thread)
    assert values.get("draft") is None
    assert conversation(values) == ["user", "assistant"]
    assert client.get(f"/api/v1/chats/{thread}", headers=headers).json["messages"] == []  # the client saves it

    monkeypatch.setattr("gentrade.services.agent.chat_model", per_turn(lambda: slow_model(0, "RSI is momentum.")))
    again = client.post(STREAM_EVENTS, json=turn_request(STREAM_EVENTS, thread, "what is RSI?"), headers=headers)
    assert "RSI is momentum." in again.get_data(as_text=True).replace('"', "")
    assert conversation(checkpoint_values(app, thread)) == ["user", "assistant", "user", "assistant"]
