"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

import logging
from typing import Any

from flask_smorest import abort
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from gentrade.blueprints.base import ApiBlueprint
from gentrade.extensions import db
from gentrade.schemas.common import StatusSchema
from gentrade.tasks.celery_app import broker_reachable

blp = ApiBlueprint("health", __name__, description="Process and dependency health.")
log = logging.getLogger(__name__)


@blp.route("/healthz")
@blp.doc(security=[])
@blp.response(200, StatusSchema)
def healthz() -> dict[str, Any]:
    """The process is alive and serving."""
    return {"status": "ok"}


@blp.route("/readyz")
@blp.doc(security=[])
@blp.response(200, StatusSchema)
def readyz() -> dict[str, Any]:
    """The database and the task broker answer; 503 otherwise."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.warning("readiness check failed: %s", exc)
        abort(503, message="database unreachable")
    if not broker_reachable():
        log.warning("readiness check failed: broker unreachable")
        abort(503, message="task broker unreachable")
    return {"status": "ready"}
