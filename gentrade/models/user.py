"""Users mirror Clerk accounts; deleted ones leave a tombstone so they cannot come back."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gentrade.models.base import Base, utcnow

if TYPE_CHECKING:
    from gentrade.models.chat import Chat
    from gentrade.models.strategy import Strategy

CLERK_ID_MAX_LENGTH = 64


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    clerk_id: Mapped[str] = mapped_column(String(CLERK_ID_MAX_LENGTH), unique=True)
    email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    chats: Mapped[list[Chat]] = relationship(back_populates="user", cascade="all, delete-orphan", passive_deletes=True)
    strategies: Mapped[list[Strategy]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )


class DeletedUser(Base):
    """Tombstone: a late token or a replayed ``user.created`` must not resurrect this account."""

    __tablename__ = "deleted_users"

    clerk_id: Mapped[str] = mapped_column(String(CLERK_ID_MAX_LENGTH), primary_key=True)
    deleted_at: Mapped[datetime] = mapped_column(default=utcnow)
