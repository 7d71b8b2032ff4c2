"""The agent over LangServe's ``stream_events`` protocol (``POST /chat/stream_events``), as LangChain's
``RemoteRunnable`` calls it: the wire, threads (``"new"`` and the chat that takes it over), ownership,
the draft card and saving it through ``POST /strategies``.

The JavaScript contract suite (tests/contract) drives the same routes with the frontend's own libraries;
these tests pin the details and every refusal.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gentrade.agents.checkpoints import checkpointer
from gentrade.runtime import runtime
from gentrade.sse_reader import parse
from gentrade.strategies.card import CARD_FIELDS
from gentrade.strategies.draft import StrategyDraft
from tests.chats import STREAM_EVENTS, answer_text, draft_events, langserve_request, langserve_turn
from tests.clerk import Tokens

ASK = "Buy BTC/USDT when RSI(14) drops under 30 on the 1h chart, sell above 70, 5% stop loss"


def ui_messages(question: str, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The two AI SDK UI messages the frontend saves after a turn."""
    assistant: dict[str, Any] = {"id": "msg-a", "role": "assistant", "content": answer_text(events), "createdAt": "x"}
    if any(e["event"] == "on_tool_start" for e in events):
        start, end = draft_events(events)
        assistant["toolInvocations"] = [
            {
                "state": "result",
                "toolCallId": start["run_id"],
                "toolName": start["name"],
                "args": start["data"]["input"],
                "result": end["data"]["output"]["content"],
            }
        ]
    return [{"id": "msg-u", "role": "user", "content": question, "createdAt": "2026-12-04T08:00:00.000Z"}, assistant]


def test_a_new_turn_streams_v2_events_with_the_draft_card(client: FlaskClient, tokens: Tokens) -> None:
    events = langserve_turn(client, tokens.headers(), ASK)
    assert events[0]["event"] == "on_chain_start"
    assert events[-1]["event"] == "on_chain_end"
    for event in events:
        assert set(event) == {"event", "name", "run_id", "tags", "metadata", "data", "parent_ids"}
    chunks = [e["data"]["chunk"] for e in events if e["event"] == "on_chat_model_stream"]
    assert len(chunks) > 3
    assert all(
        chunk["type"] == "AIMessageChunk" and {"content", "additional_kwargs"} <= chunk.keys() for chunk in chunks
    )
    assert "{" not in answer_text(events)  # the router's and the draft's structured output never stream as text

    start, end = draft_events(events)
    assert start["name"] == end["name"] == "StrategyDraftOutputTool"
    assert start["run_id"] == end["run_id"]
    uuid.UUID(start["run_id"])
    draft = StrategyDraft.model_validate(start["data"]["input"]["draft"])
    assert (draft.pairs, draft.timeframe, draft.stoploss) == (["BTC/USDT"], "1h", -0.05)
    output = end["data"]["output"]
    assert output["type"] == "tool"
    assert output["tool_call_id"] == start["run_id"]
    card = json.loads(output["content"])
    for field in CARD_FIELDS:
        if field == "can_short":
            assert card[field] is False
        else:
            assert isinstance(card[field], str), field
            assert card[field], field
    assert card["timeframe"] == "1h"
    assert card["stoploss"] == "-5%"
    assert "RSI(14)" in card["indicators"]


def test_the_thread_header_is_read_when_the_config_has_none(client: FlaskClient, tokens: Tokens) -> None:
    headers = tokens.headers()
    chat = client.post("/api/v1/chats", json={}, headers=headers).json
    body = langserve_request(ASK, None)
    del body["config"]
    response = client.post(STREAM_EVENTS, json=body, headers=headers | {"ThreadId": chat["thread_id"]})
    assert response.status_code == 200
    stranger = client.post(
        STREAM_EVENTS, json=body, headers=tokens.headers("user_bob") | {"ThreadId": chat["thread_id"]}
    )
    assert stranger.status_code == 403


def test_a_saved_chat_takes_over_the_new_thread_and_the_next_turn_revises_its_draft(
    client: FlaskClient, tokens: Tokens
) -> None:
    headers = tokens.headers()
    first = langserve_turn(client, headers, ASK)
    thread = str(uuid.uuid4())
    messages = ui_messages(ASK, first)
    saved = client.post(
        "/api/v1/chats", json={"thread_id": thread, "messages": messages, "title": ASK}, headers=headers
    )
    assert saved.status_code == 201
    assert saved.json["thread_id"] == thread
    assert client.get(f"/api/v1/chats/{thread}", headers=headers).json["messages"] == messages

    second = langserve_turn(client, headers, "make it the 4h chart", thread)
    start, end = draft_events(second)
    revised = StrategyDraft.model_validate(start["data"]["input"]["draft"])
    before = StrategyDraft.model_validate(draft_events(first)[0]["data"]["input"]["draft"])
    assert revised.timeframe == "4h"
    assert (revised.pairs, revised.stoploss, revised.entry_conditions) == (
        before.pairs,
        before.stoploss,
        before.entry_conditions,
    )
    assert json.loads(end["data"]["output"]["content"])["timeframe"] == "4h"


def test_another_users_new_turn_never_reaches_a_chat(app: Flask, client: FlaskClient, tokens: Tokens) -> None:
    alice, bob = tokens.headers("user_alice"), tokens.headers("user_bob")
    alice_turn = langserve_turn(client, alice, ASK)
    # Bob saves a chat whose opening is the same words as Alice's: he must not get her thread.
    bob_thread = str(uuid.uuid4())
    messages = [{"id": "m1", "role": "user", "content": ASK}]
    assert (
        client.post("/api/v1/chats", json={"thread_id": bob_thread, "messages": messages}, headers=bob).status_code
        == 201
    )
    with app.app_context():
        saver = checkpointer(runtime().settings)
        assert saver.get_tuple({"configurable": {"thread_id": bob_thread, "checkpoint_ns": ""}}) is None
    # Nor can Bob save Alice's draft card.
    start, end = draft_events(alice_turn)
    card = json.loads(end["data"]["output"]["content"]) | {"tool_call_id": start["run_id"]}
    assert client.post("/api/v1/strategies", json=card, headers=bob).status_code == 403
    # Alice's thread is still hers to save.
    alice_thread = str(uuid.uuid4())
    saved = client.post(
        "/api/v1/chats", json={"thread_id": alice_thread, "messages": ui_messages(ASK, alice_turn)}, headers=alice
    )
    assert saved.status_code == 201
    with app.app_context():
        assert saver.get_tuple({"configurable": {"thread_id": alice_thread, "checkpoint_ns": ""}}) is not None


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda b: b["input"].update(messages=[]), "input"),
        (lambda b: b["input"]["messages"][-1].update(role="assistant"), "input"),
        (lambda b: b["input"]["messages"][-1].update(content=""), "input"),
        (lambda b: b["input"]["messages"][-1].update(content="x" * 8001), "input"),
        (lambda b: b["input"]["messages"][-1].update(content={"not": "text"}), "input"),
        (lambda b: b.update(kwargs={"version": "v1"}), "kwargs"),
        (lambda b: b["config"]["configurable"].update(thread_id="not-a-uuid"), "thread_id"),
        (lambda b: b.pop("input"), "input"),
    ],
)
def test_malformed_requests_are_422_naming_the_field(
    client: FlaskClient, tokens: Tokens, change: Any, where: str
) -> None:
    body = langserve_request(ASK)
    change(body)
    response = client.post(STREAM_EVENTS, json=body, headers=tokens.headers())
    assert response.status_code == 422, response.get_data(as_text=True)
    assert where in json.dumps(response.json["errors"])


def test_threads_are_owner_checked(client: FlaskClient, tokens: Tokens) -> None:
    alice = tokens.headers("user_alice")
    thread = client.post("/api/v1/chats", json={}, headers=alice).json["thread_id"]
    assert (
        client.post(STREAM_EVENTS, json=langserve_request(ASK, thread), headers=tokens.headers("user_bob")).status_code
        == 403
    )
    assert client.post(STREAM_EVENTS, json=langserve_request(ASK, str(uuid.uuid4())), headers=alice).status_code == 404
    assert client.post(STREAM_EVENTS, json=langserve_request(ASK)).status_code == 401


def test_content_as_parts_and_langchain_message_shapes_are_read(client: FlaskClient, tokens: Tokens) -> None:
    body = langserve_request(ASK)
    body["input"]["messages"] = [{"type": "human", "content": [{"type": "text", "text": ASK}], "additional_kwargs": {}}]
    response = client.post(STREAM_EVENTS, json=body, headers=tokens.headers())
    assert response.status_code == 200
    assert any(kind == "data" and data["event"] == "on_tool_start" for kind, data in parse(response.text))


# --- saving a draft card -------------------------------------------------------------------------------------


def saved_turn(client: FlaskClient, headers: dict[str, str]) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """A first turn saved as the frontend saves it: the card, the tool call id and the chat."""
    events = langserve_turn(client, headers, ASK)
    start, end = draft_events(events)
    chat = client.post(
        "/api/v1/chats",
        json={"thread_id": str(uuid.uuid4()), "messages": ui_messages(ASK, events), "title": ASK},
        headers=headers,
    ).json
    return json.loads(end["data"]["output"]["content"]), start["run_id"], chat


def test_saving_the_card_deploys_its_draft_and_links_the_tool_result(client: FlaskClient, tokens: Tokens) -> None:
    headers = tokens.headers()
    card, call_id, chat = saved_turn(client, headers)
    response = client.post(
        "/api/v1/strategies", json=card | {"tool_call_id": call_id, "chat_id": chat["id"]}, headers=headers
    )
    assert response.status_code == 201, response.json
    strategy = response.json
    assert strategy["name"] == card["name"]
    assert strategy["chat_id"] == chat["id"]
    assert strategy["draft"]["stoploss"] == -0.05
    messages = client.get(f"/api/v1/chats/{chat['thread_id']}", headers=headers).json["messages"]
    result = json.loads(messages[1]["toolInvocations"][0]["result"])
    assert result["strategy_id"] == strategy["id"]
    assert {key: value for key, value in result.items() if key != "strategy_id"} == card

    assert client.delete(f"/api/v1/strategies/{strategy['id']}", headers=headers).status_code == 204
    messages = client.get(f"/api/v1/chats/{chat['thread_id']}", headers=headers).json["messages"]
    assert json.loads(messages[1]["toolInvocations"][0]["result"]) == card


def test_an_edited_card_is_read_back_into_the_draft(client: FlaskClient, tokens: Tokens) -> None:
    headers = tokens.headers()
    card, call_id, chat = saved_turn(client, headers)
    edited = card | {"stoploss": "-8%", "name": "EditedRsiDip", "timeframe": "4h"}
    response = client.post("/api/v1/strategies", json=edited | {"tool_call_id": call_id}, headers=headers)
    assert response.status_code == 201, response.json
    draft = response.json["draft"]
    assert (draft["name"], draft["stoploss"], draft["timeframe"]) == ("EditedRsiDip", -0.08, "4h")
    assert response.json["chat_id"] == chat["id"]  # found by the tool call's thread


@pytest.mark.parametrize(
    ("field", "value"),
    [("stoploss", "banana"), ("name", "not a class name"), ("timeframe", "whenever")],
)
def test_an_unreadable_edit_is_422_naming_the_field(
    client: FlaskClient, tokens: Tokens, field: str, value: str
) -> None:
    headers = tokens.headers()
    card, call_id, _ = saved_turn(client, headers)
    response = client.post("/api/v1/strategies", json=card | {field: value, "tool_call_id": call_id}, headers=headers)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"]


def test_card_form_refusals(client: FlaskClient, tokens: Tokens) -> None:
    headers = tokens.headers()
    card, call_id, _ = saved_turn(client, headers)
    unknown = client.post("/api/v1/strategies", json=card | {"tool_call_id": str(uuid.uuid4())}, headers=headers)
    assert unknown.status_code == 404
    missing = client.post("/api/v1/strategies", json={"tool_call_id": call_id, "name": "X"}, headers=headers)
    assert missing.status_code == 422
    assert {"description", "entry_signals", "can_short"} <= missing.json["errors"]["json"].keys()
    other_chat = client.post("/api/v1/chats", json={}, headers=tokens.headers("user_bob")).json["id"]
    forbidden = client.post(
        "/api/v1/strategies", json=card | {"tool_call_id": call_id, "chat_id": other_chat}, headers=headers
    )
    assert forbidden.status_code == 403
    extra = card | {"tool_call_id": call_id, "strategy_id": None, "something_new": 1}
    assert client.post("/api/v1/strategies", json=extra, headers=headers).status_code == 201
    again = client.post("/api/v1/strategies", json=card | {"tool_call_id": call_id}, headers=headers)
    assert again.status_code == 409
    assert "name" in again.json["errors"]
