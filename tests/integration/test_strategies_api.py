"""Strategies over HTTP on PostgreSQL: deploy (201/409/422), read, list, delete cascades, ownership."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from gentrade.extensions import db
from gentrade.models import Backtest, Strategy
from gentrade.samples import DRAFT, draft, draft_message
from tests.backtests import add_backtest_row
from tests.chats import CHATS, new_chat
from tests.clerk import Tokens
from tests.spies import user_dir

STRATEGIES = "/api/v1/strategies"


def test_deploy_with_explicit_draft(client: FlaskClient, tokens: Tokens, data_dir: Path) -> None:
    headers = tokens.headers()
    thread = new_chat(client, headers)
    response = client.post(STRATEGIES, json={"thread_id": thread, "draft": DRAFT}, headers=headers)
    assert response.status_code == 201, response.json
    body = response.json
    assert body["name"] == "RsiDipBuyer"
    assert body["thread_id"] == thread
    assert body["timeframe"] == "1h"
    assert body["pairs"] == ["BTC/USDT", "ETH/USDT"]
    assert body["file_path"] == "user_data/strategies/RsiDipBuyer.py"
    assert "class RsiDipBuyer(IStrategy):" in body["code"]
    assert body["draft"]["name"] == "RsiDipBuyer"
    written = user_dir(data_dir) / body["file_path"]
    assert written.read_text() == body["code"]
    assert not [p for p in written.parent.iterdir() if p.name.startswith(".")]  # no temp files left

    fetched = client.get(f"{STRATEGIES}/{body['id']}", headers=headers)
    assert fetched.status_code == 200
    assert fetched.json == body


def test_deploy_latest_draft_from_chat_and_link_message(client: FlaskClient, tokens: Tokens) -> None:
    headers = tokens.headers()
    older = draft(name="OlderDraft")
    messages = [
        {"role": "user", "content": "an RSI strategy"},
        draft_message(older),
        {"role": "user", "content": "use EMA 50 as a trend filter"},
        draft_message(DRAFT),
        {"role": "assistant", "content": "Deploy it when ready."},
    ]
    thread = new_chat(client, headers, messages)
    response = client.post(STRATEGIES, json={"thread_id": thread}, headers=headers)
    assert response.status_code == 201, response.json
    assert response.json["name"] == "RsiDipBuyer"
    chat = client.get(f"{CHATS}/{thread}", headers=headers).json
    assert chat["messages"][3]["strategy_id"] == response.json["id"]
    assert "strategy_id" not in chat["messages"][1]


def test_explicit_draft_links_the_message_that_carried_it(client: FlaskClient, tokens: Tokens) -> None:
    headers = tokens.headers()
    older = draft(name="OlderDraft")
    thread = new_chat(client, headers, [draft_message(older), draft_message(DRAFT)])
    response = client.post(STRATEGIES, json={"thread_id": thread, "draft": older}, headers=headers)
    assert response.status_code == 201
    messages = client.get(f"{CHATS}/{thread}", headers=headers).json["messages"]
    assert messages[0]["strategy_id"] == response.json["id"]
    assert "strategy_id" not in messages[1]


def test_chat_without_draft_is_422(client: FlaskClient, tokens: Tokens) -> None:
    headers = tokens.headers()
    thread = new_chat(client, headers, [{"role": "user", "content": "hello"}])
    response = client.post(STRATEGIES, json={"thread_id": thread}, headers=headers)
    assert response.status_code == 422
    assert "no strategy draft" in response.json["message"]


def test_same_name_is_409_for_the_same_user_only(client: FlaskClient, tokens: Tokens, app: Flask) -> None:
    alice, bob = tokens.headers("user_alice"), tokens.headers("user_bob")
    assert (
        client.post(STRATEGIES, json={"thread_id": new_chat(client, alice), "draft": DRAFT}, headers=alice).status_code
        == 201
    )
    again = client.post(STRATEGIES, json={"thread_id": new_chat(client, alice), "draft": DRAFT}, headers=alice)
    assert again.status_code == 409
    assert again.json["errors"] == {"draft": {"name": ["Already used."]}}
    assert (
        client.post(STRATEGIES, json={"thread_id": new_chat(client, bob), "draft": DRAFT}, headers=bob).status_code
        == 201
    )
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Strategy)) == 2


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"name": "bad name"}, "name"),
        ({"name": 'X"); import os; ("'}, "name"),
        ({"timeframe": "2h"}, "timeframe"),
        ({"stoploss": -1.5}, "stoploss"),
        ({"pairs": ["btc/usdt"]}, "pairs.0"),
        ({"indicators": [{"id": "x", "type": "nope"}]}, "indicators.0"),
        ({"entry_conditions": {"all": [{"left": "ghost", "op": "<", "right": 30}]}}, "entry_conditions.all.0.left"),
        ({"exit_conditions": {"any": [{"left": "macd.nope", "op": ">", "right": 0}]}}, "exit_conditions.any.0.left"),
    ],
)
def test_invalid_drafts_are_422_naming_the_field(
    client: FlaskClient, tokens: Tokens, data_dir: Path, changes: dict, path: str
) -> None:
    headers = tokens.headers()
    thread = new_chat(client, headers)
    response = client.post(STRATEGIES, json={"thread_id": thread, "draft": draft(**changes)}, headers=headers)
    assert response.status_code == 422, response.json
    assert path in response.json["errors"]["draft"], response.json
    assert not list((user_dir(data_dir) / "user_data" / "strategies").iterdir())


def test_body_validation(client: FlaskClient, tokens: Tokens) -> None:
    headers = tokens.headers()
    assert client.post(STRATEGIES, json={"draft": DRAFT}, headers=headers).status_code == 422
    assert client.post(STRATEGIES, json={"thread_id": "nope"}, headers=headers).status_code == 422
    missing = client.post(STRATEGIES, json={"thread_id": str(uuid.uuid4()), "draft": DRAFT}, headers=headers)
    assert missing.status_code == 404


def test_other_users_chat_and_strategy_are_403(client: FlaskClient, tokens: Tokens) -> None:
    alice, mallory = tokens.headers("user_alice"), tokens.headers("user_mallory")
    thread = new_chat(client, alice)
    assert client.post(STRATEGIES, json={"thread_id": thread, "draft": DRAFT}, headers=mallory).status_code == 403
    strategy_id = client.post(STRATEGIES, json={"thread_id": thread, "draft": DRAFT}, headers=alice).json["id"]
    assert client.get(f"{STRATEGIES}/{strategy_id}", headers=mallory).status_code == 403
    assert client.delete(f"{STRATEGIES}/{strategy_id}", headers=mallory).status_code == 403
    assert client.get(f"{STRATEGIES}/{strategy_id}", headers=alice).status_code == 200
    assert client.get(STRATEGIES, headers=mallory).json == []
    assert client.get(f"{STRATEGIES}/{uuid.uuid4()}", headers=alice).status_code == 404


def test_list_is_paginated_newest_first(client: FlaskClient, tokens: Tokens) -> None:
    headers = tokens.headers()
    thread = new_chat(client, headers)
    names = [f"Strategy{index}" for index in range(3)]
    for name in names:
        assert (
            client.post(STRATEGIES, json={"thread_id": thread, "draft": draft(name=name)}, headers=headers).status_code
            == 201
        )
    page = client.get(f"{STRATEGIES}?page=1&page_size=2", headers=headers)
    assert json.loads(page.headers["X-Pagination"])["total"] == 3
    assert [item["name"] for item in page.json] == ["Strategy2", "Strategy1"]
    summary = {"id", "name", "thread_id", "timeframe", "pairs", "created_at", "updated_at"}
    assert set(page.json[0]) == summary
    assert [item["name"] for item in client.get(f"{STRATEGIES}?page=2&page_size=2", headers=headers).json] == [
        "Strategy0"
    ]


def add_backtest_with_results(app: Flask, strategy_id: str, data_dir: Path) -> Path:
    backtest_id = add_backtest_row(app, strategy_id)
    results = user_dir(data_dir) / "user_data" / "backtest_results" / backtest_id
    results.mkdir(parents=True)
    (results / "result.zip").write_bytes(b"zip")
    return results


def test_delete_removes_row_file_backtests_results_and_links(
    client: FlaskClient, tokens: Tokens, app: Flask, data_dir: Path
) -> None:
    headers = tokens.headers()
    thread = new_chat(client, headers, [draft_message(DRAFT)])
    strategy = client.post(STRATEGIES, json={"thread_id": thread}, headers=headers).json
    results = add_backtest_with_results(app, strategy["id"], data_dir)
    file = user_dir(data_dir) / strategy["file_path"]
    assert file.exists()

    assert client.delete(f"{STRATEGIES}/{strategy['id']}", headers=headers).status_code == 204
    assert client.get(f"{STRATEGIES}/{strategy['id']}", headers=headers).status_code == 404
    assert not file.exists()
    assert not results.exists()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Backtest)) == 0
    chat = client.get(f"{CHATS}/{thread}", headers=headers).json
    assert chat["messages"][0]["strategy_id"] is None
    # The name is free again.
    assert client.post(STRATEGIES, json={"thread_id": thread}, headers=headers).status_code == 201


def test_deleting_a_chat_deletes_its_strategies(
    client: FlaskClient, tokens: Tokens, app: Flask, data_dir: Path
) -> None:
    headers = tokens.headers()
    thread = new_chat(client, headers)
    other_thread = new_chat(client, headers)
    made_here = client.post(STRATEGIES, json={"thread_id": thread, "draft": DRAFT}, headers=headers).json
    kept = client.post(
        STRATEGIES, json={"thread_id": other_thread, "draft": draft(name="KeptOne")}, headers=headers
    ).json
    results = add_backtest_with_results(app, made_here["id"], data_dir)

    assert client.delete(f"{CHATS}/{thread}", headers=headers).status_code == 204
    assert client.get(f"{STRATEGIES}/{made_here['id']}", headers=headers).status_code == 404
    assert not (user_dir(data_dir) / made_here["file_path"]).exists()
    assert not results.exists()
    assert client.get(f"{STRATEGIES}/{kept['id']}", headers=headers).status_code == 200
    assert (user_dir(data_dir) / kept["file_path"]).exists()


def test_failed_file_write_leaves_no_row(
    client: FlaskClient, tokens: Tokens, app: Flask, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = tokens.headers()
    thread = new_chat(client, headers)

    def disk_full(path: Path, text: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("gentrade.services.strategies.write_atomically", disk_full)
    response = client.post(STRATEGIES, json={"thread_id": thread, "draft": DRAFT}, headers=headers)
    assert response.status_code == 500
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Strategy)) == 0
    assert not (user_dir(data_dir) / "user_data" / "strategies" / "RsiDipBuyer.py").exists()


def test_failed_commit_leaves_no_file(
    client: FlaskClient, tokens: Tokens, app: Flask, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = tokens.headers()
    thread = new_chat(client, headers)
    from gentrade.extensions import db as database

    def broken_commit() -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(database.session, "commit", broken_commit)
    response = client.post(STRATEGIES, json={"thread_id": thread, "draft": DRAFT}, headers=headers)
    monkeypatch.undo()
    assert response.status_code == 500
    assert not (user_dir(data_dir) / "user_data" / "strategies" / "RsiDipBuyer.py").exists()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Strategy)) == 0
