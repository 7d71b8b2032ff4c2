"""Events produced off the request: a turn runs in a thread of its own (a greenlet under gunicorn's gevent
workers, which patch ``threading``), and the request relays what it produces as it comes.

Why: a model call can be silent for a minute. The stream must send its headers and a first event at
once and a keep-alive while the call runs, which a request that makes the call itself cannot do. The
producer runs to its end in its own app context (its own database session) whether or not anyone
still reads, so a client that leaves never cuts a turn in half; ``finished`` runs once it is over.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import current_app

log = logging.getLogger(__name__)
T = TypeVar("T")
_DONE = object()


def in_background(
    produce: Callable[[], Iterator[T]], *, idle_seconds: float, finished: Callable[[], None], name: str
) -> Iterator[T | None]:
    """Start ``produce`` in a thread and yield its items as they come; ``None`` after each ``idle_seconds``
    without one (the caller sends a keep-alive). Ends when the producer does."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    items: queue.Queue[object] = queue.Queue()

    def run() -> None:
        try:
            with app.app_context():
                for item in produce():
                    items.put(item)
        except Exception:
            log.exception("%s failed outside its own error handling", name)
        finally:
            try:
                finished()
            finally:
                items.put(_DONE)

    threading.Thread(target=run, name=name, daemon=True).start()
    while True:
        try:
            item = items.get(timeout=idle_seconds)
        except queue.Empty:
            yield None
            continue
        if item is _DONE:
            return
        yield item  # type: ignore[misc]


@dataclass(frozen=True)
class Wire:
    """How a protocol opens and closes a turn's stream."""

    first: tuple[str, Any] | None  # sent at once; ``None`` is a comment
    end: tuple[str, Any]
    end_after_error: bool  # LangServe's ``error`` is the last event; ours is followed by ``end``


def streamed_turn(
    produce: Callable[[], Iterator[tuple[str, Any]]],
    wire: Wire,
    idle_seconds: float,
    release: Callable[[], None],
    name: str,
) -> Iterator[tuple[str, Any] | None]:
    """``wire.first`` at once, then ``produce``'s events from the background, with ``None`` (a keep-alive)
    while it is silent, then ``wire.end``. ``release`` (the turn's locks) runs when the turn is over, before
    ``end`` is sent, so a client that starts its next turn on ``end`` finds the chat free."""
    handed_over = False
    try:
        yield wire.first
        handed_over = True  # from here the background turn releases when it ends
        failed = False
        for event in in_background(produce, idle_seconds=idle_seconds, finished=release, name=name):
            failed = failed or (event is not None and event[0] == "error")
            yield event
        if wire.end_after_error or not failed:
            yield wire.end
    finally:
        if not handed_over:  # the client left before the turn started: it never will
            release()
