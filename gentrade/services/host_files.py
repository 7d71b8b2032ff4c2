"""This host's copies of users' files: written from the database before they are used, removed once the database
no longer has them. PostgreSQL is the source of truth, so no host needs another host's disk (issue 17).

A worker host writes a user's folder and strategy file just before a backtest runs (``materialize``); every
host removes the folders of deleted users, the files of deleted strategies and the results of deleted backtests
(``sweep``) when its processes start and hourly after that (``keep_swept``: each API worker, each Celery worker),
and worker hosts also at once when told (a broadcast after each deletion).

Races: a sweep lists a user's entries, then reads the database, under the user's lock. A backtest's row exists
before any host makes its results folder, a strategy's before a worker writes its file, and a deploy writes its
file and commits under that lock, so whatever a sweep listed and the database does not have is truly gone.
"""

from __future__ import annotations

import logging
import shutil
import threading
import uuid
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from gentrade.extensions import db
from gentrade.freqtrade.userdir import write_atomically
from gentrade.models import Backtest, Strategy
from gentrade.runtime import runtime
from gentrade.services import users

log = logging.getLogger(__name__)
SWEEP_EVERY_SECONDS = 3600.0


def materialize(clerk_id: str, strategy_name: str, code: str) -> Path:
    """The user's folder (made if this host has never seen the user) with the strategy's stored code in its file;
    the file is rewritten only when it differs. Returns the file."""
    dirs = runtime().user_dirs
    dirs.ensure(clerk_id)
    path = dirs.strategy_file(clerk_id, strategy_name)
    try:
        if path.read_text(encoding="utf-8") == code:
            return path
    except (FileNotFoundError, UnicodeDecodeError):
        pass
    write_atomically(path, code)
    log.info("wrote strategy %s of %s from the database", strategy_name, clerk_id)
    return path


def sweep(clerk_id: str | None = None) -> int:
    """Remove on this host what the database no longer has, of one user or of every user with a folder here.

    Returns how many folders and files went."""
    clerk_ids = [clerk_id] if clerk_id is not None else runtime().user_dirs.clerk_ids()
    return sum(_sweep_user(each) for each in clerk_ids)


def keep_swept(app: Flask, every: float = SWEEP_EVERY_SECONDS) -> threading.Thread:
    """Sweep this host now and then every ``every`` seconds, in a daemon thread (a greenlet under gevent): what a
    host missed of the deletions (it was down, a broadcast was lost, or it is an API host, which hears none)."""

    def loop() -> None:
        while True:
            with app.app_context():
                try:
                    sweep()
                except Exception:  # a database outage: the next round tries again
                    log.warning("could not sweep this host's folders", exc_info=True)
                finally:
                    db.session.remove()
            stop.wait(every)

    stop = threading.Event()  # never set: the thread lives as long as its process
    thread = threading.Thread(target=loop, name="sweep-host-files", daemon=True)
    thread.start()
    return thread


def _sweep_user(clerk_id: str) -> int:
    dirs = runtime().user_dirs
    base = dirs.path_for(clerk_id)
    try:
        users.lock(clerk_id)
        if not base.exists():
            return 0
        strategy_files = sorted((base / "user_data" / "strategies").glob("*.py"))
        results = _results_folders(base / "user_data" / "backtest_results")
        user = users.find(clerk_id)
        if user is None:  # deleted (rows cascade, a tombstone stops it coming back): the whole folder goes
            shutil.rmtree(base, ignore_errors=True)
            log.info("removed the folder of deleted user %s", clerk_id)
            return 1
        names = set(db.session.scalars(select(Strategy.name).where(Strategy.user_id == user.id)))
        backtests = set(db.session.scalars(select(Backtest.id).join(Strategy).where(Strategy.user_id == user.id)))
        removed = 0
        for path in strategy_files:
            if path.stem not in names:
                path.unlink(missing_ok=True)
                removed += 1
        for backtest_id, folder in results.items():
            if backtest_id not in backtests:
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        if removed:
            log.info("removed %d files and folders of %s's deleted strategies and backtests", removed, clerk_id)
        return removed
    finally:
        db.session.rollback()  # ends the read and releases the lock


def _results_folders(folder: Path) -> dict[uuid.UUID, Path]:
    """The per-backtest results folders (named by backtest id); anything else there is left alone."""
    found = {}
    for entry in folder.iterdir() if folder.is_dir() else ():
        try:
            backtest_id = uuid.UUID(entry.name)
        except ValueError:
            continue
        if str(backtest_id) == entry.name:
            found[backtest_id] = entry
    return found
