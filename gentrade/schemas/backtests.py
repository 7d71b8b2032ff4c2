"""Backtest request and response bodies."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

import marshmallow as ma
from marshmallow import validate

from gentrade.models.backtest import BacktestStatus
from gentrade.schemas.common import StrictSchema
from gentrade.services.public_errors import public_error
from gentrade.timeframes import TIMEFRAMES

PAIR = validate.Regexp(r"^[A-Z0-9]{2,15}/[A-Z0-9]{2,15}$", error="Not a pair like BTC/USDT.")
DATE_RANGE = re.compile(r"^(\d{8})-(\d{8})$")
DATE_FIELDS = ("start_date", "end_date")


class DateRange(ma.fields.String):
    """``yyyyMMdd-yyyyMMdd``, the web frontend's form of a range, loaded as its first and last day."""

    default_error_messages = {
        "format": "Not a date range like 20261127-20261204 (yyyyMMdd-yyyyMMdd).",
        "date": "{day} is not a date.",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> tuple[date, date]:
        text = super()._deserialize(value, attr, data, **kwargs)
        match = DATE_RANGE.fullmatch(text)
        if match is None:
            raise self.make_error("format")
        days = []
        for day in match.groups():
            try:
                days.append(datetime.strptime(day, "%Y%m%d").date())
            except ValueError:
                raise self.make_error("date", day=day) from None
        return days[0], days[1]


class BacktestCreateSchema(StrictSchema):
    """The range is ``start_date`` and ``end_date``, or ``date_range``: exactly one of the two forms."""

    strategy_id = ma.fields.UUID(required=True)
    start_date = ma.fields.Date(metadata={"example": "2026-08-01", "description": "With end_date, or date_range."})
    end_date = ma.fields.Date(
        metadata={
            "description": "Inclusive; today (UTC) at the latest, which is backtested up to its last closed candle."
        }
    )
    date_range = DateRange(
        metadata={
            "example": "20260801-20260807",
            "pattern": DATE_RANGE.pattern,
            "description": "yyyyMMdd-yyyyMMdd, both days included: instead of start_date and end_date.",
        }
    )
    pairs = ma.fields.List(
        ma.fields.String(validate=PAIR),
        validate=validate.Length(min=1, max=20),
        metadata={"description": "Overrides the draft's pairs; required for a strategy brought as code (it has none)."},
    )
    timeframe = ma.fields.String(
        validate=validate.OneOf(TIMEFRAMES), metadata={"description": "Overrides the strategy's."}
    )

    @ma.validates("pairs")
    def _unique(self, pairs: list[str], **kwargs: Any) -> None:
        if len(set(pairs)) != len(pairs):
            raise ma.ValidationError("Pairs must be unique.")

    @ma.validates_schema
    def _one_range_form(self, data: dict[str, Any], **kwargs: Any) -> None:
        missing = {name: ["Missing data for required field."] for name in DATE_FIELDS if name not in data}
        if "date_range" in data:
            if len(missing) < len(DATE_FIELDS):
                raise ma.ValidationError("Give date_range or start_date and end_date, not both.", "date_range")
        elif len(missing) == len(DATE_FIELDS):
            raise ma.ValidationError("Give date_range (yyyyMMdd-yyyyMMdd), or start_date and end_date.", "date_range")
        elif missing:
            raise ma.ValidationError(missing)

    @ma.post_load
    def _range_as_dates(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """The service takes start and end dates, whichever form the client used."""
        if "date_range" in data:
            data["start_date"], data["end_date"] = data.pop("date_range")
        return data


class BacktestQuerySchema(ma.Schema):
    strategy_id = ma.fields.UUID()
    status = ma.fields.String(validate=validate.OneOf([s.value for s in BacktestStatus]))


class TimerangeSchema(ma.Schema):
    start = ma.fields.Date(attribute="timerange_start")
    end = ma.fields.Date(attribute="timerange_end")


# The keys gentrade.freqtrade.results.summarise writes, for the OpenAPI document: keep the two in step.
SUMMARY_DESCRIPTION = (
    "Set when finished. Keys: strategy, timeframe, timerange {start, end}, stake_currency, total_trades, wins, "
    "draws, losses, win_rate, profit_total, profit_total_abs, starting_balance, final_balance, max_drawdown, "
    "max_drawdown_abs, sharpe, sortino, calmar, profit_factor, avg_trade_duration_seconds, avg_trade_duration, "
    "winner_avg_duration_seconds, loser_avg_duration_seconds (null without a winner / loser), "
    "max_consecutive_wins, max_consecutive_losses (a draw counts as a loss), "
    "exit_reasons [{reason, trades, wins, draws, losses, win_rate, profit_total, profit_total_abs}] "
    "(most trades first), best_pair, worst_pair, "
    "pairs [{pair, trades, wins, draws, losses, win_rate, profit_total, profit_total_abs, avg_duration_seconds}], "
    "equity_curve [{time, balance}] (at most 500 points). Ratios are fractions (0.05 = 5 %); a figure that is "
    "undefined (e.g. with no trades) is null. Backtests finished before winner_avg_duration_seconds, "
    "loser_avg_duration_seconds, max_consecutive_wins, max_consecutive_losses and exit_reasons were added "
    "lack those keys."
)


PROGRESS_DESCRIPTION = (
    "How far the backtest is, 0 to 1: Freqtrade's own progress while `running` (loading candles, computing "
    "indicators, then candle by candle), 1 once `finished`, null before it runs."
)


ERROR_DESCRIPTION = (
    "Set when failed (and while a transient fault is retried): {code, message, detail}. `message` is a sentence; "
    "`detail` the last lines of Freqtrade's log, without traceback frames or server paths (a frame in your own "
    "strategy stays as `in your strategy X.py, line N`). `resource_limit`: the run needed more memory than a "
    "backtest may use, or ran longer than a backtest may take; the message names the limit and what to change "
    "(fewer pairs, a shorter range, a longer timeframe)."
)


class BacktestSchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    strategy_id = ma.fields.UUID(dump_only=True)
    status = ma.fields.String(dump_only=True, metadata={"enum": [s.value for s in BacktestStatus]})
    timerange = ma.fields.Function(lambda b: TimerangeSchema().dump(b), dump_only=True)
    start_date = ma.fields.Date(attribute="timerange_start", dump_only=True, metadata={"description": "First day."})
    end_date = ma.fields.Date(
        attribute="timerange_end", dump_only=True, metadata={"description": "Last day, included."}
    )
    pairs = ma.fields.List(ma.fields.String(), dump_only=True)
    timeframe = ma.fields.String(dump_only=True)
    result_path = ma.fields.String(dump_only=True, allow_none=True)
    summary = ma.fields.Dict(dump_only=True, allow_none=True, metadata={"description": SUMMARY_DESCRIPTION})
    error = ma.fields.Function(
        lambda backtest: public_error(backtest.error),  # rows written before scrubbing existed are scrubbed here
        dump_only=True,
        allow_none=True,
        metadata={"type": "object", "description": ERROR_DESCRIPTION},
    )
    attempts = ma.fields.Integer(dump_only=True)
    progress = ma.fields.Float(
        dump_only=True,
        allow_none=True,
        metadata={"description": PROGRESS_DESCRIPTION},
    )
    created_at = ma.fields.AwareDateTime(dump_only=True)
    updated_at = ma.fields.AwareDateTime(dump_only=True)
    started_at = ma.fields.AwareDateTime(dump_only=True, allow_none=True)
    finished_at = ma.fields.AwareDateTime(dump_only=True, allow_none=True)


class BacktestSummarySchema(BacktestSchema):
    class Meta:
        exclude = ("summary",)
