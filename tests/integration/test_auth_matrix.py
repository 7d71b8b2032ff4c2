"""Every protected route against every way a token can be wrong (FR.1-5), with exact statuses.

Routes are read from the app's URL map, so a route added later is covered without editing this file.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from gentrade import devkeys
from gentrade.extensions import db
from gentrade.models import DeletedUser, User
from gentrade.samples import DRAFT
from tests.backtests import add_backtest_row
from tests.clerk import Tokens, new_rsa_key

PUBLIC_PREFIXES = ("/api/v1/webhooks/",)
SAMPLE_BODIES = {"POST": {}, "PATCH": {"title": "t"}}


def protected_routes(app: Flask) -> list[tuple[str, str]]:
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.rule.startswith(PUBLIC_PREFIXES):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((method, rule.rule))
    return routes


def fill(rule: str, resources: dict[str, str]) -> str:
    for name, value in resources.items():
        rule = rule.replace(f"<uuid:{name}>", value)
    assert "<" not in rule, f"no sample value for a parameter of {rule}: add it to the alice fixture"
    return rule


def request(client: FlaskClient, method: str, path: str, headers: dict[str, str]):
    return client.open(path, method=method, json=SAMPLE_BODIES.get(method), headers=headers)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hand_made(tokens: Tokens, alg: str, sign: Callable[[bytes], bytes]) -> str:
    """A token PyJWT would refuse to create: the claims of a valid token under another algorithm."""
    claims = jwt.decode(tokens(), options={"verify_signature": False})
    signing_input = f"{_b64url(json.dumps({'alg': alg, 'typ': 'JWT'}).encode())}.{_b64url(json.dumps(claims).encode())}"
    return f"{signing_input}.{_b64url(sign(signing_input.encode()))}"


def _alg_none(tokens: Tokens) -> str:
    return _hand_made(tokens, "none", lambda signing_input: b"")


def _hs256_with_public_key(tokens: Tokens) -> str:
    """The key-confusion attack: HMAC keyed with the (public) RSA key's PEM."""
    public = tokens.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return _hand_made(tokens, "HS256", lambda signing_input: hmac.new(public, signing_input, hashlib.sha256).digest())


OTHER_KEY: rsa.RSAPrivateKey = new_rsa_key()
BAD_AUTHORIZATION: dict[str, Callable[[Tokens, Path], str | None]] = {
    "no token": lambda tokens, data: None,
    "empty bearer": lambda tokens, data: "Bearer ",
    "wrong scheme": lambda tokens, data: f"Basic {tokens()}",
    "malformed": lambda tokens, data: "Bearer not.a.jwt",
    "garbage": lambda tokens, data: "Bearer abc",
    "wrong signature": lambda tokens, data: f"Bearer {tokens(key=OTHER_KEY)}",
    "alg none": lambda tokens, data: f"Bearer {_alg_none(tokens)}",
    "hs256 with public key": lambda tokens, data: f"Bearer {_hs256_with_public_key(tokens)}",
    "expired": lambda tokens, data: f"Bearer {tokens(exp=int(time.time()) - 120, iat=int(time.time()) - 600)}",
    "not yet valid": lambda tokens, data: f"Bearer {tokens(nbf=int(time.time()) + 120)}",
    "wrong issuer": lambda tokens, data: f"Bearer {tokens(iss='https://evil.example')}",
    "no issuer": lambda tokens, data: f"Bearer {tokens(iss=None)}",
    "wrong azp": lambda tokens, data: f"Bearer {tokens(azp='https://evil.example')}",
    "no azp": lambda tokens, data: f"Bearer {tokens(azp=None)}",
    "no exp": lambda tokens, data: f"Bearer {tokens(exp=None)}",
    "subject not a clerk id": lambda tokens, data: f"Bearer {tokens('../../etc')}",
    "development token in production": lambda tokens, data: f"Bearer {devkeys.mint_token(data, 'user_alice')}",
}


@pytest.fixture
def alices_resources(client: FlaskClient, tokens: Tokens, app: Flask) -> dict[str, str]:
    """One of each of alice's resources, by path parameter name."""
    headers = tokens.headers("user_alice")
    chat = client.post("/api/v1/chats", json={"title": "alice's"}, headers=headers)
    assert chat.status_code == 201
    thread_id = chat.json["thread_id"]
    strategy = client.post("/api/v1/strategies", json={"thread_id": thread_id, "draft": DRAFT}, headers=headers)
    assert strategy.status_code == 201
    backtest_id = add_backtest_row(app, strategy.json["id"])
    return {"thread_id": thread_id, "strategy_id": strategy.json["id"], "backtest_id": backtest_id}


def test_every_protected_route_is_in_the_matrix(app: Flask) -> None:
    routes = protected_routes(app)
    assert ("GET", "/api/v1/chats") in routes
    assert ("DELETE", "/api/v1/chats/<uuid:thread_id>") in routes
    assert len(routes) >= 6


@pytest.mark.parametrize("case", sorted(BAD_AUTHORIZATION))
def test_bad_tokens_get_401_on_every_route(
    client: FlaskClient, tokens: Tokens, app: Flask, data_dir: Path, alices_resources: dict[str, str], case: str
) -> None:
    authorization = BAD_AUTHORIZATION[case](tokens, data_dir)
    headers = {"Authorization": authorization} if authorization is not None else {}
    for method, rule in protected_routes(app):
        response = request(client, method, fill(rule, alices_resources), headers)
        assert response.status_code == 401, (case, method, rule, response.json)
        assert response.json["code"] == 401
        assert response.json["message"]
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    with app.app_context():  # nothing was provisioned for a refused token
        assert db.session.scalars(select(User.clerk_id)).all() == ["user_alice"]


def test_tombstoned_user_gets_401_everywhere(
    client: FlaskClient, tokens: Tokens, app: Flask, alices_resources: dict[str, str]
) -> None:
    with app.app_context():
        db.session.add(DeletedUser(clerk_id="user_zombie"))
        db.session.commit()
    for method, rule in protected_routes(app):
        response = request(client, method, fill(rule, alices_resources), tokens.headers("user_zombie"))
        assert response.status_code == 401, (method, rule)
        assert "deleted" in response.json["message"]
    with app.app_context():
        assert db.session.scalar(select(User).where(User.clerk_id == "user_zombie")) is None


def test_other_users_resources_are_403_on_every_route(
    client: FlaskClient, tokens: Tokens, app: Flask, alices_resources: dict[str, str]
) -> None:
    mallory = tokens.headers("user_mallory")
    owned_routes = [(m, r) for m, r in protected_routes(app) if "<uuid:" in r]
    assert len(owned_routes) >= 5
    for method, rule in owned_routes:
        response = request(client, method, fill(rule, alices_resources), mallory)
        assert response.status_code == 403, (method, rule)
        assert response.json["code"] == 403
    body_form = client.patch(
        "/api/v1/chats", json={"thread_id": alices_resources["thread_id"], "title": "pwned"}, headers=mallory
    )
    assert body_form.status_code == 403
    deploy = client.post(
        "/api/v1/strategies", json={"thread_id": alices_resources["thread_id"], "draft": DRAFT}, headers=mallory
    )
    assert deploy.status_code == 403
    alice_view = client.get(f"/api/v1/chats/{alices_resources['thread_id']}", headers=tokens.headers("user_alice"))
    assert alice_view.json["title"] == "alice's"


def test_expired_within_leeway_is_accepted(client: FlaskClient, tokens: Tokens) -> None:
    token = tokens(exp=int(time.time()) - 3)
    assert client.get("/api/v1/chats", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_first_valid_token_provisions_user_and_directory(
    client: FlaskClient, tokens: Tokens, app: Flask, data_dir: Path
) -> None:
    response = client.get("/api/v1/chats", headers=tokens.headers("user_fresh"))
    assert response.status_code == 200
    assert response.json == []
    assert json.loads(response.headers["X-Pagination"])["total"] == 0
    with app.app_context():
        assert db.session.scalar(select(User).where(User.clerk_id == "user_fresh")) is not None
    base = data_dir / "ft_userdata" / "user_user_fresh"
    assert (base / "docker-compose.yml").is_file()
    assert (base / "user_data" / "config.json").is_file()
