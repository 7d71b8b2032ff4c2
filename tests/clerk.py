"""Clerk as the tests play it: the issuer, a signing key, session tokens, svix-signed webhook deliveries and
Clerk-shaped user events. Shared by the fixtures (``tokens``, ``svix``), the stack starters and the tests."""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from svix.webhooks import Webhook

ISSUER = "https://clerk.gentrade.test"
AUTHORIZED_PARTY = "https://app.gentrade.test"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"gentrade-test-webhook-secret-32b").decode()


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@dataclass
class Tokens:
    """Mints Clerk-shaped RS256 session tokens; every field can be bent to test a refusal."""

    key: rsa.RSAPrivateKey

    def __call__(self, sub: str = "user_alice", *, key: Any = None, algorithm: str = "RS256", **claims: Any) -> str:
        now = int(time.time())
        payload: dict[str, Any] = {
            "sub": sub,
            "iss": ISSUER,
            "azp": AUTHORIZED_PARTY,
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "sid": "sess_test",
        }
        payload.update(claims)
        payload = {name: value for name, value in payload.items() if value is not None}
        return jwt.encode(payload, key or self.key, algorithm=algorithm, headers={"kid": "ins_test"})

    def headers(self, sub: str = "user_alice", **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self(sub, **claims)}"}


@dataclass
class Svix:
    """Signs webhook deliveries exactly as svix does."""

    secret: str = WEBHOOK_SECRET

    def headers(self, body: str, *, msg_id: str | None = None, at: datetime | None = None) -> dict[str, str]:
        msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
        at = at or datetime.now(UTC)
        signature = Webhook(self.secret).sign(msg_id, at, body)
        return {
            "svix-id": msg_id,
            "svix-timestamp": str(int(at.timestamp())),
            "svix-signature": signature,
            "Content-Type": "application/json",
        }


def clerk_user_event(event_type: str, clerk_id: str, email: str | None = "trader@example.com") -> str:
    """A Clerk webhook body in Clerk's own shape."""
    if event_type == "user.deleted":
        data: dict[str, Any] = {"deleted": True, "id": clerk_id, "object": "user"}
    else:
        data = {
            "id": clerk_id,
            "object": "user",
            "primary_email_address_id": "idn_primary",
            "email_addresses": [
                {"id": "idn_other", "email_address": "other@example.com", "object": "email_address"},
                {"id": "idn_primary", "email_address": email, "object": "email_address"},
            ],
            "first_name": "Test",
            "created_at": 1_700_000_000_000,
        }
    return json.dumps({"data": data, "object": "event", "type": event_type, "timestamp": 1_700_000_000_000})
