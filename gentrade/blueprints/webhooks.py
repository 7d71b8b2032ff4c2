"""``/api/v1/webhooks/clerk``: svix-verified Clerk user events."""

from __future__ import annotations

import json
from typing import Any

from flask import request
from flask_smorest import abort
from svix.webhooks import Webhook, WebhookVerificationError

from gentrade.blueprints.base import TOO_DEEP_MESSAGE, UNSTORABLE_MESSAGE, ApiBlueprint, storable
from gentrade.runtime import runtime
from gentrade.schemas.common import StatusSchema
from gentrade.schemas.webhooks import ClerkEventSchema
from gentrade.services import webhooks

blp = ApiBlueprint("webhooks", __name__, url_prefix="/api/v1/webhooks", description="Clerk webhooks (svix).")
SVIX_HEADERS = ("svix-id", "svix-timestamp", "svix-signature")


@blp.route("/clerk", methods=["POST"])
@blp.doc(
    security=[],
    requestBody={"required": True, "content": {"application/json": {"schema": ClerkEventSchema}}},
    parameters=[
        {"in": "header", "name": name, "required": True, "schema": {"type": "string"}} for name in SVIX_HEADERS
    ],
)
@blp.response(200, StatusSchema)
@blp.alt_response(400, description="Missing or invalid svix signature, a stale timestamp, or nesting too deep.")
@blp.alt_response(422, description="A signed payload that is not a JSON object, or holds unstorable text.")
def clerk_webhook() -> dict[str, Any]:
    """Apply ``user.created``, ``user.updated`` or ``user.deleted``; each svix id takes effect once."""
    headers = {name: request.headers.get(name, "") for name in SVIX_HEADERS}
    body = request.get_data()
    try:
        Webhook(runtime().webhook_secret).verify(body, headers)
    except WebhookVerificationError as exc:
        abort(400, message=f"webhook signature rejected: {exc}")
    except ValueError:
        # svix lets malformed input escape as ValueError (a signature that is not base64 or has no
        # "v1," prefix, a body that is not UTF-8): hostile or broken, never a server error.
        abort(400, message="webhook signature rejected: malformed svix headers or body")
    try:
        event = json.loads(body)
    except ValueError:
        abort(422, message="webhook payload is not JSON")
    except RecursionError:
        abort(400, message=TOO_DEEP_MESSAGE)
    if not isinstance(event, dict):
        abort(422, message="webhook payload must be a JSON object")
    if not storable(event):
        abort(422, message=UNSTORABLE_MESSAGE)
    return {"status": webhooks.handle(headers["svix-id"], event).value}
