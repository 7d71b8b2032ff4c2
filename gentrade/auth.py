"""Request authentication: the bearer token becomes ``g.current_user`` or a 401 JSON error."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import g, request
from flask_smorest import abort

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


def authenticate() -> User:
    try:
        claims = runtime().token_verifier.verify(_bearer_token())
    except InvalidToken as exc:
        abort(401, message=str(exc), headers=_CHALLENGE)
    except KeysUnavailable:
        abort(503, message="token keys unavailable, try again shortly")
    if request.method in READ_ONLY_METHODS:
        read_without_transaction()
    user = users.get_or_provision(claims["sub"])
    if user is None:
        abort(401, message="this account has been deleted", headers=_CHALLENGE)
    return user


def login_required(view: F) -> F:
    """Verify the bearer token before the view runs; the view reads :func:`current_user`."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g.current_user = authenticate()
        return view(*args, **kwargs)

    return cast(F, wrapper)


def current_user() -> User:
    return cast(User, g.current_user)
