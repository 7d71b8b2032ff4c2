"""Every processed svix delivery, so that a replay of the same ``svix-id`` changes nothing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from gentrade.models.base import Base, utcnow


class WebhookEvent(Base):
    __tablename__ = "webhook_events"

    svix_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(128))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
