"""Who may run an agent turn now: one turn at a time per thread, and a few at once per user, across every
process and host.

The locks are held for as long as the turn runs and are released when it ends, whatever ends it; a
process that dies loses them with it, so nothing is ever left locked. PostgreSQL: session advisory
locks on a connection of the turn's own (outside the pool, so long turns never starve requests of
pooled connections). SQLite (the embedded default, one host): ``flock`` on files in the data folder.
Never blocks: a lock that is taken is an answer (409 or 429), not a wait.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import uuid
from pathlib import Path
from typing import IO, Protocol

import psycopg

from gentrade.database import libpq_url
from gentrade.settings import Settings

log = logging.getLogger(__name__)
THREAD_LOCK_SPACE = 0x61676E74  # first key of a thread's two-key advisory lock ("agnt")
USER_SLOT_SPACE = 0x61677500  # first key of a user's turn slot: this plus the slot's number ("agu")


def _lock_key(value: uuid.UUID) -> int:
    """A signed 32-bit key from a UUID (the advisory lock's second key)."""
    return int.from_bytes(hashlib.sha256(value.bytes).digest()[:4], "big", signed=True)


class TurnLock(Protocol):
    def release(self) -> None: ...


class _AdvisoryLocks:
    """Advisory locks on one connection; closing the connection would release them too."""

    def __init__(self, settings: Settings) -> None:
        self.connection = psycopg.connect(libpq_url(settings), autocommit=True, prepare_threshold=None)

    def take(self, space: int, key: int) -> bool:
        row = self.connection.execute("SELECT pg_try_advisory_lock(%s, %s)", (space, key)).fetchone()
        return bool(row and row[0])

    def release(self) -> None:
        try:
            self.connection.execute("SELECT pg_advisory_unlock_all()")
        except psycopg.Error:
            log.warning("could not unlock an agent turn's advisory locks; closing their connection drops them")
        finally:
            self.connection.close()


class _FileLocks:
    """``flock`` on files in the data folder: the embedded default's processes share one host."""

    def __init__(self, settings: Settings) -> None:
        self.folder = Path(settings.resolved_data_dir) / "locks" / "agent"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.files: list[IO[bytes]] = []  # flock is per open file: two turns in one process exclude too

    def take(self, space: int, key: int) -> bool:
        handle = (self.folder / f"{space:x}-{key & 0xFFFFFFFF:08x}.lock").open("ab")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self.files.append(handle)
        return True

    def release(self) -> None:
        for handle in self.files:
            handle.close()  # closing the file releases its flock
        self.files.clear()


class ThreadBusy(Exception):
    """Another turn runs on this thread."""


class UserBusy(Exception):
    """The user already runs as many turns as allowed."""


def lock_turn(settings: Settings, user_id: uuid.UUID, thread_id: uuid.UUID) -> TurnLock:
    """Take the thread's lock and one of the user's turn slots, or raise :class:`ThreadBusy` /
    :class:`UserBusy` having taken nothing. The caller releases the returned lock when the turn ends."""
    locks: _AdvisoryLocks | _FileLocks = (
        _AdvisoryLocks(settings) if settings.sqlalchemy_url.startswith("postgresql") else _FileLocks(settings)
    )
    try:
        if not locks.take(THREAD_LOCK_SPACE, _lock_key(thread_id)):
            raise ThreadBusy(str(thread_id))
        user_key = _lock_key(user_id)
        if not any(locks.take(USER_SLOT_SPACE + slot, user_key) for slot in range(settings.agent_concurrent_turns)):
            raise UserBusy(str(user_id))
    except BaseException:
        locks.release()
        raise
    log.debug("agent turn locks taken for thread %s (pid %d)", thread_id, os.getpid())
    return locks
