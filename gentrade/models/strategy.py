"""A deployed strategy: reviewed Freqtrade code, its file, and the draft it came from or, for a strategy
brought as code (no draft), what the Freqtrade check read off its class."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gentrade.models.base import Base, JsonDocument, utcnow

if TYPE_CHECKING:
    from gentrade.models.backtest import Backtest
    from gentrade.models.chat import Chat
    from gentrade.models.user import User


class Strategy(Base):
    __tablename__ = "strategies"
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_strategies_user_id_name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The service deletes a chat's strategies (and their files) itself; the database only unlinks.
    chat_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("chats.id", ondelete="SET NULL"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    code: Mapped[str] = mapped_column(Text)
    file_path: Mapped[str] = mapped_column(String(1024))
    draft: Mapped[dict[str, Any]] = mapped_column(JsonDocument)  # {} for a strategy brought as code
    # gentrade.strategies.loaded: timeframe, can_short, startup candles, informative data; None with a draft
    loaded: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship(back_populates="strategies")
    chat: Mapped[Chat | None] = relationship()
    backtests: Mapped[list[Backtest]] = relationship(
        back_populates="strategy", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def timeframe(self) -> str | None:
        """The draft's timeframe, else the one the check read off the class."""
        return self.draft.get("timeframe") or (self.loaded or {}).get("timeframe")
