"""Failures a use case reports; the web layer maps each to its HTTP status."""

from __future__ import annotations


class ServiceError(Exception):
    status = 400

    def __init__(
        self, message: str, errors: dict[str, object] | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}
        self.headers = headers or {}  # e.g. ``Retry-After`` on a 429


class NotFound(ServiceError):
    status = 404


class Forbidden(ServiceError):
    status = 403


class Conflict(ServiceError):
    status = 409


class Invalid(ServiceError):
    status = 422


class TooManyRequests(ServiceError):
    """A per-user limit; ``retry_after`` (seconds) tells the client when to try again."""

    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, {}, {"Retry-After": str(max(1, retry_after))})


class Unavailable(ServiceError):
    """A dependency (the task queue, the exchange's market list) cannot answer now; ``retry_after`` (seconds), when
    known, tells the client when to try again."""

    status = 503

    def __init__(self, message: str, errors: dict[str, object] | None = None, retry_after: int | None = None) -> None:
        super().__init__(
            message, errors, {"Retry-After": str(max(1, retry_after))} if retry_after is not None else None
        )
