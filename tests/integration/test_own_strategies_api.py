"""Bring your own strategy (issue 14) over HTTP: ``POST /strategies {name, code}`` takes the review, the Freqtrade
check (in the isolated child) and the atomic store; it is listed, read, backtest-validated and deleted like any
strategy, only by its owner; every bad input is a 4xx JSON error with the reason, and nothing is written or run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gentrade.blueprints.base import UNSTORABLE_MESSAGE
from gentrade.extensions import db
from gentrade.models import Strategy
from gentrade.samples import DRAFT
from gentrade.strategies.loaded import valid_loaded
from tests.benign import BOTH_WAYS, LOGGING_RSI
from tests.chats import new_chat
from tests.clerk import Tokens
from tests.hostile import HOSTILE, RUNTIME_PROBES, marked_line, probe
from tests.spies import Calls, files_under, strategy_rows, user_dir

STRATEGIES = "/api/v1/strategies"

BACKTESTS = "/api/v1/backtests"
RANGE = {"start_date": "2026-01-01", "end_date": "2026-01-15"}


def test_a_traders_strategy_is_stored_listed_read_backtest_checked_and_deleted(
    client: FlaskClient, tokens: Tokens, app: Flask, data_dir: Path, check_calls: Calls
) -> None:
    alice, bob = tokens.headers("user_alice"), tokens.headers("user_bob")
    response = client.post(STRATEGIES, json={"name": "LoggingRsi", "code": LOGGING_RSI}, headers=alice)

    assert response.status_code == 201, response.json
    body = response.json
    # Untrusted code only ever runs in the isolated child.
    assert (check_calls.children, check_calls.in_process) == (1, 0)
    assert body["name"] == "LoggingRsi"
    assert body["code"] == LOGGING_RSI
    assert body["draft"] == {}
    assert body["description"] == ""
    assert body["timeframe"] == "5m"  # read off the class by the check
    assert body["pairs"] is None
    assert body["thread_id"] is None
    assert body["chat_id"] is None
    assert body["file_path"] == "user_data/strategies/LoggingRsi.py"
    assert (user_dir(data_dir) / body["file_path"]).read_text() == LOGGING_RSI
    with app.app_context():
        loaded = db.session.get(Strategy, body["id"]).loaded
    assert valid_loaded(loaded)
    assert loaded["startup_candle_count"] == 30

    listed = client.get(STRATEGIES, headers=alice).json
    assert [(item["name"], item["timeframe"], item["pairs"]) for item in listed] == [("LoggingRsi", "5m", None)]
    assert client.get(f"{STRATEGIES}/{body['id']}", headers=alice).json == body

    # The name is taken: 409 before anything runs, for code and for a draft of that name alike.
    again = client.post(STRATEGIES, json={"name": "LoggingRsi", "code": LOGGING_RSI}, headers=alice)
    assert again.status_code == 409
    assert again.json["errors"] == {"name": ["Already used."]}
    thread = new_chat(client, alice)
    clash = client.post(STRATEGIES, json={"thread_id": thread, "draft": {**DRAFT, "name": "LoggingRsi"}}, headers=alice)
    assert clash.status_code == 409
    assert check_calls.children == 1

    # Its pairs come with the backtest: without them, a 422 that says so.
    no_pairs = client.post(BACKTESTS, json={"strategy_id": body["id"], **RANGE}, headers=alice)
    assert no_pairs.status_code == 422
    assert "has no pairs of its own" in no_pairs.json["errors"]["pairs"][0]

    # Another user can neither read, nor backtest, nor delete it; bob's own list stays empty.
    assert client.get(f"{STRATEGIES}/{body['id']}", headers=bob).status_code == 403
    foreign = {"strategy_id": body["id"], "pairs": ["BTC/USDT"], **RANGE}
    assert client.post(BACKTESTS, json=foreign, headers=bob).status_code == 403
    assert client.delete(f"{STRATEGIES}/{body['id']}", headers=bob).status_code == 403
    assert client.get(STRATEGIES, headers=bob).json == []

    assert client.delete(f"{STRATEGIES}/{body['id']}", headers=alice).status_code == 204
    assert client.get(f"{STRATEGIES}/{body['id']}", headers=alice).status_code == 404
    assert not (user_dir(data_dir) / body["file_path"]).exists()
    assert strategy_rows(app) == 0


def test_a_short_strategy_brought_as_code_is_stored_but_not_backtested(
    client: FlaskClient, tokens: Tokens, check_calls: Calls
) -> None:
    headers = tokens.headers()
    created = client.post(STRATEGIES, json={"name": "BothWays", "code": BOTH_WAYS}, headers=headers)
    assert created.status_code == 201, created.json
    assert created.json["timeframe"] == "4h"

    started = client.post(
        BACKTESTS, json={"strategy_id": created.json["id"], "pairs": ["BTC/USDT"], **RANGE}, headers=headers
    )
    assert started.status_code == 422
    assert "Short strategies" in started.json["errors"]["strategy_id"][0]


NO_TIMEFRAME = LOGGING_RSI.replace('    timeframe = "5m"\n', "")
UNSTORABLE = ["x = '\\ud800'", "x = 1\\u0000"]  # JSON escapes of an unpaired surrogate and of NUL


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        pytest.param(
            {"name": "OtherName", "code": LOGGING_RSI},
            "name",
            "the strategy class is LoggingRsi, expected OtherName [strategy-name]",
            id="name-is-not-the-class",
        ),
        pytest.param({"name": "1Strategy", "code": LOGGING_RSI}, "name", "Not a class name", id="name-digit-first"),
        pytest.param({"name": "my-strategy", "code": LOGGING_RSI}, "name", "Not a class name", id="name-dash"),
        pytest.param({"name": "../../Evil", "code": LOGGING_RSI}, "name", "Not a class name", id="name-path"),
        pytest.param({"name": "A" * 65, "code": LOGGING_RSI}, "name", "Not a class name", id="name-too-long"),
        pytest.param({"name": "Ünïcode", "code": LOGGING_RSI}, "name", "Not a class name", id="name-not-ascii"),
        pytest.param({"name": "class", "code": LOGGING_RSI}, "name", "class is reserved", id="name-keyword"),
        pytest.param({"name": "IStrategy", "code": LOGGING_RSI}, "name", "IStrategy is reserved", id="name-istrategy"),
        pytest.param({"name": 5, "code": LOGGING_RSI}, "name", "Not a valid string", id="name-not-a-string"),
        pytest.param({"code": LOGGING_RSI}, "name", "Missing data", id="name-missing"),
        pytest.param(
            {"name": "LoggingRsi", "code": LOGGING_RSI + "#" * 100_000},
            "code",
            "Too large: a strategy module has at most 100000 characters.",
            id="code-too-large",
        ),
        pytest.param({"name": "LoggingRsi", "code": ""}, "code", "Empty: send the module's source.", id="code-empty"),
        pytest.param({"name": "LoggingRsi", "code": ["x"]}, "code", "Not a valid string", id="code-not-a-string"),
        pytest.param(
            {"name": "LoggingRsi", "code": LOGGING_RSI, "thread_id": "x"}, "thread_id", "Unknown", id="unknown-field"
        ),
        pytest.param(
            {"name": "LoggingRsi", "code": "class LoggingRsi(IStrategy:\n"},
            "code",
            "line 1: syntax error",
            id="not-python",
        ),
        pytest.param(
            {"name": "LoggingRsi", "code": "import os\n" + LOGGING_RSI},
            "code",
            "line 1: import of os is not allowed [import-allow-list]",
            id="refused-by-the-review",
        ),
        pytest.param(
            {"name": "LoggingRsi", "code": LOGGING_RSI.replace("logger.info(", "logger.addHandler(")},
            "code",
            "[logging]",
            id="logger-misused",
        ),
    ],
)
def test_a_bad_code_body_is_a_422_with_the_reason_and_nothing_written_or_run(
    client: FlaskClient,
    tokens: Tokens,
    app: Flask,
    data_dir: Path,
    check_calls: Calls,
    body: Any,
    field: str,
    reason: str,
) -> None:
    response = client.post(STRATEGIES, json=body, headers=tokens.headers())

    assert response.status_code == 422, response.json
    errors = response.json["errors"]
    reasons = json.dumps(errors.get("json", errors)[field])  # the body's schema, or the review
    assert reason in reasons, response.json
    assert (check_calls.children, check_calls.in_process) == (0, 0)
    assert strategy_rows(app) == 0
    assert files_under(user_dir(data_dir) / "user_data" / "strategies") == {}


@pytest.mark.parametrize("code", UNSTORABLE)
def test_code_that_is_not_utf8_text_is_a_422(
    client: FlaskClient, tokens: Tokens, check_calls: Calls, code: str
) -> None:
    headers = {**tokens.headers(), "Content-Type": "application/json"}
    response = client.post(STRATEGIES, data=f'{{"name": "LoggingRsi", "code": "{code}"}}', headers=headers)
    assert response.status_code == 422
    assert response.json["errors"] == {"json": [UNSTORABLE_MESSAGE]}
    assert check_calls.children == 0


def test_a_body_over_the_request_limit_is_a_413_json_error(client: FlaskClient, tokens: Tokens) -> None:
    response = client.post(STRATEGIES, json={"name": "Big", "code": "#" * (2 * 1024 * 1024)}, headers=tokens.headers())
    assert response.status_code == 413
    assert response.is_json
    assert response.json["code"] == 413


@pytest.fixture
def no_strategy_files(data_dir: Path) -> Iterator[Path]:
    folder = user_dir(data_dir) / "user_data" / "strategies"
    yield folder
    assert files_under(folder) == {}


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        pytest.param(NO_TIMEFRAME, "the strategy sets no timeframe", id="no-timeframe"),
        pytest.param(
            LOGGING_RSI.replace('dataframe["rsi"] = dataframe', 'dataframe["rsi"] = dataframe["missing"] + dataframe'),
            "the strategy failed on BTC/USDT candles: populate_indicators raised KeyError: 'missing'",
            id="populate-raises",
        ),
    ],
)
def test_code_failing_the_freqtrade_check_is_a_422_with_its_message(
    client: FlaskClient, tokens: Tokens, app: Flask, check_calls: Calls, no_strategy_files: Path, code: str, reason: str
) -> None:
    response = client.post(STRATEGIES, json={"name": "LoggingRsi", "code": code}, headers=tokens.headers())

    assert response.status_code == 422, response.json
    (message,) = response.json["errors"]["code"]["freqtrade_check"]
    assert message.startswith(reason)
    assert reason in response.json["message"]
    assert "/tmp" not in message
    assert "site-packages" not in message
    assert check_calls.children == 1
    assert strategy_rows(app) == 0


def test_every_hostile_snippet_pasted_as_code_is_a_422_at_its_line_with_nothing_written_or_run(
    client: FlaskClient, tokens: Tokens, app: Flask, data_dir: Path, check_calls: Calls
) -> None:
    headers = tokens.headers()
    user_folder = data_dir / "ft_userdata" / "user_user_alice"
    failures = []
    corpus = [*HOSTILE, *RUNTIME_PROBES]
    for param in corpus:
        top, body, rule = param.values
        code = probe(top=top, body=body)
        response = client.post(STRATEGIES, json={"name": "Probe", "code": code}, headers=headers)
        reasons = response.json.get("errors", {}).get("code", {}).get("review", [])
        expected = f"line {marked_line(code)}: "
        if response.status_code != 422 or not any(r.startswith(expected) and r.endswith(f"[{rule}]") for r in reasons):
            failures.append(f"{param.id}: {response.status_code} {str(response.json)[:300]}")
    assert failures == []
    assert (check_calls.children, check_calls.in_process) == (0, 0)
    assert strategy_rows(app) == 0
    assert not [name for name in files_under(user_folder) if name.startswith("user_data/strategies/")]
