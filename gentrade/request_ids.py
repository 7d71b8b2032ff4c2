"""A request id on every log record and every response: the client's ``X-Request-ID`` when it is safe to echo,
else a new one. Its own module because services (an agent turn that outlives its request) carry it too.
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from flask import g, has_request_context, request

REQUEST_ID_HEADER = "X-Request-ID"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def current_request_id() -> str:
    if not has_request_context():
        return "-"
    if "request_id" not in g:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
    return g.request_id


def install_request_id_logging() -> None:
    """Every log record, whichever handler writes it, carries the request id (``-`` outside a request)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_adds_request_id", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = current_request_id()
        return record

    factory._adds_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
