"""Agent threads beyond their checkpoints: threads opened before their chat exists, and the drafts shown.

The frontend starts a chat with the thread id ``"new"`` and saves it, under a UUID of its own,
only once the first answer is complete. So a ``"new"`` turn runs on a fresh thread that belongs
to the caller alone (an ``OpenedThread``); when that caller saves a chat whose opening matches,
the chat takes the thread over (its checkpoint and its drafts) and the opened thread is gone.
Threads nobody claims expire. Every draft a turn shows is kept by its tool call id
(``DraftOutput``), so a draft card saved later is deployed from the structured draft, not its text.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update

from gentrade.agents.checkpoints import copy_latest, delete_threads
from gentrade.extensions import db
from gentrade.models import Chat, DraftOutput, OpenedThread, User, utcnow
from gentrade.runtime import runtime

log = logging.getLogger(__name__)
OPENED_THREAD_LIFETIME = timedelta(hours=24)
NEW_THREAD_REFERENCES = frozenset({"", "new"})


def opening_digest(text: str) -> str:
    """How a saved chat is matched to the thread its first message opened (whitespace-insensitive)."""
    return hashlib.sha256(" ".join(text.split()).encode()).hexdigest()


def open_thread(user: User, first_message: str) -> uuid.UUID:
    """A fresh thread for a chat the client has not saved yet; only ``user`` can ever claim it."""
    thread_id = uuid.uuid4()
    db.session.add(OpenedThread(thread_id=thread_id, user_id=user.id, opening_digest=opening_digest(first_message)))
    db.session.commit()
    return thread_id


def record_draft(user_id: uuid.UUID, thread_id: uuid.UUID, tool_call_id: str, draft: Mapping[str, Any]) -> None:
    """Keep the structured draft a turn showed, by the tool call id the client will save it under."""
    db.session.add(
        DraftOutput(tool_call_id=uuid.UUID(tool_call_id), user_id=user_id, thread_id=thread_id, draft=dict(draft))
    )
    db.session.commit()


def stage_claim(user: User, chat: Chat, messages: Iterable[Mapping[str, Any]]) -> uuid.UUID | None:
    """Hand the caller's opened thread that ``messages`` continue over to ``chat`` (in the current
    transaction; the checkpoint is copied now). Returns the opened thread, to forget once committed.

    A thread matches when the messages carry one of its drafts' tool call ids, or else when their first
    user message opened it; the newest match wins. Only the caller's own, unexpired threads are looked at.
    """
    messages = list(messages)
    candidates = db.session.scalars(
        select(OpenedThread)
        .where(OpenedThread.user_id == user.id, OpenedThread.created_at > utcnow() - OPENED_THREAD_LIFETIME)
        .order_by(OpenedThread.created_at.desc())
    ).all()
    if not candidates:
        return None
    opened = _by_tool_calls(candidates, messages) or _by_opening(candidates, messages)
    if opened is None:
        return None
    copy_latest(runtime().settings, str(opened.thread_id), str(chat.thread_id))
    db.session.execute(
        update(DraftOutput).where(DraftOutput.thread_id == opened.thread_id).values(thread_id=chat.thread_id)
    )
    db.session.delete(opened)
    log.info("chat %s took over the opened thread %s", chat.thread_id, opened.thread_id)
    return opened.thread_id


def _by_tool_calls(candidates: list[OpenedThread], messages: list[Mapping[str, Any]]) -> OpenedThread | None:
    call_ids = set()
    for message in messages:
        for invocation in message.get("toolInvocations") or []:
            try:
                call_ids.add(uuid.UUID(str(invocation.get("toolCallId"))))
            except (ValueError, AttributeError):
                continue
    if not call_ids:
        return None
    threads = set(db.session.scalars(select(DraftOutput.thread_id).where(DraftOutput.tool_call_id.in_(call_ids))).all())
    return next((opened for opened in candidates if opened.thread_id in threads), None)


def _by_opening(candidates: list[OpenedThread], messages: list[Mapping[str, Any]]) -> OpenedThread | None:
    first = next((m for m in messages if m.get("role") == "user" and isinstance(m.get("content"), str)), None)
    if first is None:
        return None
    digest = opening_digest(first["content"])
    return next((opened for opened in candidates if opened.opening_digest == digest), None)


def stage_forget(thread_ids: Iterable[uuid.UUID]) -> None:
    """Drop the drafts shown in these threads (their chat is being deleted), in the current transaction."""
    ids = list(thread_ids)
    if ids:
        db.session.execute(delete(DraftOutput).where(DraftOutput.thread_id.in_(ids)))


def expire_opened_threads() -> int:
    """Forget opened threads nobody claimed in time: rows, drafts and checkpoints. Returns how many."""
    expired = list(
        db.session.scalars(
            select(OpenedThread.thread_id).where(OpenedThread.created_at <= utcnow() - OPENED_THREAD_LIFETIME)
        ).all()
    )
    if not expired:
        return 0
    stage_forget(expired)
    db.session.execute(delete(OpenedThread).where(OpenedThread.thread_id.in_(expired)))
    db.session.commit()
    delete_threads(runtime().settings, [str(thread_id) for thread_id in expired])
    return len(expired)
