"""One JSON error shape everywhere, request ids, and the OpenAPI document."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade

from gentrade import create_app
from gentrade.settings import Settings

ERROR_KEYS = {"code", "status", "message", "errors", "request_id"}


@pytest.fixture
def dev_app(tmp_path: Path) -> Flask:
    """The embedded default (SQLite, development keys), plus a route that fails unexpectedly."""
    app = create_app(Settings(_env_file=None, data_dir=tmp_path, log_level="INFO"))

    @app.route("/boom")
    def boom() -> str:
        raise RuntimeError("secret internal detail")

    with app.app_context():
        upgrade()
    return app


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/nowhere", 404), ("PUT", "/api/v1/chats", 405), ("GET", "/api/v1/chats", 401)],
)
def test_http_errors_are_json(dev_app: Flask, method: str, path: str, status: int) -> None:
    response = dev_app.test_client().open(path, method=method)
    assert response.status_code == status
    assert response.is_json
    assert set(response.json) == ERROR_KEYS
    assert response.json["code"] == status


def test_unexpected_exception_is_a_json_500_without_internals(dev_app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        response = dev_app.test_client().get("/boom", headers={"X-Request-ID": "req-abc.123"})
    assert response.status_code == 500
    assert set(response.json) == ERROR_KEYS
    assert "secret internal detail" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    assert response.json["request_id"] == "req-abc.123"
    assert response.headers["X-Request-ID"] == "req-abc.123"
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any(getattr(r, "request_id", None) == "req-abc.123" for r in logged)
    assert any(r.exc_info for r in logged)


@pytest.mark.parametrize("incoming", ["", "x" * 65, "bad id", "a;b<script>"])
def test_unsafe_request_ids_are_replaced(dev_app: Flask, incoming: str) -> None:
    response = dev_app.test_client().get("/healthz", headers={"X-Request-ID": incoming})
    assert response.headers["X-Request-ID"] != incoming
    assert len(response.headers["X-Request-ID"]) == 32


def test_health_and_readiness(dev_app: Flask) -> None:
    client = dev_app.test_client()
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/readyz").json == {"status": "ready"}


def test_readiness_fails_when_the_database_is_unreachable(tmp_path: Path) -> None:
    app = create_app(Settings(_env_file=None, data_dir=tmp_path, database_url="postgresql://nobody@127.0.0.1:1/none"))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["message"] == "database unreachable"
    assert app.test_client().get("/healthz").status_code == 200


def test_openapi_lists_every_route(dev_app: Flask) -> None:
    spec = dev_app.test_client().get("/api/openapi.json").json
    paths = spec["paths"]
    expected = {
        "/healthz": {"get"},
        "/readyz": {"get"},
        "/api/v1/webhooks/clerk": {"post"},
        "/api/v1/chats": {"get", "post", "patch"},
        "/api/v1/chats/{thread_id}": {"get", "patch", "delete"},
        "/api/v1/strategies": {"get", "post"},
        "/api/v1/strategies/{strategy_id}": {"get", "delete"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path
    documented = {rule.rule for rule in dev_app.url_map.iter_rules() if rule.rule.startswith("/api/v1/")}
    assert len(documented) == len([p for p in paths if p.startswith("/api/v1/")])
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert paths["/api/v1/webhooks/clerk"]["post"]["security"] == []
    assert paths["/healthz"]["get"]["security"] == []
    assert "security" not in paths["/api/v1/chats"]["get"]  # the global bearer requirement applies


def test_openapi_documents_the_strategy_draft_once(dev_app: Flask) -> None:
    """The draft's schema comes from the pydantic StrategyDraft model, with every catalogue indicator."""
    spec = dev_app.test_client().get("/api/openapi.json").json
    schemas = spec["components"]["schemas"]
    assert set(schemas["StrategyDraft"]["required"]) >= {"name", "timeframe", "pairs", "entry_conditions", "stoploss"}
    assert "StrategyDraftRsiIndicator" in schemas
    assert "StrategyDraftIchimokuIndicator" in schemas
    body = spec["paths"]["/api/v1/strategies"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    create = schemas[body["$ref"].rsplit("/", 1)[1]]
    forms = [schemas[form["$ref"].rsplit("/", 1)[1]] for form in create["oneOf"]]
    deploy, card, code = forms
    assert deploy["properties"]["draft"]["allOf"] == [{"$ref": "#/components/schemas/StrategyDraft"}]
    assert {"tool_call_id", "entry_signals", "minimal_roi", "stoploss"} <= card["properties"].keys()
    assert "tool_call_id" in card["required"]
    assert set(code["required"]) == set(code["properties"]) == {"name", "code"}  # bring your own strategy
    assert code["properties"]["code"]["maxLength"] == 100_000


def test_swagger_ui_is_served_without_a_cdn(dev_app: Flask) -> None:
    client = dev_app.test_client()
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "https://" not in html
    for asset in ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"):
        assert f"/api/docs/assets/{asset}" in html
        assert client.get(f"/api/docs/assets/{asset}").status_code == 200
    assert client.get("/api/docs/assets/../../../etc/passwd").status_code == 404


def test_development_token_round_trip(dev_app: Flask) -> None:
    """The embedded default: a token from the dev-token command lists chats."""
    runner = dev_app.test_cli_runner()
    result = runner.invoke(args=["gentrade", "dev-token", "user_demo"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    client: FlaskClient = dev_app.test_client()
    response = client.get("/api/v1/chats", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json == []


@pytest.mark.parametrize("clerk_id", ["../root", "user_a/b", "admin"])
def test_dev_token_refuses_bad_ids(dev_app: Flask, clerk_id: str) -> None:
    result = dev_app.test_cli_runner().invoke(args=["gentrade", "dev-token", clerk_id])
    assert result.exit_code != 0


def test_dev_token_refused_when_clerk_keys_are_configured(tmp_path: Path) -> None:
    from tests.clerk import new_rsa_key, public_pem

    app = create_app(Settings(_env_file=None, data_dir=tmp_path, clerk_jwt_key=public_pem(new_rsa_key())))
    result = app.test_cli_runner().invoke(args=["gentrade", "dev-token", "user_demo"])
    assert result.exit_code != 0
    assert "development tokens" in result.output
