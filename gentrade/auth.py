"""Request authentication: the bearer token becomes ``g.clerk_id`` and the caller's user, or a 401 JSON error.

Each route says what its authentication also does (``login_required``'s arguments): whether its reads run
without a transaction, and whether the caller's user is provisioned before the view runs.
"""

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


def verified_clerk_id() -> str:
    """The Clerk id of a verified bearer token; else a 401, or a 503 without keys."""
    try:
        claims = runtime().token_verifier.verify(_bearer_token())
    except InvalidToken as exc:
        abort(401, message=str(exc), headers=_CHALLENGE)
    except KeysUnavailable:
        abort(503, message="token keys unavailable, try again shortly")
    return cast(str, claims["sub"])


def account(clerk_id: str) -> User:
    """The user of a verified Clerk id, provisioned on first sight; a 401 for a deleted account."""
    user = users.get_or_provision(clerk_id)
    if user is None:
        abort(401, message="this account has been deleted", headers=_CHALLENGE)
    return user


def login_required(*, get_without_transaction: bool, provision_user_first: bool) -> Callable[[F], F]:
    """Verify the bearer token before the view runs (401, or 503 without keys); both arguments say, at the route,
    what else the view gets, so no route has to guess.

    ``get_without_transaction``: GET, HEAD and OPTIONS requests run the session's statements in autocommit (no
    ``BEGIN``/``ROLLBACK`` round trips; ``gentrade.database.read_without_transaction``); other methods keep
    their transaction. Set before the session's first statement, so after the token and before the user's row.

    ``provision_user_first``: load the caller's user row before the view, creating it on a first request (a
    deleted account gets its 401 here); the view reads it with :func:`current_user`. False for the hottest
    reads, whose one statement reads the caller's row beside the data (by :func:`current_clerk_id`), a round
    trip and an ORM load fewer: the view calls :func:`current_user` where that row is missing (a first request
    provisions it, a deleted account gets its 401), and a refusal raised before the view read the row (a 422
    for the query string) takes the account check first, so statuses come in the same order either way.
    """

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            g.clerk_id = verified_clerk_id()
            if get_without_transaction and request.method in READ_ONLY_METHODS:
                read_without_transaction()
            if provision_user_first:
                g.current_user = account(g.clerk_id)
                return view(*args, **kwargs)
            return _account_refusal_first(view, *args, **kwargs)

        return cast(F, wrapper)

    return decorate


def _account_refusal_first(view: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a view that reads the caller's row itself; a deleted account's 401 comes before its other refusals."""
    try:
        return view(*args, **kwargs)
    except HTTPException as refusal:
        if refusal.code != 401:  # not the account check's own refusal
            current_user()
        raise


def current_clerk_id() -> str:
    return cast(str, g.clerk_id)


def current_user() -> User:
    """The caller's user: loaded before the view by :func:`login_required`, or here on first use when the route
    does not ``provision_user_first``."""
    if "current_user" not in g:
        g.current_user = account(current_clerk_id())
    return cast(User, g.current_user)
