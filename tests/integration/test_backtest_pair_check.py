"""Starting a backtest checks its pairs against the exchange's market list, through the API: a pair the exchange
does not list is a 422 naming it and the exchange; an exchange whose list cannot be loaded (none cached) is a 503
with ``Retry-After`` and nothing recorded (issue 18: the check used to be skipped then)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gentrade import create_app
from gentrade.exchange_sim import ExchangeSimulator, SimulatorConfig
from gentrade.extensions import db
from gentrade.runtime import runtime
from gentrade.samples import draft

pytestmark = pytest.mark.postgres

BACKTESTS = "/api/v1/backtests"
END = datetime.now(UTC).date() - timedelta(days=2)
START = END - timedelta(days=30)
UNREACHABLE_EXCHANGE = "http://127.0.0.1:1/pair-check/api/v3"  # connections refused


class Headers(Protocol):
    def headers(self, sub: str = "user_alice") -> dict[str, str]: ...


@pytest.fixture(scope="module")
def stand_in() -> Iterator[ExchangeSimulator]:
    with ExchangeSimulator(SimulatorConfig(pairs=("BTC/USDT", "ETH/USDT"))) as exchange:
        yield exchange


def app_on(app: Flask, exchange_api_url: str) -> Flask:
    """The test app's settings (database, keys), with this exchange."""
    with app.app_context():
        settings = runtime().settings.model_copy(update={"exchange_api_url": exchange_api_url})
    return create_app(settings)


@pytest.fixture
def api_on(app: Flask, client: FlaskClient) -> Iterator[Any]:
    """Apps on other exchanges, over the ``client`` fixture's clean database; their connections closed after."""
    made: list[Flask] = []

    def make(exchange_api_url: str) -> FlaskClient:
        made.append(app_on(app, exchange_api_url))
        return made[-1].test_client()

    yield make
    for other in made:
        with other.app_context():
            db.engine.dispose()


def strategy(api: FlaskClient, tokens: Headers) -> str:
    thread = api.post("/api/v1/chats", json={}, headers=tokens.headers()).json["thread_id"]
    created = api.post("/api/v1/strategies", json={"thread_id": thread, "draft": draft()}, headers=tokens.headers())
    assert created.status_code == 201, created.json
    return created.json["id"]


def request_backtest(api: FlaskClient, tokens: Headers, strategy_id: str, **body: Any) -> Any:
    payload = {"strategy_id": strategy_id, "start_date": START.isoformat(), "end_date": END.isoformat(), **body}
    return api.post(BACKTESTS, json=payload, headers=tokens.headers())


def test_a_pair_the_exchange_does_not_list_is_a_422_naming_it_and_the_exchange(
    api_on: Any, tokens: Headers, stand_in: ExchangeSimulator
) -> None:
    api = api_on(stand_in.api_url)
    response = request_backtest(api, tokens, strategy(api, tokens), pairs=["BTC/USDT", "NOPE/USDT"])
    assert response.status_code == 422
    assert response.json["errors"]["pairs"] == ["Not listed on binance: NOPE/USDT."]
    assert api.get(BACKTESTS, headers=tokens.headers()).json == []


def test_an_exchange_whose_list_cannot_be_loaded_is_a_503_to_retry(api_on: Any, tokens: Headers) -> None:
    api = api_on(UNREACHABLE_EXCHANGE)
    strategy_id = strategy(api, tokens)
    response = request_backtest(api, tokens, strategy_id)
    assert response.status_code == 503
    assert response.json["message"] == "the exchange's market list is unavailable, try again shortly"
    assert "binance" in response.json["errors"]["pairs"][0]
    assert 1 <= int(response.headers["Retry-After"]) <= 30
    again = request_backtest(api, tokens, strategy_id)  # the failure is remembered: the same answer, at once
    assert again.status_code == 503
    assert api.get(BACKTESTS, headers=tokens.headers()).json == []  # nothing recorded

    # A request that is invalid anyway says why, rather than "try again".
    invalid = request_backtest(api, tokens, strategy_id, start_date=END.isoformat(), end_date=START.isoformat())
    assert invalid.status_code == 422
    assert invalid.json["errors"]["start_date"] == ["Must be before end_date."]
