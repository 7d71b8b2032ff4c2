"""What the agent's threads produced, kept beside LangGraph's checkpoints.

``DraftOutput`` is one ``StrategyDraftOutputTool`` call: the structured draft it showed, keyed by
the tool call id the client sees (the frontend saves a draft card by that id and may have edited
its text; the structured draft stays the source of truth). ``OpenedThread`` is a thread an agent
turn opened for a chat that does not exist yet (the frontend's ``"new"``): it belongs to one user
and waits for that user to save the chat under an id of the client's choosing.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from gentrade.models.base import Base, JsonDocument, utcnow

OPENING_DIGEST_LENGTH = 64  # sha256, hex


class DraftOutput(Base):
    __tablename__ = "draft_outputs"

    tool_call_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    thread_id: Mapped[uuid.UUID] = mapped_column(index=True)
    draft: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OpenedThread(Base):
    __tablename__ = "opened_threads"
    __table_args__ = (Index("ix_opened_threads_user_id_created_at", "user_id", "created_at"),)

    thread_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # sha256 of the first message, normalised: how the chat the client saves later is matched to it.
    opening_digest: Mapped[str] = mapped_column(String(OPENING_DIGEST_LENGTH))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
