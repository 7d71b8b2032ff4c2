"""What a backtest's error may show its user: the message and the log's last lines without server internals.

A failed run's detail is the tail of Freqtrade's log, and a Python traceback there names the server's folders (the
data folder, the virtualenv's site-packages, the project). The worker's log keeps the whole text with the
backtest's id; the row and the API carry this scrubbed copy, built by one function used on every write
(``backtest_state.user_error``) and again on every read (rows written before it existed):

* no traceback frames: ``Traceback (most recent call last):`` and each ``File "...", line N, in f`` with its source
  line go; a frame in the user's own strategy stays as ``in your strategy X.py, line N, in f`` (it is theirs);
* no absolute paths: one inside a user folder becomes relative to it (``user_data/strategies/X.py``), the market
  data's to ``market_data/``, a library's to its package (``freqtrade/x.py``), any other its file name;
* no credentials in a URL (``amqp://user:password@host`` becomes ``amqp://***@host``).

It never raises and is idempotent: scrubbing a scrubbed text changes nothing.
"""

from __future__ import annotations

import re
from typing import Any

MAX_CHARS = 8000  # a detail is the log's last 60 lines; more is never shown
TRACEBACK_HEAD = re.compile(
    r"^\s*(Traceback \(most recent call last\):|During handling of the above exception, another exception occurred:"
    r"|The above exception was the direct cause of the following exception:|\[Previous line repeated \d+ more times\])"
)
FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)(?:, in (?P<where>.+))?$')
# An absolute path: starts at a slash not preceded by a word, a dot, a colon or another slash (no URL, no a/b).
ABSOLUTE_PATH = re.compile(r"(?<![\w.:/~-])/(?:[\w.@+=,~-]+/)*[\w.@+=,~-]+/?")
URL_CREDENTIALS = re.compile(r"\b([a-z][a-z0-9+.-]*://)[^/\s:@]+(?::[^/\s@]*)?@", re.IGNORECASE)
# Where a path stops being the server's: the part from here on is what a user (or a library's docs) knows.
KEPT_FROM = (("/user_data", "user_data"), ("/market_data", "market_data"))
LIBRARY_ROOTS = ("/site-packages/", "/dist-packages/")
STRATEGY_FOLDER = "/strategies/"


def scrub(text: Any) -> Any:
    """``text`` without traceback frames, server paths or URL credentials; the strings in a structured detail
    (the data check's problems) likewise; anything else as it is."""
    if isinstance(text, dict):
        return {key: scrub(value) for key, value in text.items()}
    if isinstance(text, list):
        return [scrub(value) for value in text]
    if not isinstance(text, str):
        return text
    lines: list[str] = []
    in_frame = False
    for line in text.splitlines():
        frame = FRAME.match(line)
        if frame is not None:
            in_frame = True
            if STRATEGY_FOLDER in frame["file"]:
                where = f", in {frame['where']}" if frame["where"] else ""
                lines.append(f"  in your strategy {frame['file'].rsplit('/', 1)[-1]}, line {frame['line']}{where}")
            continue
        if in_frame and line.startswith("    "):  # the frame's source line and its ^^^ markers
            continue
        in_frame = False
        if TRACEBACK_HEAD.match(line):
            continue
        lines.append(_paths(line))
    return "\n".join(lines)[-MAX_CHARS:]


def _paths(line: str) -> str:
    line = URL_CREDENTIALS.sub(r"\1***@", line)
    return ABSOLUTE_PATH.sub(lambda match: _public_path(match.group(0)), line)


def _public_path(path: str) -> str:
    for marker, kept in KEPT_FROM:
        if path.rstrip("/").endswith(marker):
            return kept
        if marker + "/" in path:
            return f"{kept}/{path.split(marker + '/', 1)[1]}"
    for root in LIBRARY_ROOTS:
        if root in path:
            return path.split(root, 1)[1]
    name = path.rstrip("/").rsplit("/", 1)[-1]
    return name or "/"


def public_error(error: dict[str, Any] | None) -> dict[str, Any] | None:
    """A backtest's stored ``error`` as a user may see it: ``message`` and ``detail`` scrubbed."""
    if not error:
        return error
    return {**error, "message": scrub(error.get("message")), "detail": scrub(error.get("detail"))}
