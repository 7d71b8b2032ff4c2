"""Load a row by its public id and check it belongs to the caller: 404 if absent, 403 if not theirs (FR.5)."""

from __future__ import annotations

import uuid

from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from gentrade.extensions import db
from gentrade.models import Chat, Strategy, User
from gentrade.services.errors import Forbidden, NotFound

# Built once (bound per call): most requests run one of these, and building one costs more than running it.
_CHAT_BY_THREAD = select(Chat).where(Chat.thread_id == bindparam("thread_id"))
# Its chat is needed for the thread id only (joined into the same statement): never load the chat's
# (possibly long) messages for it.
_STRATEGY_BY_ID = (
    select(Strategy)
    .where(Strategy.id == bindparam("strategy_id"))
    .options(joinedload(Strategy.chat).load_only(Chat.thread_id))
)


def owned_chat(user: User, thread_id: uuid.UUID) -> Chat:
    chat = db.session.scalar(_CHAT_BY_THREAD, {"thread_id": thread_id})
    if chat is None:
        raise NotFound("chat not found")
    if chat.user_id != user.id:
        raise Forbidden("this chat belongs to another user")
    return chat


def owned_strategy(user: User, strategy_id: uuid.UUID) -> Strategy:
    strategy = db.session.scalar(_STRATEGY_BY_ID, {"strategy_id": strategy_id})
    if strategy is None:
        raise NotFound("strategy not found")
    if strategy.user_id != user.id:
        raise Forbidden("this strategy belongs to another user")
    return strategy
