"""Chat histories: one user's conversations with the agent (FR.8-16)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, select

from gentrade.agents.checkpoints import delete_threads
from gentrade.extensions import db
from gentrade.models import Chat, Strategy, User, utcnow
from gentrade.runtime import runtime
from gentrade.services import ownership, strategies
from gentrade.services.pagination import rows_page_of

_UNSET: Any = object()


def create(user: User, title: str | None = None, messages: list[dict[str, Any]] | None = None) -> Chat:
    now = utcnow()
    chat = Chat(user_id=user.id, title=title, messages=messages or [], created_at=now, updated_at=now)
    db.session.add(chat)
    db.session.commit()
    return chat


# Built once (bound per call): the list is the most read route, and building the statement cost more than running it.
_SUMMARIES = (
    select(Chat.id, Chat.thread_id, Chat.title, Chat.created_at, Chat.updated_at)
    .where(Chat.user_id == bindparam("user_id"))
    .order_by(Chat.updated_at.desc(), Chat.id)
)


def list_page(user: User, page: int, page_size: int) -> tuple[list[Mapping[str, Any]], int]:
    """One page of the user's chat summaries (no messages), most recently updated first, and the total."""
    return rows_page_of(_SUMMARIES, page, page_size, {"user_id": user.id})


get_owned = ownership.owned_chat


def update(
    user: User,
    thread_id: uuid.UUID,
    *,
    title: str | None = _UNSET,
    messages: list[dict[str, Any]] = _UNSET,
) -> Chat:
    chat = get_owned(user, thread_id)
    if title is not _UNSET:
        chat.title = title
    if messages is not _UNSET:
        chat.messages = messages
    chat.updated_at = utcnow()
    db.session.commit()
    return chat


def delete(user: User, thread_id: uuid.UUID) -> None:
    """Delete the chat, the strategies made from it (rows, files, backtests) and its agent checkpoints."""
    chat = get_owned(user, thread_id)
    made_here = db.session.scalars(select(Strategy).where(Strategy.chat_id == chat.id)).all()
    clean_ups = [strategies.stage_delete(user, strategy) for strategy in made_here]
    db.session.delete(chat)
    db.session.commit()
    for clean_up in clean_ups:
        clean_up()
    delete_threads(runtime().settings, [str(thread_id)])
