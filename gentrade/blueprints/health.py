"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

from typing import Any

from flask_smorest import abort

from gentrade.blueprints.base import ApiBlueprint
from gentrade.schemas.common import StatusSchema
from gentrade.services import readiness

blp = ApiBlueprint("health", __name__, description="Process and dependency health.")


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
    answered = readiness.check()
    if not answered.database:
        abort(503, message="database unreachable")
    if not answered.broker:
        abort(503, message="task broker unreachable")
    return {"status": "ready"}
