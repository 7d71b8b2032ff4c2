"""The agent stream's request body."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from gentrade.schemas.common import StrictSchema

MESSAGE_MAX = 8_000


class AgentTurnSchema(StrictSchema):
    thread_id = ma.fields.UUID(required=True, metadata={"description": "The chat to continue."})
    message = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=MESSAGE_MAX, error=f"Between 1 and {MESSAGE_MAX} characters."),
        metadata={"example": "an RSI strategy on BTC/USDT 1h with a 5% stop"},
    )
