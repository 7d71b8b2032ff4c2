"""Backtest request and response bodies."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from gentrade.models.backtest import BacktestStatus
from gentrade.schemas.common import StrictSchema, page_of
from gentrade.strategies.draft import TIMEFRAMES

PAIR = validate.Regexp(r"^[A-Z0-9]{2,15}/[A-Z0-9]{2,15}$", error="Not a pair like BTC/USDT.")


class BacktestCreateSchema(StrictSchema):
    strategy_id = ma.fields.UUID(required=True)
    start_date = ma.fields.Date(required=True, metadata={"example": "2026-08-01"})
    end_date = ma.fields.Date(required=True, metadata={"description": "Inclusive; before today (UTC)."})
    pairs = ma.fields.List(
        ma.fields.String(validate=PAIR),
        validate=validate.Length(min=1, max=20),
        metadata={"description": "Overrides the draft's pairs."},
    )
    timeframe = ma.fields.String(
        validate=validate.OneOf(TIMEFRAMES), metadata={"description": "Overrides the draft's."}
    )

    @ma.validates("pairs")
    def _unique(self, pairs: list[str], **kwargs: Any) -> None:
        if len(set(pairs)) != len(pairs):
            raise ma.ValidationError("Pairs must be unique.")


class BacktestQuerySchema(ma.Schema):
    strategy_id = ma.fields.UUID()
    status = ma.fields.String(validate=validate.OneOf([s.value for s in BacktestStatus]))


class TimerangeSchema(ma.Schema):
    start = ma.fields.Date(attribute="timerange_start")
    end = ma.fields.Date(attribute="timerange_end")


class BacktestSchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    strategy_id = ma.fields.UUID(dump_only=True)
    status = ma.fields.String(dump_only=True, metadata={"enum": [s.value for s in BacktestStatus]})
    timerange = ma.fields.Function(lambda b: TimerangeSchema().dump(b), dump_only=True)
    pairs = ma.fields.List(ma.fields.String(), dump_only=True)
    timeframe = ma.fields.String(dump_only=True)
    result_path = ma.fields.String(dump_only=True, allow_none=True)
    summary = ma.fields.Dict(dump_only=True, allow_none=True)
    error = ma.fields.Dict(dump_only=True, allow_none=True, metadata={"description": "{code, message, detail}"})
    attempts = ma.fields.Integer(dump_only=True)
    created_at = ma.fields.AwareDateTime(dump_only=True)
    updated_at = ma.fields.AwareDateTime(dump_only=True)
    started_at = ma.fields.AwareDateTime(dump_only=True, allow_none=True)
    finished_at = ma.fields.AwareDateTime(dump_only=True, allow_none=True)


class BacktestSummarySchema(BacktestSchema):
    class Meta:
        exclude = ("summary",)


BacktestPageSchema = page_of(BacktestSummarySchema, "BacktestPageSchema")
