"""Request authentication: the bearer token becomes ``g.current_user`` or a 401 JSON error."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import g, request
from flask_smorest import abort
from werkzeug.exceptions import HTTPException

from gentrade import devkeys
from gentrade.database import read_without_transaction
from gentrade.models import User
from gentrade.runtime import runtime
from gentrade.services import users
from gentrade.settings import Settings
from gentrade.tokens import InvalidToken, JwksKeys, KeySource, KeysUnavailable, StaticKey, TokenVerifier

F = TypeVar("F", bound=Callable[..., Any])
BEARER_SCHEME = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="gentrade"'}
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def build_verifier(settings: Settings) -> TokenVerifier:
    """Clerk's keys when configured (then development keys are never trusted), else the development key."""
    keys: KeySource
    if settings.clerk_jwt_key is not None:
        keys = StaticKey.from_pem(settings.clerk_jwt_key.get_secret_value())
    elif settings.clerk_jwks_url:
        keys = JwksKeys(
            settings.clerk_jwks_url,
            cache_seconds=settings.jwks_cache_seconds,
            min_refresh_seconds=settings.jwks_min_refresh_seconds,
        )
    else:
        keys = StaticKey.from_pem(devkeys.public_key_pem(settings.resolved_data_dir))
    return TokenVerifier(
        keys=keys,
        issuer=settings.clerk_issuer,
        authorized_parties=tuple(settings.clerk_authorized_parties),
        leeway_seconds=settings.jwt_leeway_seconds,
    )


def _bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        abort(401, message="missing bearer token", headers=_CHALLENGE)
    return token.strip()


def verified_clerk_id(*, reads_in_session: bool = True) -> str:
    """The Clerk id of a verified bearer token (else a 401, or a 503 without keys); a read's session then runs
    without a transaction (unless ``reads_in_session`` is False: the view reads on a connection of its own)."""
    try:
        claims = runtime().token_verifier.verify(_bearer_token())
    except InvalidToken as exc:
        abort(401, message=str(exc), headers=_CHALLENGE)
    except KeysUnavailable:
        abort(503, message="token keys unavailable, try again shortly")
    if reads_in_session and request.method in READ_ONLY_METHODS:
        read_without_transaction()
    return cast(str, claims["sub"])


def account(clerk_id: str) -> User:
    """The user of a verified Clerk id, provisioned on first sight; a 401 for a deleted account."""
    user = users.get_or_provision(clerk_id)
    if user is None:
        abort(401, message="this account has been deleted", headers=_CHALLENGE)
    return user


def login_required(view: F) -> F:
    """Verify the bearer token before the view runs; the view reads :func:`current_user`."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g.clerk_id = verified_clerk_id()
        g.current_user = account(g.clerk_id)
        return view(*args, **kwargs)

    return cast(F, wrapper)


def caller_read_by_view(view: F) -> F:
    """For the hottest reads: verify the bearer token only, and let the view's one statement read the caller's
    user row with the data (by :func:`current_clerk_id`), a round trip and an ORM load fewer than
    :func:`login_required`. The view calls :func:`current_user` where that row is missing (a first request
    provisions it, a deleted account gets its 401). A refusal raised before the view read the row (a 422 for
    the query string) takes the account check first, so statuses come in the same order as under
    :func:`login_required`. The statement runs on a connection of its own (``gentrade.services.json_reads``),
    so the ORM session is not prepared for reading."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g.clerk_id = verified_clerk_id(reads_in_session=False)
        try:
            return view(*args, **kwargs)
        except HTTPException as refusal:
            if refusal.code != 401:  # not the account check's own refusal
                current_user()  # a deleted account's 401 comes before any other refusal
            raise

    return cast(F, wrapper)


def current_clerk_id() -> str:
    return cast(str, g.clerk_id)


def current_user() -> User:
    """The caller's user: loaded by :func:`login_required`, or on first use under :func:`caller_read_by_view`."""
    if "current_user" not in g:
        g.current_user = account(current_clerk_id())
    return cast(User, g.current_user)
