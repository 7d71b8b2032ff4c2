"""Clerk session-token verification with PyJWT (no Flask here, so it is testable on its own).

Clerk signs session tokens with RS256. The public key comes from the JWKS URL (cached,
refreshed on an unknown ``kid`` at most once per interval so a flood of made-up ``kid``s
cannot hammer Clerk), from a PEM (networkless), or in development from the generated
development key pair.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import jwt
from cachetools import TLRUCache
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from gentrade.identity import is_valid_clerk_id

ALGORITHM = "RS256"
log = logging.getLogger(__name__)


class InvalidToken(Exception):
    """The token must be refused (401). The message is safe to show the client."""


class KeysUnavailable(Exception):
    """The signing keys could not be loaded (503): not the client's fault."""


class KeySource(Protocol):
    def key_for(self, kid: str | None) -> Any: ...


@dataclass(frozen=True)
class StaticKey:
    """One known public key (a configured PEM, or the development key)."""

    key: RSAPublicKey

    @classmethod
    def from_pem(cls, pem: str | bytes) -> StaticKey:
        if isinstance(pem, str):
            pem = pem.replace("\\n", "\n").encode()  # env files often hold PEMs on one line
        key = load_pem_public_key(pem)
        if not isinstance(key, RSAPublicKey):
            raise ValueError("the Clerk JWT key must be an RSA public key")
        return cls(key)

    def key_for(self, kid: str | None) -> Any:
        return self.key


@dataclass
class JwksKeys:
    """Keys from a JWKS URL, cached for ``cache_seconds``.

    Fetches, for whatever reason (expiry, an unknown ``kid`` after Clerk rotated its keys or a
    forger guessed one, an outage), happen at most once per ``min_refresh_seconds``: a flood of
    bogus kids, or of requests while Clerk is down, costs Clerk one request per interval.
    """

    url: str
    cache_seconds: float = 300
    min_refresh_seconds: float = 30
    timeout: float = 5
    clock: Any = time.monotonic
    _keys: dict[str, Any] = field(default_factory=dict, init=False)
    _fetched_at: float | None = field(default=None, init=False)
    _attempted_at: float | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self._client = jwt.PyJWKClient(self.url, cache_jwk_set=False, cache_keys=False, timeout=self.timeout)

    def key_for(self, kid: str | None) -> Any:
        if not kid:
            raise InvalidToken("token header has no kid")
        with self._lock:
            now = self.clock()
            stale = self._fetched_at is None or now - self._fetched_at >= self.cache_seconds
            may_fetch = self._attempted_at is None or now - self._attempted_at >= self.min_refresh_seconds
            if (stale or kid not in self._keys) and may_fetch:
                self._refresh(now)
            if not self._keys:
                raise KeysUnavailable("Clerk signing keys could not be loaded")
            key = self._keys.get(kid)
        if key is None:
            raise InvalidToken("token signed by an unknown key")
        return key

    def _refresh(self, now: float) -> None:
        """Replace the cached keys; on failure keep the ones we have (possibly none)."""
        self._attempted_at = now
        # PyJWKClientError covers network failures and non-object bodies; an empty or invalid
        # key set raises PyJWKSetError and a non-JSON body (a proxy's HTML page) a ValueError.
        try:
            signing_keys = self._client.get_signing_keys(refresh=True)
        except (jwt.PyJWTError, OSError, ValueError) as exc:
            log.warning("JWKS fetch from %s failed, keeping %d cached keys: %s", self.url, len(self._keys), exc)
            return
        self._keys = {jwk.key_id: jwk.key for jwk in signing_keys if jwk.key_id}
        self._fetched_at = now


@dataclass(frozen=True)
class _Verified:
    claims: dict[str, Any]
    kid: str | None
    key: Any  # the key that checked the signature: if the key source drops it, the token is checked anew
    valid_until: float


@dataclass
class VerifiedTokens:
    """Tokens that passed verification, until they expire (bounded; the least recently used go first).

    A frontend sends the same short-lived session token on every request until Clerk refreshes it;
    re-checking its RSA signature each time was a tenth of an API request's CPU. Keyed by the whole
    token string, so only a byte-identical token hits; refusals are never cached.
    """

    max_entries: int = 10_000
    clock: Callable[[], float] = time.time
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self._entries: TLRUCache[str, _Verified] = TLRUCache(
            self.max_entries, ttu=lambda _token, entry, _now: entry.valid_until, timer=self.clock
        )

    def get(self, token: str) -> _Verified | None:
        with self._lock:  # cachetools caches are not thread-safe
            return self._entries.get(token)

    def put(self, token: str, entry: _Verified) -> None:
        with self._lock:
            self._entries[token] = entry


@dataclass(frozen=True)
class TokenVerifier:
    keys: KeySource
    issuer: str | None = None
    authorized_parties: Sequence[str] = ()
    leeway_seconds: int = 10
    verified: VerifiedTokens = field(default_factory=VerifiedTokens, compare=False, repr=False)

    def verify(self, token: str) -> dict[str, Any]:
        """Return the verified claims, or raise :class:`InvalidToken` saying why.

        A token verified before is accepted again until its ``exp`` (plus leeway) while the key that
        signed it is still the key source's key for its ``kid``: a key Clerk revokes stops its tokens.
        """
        entry = self.verified.get(token) if isinstance(token, str) else None
        if entry is not None and self.keys.key_for(entry.kid) is entry.key:
            return dict(entry.claims)
        kid, key, claims = self._verify(token)
        # ``exp`` is required and numeric by now.
        self.verified.put(token, _Verified(dict(claims), kid, key, float(claims["exp"]) + self.leeway_seconds))
        return claims

    def _verify(self, token: str) -> tuple[str | None, Any, dict[str, Any]]:
        """Check everything: (the header's kid, the key that verified the signature, the claims)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken("malformed token") from exc
        if header.get("alg") != ALGORITHM:
            raise InvalidToken(f"token algorithm must be {ALGORITHM}")
        kid = header.get("kid")
        key = self.keys.key_for(kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                leeway=self.leeway_seconds,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "sub"], "verify_iss": self.issuer is not None},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("token expired") from exc
        except jwt.ImmatureSignatureError as exc:
            raise InvalidToken("token not valid yet") from exc
        except jwt.InvalidIssuerError as exc:
            raise InvalidToken("token issuer not accepted") from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken("invalid token") from exc
        if self.authorized_parties and claims.get("azp") not in self.authorized_parties:
            raise InvalidToken("token authorized party not accepted")
        if not is_valid_clerk_id(claims["sub"]):
            raise InvalidToken("token subject is not a Clerk user id")
        return kid, key, claims
