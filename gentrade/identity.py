"""Clerk user ids: the one check every id passes before it reaches the database or a path."""

from __future__ import annotations

import re

from gentrade.models.user import CLERK_ID_MAX_LENGTH

# Clerk ids look like ``user_2abcDEF123``: a fixed prefix and base62, nothing a path could abuse.
CLERK_ID_PATTERN = re.compile(rf"user_[A-Za-z0-9]{{1,{CLERK_ID_MAX_LENGTH - len('user_')}}}")


class InvalidClerkId(ValueError):
    """The id is not a Clerk user id; it must not be used anywhere."""


def is_valid_clerk_id(value: object) -> bool:
    return isinstance(value, str) and CLERK_ID_PATTERN.fullmatch(value) is not None


def require_clerk_id(value: object) -> str:
    if not is_valid_clerk_id(value):
        raise InvalidClerkId(f"not a Clerk user id: {value!r:.80}")
    assert isinstance(value, str)
    return value
