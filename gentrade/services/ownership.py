"""Load a row by its public id and check it belongs to the caller: 404 if absent, 403 if not theirs (FR.5).

The one place that decides whether a caller may use a row they name: every resource read, changed or
deleted by its id goes through an ``owned_*`` loader here (a new resource adds its own, built on
``_checked``), and a read whose one SQL statement fetched the owner's id beside the data calls :func:`check`.
Lists are not decided here: their queries select the caller's rows only.
"""

from __future__ import annotations

import uuid
from typing import Protocol, TypeVar

from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from gentrade.extensions import db
from gentrade.models import Backtest, Chat, DraftOutput, Strategy, User
from gentrade.services.errors import Forbidden, NotFound


class _Owned(Protocol):
    user_id: uuid.UUID


Row = TypeVar("Row", bound=_Owned)

# Built once (bound per call): most requests run one of these, and building one costs more than running it.
_CHAT_BY_THREAD = select(Chat).where(Chat.thread_id == bindparam("thread_id"))
# Its chat is needed for the thread id only (joined into the same statement): never load the chat's
# (possibly long) messages for it.
_STRATEGY_BY_ID = (
    select(Strategy)
    .where(Strategy.id == bindparam("strategy_id"))
    .options(joinedload(Strategy.chat).load_only(Chat.thread_id))
)


def check(caller_id: uuid.UUID, owner_id: uuid.UUID | None, what: str, field: str | None = None) -> None:
    """The rule itself: absent (no owner) is 404 (naming the body ``field`` the id came in, if any), another's
    is 403. Also for reads whose one statement fetched the owner's id beside the row's JSON."""
    if owner_id is None:
        raise NotFound(f"{what} not found", {field: ["Unknown."]} if field else None)
    if owner_id != caller_id:
        raise Forbidden(f"this {what} belongs to another user")


def belongs_to(user: User, row: _Owned) -> bool:
    """Whether ``row`` is the caller's, for the few rules that are not access (a key another user already
    holds is a conflict, not a 403)."""
    return row.user_id == user.id


def _checked(user: User, row: Row | None, what: str, field: str | None = None) -> Row:
    check(user.id, row.user_id if row is not None else None, what, field)
    assert row is not None
    return row


def owned_chat(user: User, thread_id: uuid.UUID) -> Chat:
    return _checked(user, db.session.scalar(_CHAT_BY_THREAD, {"thread_id": thread_id}), "chat")


def owned_chat_by_id(user: User, chat_id: uuid.UUID, field: str = "chat_id") -> Chat:
    """A chat named by its row ``id`` in a request body (the frontend's ``chat_id``)."""
    return _checked(user, db.session.get(Chat, chat_id), "chat", field)


def owned_strategy(user: User, strategy_id: uuid.UUID) -> Strategy:
    return _checked(user, db.session.scalar(_STRATEGY_BY_ID, {"strategy_id": strategy_id}), "strategy")


def owned_draft(user: User, tool_call_id: uuid.UUID) -> DraftOutput:
    """A strategy draft the agent showed, by the tool call id it was shown with."""
    return _checked(user, db.session.get(DraftOutput, tool_call_id), "strategy draft", "tool_call_id")


def owned_backtest(user: User, backtest_id: uuid.UUID) -> Backtest:
    """A backtest is its strategy's owner's."""
    backtest = db.session.get(Backtest, backtest_id)
    _checked(user, backtest.strategy if backtest is not None else None, "backtest")
    assert backtest is not None
    return backtest
