"""Server-sent events read back into ``(event, data)`` pairs: the one reader for every client of ours (the
demo, the benchmarks, the tests). ``blueprints/sse.py`` is its writer: an ``event:`` line, at most one
``data:`` line of JSON, a blank line; comment lines (keep-alives) carry nothing.

An event without a data line (LangServe's ``end``) reads as ``(event, None)``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

Event = tuple[str, Any]


class Reader:
    """Fed one line at a time (without its line break), as a streaming client receives them: returns an
    event when the blank line that ends it arrives, else ``None``."""

    def __init__(self) -> None:
        self._event: str | None = None
        self._data: str | None = None

    def feed(self, line: str) -> Event | None:
        line = line.rstrip("\r\n")
        if not line:
            event, data = self._event, self._data
            self._event = self._data = None
            if event is None:
                return None
            return event, json.loads(data) if data is not None else None
        if line.startswith(":"):
            return None
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            self._event = value
        elif field == "data":
            self._data = value if self._data is None else f"{self._data}\n{value}"
        return None


def events(lines: Iterable[str]) -> Iterator[Event]:
    """Events as the lines arrive (``requests``' ``iter_lines(decode_unicode=True)``, say)."""
    reader = Reader()
    for line in lines:
        event = reader.feed(line)
        if event is not None:
            yield event
    last = reader.feed("")  # a stream cut off after its last data line still yields that event
    if last is not None:
        yield last


def parse(text: str) -> list[Event]:
    """A whole response body's events, in order."""
    return list(events(text.split("\n")))
