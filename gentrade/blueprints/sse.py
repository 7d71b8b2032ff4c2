"""Server-sent events on the wire, written in one place: an event's name, its data as one line of JSON,
keep-alive comments, and the streaming response (no buffering by proxies, the app context kept).

Data may hold LangChain objects (messages, chunks): they are written as LangServe writes them, their
pydantic ``model_dump()``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Any

from flask import Response, stream_with_context
from pydantic import BaseModel

KEEP_ALIVE = ": keep-alive\n\n"


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def frame(event: str, data: Any = None) -> str:
    """One event; ``None`` data is an event without a data line (LangServe's ``end``)."""
    if data is None:
        return f"event: {event}\n\n"
    return f"event: {event}\ndata: {json.dumps(data, default=_jsonable)}\n\n"


def relay(events: Iterable[tuple[str, Any] | None], *, keep_alive_every: int = 1) -> Iterator[str]:
    """Frame ``(name, data)`` events; ``None`` means nothing new yet, and every ``keep_alive_every``-th one
    sends a keep-alive comment, so proxies do not cut an idle stream. Work that must outlive a client that
    disconnects runs elsewhere (``services.background_events``): closing this stops only the relaying."""
    idle = 0
    for event in events:
        if event is not None:
            yield frame(*event)
            continue
        idle += 1
        if idle % keep_alive_every == 0:
            yield KEEP_ALIVE


def response(stream: Iterator[str]) -> Response:
    return Response(
        stream_with_context(stream),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
