"""Load a row by its public id and check it belongs to the caller: 404 if absent, 403 if not theirs (FR.5)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from gentrade.extensions import db
from gentrade.models import Chat, Strategy, User
from gentrade.services.errors import Forbidden, NotFound


def owned_chat(user: User, thread_id: uuid.UUID) -> Chat:
    chat = db.session.scalar(select(Chat).where(Chat.thread_id == thread_id))
    if chat is None:
        raise NotFound("chat not found")
    if chat.user_id != user.id:
        raise Forbidden("this chat belongs to another user")
    return chat


def owned_strategy(user: User, strategy_id: uuid.UUID) -> Strategy:
    # Its chat is needed for the thread id only: never load the chat's (possibly long) messages for it.
    strategy = db.session.scalar(
        select(Strategy)
        .where(Strategy.id == strategy_id)
        .options(selectinload(Strategy.chat).load_only(Chat.thread_id))
    )
    if strategy is None:
        raise NotFound("strategy not found")
    if strategy.user_id != user.id:
        raise Forbidden("this strategy belongs to another user")
    return strategy
