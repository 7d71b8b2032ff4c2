"""Chat histories: one user's conversations with the agent (FR.8-16)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import defer

from gentrade.extensions import db
from gentrade.models import Chat, User, utcnow
from gentrade.services.errors import Forbidden, NotFound

_UNSET: Any = object()


def create(user: User, title: str | None = None, messages: list[dict[str, Any]] | None = None) -> Chat:
    now = utcnow()
    chat = Chat(user_id=user.id, title=title, messages=messages or [], created_at=now, updated_at=now)
    db.session.add(chat)
    db.session.commit()
    return chat


def list_page(user: User, page: int, page_size: int) -> tuple[list[Chat], int]:
    """One page of the user's chats, most recently updated first, and the total count."""
    total = db.session.scalar(select(func.count()).select_from(Chat).where(Chat.user_id == user.id)) or 0
    chats = db.session.scalars(
        select(Chat)
        .where(Chat.user_id == user.id)
        .order_by(Chat.updated_at.desc(), Chat.id)
        .offset((page - 1) * page_size)
        .limit(page_size)
        .options(defer(Chat.messages))
    ).all()
    return list(chats), total


def get_owned(user: User, thread_id: uuid.UUID) -> Chat:
    """The chat with this thread id: 404 when there is none, 403 when it is someone else's."""
    chat = db.session.scalar(select(Chat).where(Chat.thread_id == thread_id))
    if chat is None:
        raise NotFound("chat not found")
    if chat.user_id != user.id:
        raise Forbidden("this chat belongs to another user")
    return chat


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
    chat = get_owned(user, thread_id)
    db.session.delete(chat)
    db.session.commit()
