"""Chat histories: one user's conversations with the agent (FR.8-16)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from gentrade.agents.checkpoints import delete_threads
from gentrade.extensions import db
from gentrade.models import Chat, OpenedThread, Strategy, User, utcnow
from gentrade.models.chat import TITLE_MAX_LENGTH
from gentrade.runtime import runtime
from gentrade.services import agent_threads, json_reads, ownership, strategies
from gentrade.services.errors import Conflict
from gentrade.services.json_reads import iso_datetime
from gentrade.services.pagination import MAX_OFFSET, rows_page_of
from gentrade.work_queue import publish_prune

_UNSET: Any = object()


def create(
    user: User,
    title: str | None = None,
    messages: list[dict[str, Any]] | None = None,
    thread_id: uuid.UUID | None = None,
) -> tuple[Chat, bool]:
    """A new chat, or (for a ``thread_id`` the caller already saved) that chat updated; and whether it is new.

    A chat saved under the client's own ``thread_id`` takes over the agent thread its messages continue
    (the frontend's first turn runs on ``"new"``), so the agent knows the conversation from then on.
    """
    if thread_id is not None:
        existing = _saved_before(user, thread_id)
        if existing is not None:
            return update(user, thread_id, title=title, messages=messages if messages is not None else _UNSET), False
        # Whatever a crash may have left under this id is not this chat's: the thread starts clean.
        delete_threads(runtime().settings, [str(thread_id)])
    now = utcnow()
    chat = Chat(
        thread_id=thread_id or uuid.uuid4(),
        user_id=user.id,
        title=shorten(title),
        messages=messages or [],
        created_at=now,
        updated_at=now,
    )
    db.session.add(chat)
    try:
        db.session.flush()
    except IntegrityError:  # the same chat saved twice at once: the other save created it
        db.session.rollback()
        if thread_id is None or _saved_before(user, thread_id) is None:
            raise
        return update(user, thread_id, title=title, messages=messages if messages is not None else _UNSET), False
    opened = agent_threads.stage_claim(user, chat, chat.messages) if thread_id is not None else None
    db.session.commit()
    if opened is not None:
        delete_threads(runtime().settings, [str(opened)])
    return chat, True


def _saved_before(user: User, thread_id: uuid.UUID) -> Chat | None:
    """The caller's chat under ``thread_id``, or None when the id is free.

    A uniqueness rule, not an access check: a client saving under a ``thread_id`` of its own choosing creates a
    chat with that key, and keys are unique across users; so an id another user's chat (or any opened agent
    thread) holds is a 409 "already used", never a 403 that would confirm someone else's chat.
    """
    chat = db.session.scalar(select(Chat).where(Chat.thread_id == thread_id))
    if chat is None:
        if db.session.get(OpenedThread, thread_id) is not None:
            raise _thread_id_taken()
        return None
    if not ownership.belongs_to(user, chat):
        raise _thread_id_taken()
    return chat


def _thread_id_taken() -> Conflict:
    return Conflict("this thread_id is already used", {"thread_id": ["Already used."]})


def shorten(title: str | None) -> str | None:
    """Titles longer than the column are cut at a word (the frontend titles a chat by its first message)."""
    if title is None or len(title) <= TITLE_MAX_LENGTH:
        return title
    return title[: TITLE_MAX_LENGTH - 1].rsplit(" ", 1)[0] + "…"


# Built once (bound per call): the list is the most read route, and building the statement cost more than running it.
_SUMMARIES = (
    select(Chat.id, Chat.thread_id, Chat.title, Chat.created_at, Chat.updated_at)
    .where(Chat.user_id == bindparam("user_id"))
    .order_by(Chat.updated_at.desc(), Chat.id)
)


def list_page(user: User, page: int, page_size: int) -> tuple[list[Mapping[str, Any]], int]:
    """One page of the user's chat summaries (no messages), most recently updated first, and the total."""
    return rows_page_of(_SUMMARIES, page, page_size, {"user_id": user.id})


# The same page as ``ChatSummarySchema`` dumps it (keys sorted, as Flask writes them), with the total and the
# caller's user row: one statement. Constants only are formatted in; values are bound.
_SUMMARIES_JSON = f"""
SELECT (SELECT count(*) FROM chats WHERE user_id = u.id) AS total,
       (SELECT coalesce(json_agg(json_build_object(
                   'created_at', {iso_datetime("page.created_at")},
                   'id', page.id,
                   'thread_id', page.thread_id,
                   'title', page.title,
                   'updated_at', {iso_datetime("page.updated_at")}
               ) ORDER BY page.updated_at DESC, page.id), '[]')::text
          FROM (SELECT id, thread_id, title, created_at, updated_at FROM chats WHERE user_id = u.id
                ORDER BY updated_at DESC, id LIMIT %(limit)s OFFSET %(offset)s) AS page) AS items
  FROM users AS u
 WHERE u.clerk_id = %(clerk_id)s
"""  # noqa: S608


def list_page_json(clerk_id: str, page: int, page_size: int, account: Callable[[], User]) -> tuple[str, int]:
    """:func:`list_page` as the response's JSON text, and the total, read with the caller's user row by Clerk id.

    ``account`` is called when there is no such row yet (it provisions the user, who has no chats, or
    refuses a deleted account), so no request pays for a separate user lookup.
    """
    offset = min((page - 1) * page_size, MAX_OFFSET)  # past any table's end either way
    row = json_reads.fetch_one(_SUMMARIES_JSON, {"clerk_id": clerk_id, "limit": page_size, "offset": offset})
    if row is None:
        account()
        return "[]", 0
    total, items = row
    return items, total


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
        chat.title = shorten(title)
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
    agent_threads.stage_forget([chat.thread_id])
    db.session.delete(chat)
    db.session.commit()
    for clean_up in clean_ups:
        clean_up()
    if clean_ups:
        publish_prune(user.clerk_id)  # the strategies' copies on the worker hosts
    delete_threads(runtime().settings, [str(thread_id)])
