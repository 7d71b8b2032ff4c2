"""The agent over HTTP: routing, drafting and revising, SSE events, checkpoints on PostgreSQL, failures.

Two models drive it: the offline provider (the embedded default) and a scripted fake chat model
(LangChain's ``GenericFakeChatModel`` with scripted structured outputs) for exact control.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from langchain_core.messages import AIMessage

from gentrade.agents.schemas import RouteDecision
from gentrade.samples import DRAFT
from gentrade.sse_reader import parse
from gentrade.strategies.draft import StrategyDraft
from tests.chats import ASK, STREAM, agent_turn, checkpoint_rows, new_chat
from tests.clerk import Svix, Tokens, clerk_user_event
from tests.slow_models import SlowModel as ScriptedModel  # scripted structured outputs, no delay

# --- the offline provider ------------------------------------------------------------------------


def test_offline_turn_drafts_streams_and_saves(client: FlaskClient, tokens: Tokens) -> None:
    headers = tokens.headers()
    thread = new_chat(client, headers)
    events = agent_turn(client, headers, thread, ASK)
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "end"
    assert kinds[-2] == "message"
    assert kinds.count("tool_start") == 1
    assert kinds.index("tool_start") < kinds.index("token")  # the draft, then its announcement streams
    assert kinds.count("token") > 3
    tool = dict(events)["tool_start"]
    assert tool["tool"] == "StrategyDraftOutputTool"
    draft = StrategyDraft.model_validate(tool["draft"])
    assert (draft.pairs, draft.timeframe, draft.stoploss) == (["BTC/USDT"], "1h", -0.05)
    assert any(i.type == "rsi" for i in draft.indicators)
    message = dict(events)["message"]
    assert message["content"] == "".join(data["text"] for kind, data in events if kind == "token")

    chat = client.get(f"/api/v1/chats/{thread}", headers=headers).json
    assert [m["role"] for m in chat["messages"]] == ["user", "assistant"]
    assert chat["messages"][0]["content"] == ASK
    assert chat["messages"][1]["tool_data"]["draft"] == tool["draft"]
    assert chat["messages"][1]["type"] == "strategy_draft"
    assert chat["title"] == ASK
    assert chat["updated_at"] > chat["created_at"]


def test_feedback_revises_the_draft_in_the_same_thread_then_deploys(
    client: FlaskClient, tokens: Tokens, postgres_url: str
) -> None:
    headers = tokens.headers()
    thread = new_chat(client, headers)
    first = dict(agent_turn(client, headers, thread, ASK))["tool_start"]["draft"]
    assert checkpoint_rows(postgres_url, thread) > 0  # persisted between requests
    second = dict(agent_turn(client, headers, thread, "use EMA 50 as a trend filter"))["tool_start"]["draft"]
    assert second["pairs"] == first["pairs"]
    assert second["stoploss"] == first["stoploss"]
    assert any(i["type"] == "ema" and i["params"]["period"] == 50 for i in second["indicators"])
    assert len(client.get(f"/api/v1/chats/{thread}", headers=headers).json["messages"]) == 4

    deployed = client.post("/api/v1/strategies", json={"thread_id": thread}, headers=headers)
    assert deployed.status_code == 201, deployed.json
    assert deployed.json["draft"] == StrategyDraft.model_validate(second).model_dump(mode="json")
    messages = client.get(f"/api/v1/chats/{thread}", headers=headers).json["messages"]
    assert messages[3]["strategy_id"] == deployed.json["id"]


def test_general_question_gets_an_answer_without_a_draft(client: FlaskClient, tokens: Tokens) -> None:
    headers = tokens.headers()
    events = agent_turn(client, headers, new_chat(client, headers), "What is RSI?")
    kinds = [kind for kind, _ in events]
    assert "tool_start" not in kinds
    assert kinds[-2:] == ["message", "end"]
    assert dict(events)["message"]["type"] == "text"
    assert dict(events)["message"]["content"]


def test_deleting_the_chat_deletes_its_checkpoints(client: FlaskClient, tokens: Tokens, postgres_url: str) -> None:
    headers = tokens.headers()
    thread = new_chat(client, headers)
    agent_turn(client, headers, thread, ASK)
    assert checkpoint_rows(postgres_url, thread) > 0
    assert client.delete(f"/api/v1/chats/{thread}", headers=headers).status_code == 204
    assert checkpoint_rows(postgres_url, thread) == 0


def test_deleting_the_user_deletes_their_checkpoints(
    client: FlaskClient, tokens: Tokens, svix: Svix, postgres_url: str
) -> None:
    headers = tokens.headers("user_leaving")
    threads = [new_chat(client, headers) for _ in range(2)]
    for thread in threads:
        agent_turn(client, headers, thread, ASK)
    body = clerk_user_event("user.deleted", "user_leaving")
    assert client.post("/api/v1/webhooks/clerk", data=body, headers=svix.headers(body)).status_code == 200
    assert [checkpoint_rows(postgres_url, thread) for thread in threads] == [0, 0]


def test_ownership_and_validation(client: FlaskClient, tokens: Tokens) -> None:
    thread = new_chat(client, tokens.headers("user_alice"))
    mallory = client.post(STREAM, json={"thread_id": thread, "message": "hi"}, headers=tokens.headers("user_mallory"))
    assert mallory.status_code == 403
    assert mallory.is_json
    assert client.post(STREAM, json={"thread_id": thread, "message": "hi"}).status_code == 401
    unknown = client.post(
        STREAM, json={"thread_id": "6e1c5d4e-0000-4000-8000-000000000000", "message": "hi"}, headers=tokens.headers()
    )
    assert unknown.status_code == 404
    assert client.post(STREAM, json={"thread_id": thread, "message": ""}, headers=tokens.headers()).status_code == 422
    assert (
        client.post(STREAM, json={"thread_id": thread, "message": "x" * 8001}, headers=tokens.headers()).status_code
        == 422
    )
    assert client.post(STREAM, json={"thread_id": thread}, headers=tokens.headers()).status_code == 422


# --- a scripted fake model --------------------------------------------------------------------------


def scripted(monkeypatch: pytest.MonkeyPatch, texts: list[str], structured: list[Any]) -> ScriptedModel:
    model = ScriptedModel(messages=iter(AIMessage(content=text) for text in texts), structured=structured)
    monkeypatch.setattr("gentrade.services.agent.chat_model", lambda settings: model)
    return model


def test_scripted_routing_to_general(client: FlaskClient, tokens: Tokens, monkeypatch: pytest.MonkeyPatch) -> None:
    scripted(monkeypatch, ["Drawdown is the fall from a peak."], [RouteDecision(route="general", reason="a question")])
    headers = tokens.headers()
    events = agent_turn(client, headers, new_chat(client, headers), "what is drawdown?")
    assert dict(events)["message"]["content"] == "Drawdown is the fall from a peak."
    assert "tool_start" not in dict(events)


def test_scripted_routing_to_a_draft(client: FlaskClient, tokens: Tokens, monkeypatch: pytest.MonkeyPatch) -> None:
    model = scripted(
        monkeypatch,
        ["Here is your RSI dip buyer."],
        [RouteDecision(route="strategy"), StrategyDraft.model_validate(DRAFT)],
    )
    headers = tokens.headers()
    events = agent_turn(client, headers, new_chat(client, headers), "make me a strategy")
    assert dict(events)["tool_start"]["draft"]["name"] == "RsiDipBuyer"
    assert dict(events)["message"]["content"] == "Here is your RSI dip buyer."
    assert model.structured == []


def test_malformed_structured_output_is_retried(
    client: FlaskClient, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    scripted(
        monkeypatch,
        ["Done."],
        [RouteDecision(route="strategy"), ValueError("not JSON"), StrategyDraft.model_validate(DRAFT)],
    )
    headers = tokens.headers()
    events = agent_turn(client, headers, new_chat(client, headers), "make me a strategy")
    assert "tool_start" in dict(events)
    assert [kind for kind, _ in events][-1] == "end"


def test_provider_error_mid_stream_ends_with_an_error_event(
    client: FlaskClient, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Failing(ScriptedModel):
        def _stream(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
            chunks = super()._stream(*args, **kwargs)
            yield next(chunks)
            raise TimeoutError("the provider timed out")

    model = Failing(
        messages=iter([AIMessage(content="several words of an answer")]), structured=[RouteDecision(route="general")]
    )
    monkeypatch.setattr("gentrade.services.agent.chat_model", lambda settings: model)
    headers = tokens.headers()
    thread = new_chat(client, headers)
    events = agent_turn(client, headers, thread, "what is a stop loss?")
    kinds = [kind for kind, _ in events if kind != "status"]
    assert kinds[0] == "token"
    assert kinds[-2:] == ["error", "end"]
    assert dict(events)["error"]["code"] == "llm_timeout"  # the provider's words stay in the log
    messages = client.get(f"/api/v1/chats/{thread}", headers=headers).json["messages"]
    assert [(m["role"], m.get("type")) for m in messages] == [("user", None), ("assistant", "error")]


# --- a real HTTP client against gunicorn (gevent workers) ------------------------------------------


def test_stream_over_real_http_and_a_client_that_disconnects(own_server: tuple[str, Path], tokens: Tokens) -> None:
    url, _ = own_server
    headers = tokens.headers("user_http")
    thread = requests.post(f"{url}/api/v1/chats", json={}, headers=headers, timeout=10).json()["thread_id"]
    started = time.perf_counter()
    with requests.post(
        f"{url}{STREAM}", json={"thread_id": thread, "message": ASK}, headers=headers, stream=True, timeout=30
    ) as response:
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        first_byte = None
        body = ""
        for chunk in response.iter_content(chunk_size=None, decode_unicode=True):
            first_byte = first_byte or time.perf_counter() - started
            body += chunk
    events = parse(body)
    assert [kind for kind, _ in events][-1] == "end"
    assert "tool_start" in dict(events)

    # A client that leaves after the first event: the turn still completes and the chat is saved whole.
    with requests.post(
        f"{url}{STREAM}",
        json={"thread_id": thread, "message": "use EMA 50 as a trend filter"},
        headers=headers,
        stream=True,
        timeout=30,
    ) as response:
        next(response.iter_content(chunk_size=16))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        messages = requests.get(f"{url}/api/v1/chats/{thread}", headers=headers, timeout=10).json()["messages"]
        if len(messages) == 4:
            break
        time.sleep(0.2)
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    assert messages[3]["tool_data"]["draft"]["indicators"]


def test_agent_stream_is_documented(app: Flask) -> None:
    spec = app.test_client().get("/api/openapi.json").json
    operation = spec["paths"]["/api/v1/agent/stream"]["post"]
    assert "text/event-stream" in operation["responses"]["200"]["content"]
