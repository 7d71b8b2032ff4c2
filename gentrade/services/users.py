"""Users: just-in-time provisioning, webhook upserts, and deletion with a tombstone.

Database changes here are staged in the caller's transaction (``stage_*``) or committed by the
use case itself; file-system effects always run after the commit, so a rolled-back transaction
never leaves a user directory behind and a deleted user's files go only once the rows are gone.
Every change to a user's existence (webhooks, provisioning on a first token) holds the user's lock,
and so does the file-system work after it: whatever the interleaving, a deleted user neither comes
back nor keeps a folder.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from gentrade.agents.checkpoints import delete_threads
from gentrade.extensions import db
from gentrade.models import Chat, DeletedUser, OpenedThread, User, utcnow
from gentrade.runtime import runtime
from gentrade.work_queue import publish_prune

log = logging.getLogger(__name__)
USER_LOCK_SPACE = 0x67656E74  # first key of the two-key advisory locks on a Clerk user ("gent")


def _insert_ignoring_conflicts(model: type, values: dict[str, Any]) -> None:
    """``INSERT … ON CONFLICT DO NOTHING`` on PostgreSQL and SQLite alike: concurrent creators race safely."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    db.session.execute(dialect.insert(model).values(**values).on_conflict_do_nothing())


def is_tombstoned(clerk_id: str) -> bool:
    return db.session.get(DeletedUser, clerk_id) is not None


# Built once: every authenticated request runs it, and building a statement costs more than running it.
_USER_BY_CLERK_ID = select(User).where(User.clerk_id == bindparam("clerk_id"))


def find(clerk_id: str) -> User | None:
    return db.session.scalar(_USER_BY_CLERK_ID, {"clerk_id": clerk_id})


def lock(clerk_id: str) -> None:
    """Hold the user's lock until the current transaction ends.

    Without it, under READ COMMITTED, a creation checks the tombstone before a concurrent deletion
    commits and inserts after it (the user comes back), and an update changes a row the deletion has
    just removed (a 500). SQLite serializes writers by itself.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(func.pg_advisory_xact_lock(USER_LOCK_SPACE, func.hashtext(clerk_id))))


def under_lock(clerk_id: str, work: Callable[[], None]) -> None:
    """Run file-system work in a short transaction holding the user's lock (it sees committed rows)."""
    try:
        lock(clerk_id)
        work()
    finally:
        db.session.rollback()  # nothing to keep; ends the transaction and releases the lock


def get_or_provision(clerk_id: str) -> User | None:
    """The user for a verified token, created on first sight; None for a deleted account.

    An existing row settles it in one query: deletion removes the row and writes the tombstone in
    one transaction, so only a missing row needs the tombstone check, under the user's lock.
    """
    user = find(clerk_id)
    if user is not None:
        return user
    db.session.commit()  # ends a read-only request's autocommit: the lock needs a real transaction
    lock(clerk_id)
    if is_tombstoned(clerk_id):
        db.session.rollback()
        return None
    _insert_ignoring_conflicts(User, {"clerk_id": clerk_id, "created_at": utcnow(), "updated_at": utcnow()})
    db.session.commit()
    under_lock(clerk_id, lambda: sync_directory(clerk_id))
    user = find(clerk_id)
    if user is not None:
        log.info("provisioned user %s on first request", clerk_id)
    return user


def stage_upsert(clerk_id: str, email: str | None, *, overwrite_email: bool = True) -> bool:
    """Create or update the user in the current transaction; False for a tombstoned id.

    ``overwrite_email=False`` sets the email only where none is known: a ``user.created`` is the
    account's oldest state, so an email a ``user.updated`` delivered first is newer than it.
    """
    if is_tombstoned(clerk_id):
        return False
    now = utcnow()
    _insert_ignoring_conflicts(User, {"clerk_id": clerk_id, "email": email, "created_at": now, "updated_at": now})
    user = find(clerk_id)
    if user is not None and email is not None and user.email != email and (overwrite_email or user.email is None):
        user.email = email
    return True


def thread_ids(clerk_id: str) -> list[str]:
    """The agent threads of a user (chats, and threads opened for chats not saved yet), to delete their
    checkpoints with the account."""
    chats = select(Chat.thread_id).join(User).where(User.clerk_id == clerk_id)
    opened = select(OpenedThread.thread_id).join(User, OpenedThread.user_id == User.id).where(User.clerk_id == clerk_id)
    return [str(thread_id) for thread_id in db.session.scalars(chats.union_all(opened))]


def stage_delete(clerk_id: str) -> None:
    """Delete the user (rows cascade) and leave a tombstone, in the current transaction."""
    db.session.execute(delete(User).where(User.clerk_id == clerk_id))
    _insert_ignoring_conflicts(DeletedUser, {"clerk_id": clerk_id, "deleted_at": utcnow()})


def sync_directory(clerk_id: str) -> None:
    """Create the folder of a user who still exists (a deletion may have committed since). Under :func:`lock`."""
    if find(clerk_id) is not None:
        runtime().user_dirs.ensure(clerk_id)


def _remove_directory(clerk_id: str) -> None:
    if runtime().user_dirs.delete(clerk_id):
        log.info("removed the files of deleted user %s", clerk_id)


def remove_leftovers(clerk_id: str, threads: list[str]) -> None:
    """After the rows are gone: the user's files (under the user's lock) here and on every worker host, then the
    agent checkpoints.

    Not both under the lock: the checkpointer's first use creates an index CONCURRENTLY, which waits
    for every open transaction, ours included, and would never return.
    """
    under_lock(clerk_id, lambda: _remove_directory(clerk_id))
    publish_prune(clerk_id)  # the copies on the worker hosts
    delete_threads(runtime().settings, threads)
