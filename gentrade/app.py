"""The app factory: ``create_app()`` wires settings, extensions, blueprints and error handlers."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask
from flask_cors import CORS

from gentrade import auth, database, devkeys, errors, request_ids, runtime
from gentrade.blueprints import API_BLUEPRINTS, docs_assets
from gentrade.cli import gentrade_cli
from gentrade.extensions import db, migrate
from gentrade.freqtrade.userdir import UserDirectories
from gentrade.metrics.http import instrument_requests
from gentrade.schemas.chats import document_update_rules
from gentrade.schemas.pydantic import register_pydantic_schema
from gentrade.schemas.strategies import document_create_forms
from gentrade.settings import ConfigurationError, Settings, load_settings
from gentrade.strategies.draft import StrategyDraft
from gentrade.tasks.celery_app import celery_init_app

__all__ = ["ConfigurationError", "create_app"]
log = logging.getLogger(__name__)
PROJECT_ROOT = Path(__file__).resolve().parent.parent
CORS_ROUTES = (r"/api/.*", r"/chat/.*")  # the REST API and the agent's LangServe routes
CORS_ALLOW_HEADERS = ("Authorization", "Content-Type", "ThreadId", "X-Request-ID")
CORS_EXPOSE_HEADERS = ("X-Pagination", "X-Request-ID")


def create_app(settings: Settings | None = None, **overrides: Any) -> Flask:
    """Build the app from ``settings`` (default: the environment). Fails fast on bad configuration."""
    settings = settings or load_settings(**overrides)
    configure_logging(settings.log_level)
    settings.resolved_data_dir.mkdir(parents=True, exist_ok=True)

    app = Flask(__name__)
    instrument_requests(app)  # first: its timer starts before, and its count comes after, every other hook
    app.config.update(_flask_config(settings))
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    api = errors.JsonErrorApi(app)
    api.spec.components.security_scheme("bearerAuth", auth.BEARER_SCHEME)
    register_pydantic_schema(api.spec, StrategyDraft)
    for blueprint in API_BLUEPRINTS:
        api.register_blueprint(blueprint)
    document_update_rules(api.spec)
    document_create_forms(api.spec)
    app.register_blueprint(docs_assets.blp)
    errors.init_error_handling(app, api)
    enable_cors(app, settings)
    app.cli.add_command(gentrade_cli)
    runtime.install(app, _build_runtime(settings))
    celery_init_app(app, settings)
    if not settings.uses_clerk_keys:
        log.warning("no Clerk keys configured: trusting development tokens (embedded default)")
    return app


def _flask_config(settings: Settings) -> dict[str, Any]:
    return {
        "SQLALCHEMY_DATABASE_URI": settings.sqlalchemy_url,
        "SQLALCHEMY_ENGINE_OPTIONS": database.engine_options(settings),
        "MAX_CONTENT_LENGTH": settings.max_request_bytes,
        "API_TITLE": "GenTrade API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",  # what the bundled Swagger UI 4 renders
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "/docs",
        "OPENAPI_SWAGGER_UI_URL": docs_assets.ASSETS_URL,
        "API_SPEC_OPTIONS": {"security": [{"bearerAuth": []}]},
    }


def enable_cors(app: Flask, settings: Settings) -> None:
    """Let web frontends on ``GENTRADE_CORS_ORIGINS`` call the API from the browser: preflights are answered
    without a token, errors carry the CORS headers too (so the page can read them), and the page may read
    the paging and request-id headers. Other origins get no CORS header at all, so browsers refuse them."""
    CORS(
        app,
        resources=list(CORS_ROUTES),
        origins=settings.cors_origins,
        allow_headers=list(CORS_ALLOW_HEADERS),
        expose_headers=list(CORS_EXPOSE_HEADERS),
    )


def _build_runtime(settings: Settings) -> runtime.Runtime:
    data_dir = settings.resolved_data_dir
    secret = settings.clerk_webhook_secret
    return runtime.Runtime(
        settings=settings,
        user_dirs=UserDirectories(data_dir, settings.freqtrade_image),
        token_verifier=auth.build_verifier(settings),
        webhook_secret=secret.get_secret_value() if secret else devkeys.webhook_secret(data_dir),
    )


def configure_logging(level: str) -> None:
    """Log lines carry the request id; configured once per process."""
    request_ids.install_request_id_logging()
    root = logging.getLogger()
    if any(getattr(handler, "_gentrade", False) for handler in root.handlers):
        return
    handler = logging.StreamHandler()
    handler._gentrade = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level.upper())
