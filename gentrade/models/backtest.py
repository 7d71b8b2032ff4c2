"""A backtest run of a strategy; its status moves forward and is written as it happens."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import CheckConstraint, Date, Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gentrade.models.base import Base, JsonDocument, utcnow

if TYPE_CHECKING:
    from gentrade.models.strategy import Strategy


class BacktestStatus(StrEnum):
    QUEUED = "queued"
    DOWNLOADING_DATA = "downloading_data"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE_STATUSES = (BacktestStatus.QUEUED, BacktestStatus.DOWNLOADING_DATA, BacktestStatus.RUNNING)
FINAL_STATUSES = (BacktestStatus.FINISHED, BacktestStatus.FAILED, BacktestStatus.CANCELLED)


_STATUSES = ", ".join(f"'{status.value}'" for status in BacktestStatus)


class Backtest(Base):
    __tablename__ = "backtests"
    __table_args__ = (
        CheckConstraint(f"status IN ({_STATUSES})", name="status"),
        Index("ix_backtests_strategy_id_created_at", "strategy_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    strategy_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("strategies.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(32), default=BacktestStatus.QUEUED.value, index=True)
    timerange_start: Mapped[date] = mapped_column(Date)
    timerange_end: Mapped[date] = mapped_column(Date)
    pairs: Mapped[list[str]] = mapped_column(JsonDocument)
    timeframe: Mapped[str] = mapped_column(String(8))
    result_path: Mapped[str | None] = mapped_column(String(1024))
    summary: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument)
    error: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument)
    task_id: Mapped[str | None] = mapped_column(String(255))
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # Written by the worker while it works on the backtest; a stale one means the worker is gone.
    heartbeat_at: Mapped[datetime | None]
    progress: Mapped[float | None] = mapped_column(Float)  # Freqtrade's own, 0..1, while running; 1 once finished

    strategy: Mapped[Strategy] = relationship(back_populates="backtests")
