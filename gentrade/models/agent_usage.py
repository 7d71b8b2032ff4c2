"""What a user's agent turns used, for the per-user limits: when each recent turn started, and the tokens
spent on a hosted model per UTC day. Kept in the database, so every process and host counts the same."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from gentrade.models.base import Base, utcnow


class AgentTurnStart(Base):
    """One turn admitted; rows older than the rate window are deleted as new turns start."""

    __tablename__ = "agent_turn_starts"
    __table_args__ = (Index("ix_agent_turn_starts_user_id_started_at", "user_id", "started_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)


class AgentTokenUsage(Base):
    """Tokens (input + output, from the model's ``usage_metadata``) a user's turns spent on one UTC day."""

    __tablename__ = "agent_token_usage"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    tokens: Mapped[int] = mapped_column(BigInteger, default=0)
