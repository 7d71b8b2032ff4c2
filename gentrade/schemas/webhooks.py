"""The Clerk event envelope, for the API documentation (the body is parsed after verification)."""

from __future__ import annotations

import marshmallow as ma


class ClerkEventSchema(ma.Schema):
    class Meta:
        unknown = ma.INCLUDE  # Clerk's envelope carries more (timestamp, instance_id, ...), and may grow

    type = ma.fields.String(required=True, metadata={"example": "user.created"})
    object = ma.fields.String(metadata={"example": "event"})
    data = ma.fields.Dict(required=True, metadata={"description": "The Clerk user object."})
