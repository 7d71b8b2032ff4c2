"""Clerk session-token verification: real RSA keys, real PyJWT tokens, a real JWKS server."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from jwt.algorithms import RSAAlgorithm

from gentrade.tokens import InvalidToken, JwksKeys, KeysUnavailable, StaticKey, TokenVerifier, VerifiedTokens

ISSUER = "https://clerk.gentrade.example"
PARTIES = ("https://app.gentrade.example", "https://admin.gentrade.example")
CLERK_ID = "user_2abcDEF123xyz"
LEEWAY = 10
MISSING = object()  # a claim override that removes the claim


# --------------------------------------------------------------------------- helpers


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    payload: dict[str, Any] = {
        "sub": CLERK_ID,
        "iat": now,
        "nbf": now,
        "exp": now + 60,
        "iss": ISSUER,
        "azp": PARTIES[0],
        "sid": "sess_2abc",
    }
    payload.update(overrides)
    return {name: value for name, value in payload.items() if value is not MISSING}


def sign(key: rsa.RSAPrivateKey, kid: str | None = "key-1", **overrides: Any) -> str:
    headers = {"kid": kid} if kid is not None else {}
    return jwt.encode(claims(**overrides), key, algorithm="RS256", headers=headers)


def public_pem_bytes(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    return {**RSAAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": kid, "use": "sig", "alg": "RS256"}


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return new_key()


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return new_key()


@pytest.fixture
def verifier(key: rsa.RSAPrivateKey) -> TokenVerifier:
    return TokenVerifier(StaticKey(key.public_key()), issuer=ISSUER, authorized_parties=PARTIES, leeway_seconds=LEEWAY)


def refused(verifier: TokenVerifier, token: Any, match: str | None = None) -> InvalidToken:
    with pytest.raises(InvalidToken, match=match) as caught:
        verifier.verify(token)
    return caught.value


# --------------------------------------------------------------------------- TokenVerifier


def test_valid_token_returns_its_claims(verifier: TokenVerifier, key: rsa.RSAPrivateKey) -> None:
    expected = claims()
    token = jwt.encode(expected, key, algorithm="RS256", headers={"kid": "key-1"})

    assert verifier.verify(token) == expected


def test_static_key_from_pem_accepts_bytes_and_one_line_env_strings(key: rsa.RSAPrivateKey) -> None:
    pem = public_pem_bytes(key)
    one_line = pem.decode().replace("\n", "\\n")  # how a PEM usually sits in an .env file
    token = sign(key)

    for source in (StaticKey.from_pem(pem), StaticKey.from_pem(pem.decode()), StaticKey.from_pem(one_line)):
        assert TokenVerifier(source, issuer=ISSUER, authorized_parties=PARTIES).verify(token)["sub"] == CLERK_ID


def test_static_key_from_pem_refuses_a_non_rsa_key() -> None:
    pem = (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(ValueError, match="RSA"):
        StaticKey.from_pem(pem)


def test_expired_token_is_refused(verifier: TokenVerifier, key: rsa.RSAPrivateKey) -> None:
    now = int(time.time())
    token = sign(key, iat=now - 600, nbf=now - 600, exp=now - LEEWAY - 30)

    refused(verifier, token, "expired")


def test_expired_token_within_leeway_is_accepted(verifier: TokenVerifier, key: rsa.RSAPrivateKey) -> None:
    now = int(time.time())
    token = sign(key, iat=now - 600, nbf=now - 600, exp=now - LEEWAY // 2)

    assert verifier.verify(token)["sub"] == CLERK_ID


def test_not_yet_valid_token_is_refused(verifier: TokenVerifier, key: rsa.RSAPrivateKey) -> None:
    now = int(time.time())
    refused(verifier, sign(key, nbf=now + LEEWAY + 60, exp=now + 600), "not valid yet")


def test_nbf_within_leeway_is_accepted(verifier: TokenVerifier, key: rsa.RSAPrivateKey) -> None:
    """A client clock slightly ahead of ours must not lock the user out."""
    now = int(time.time())
    assert verifier.verify(sign(key, nbf=now + LEEWAY // 2))["sub"] == CLERK_ID


@pytest.mark.parametrize("iss", ["https://evil.example", "https://clerk.gentrade.example/", "", MISSING])
def test_wrong_or_missing_issuer_is_refused(verifier: TokenVerifier, key: rsa.RSAPrivateKey, iss: Any) -> None:
    refused(verifier, sign(key, iss=iss))


@pytest.mark.parametrize("iss", ["https://evil.example", MISSING])
def test_issuer_is_not_checked_when_not_configured(key: rsa.RSAPrivateKey, iss: Any) -> None:
    verifier = TokenVerifier(StaticKey(key.public_key()), issuer=None, authorized_parties=PARTIES)

    assert verifier.verify(sign(key, iss=iss))["sub"] == CLERK_ID


@pytest.mark.parametrize("azp", ["https://evil.example", "https://app.gentrade.example.evil", "", MISSING, None])
def test_unlisted_or_missing_authorized_party_is_refused(
    verifier: TokenVerifier, key: rsa.RSAPrivateKey, azp: Any
) -> None:
    refused(verifier, sign(key, azp=azp), "authorized party")


@pytest.mark.parametrize("azp", PARTIES)
def test_listed_authorized_party_is_accepted(verifier: TokenVerifier, key: rsa.RSAPrivateKey, azp: str) -> None:
    assert verifier.verify(sign(key, azp=azp))["azp"] == azp


@pytest.mark.parametrize("azp", ["https://anything.example", MISSING])
def test_authorized_party_is_not_checked_when_none_configured(key: rsa.RSAPrivateKey, azp: Any) -> None:
    verifier = TokenVerifier(StaticKey(key.public_key()), issuer=ISSUER)

    assert verifier.verify(sign(key, azp=azp))["sub"] == CLERK_ID


def test_token_signed_by_another_key_is_refused(verifier: TokenVerifier, other_key: rsa.RSAPrivateKey) -> None:
    refused(verifier, sign(other_key))


@pytest.mark.parametrize("header", [{"alg": "none"}, {"alg": "none", "typ": "JWT", "kid": "key-1"}, {"alg": "None"}])
def test_unsigned_alg_none_token_is_refused(verifier: TokenVerifier, header: dict[str, str]) -> None:
    token = f"{b64json(header)}.{b64json(claims())}."

    refused(verifier, token, "algorithm")


def test_hs256_token_keyed_with_the_public_key_pem_is_refused(verifier: TokenVerifier, key: rsa.RSAPrivateKey) -> None:
    """The classic key-confusion attack: HMAC the token with the (public) PEM as secret."""
    signing_input = f"{b64json({'alg': 'HS256', 'typ': 'JWT', 'kid': 'key-1'})}.{b64json(claims())}"
    signature = hmac.new(public_pem_bytes(key), signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{b64url(signature)}"

    refused(verifier, token, "algorithm")


def test_rs256_header_with_an_hmac_signature_is_refused(verifier: TokenVerifier, key: rsa.RSAPrivateKey) -> None:
    """Same forgery, but lying about the algorithm in the header."""
    signing_input = f"{b64json({'alg': 'RS256', 'kid': 'key-1'})}.{b64json(claims())}"
    signature = hmac.new(public_pem_bytes(key), signing_input.encode(), hashlib.sha256).digest()

    refused(verifier, f"{signing_input}.{b64url(signature)}")


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        "a.b.c",
        "...",
        "a.b",
        "e30.e30.",  # {} . {} . (no alg at all)
        "Bearer abc.def.ghi",
        random.Random(1).randbytes(64).decode("latin-1"),
        b".".join(random.Random(2).randbytes(24) for _ in range(3)).decode("latin-1"),
        ".".join(b64url(random.Random(3).randbytes(32)) for _ in range(3)),
    ],
    ids=[
        "empty",
        "abc",
        "a.b.c",
        "dots",
        "two-parts",
        "empty-header",
        "bearer",
        "random-bytes",
        "random-segments",
        "random-b64",
    ],
)
def test_malformed_tokens_are_refused(verifier: TokenVerifier, token: str) -> None:
    refused(verifier, token)


def test_random_byte_tokens_never_escape_as_other_errors(verifier: TokenVerifier) -> None:
    rng = random.Random(42)
    for _ in range(300):
        parts = [rng.randbytes(rng.randint(0, 30)) for _ in range(rng.randint(1, 4))]
        refused(verifier, b".".join(parts).decode("latin-1"))


def test_non_string_kid_is_refused(verifier: TokenVerifier, key: rsa.RSAPrivateKey) -> None:
    signing_input = f"{b64json({'alg': 'RS256', 'kid': ['key-1']})}.{b64json(claims())}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())

    refused(verifier, f"{signing_input}.{b64url(signature)}")


@pytest.mark.parametrize("claim", ["exp", "iat", "sub"])
def test_token_missing_a_required_claim_is_refused(verifier: TokenVerifier, key: rsa.RSAPrivateKey, claim: str) -> None:
    refused(verifier, sign(key, **{claim: MISSING}))


@pytest.mark.parametrize(
    "sub",
    ["user_../x", "admin", "user_", "user_abc/def", "user_abc\n", "USER_abc", "user_" + "a" * 60, "", 12345],
)
def test_subject_that_is_not_a_clerk_id_is_refused(verifier: TokenVerifier, key: rsa.RSAPrivateKey, sub: Any) -> None:
    refused(verifier, sign(key, sub=sub))


def test_tampered_payload_is_refused(verifier: TokenVerifier, key: rsa.RSAPrivateKey) -> None:
    header, _, signature = sign(key).split(".")
    forged_payload = b64json(claims(sub="user_someoneElse"))

    refused(verifier, f"{header}.{forged_payload}.{signature}")


def test_tampered_signature_is_refused(verifier: TokenVerifier, key: rsa.RSAPrivateKey) -> None:
    header, payload, signature = sign(key).split(".")
    flipped = ("B" if signature[0] == "A" else "A") + signature[1:]

    refused(verifier, f"{header}.{payload}.{flipped}")


def test_invalid_token_messages_do_not_echo_the_token(verifier: TokenVerifier, key: rsa.RSAPrivateKey) -> None:
    token = sign(key, iss="https://evil.example")

    error = refused(verifier, token)

    assert token not in str(error)
    assert "evil" not in str(error)


# --------------------------------------------------------------------------- VerifiedTokens (the verified-token cache)


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts full verifications (PyJWT signature checks) without changing them."""
    calls: list[str] = []
    real_decode = jwt.decode

    def counting_decode(token: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(token)
        return real_decode(token, *args, **kwargs)

    monkeypatch.setattr("gentrade.tokens.jwt.decode", counting_decode)
    return calls


class SwappableKey:
    """A key source whose key can be replaced, as a JWKS rotation that drops a key does."""

    def __init__(self, key: Any) -> None:
        self.key = key

    def key_for(self, kid: str | None) -> Any:
        return self.key


def cached_verifier(keys: Any, clock: Any = time.time, max_entries: int = 100) -> TokenVerifier:
    cache = VerifiedTokens(max_entries=max_entries, clock=clock)
    return TokenVerifier(keys, issuer=ISSUER, authorized_parties=PARTIES, leeway_seconds=LEEWAY, verified=cache)


def test_a_verified_token_is_checked_once_until_it_expires(key: rsa.RSAPrivateKey, decodes: list[str]) -> None:
    clock = FakeClock()
    clock.now = time.time()
    verifier = cached_verifier(StaticKey(key.public_key()), clock)
    token = sign(key)

    for _ in range(5):
        assert verifier.verify(token)["sub"] == CLERK_ID
    assert len(decodes) == 1

    clock.advance(60 + LEEWAY)  # past exp + leeway: the cache lets go and the token is checked in full
    verifier.verify(token)
    assert len(decodes) == 2


def test_refusals_are_never_cached(key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey, decodes: list[str]) -> None:
    verifier = cached_verifier(StaticKey(key.public_key()))
    forged = sign(other_key)

    for _ in range(3):
        refused(verifier, forged)
    assert len(decodes) == 3


def test_a_tampered_copy_of_a_cached_token_is_refused(key: rsa.RSAPrivateKey) -> None:
    verifier = cached_verifier(StaticKey(key.public_key()))
    token = sign(key)
    verifier.verify(token)
    header, _payload, signature = token.split(".")
    forged_payload = b64json({**jwt.decode(token, options={"verify_signature": False}), "sub": "user_mallory"})

    refused(verifier, f"{header}.{forged_payload}.{signature}")


def test_a_cached_token_is_refused_once_its_key_is_dropped(
    key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey
) -> None:
    keys = SwappableKey(key.public_key())
    verifier = cached_verifier(keys)
    token = sign(key)
    verifier.verify(token)

    keys.key = other_key.public_key()  # the signing key is revoked

    refused(verifier, token)


def test_the_cache_keeps_the_most_recently_used_tokens_only(key: rsa.RSAPrivateKey, decodes: list[str]) -> None:
    verifier = cached_verifier(StaticKey(key.public_key()), max_entries=3)
    tokens = [sign(key, sid=f"sess_{index}") for index in range(4)]
    for token in tokens[:3]:
        verifier.verify(token)
    verifier.verify(tokens[0])  # recently used: stays
    verifier.verify(tokens[3])  # evicts tokens[1], the least recently used
    assert len(decodes) == 4

    verifier.verify(tokens[0])
    assert len(decodes) == 4
    verifier.verify(tokens[1])
    assert len(decodes) == 5


def test_cached_claims_are_a_copy(key: rsa.RSAPrivateKey) -> None:
    verifier = cached_verifier(StaticKey(key.public_key()))
    token = sign(key)
    verifier.verify(token)["sub"] = "user_mallory"

    assert verifier.verify(token)["sub"] == CLERK_ID


# --------------------------------------------------------------------------- JwksKeys against a real HTTP server


class JwksServer:
    """A real HTTP server on 127.0.0.1 serving a JWKS document; counts requests."""

    def __init__(self) -> None:
        self.jwks: dict[str, Any] = {"keys": []}
        self.body: bytes | None = None  # overrides the JWKS document when set
        self.status = 200
        self.requests = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with server._lock:
                    server.requests += 1
                    status, body = server.status, server.body
                    if body is None:
                        body = json.dumps(server.jwks).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/.well-known/jwks.json"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.01,), daemon=True)
        self._thread.start()
        self._running = True

    def serve(self, *keys: tuple[rsa.RSAPrivateKey, str]) -> None:
        with self._lock:
            self.jwks = {"keys": [jwk(k, kid) for k, kid in keys]}

    def stop(self) -> None:
        """Take the server down for real: the port refuses connections afterwards."""
        if self._running:
            self._running = False
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(timeout=5)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


CACHE_SECONDS = 300
MIN_REFRESH_SECONDS = 30


@pytest.fixture
def server() -> Iterator[JwksServer]:
    jwks_server = JwksServer()
    yield jwks_server
    jwks_server.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def jwks(server: JwksServer, clock: FakeClock) -> JwksKeys:
    return JwksKeys(
        server.url, cache_seconds=CACHE_SECONDS, min_refresh_seconds=MIN_REFRESH_SECONDS, timeout=2, clock=clock
    )


@pytest.fixture
def jwks_verifier(jwks: JwksKeys) -> TokenVerifier:
    return TokenVerifier(jwks, issuer=ISSUER, authorized_parties=PARTIES, leeway_seconds=LEEWAY)


# The ways a JWKS endpoint can fail: each must read as "keys unavailable", never as a crash.
FAILURES = ["connection-refused", "http-500", "not-json", "not-an-object", "no-keys", "only-encryption-keys"]


def break_server(server: JwksServer, how: str, key: rsa.RSAPrivateKey) -> None:
    if how == "connection-refused":
        server.stop()
    elif how == "http-500":
        server.status = 500
        server.body = b'{"error": "internal"}'
    elif how == "not-json":
        server.body = b"<html>502 Bad Gateway</html>"
    elif how == "not-an-object":
        server.body = b"[]"
    elif how == "no-keys":
        server.body = b'{"keys": []}'
    elif how == "only-encryption-keys":
        server.body = json.dumps({"keys": [{**jwk(key, "enc-1"), "use": "enc"}]}).encode()
    else:  # pragma: no cover
        raise AssertionError(how)


def test_jwks_token_verifies_and_keys_are_cached(
    server: JwksServer, jwks_verifier: TokenVerifier, key: rsa.RSAPrivateKey, clock: FakeClock
) -> None:
    server.serve((key, "key-1"))

    for _ in range(20):
        assert jwks_verifier.verify(sign(key, kid="key-1"))["sub"] == CLERK_ID
        clock.advance(1)

    assert server.requests == 1


def test_jwks_key_rotation_refetches_once_then_verifies(
    server: JwksServer,
    jwks_verifier: TokenVerifier,
    key: rsa.RSAPrivateKey,
    other_key: rsa.RSAPrivateKey,
    clock: FakeClock,
) -> None:
    server.serve((key, "key-1"))
    assert jwks_verifier.verify(sign(key, kid="key-1"))
    assert server.requests == 1

    server.serve((key, "key-1"), (other_key, "key-2"))  # Clerk rotates: the new key is published
    clock.advance(MIN_REFRESH_SECONDS)

    assert jwks_verifier.verify(sign(other_key, kid="key-2"))["sub"] == CLERK_ID
    assert server.requests == 2
    for _ in range(5):  # both keys now come from the cache
        assert jwks_verifier.verify(sign(other_key, kid="key-2"))
        assert jwks_verifier.verify(sign(key, kid="key-1"))
    assert server.requests == 2


def test_jwks_new_kid_is_not_trusted_with_the_wrong_key(
    server: JwksServer,
    jwks_verifier: TokenVerifier,
    key: rsa.RSAPrivateKey,
    other_key: rsa.RSAPrivateKey,
) -> None:
    """The kid only selects a key: a token claiming key-2 but signed with key-1 must fail."""
    server.serve((key, "key-1"), (other_key, "key-2"))

    refused(jwks_verifier, sign(key, kid="key-2"))
    refused(jwks_verifier, sign(other_key, kid="key-1"))


def test_jwks_flood_of_unknown_kids_costs_at_most_one_fetch(
    server: JwksServer, jwks_verifier: TokenVerifier, key: rsa.RSAPrivateKey, clock: FakeClock
) -> None:
    server.serve((key, "key-1"))
    assert jwks_verifier.verify(sign(key, kid="key-1"))
    clock.advance(MIN_REFRESH_SECONDS)  # a refetch is now allowed: the flood may spend it

    for i in range(100):
        refused(jwks_verifier, sign(key, kid=f"bogus-{i}"), "unknown key")
        clock.advance(MIN_REFRESH_SECONDS / 200)  # the whole flood stays inside one interval
    assert server.requests == 2

    assert jwks_verifier.verify(sign(key, kid="key-1"))  # real users are unaffected
    clock.advance(MIN_REFRESH_SECONDS)
    refused(jwks_verifier, sign(key, kid="bogus-next-interval"))
    assert server.requests == 3


def test_jwks_concurrent_flood_of_unknown_kids_costs_at_most_one_fetch(
    server: JwksServer, jwks_verifier: TokenVerifier, key: rsa.RSAPrivateKey, clock: FakeClock
) -> None:
    server.serve((key, "key-1"))
    assert jwks_verifier.verify(sign(key, kid="key-1"))
    clock.advance(MIN_REFRESH_SECONDS)
    tokens = [sign(key, kid=f"bogus-{i}") for i in range(100)]

    def attempt(token: str) -> str:
        try:
            jwks_verifier.verify(token)
        except InvalidToken:
            return "refused"
        return "accepted"

    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(attempt, tokens))

    assert outcomes == ["refused"] * 100
    assert server.requests == 2


def test_jwks_unknown_kid_soon_after_a_fetch_does_not_refetch(
    server: JwksServer, jwks_verifier: TokenVerifier, key: rsa.RSAPrivateKey, clock: FakeClock
) -> None:
    server.serve((key, "key-1"))
    assert jwks_verifier.verify(sign(key, kid="key-1"))
    clock.advance(MIN_REFRESH_SECONDS - 1)

    refused(jwks_verifier, sign(key, kid="key-unknown"), "unknown key")
    assert server.requests == 1


def test_jwks_set_is_refetched_after_cache_expiry(
    server: JwksServer,
    jwks_verifier: TokenVerifier,
    key: rsa.RSAPrivateKey,
    other_key: rsa.RSAPrivateKey,
    clock: FakeClock,
) -> None:
    server.serve((key, "key-1"))
    assert jwks_verifier.verify(sign(key, kid="key-1"))
    clock.advance(CACHE_SECONDS - 1)
    assert jwks_verifier.verify(sign(key, kid="key-1"))
    assert server.requests == 1

    server.serve((other_key, "key-2"))  # key-1 is revoked
    clock.advance(1)

    refused(jwks_verifier, sign(key, kid="key-1"), "unknown key")
    assert server.requests == 2
    assert jwks_verifier.verify(sign(other_key, kid="key-2"))
    assert server.requests == 2


@pytest.mark.parametrize("how", FAILURES)
def test_jwks_unavailable_at_first_use_raises_keys_unavailable(
    server: JwksServer, jwks_verifier: TokenVerifier, key: rsa.RSAPrivateKey, how: str
) -> None:
    break_server(server, how, key)

    with pytest.raises(KeysUnavailable):
        jwks_verifier.verify(sign(key, kid="key-1"))


def test_jwks_unreachable_port_raises_keys_unavailable(key: rsa.RSAPrivateKey) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago and now refuses connections
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    verifier = TokenVerifier(JwksKeys(f"http://127.0.0.1:{port}/jwks.json", timeout=2), issuer=ISSUER)

    with pytest.raises(KeysUnavailable):
        verifier.verify(sign(key, kid="key-1"))


def test_jwks_outage_at_first_use_is_throttled_then_recovers(
    server: JwksServer, jwks_verifier: TokenVerifier, key: rsa.RSAPrivateKey, clock: FakeClock
) -> None:
    server.serve((key, "key-1"))
    server.status, server.body = 503, b"{}"
    for _ in range(20):
        with pytest.raises(KeysUnavailable):
            jwks_verifier.verify(sign(key, kid="key-1"))
    assert server.requests == 1  # requests during an outage do not hammer the JWKS endpoint

    server.status, server.body = 200, None
    clock.advance(MIN_REFRESH_SECONDS)

    assert jwks_verifier.verify(sign(key, kid="key-1"))["sub"] == CLERK_ID
    assert server.requests == 2


@pytest.mark.parametrize("how", FAILURES)
def test_jwks_down_after_caching_keeps_verifying_with_cached_keys(
    server: JwksServer, jwks_verifier: TokenVerifier, key: rsa.RSAPrivateKey, clock: FakeClock, how: str
) -> None:
    server.serve((key, "key-1"))
    assert jwks_verifier.verify(sign(key, kid="key-1"))
    break_server(server, how, key)

    clock.advance(CACHE_SECONDS + 1)  # the cache expired: a refresh is attempted and fails

    assert jwks_verifier.verify(sign(key, kid="key-1"))["sub"] == CLERK_ID
    clock.advance(MIN_REFRESH_SECONDS)
    refused(jwks_verifier, sign(key, kid="key-unknown"), "unknown key")  # a 401, not a 503


def test_jwks_token_without_kid_is_refused_without_a_fetch(
    server: JwksServer, jwks_verifier: TokenVerifier, key: rsa.RSAPrivateKey
) -> None:
    server.serve((key, "key-1"))

    refused(jwks_verifier, sign(key, kid=None), "kid")
    refused(jwks_verifier, sign(key, kid=""), "kid")
    assert server.requests == 0


def test_jwks_alg_none_token_is_refused_without_a_fetch(server: JwksServer, jwks_verifier: TokenVerifier) -> None:
    refused(jwks_verifier, f"{b64json({'alg': 'none', 'kid': 'key-1'})}.{b64json(claims())}.", "algorithm")
    assert server.requests == 0
