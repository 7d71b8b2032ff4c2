"""Agent turns that cannot collide or run away (issue 15): one turn at a time per thread (409, both
endpoints), per-user limits on turns per minute and turns at once (429 with ``Retry-After``), a daily
token budget on hosted models (429), and checkpoint tables nothing creates at run time.

Cross-process and gunicorn cases are in test_agent_streams.py (the slow gunicorn server).
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from langgraph.checkpoint.postgres import PostgresSaver
from sqlalchemy import select

from gentrade.agents import checkpoints
from gentrade.extensions import db
from gentrade.models import AgentTokenUsage
from gentrade.runtime import runtime
from gentrade.settings import LlmProvider
from tests.chats import STREAM, STREAM_EVENTS, new_chat, turn_request, with_settings
from tests.clerk import Tokens
from tests.concurrency import wait_until
from tests.slow_models import per_turn, slow_model


def opened(client: FlaskClient, endpoint: str, thread: str, headers: dict[str, str]) -> Any:
    """A turn admitted and not yet read: its thread lock and user slot are held until it is read to its end."""
    response = client.post(
        endpoint, json=turn_request(endpoint, thread, "what is RSI?"), headers=headers, buffered=False
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def status_of_turn(client: FlaskClient, endpoint: str, thread: str, headers: dict[str, str]) -> int:
    """Run a whole turn (its stream read to the end, so it has run) and return the response's status."""
    response = client.post(endpoint, json=turn_request(endpoint, thread, "hi"), headers=headers)
    response.get_data()
    return response.status_code


def finish(response: Any) -> bytes:
    body = b"".join(response.response)
    response.close()
    return body


@pytest.mark.parametrize("endpoint", [STREAM, STREAM_EVENTS])
def test_a_second_turn_on_a_busy_thread_is_409_until_the_first_ends(
    client: FlaskClient, tokens: Tokens, endpoint: str
) -> None:
    headers = tokens.headers()
    thread = new_chat(client, headers)
    first = opened(client, endpoint, thread, headers)
    second = client.post(endpoint, json=turn_request(endpoint, thread, "and MACD?"), headers=headers)
    assert second.status_code == 409
    assert second.is_json
    assert second.json["message"] == "another turn is running in this chat; wait for it to end"
    assert b"end" in finish(first)
    third = client.post(endpoint, json=turn_request(endpoint, thread, "and MACD?"), headers=headers)
    assert third.status_code == 200


def test_a_client_that_leaves_frees_the_thread_when_its_turn_ends(
    client: FlaskClient, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("gentrade.services.agent.chat_model", per_turn(lambda: slow_model(0.5)))
    headers = tokens.headers()
    thread = new_chat(client, headers)
    before_start = opened(client, STREAM, thread, headers)
    next(iter(before_start.response))  # the first event, then the client leaves before the turn started
    before_start.close()
    mid_turn = opened(client, STREAM, thread, headers)
    chunks = iter(mid_turn.response)
    next(chunks)
    next(chunks)  # a keep-alive or an event from the running turn: the client leaves mid-turn
    mid_turn.close()
    assert status_of_turn(client, STREAM, thread, headers) == 409  # the turn runs on to its end ...
    wait_until(lambda: len(client.get(f"/api/v1/chats/{thread}", headers=headers).json["messages"]) == 2)
    assert status_of_turn(client, STREAM, thread, headers) == 200  # ... and then frees the thread


def test_turns_at_once_past_the_limit_are_429_with_retry_after(
    app: Flask, client: FlaskClient, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_settings(monkeypatch, app, agent_concurrent_turns=1)
    headers = tokens.headers()
    first = opened(client, STREAM, new_chat(client, headers), headers)
    other = client.post(
        STREAM_EVENTS, json=turn_request(STREAM_EVENTS, new_chat(client, headers), "hi"), headers=headers
    )
    assert other.status_code == 429
    assert "at most 1 assistant turns may run at once" in other.json["message"]
    assert int(other.headers["Retry-After"]) > 0
    bob = tokens.headers("user_bob")
    assert status_of_turn(client, STREAM, new_chat(client, bob), bob) == 200  # another user's own slots
    finish(first)
    assert status_of_turn(client, STREAM, new_chat(client, headers), headers) == 200


def test_turns_per_minute_past_the_limit_are_429_with_retry_after(
    app: Flask, client: FlaskClient, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_settings(monkeypatch, app, agent_turns_per_minute=2)
    headers = tokens.headers()
    thread = new_chat(client, headers)
    for endpoint in (STREAM, STREAM_EVENTS):
        assert status_of_turn(client, endpoint, thread, headers) == 200
    third = client.post(STREAM, json=turn_request(STREAM, thread, "hi"), headers=headers)
    assert third.status_code == 429
    assert third.json["message"] == "at most 2 assistant turns per minute; try again shortly"
    assert 1 <= int(third.headers["Retry-After"]) <= 60
    assert status_of_turn(client, STREAM, thread, tokens.headers("user_bob")) == 403


def test_the_daily_token_budget_of_a_hosted_model_is_429_once_spent(
    app: Flask, client: FlaskClient, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_settings(monkeypatch, app, llm_provider=LlmProvider.OPENAI, agent_daily_tokens=100)
    monkeypatch.setattr("gentrade.services.agent.chat_model", per_turn(lambda: slow_model(0, tokens=150)))
    headers = tokens.headers()
    thread = new_chat(client, headers)
    assert status_of_turn(client, STREAM, thread, headers) == 200
    with app.app_context():
        assert db.session.scalars(select(AgentTokenUsage.tokens)).all() == [150]  # from usage_metadata
    spent = client.post(STREAM_EVENTS, json=turn_request(STREAM_EVENTS, thread, "hi"), headers=headers)
    assert spent.status_code == 429
    assert spent.json["message"] == "today's assistant budget of 100 tokens is spent; it renews at 00:00 UTC"
    assert 1 <= int(spent.headers["Retry-After"]) <= 86400
    other = tokens.headers("user_bob")
    assert status_of_turn(client, STREAM, new_chat(client, other), other) == 200


def test_the_offline_model_has_no_budget(
    app: Flask, client: FlaskClient, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_settings(monkeypatch, app, agent_daily_tokens=1)
    monkeypatch.setattr("gentrade.services.agent.chat_model", per_turn(lambda: slow_model(0, tokens=150)))
    headers = tokens.headers()
    thread = new_chat(client, headers)
    for _ in range(2):
        assert status_of_turn(client, STREAM, thread, headers) == 200
    with app.app_context():
        assert db.session.scalars(select(AgentTokenUsage.tokens)).all() == []


def test_nothing_sets_up_the_checkpoint_tables_at_run_time(
    app: Flask, client: FlaskClient, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migration 0004 made them; a set-up per process raced the other processes to create them."""

    def refuse(self: PostgresSaver) -> None:
        raise AssertionError("PostgresSaver.setup() ran at run time")

    monkeypatch.setattr(PostgresSaver, "setup", refuse)
    monkeypatch.setattr(checkpoints, "_savers", {})
    headers = tokens.headers()
    assert status_of_turn(client, STREAM, new_chat(client, headers), headers) == 200
    with app.app_context():
        assert isinstance(checkpoints.checkpointer(runtime().settings), PostgresSaver)
