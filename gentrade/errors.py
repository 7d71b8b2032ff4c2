"""One JSON error shape for every 4xx and 5xx, and a request id to find the log line.

flask-smorest already turns every ``HTTPException`` (and, through Flask, every unhandled
exception) into JSON; this extends its handler so each body has ``code``, ``status``,
``message``, ``errors`` and ``request_id``, and a 5xx never carries a traceback.
"""

from __future__ import annotations

import logging
from typing import Any

import marshmallow as ma
from flask import Flask, Response
from flask_smorest import Api
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, ServiceUnavailable, default_exceptions

from gentrade.extensions import db
from gentrade.request_ids import REQUEST_ID_HEADER, current_request_id
from gentrade.services.errors import ServiceError

log = logging.getLogger(__name__)


class ErrorSchema(ma.Schema):
    """What every error body carries (documentation only: ``JsonErrorApi.handle_http_exception`` writes it)."""

    code = ma.fields.Integer(required=True, metadata={"description": "The HTTP status code."})
    status = ma.fields.String(required=True, metadata={"description": "The HTTP status name."})
    message = ma.fields.String(required=True)
    errors = ma.fields.Dict(required=True, metadata={"description": "Problems by field; may be empty."})
    request_id = ma.fields.String(
        required=True, metadata={"description": "Also in the X-Request-ID header; quote it when reporting a problem."}
    )


class JsonErrorApi(Api):
    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error: HTTPException) -> tuple[dict[str, Any], int, dict[str, str]]:
        payload, status, headers = super().handle_http_exception(error)
        payload.setdefault("message", _public_message(error))
        payload["errors"] = _string_keys(payload.get("errors") or {})
        payload["request_id"] = current_request_id()
        if getattr(error, "original_exception", None) is not None:
            # An unhandled exception: Flask logged it with its traceback; the client learns nothing of it.
            payload["message"] = _public_message(error)
        elif status == 422 and payload["errors"] and "message" not in (getattr(error, "data", None) or {}):
            payload["message"] = "Invalid request: see errors for each field."
        return payload, status, headers


def _string_keys(errors: Any) -> Any:
    """marshmallow keys a list item's errors by its index (``{"pairs": {0: [...], "_schema": [...]}}``);
    JSON keys are strings, and Flask's sorted JSON cannot order ``0`` against ``"_schema"`` (it was a 500)."""
    if isinstance(errors, dict):
        return {str(key): _string_keys(value) for key, value in errors.items()}
    if isinstance(errors, list):
        return [_string_keys(item) for item in errors]
    return errors


def _public_message(error: HTTPException) -> str:
    if (error.code or 500) >= 500:
        return "Internal server error. Quote the request_id when reporting it."
    return error.description or error.name


def init_error_handling(app: Flask, api: JsonErrorApi) -> None:
    """Service errors become the same JSON errors as ``abort``; every response names its request id."""

    @app.errorhandler(ServiceError)
    def _service_error(error: ServiceError) -> tuple[dict[str, Any], int, dict[str, str]]:
        http_error = default_exceptions[error.status](description=error.message)
        http_error.data = {"message": error.message, "errors": error.errors, "headers": error.headers}  # type: ignore[attr-defined]
        return api.handle_http_exception(http_error)

    @app.errorhandler(OperationalError)
    def _database_unavailable(error: OperationalError) -> tuple[dict[str, Any], int, dict[str, str]]:
        """The database went away mid-request (a restart, a failover, a killed connection): a 503 to retry,
        not a 500. The pool hands the next request a live connection."""
        log.error("database unavailable: %s", error.orig, exc_info=error)
        db.session.rollback()
        message = "The database is unavailable; try again shortly."
        http_error = ServiceUnavailable(description=message)
        http_error.data = {"message": message, "errors": {}, "headers": {"Retry-After": "1"}}  # type: ignore[attr-defined]
        return api.handle_http_exception(http_error)

    @app.after_request
    def _echo_request_id(response: Response) -> Response:
        response.headers[REQUEST_ID_HEADER] = current_request_id()
        return response
