"""Swagger UI's JavaScript and CSS, served from the pinned ``swagger-ui-bundle`` package.

The docs page then works offline and loads nothing from a CDN. Not part of the OpenAPI document.
"""

from __future__ import annotations

from flask import Blueprint, Response, send_from_directory
from swagger_ui_bundle import swagger_ui_path

ASSETS_URL = "/api/docs/assets/"
blp = Blueprint("docs_assets", __name__)


@blp.route(f"{ASSETS_URL}<path:filename>")
def swagger_ui_asset(filename: str) -> Response:
    return send_from_directory(str(swagger_ui_path), filename, max_age=86400)
