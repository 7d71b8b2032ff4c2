"""CORS for browser frontends: the configured origins may call ``/api/*`` and ``/chat/*``, others get nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from gentrade import create_app
from gentrade.settings import Settings

FRONTEND = "http://localhost:3000"
PREFLIGHT_HEADERS = "authorization, content-type, threadid, x-request-id"


def make_app(tmp_path: Path, **settings: Any) -> Flask:
    """The embedded default (SQLite, development keys): nothing here reaches a database."""
    return create_app(Settings(_env_file=None, data_dir=tmp_path, **settings))


@pytest.fixture
def cors_app(tmp_path: Path) -> Flask:
    return make_app(tmp_path)


def preflight(cors_app: Flask, path: str, origin: str, method: str = "GET") -> Any:
    return cors_app.test_client().options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": PREFLIGHT_HEADERS,
        },
    )


def cors_headers(response: Any) -> dict[str, str]:
    return {name: value for name, value in response.headers.items() if name.lower().startswith("access-control-")}


@pytest.mark.parametrize(
    ("path", "method"),
    [("/api/v1/chats", "GET"), ("/api/v1/backtests", "POST"), ("/chat/stream_events", "POST")],
)
def test_a_preflight_from_the_frontend_is_allowed_without_a_token(cors_app: Flask, path: str, method: str) -> None:
    response = preflight(cors_app, path, FRONTEND, method)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == FRONTEND
    assert method in response.headers["Access-Control-Allow-Methods"]
    allowed = {name.strip().lower() for name in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert allowed == {"authorization", "content-type", "threadid", "x-request-id"}


def test_an_error_for_the_frontend_carries_cors_headers_so_the_page_can_read_it(cors_app: Flask) -> None:
    response = cors_app.test_client().get("/api/v1/chats", headers={"Origin": FRONTEND})
    assert response.status_code == 401
    assert response.headers["Access-Control-Allow-Origin"] == FRONTEND
    exposed = {name.strip() for name in response.headers["Access-Control-Expose-Headers"].split(",")}
    assert exposed == {"X-Pagination", "X-Request-ID"}


def test_another_origin_gets_no_cors_headers(cors_app: Flask) -> None:
    assert cors_headers(preflight(cors_app, "/api/v1/chats", "https://evil.example")) == {}
    assert cors_headers(cors_app.test_client().get("/api/v1/chats", headers={"Origin": "https://evil.example"})) == {}


def test_routes_outside_the_api_get_no_cors_headers(cors_app: Flask) -> None:
    assert cors_headers(cors_app.test_client().get("/healthz", headers={"Origin": FRONTEND})) == {}


def test_the_allowed_origins_come_from_the_setting(tmp_path: Path) -> None:
    cors_app = make_app(tmp_path, cors_origins=["https://app.gentrade.example"])
    allowed = preflight(cors_app, "/api/v1/chats", "https://app.gentrade.example")
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.gentrade.example"
    assert cors_headers(preflight(cors_app, "/api/v1/chats", FRONTEND)) == {}
