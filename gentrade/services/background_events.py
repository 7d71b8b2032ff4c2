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
from typing import TypeVar

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
