"""``GENTRADE_STRATEGY_CODEGEN=llm`` through the API: the model's code is reviewed and checked, a broken
answer is repaired, and a model that never gets it right gives a 422 that says why (scripted model)."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gentrade.samples import DRAFT
from gentrade.strategies.compiler import compile_strategy
from gentrade.strategies.draft import parse_draft
from tests.clerk import Tokens
from tests.code_models import use_code_model

GOOD = compile_strategy(parse_draft(DRAFT))
BROKEN = "import os\n" + GOOD


def deploy(api: FlaskClient, tokens: Tokens) -> object:
    headers = tokens.headers()
    thread = api.post("/api/v1/chats", json={}, headers=headers).json["thread_id"]
    return api.post("/api/v1/strategies", json={"thread_id": thread, "draft": DRAFT}, headers=headers)


def test_a_broken_first_answer_is_repaired(
    llm_app: Flask, client: FlaskClient, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_code_model(monkeypatch, [BROKEN, GOOD])
    response = deploy(llm_app.test_client(), tokens)
    assert response.status_code == 201, response.json
    assert response.json["code"] == GOOD


def test_giving_up_after_the_repairs_is_a_422_that_says_why(
    llm_app: Flask, client: FlaskClient, tokens: Tokens, monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    use_code_model(monkeypatch, [BROKEN, BROKEN])
    response = deploy(llm_app.test_client(), tokens)
    assert response.status_code == 422
    assert "after 1 repair" in response.json["message"]
    assert "import of os is not allowed" in str(response.json["errors"])
    assert not (data_dir / "ft_userdata" / "user_user_alice" / "user_data" / "strategies" / "RsiDipBuyer.py").exists()
