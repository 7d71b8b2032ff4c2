"""Development credentials for the embedded default: a signing key pair and a webhook secret.

They live in ``<data dir>/dev/`` and are created on first use. They are only ever trusted when
no real Clerk key is configured (see ``gentrade.auth``), so a production deployment cannot
accept a token minted here.
"""

from __future__ import annotations

import base64
import os
import secrets
import tempfile
import time
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

DEV_ISSUER = "gentrade-development"
DEV_KEY_ID = "gentrade-dev"


def _create_once(path: Path, content: bytes) -> bytes:
    """Write ``content`` unless the file exists; return what the file holds. Safe across processes."""
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp: a name unique to this call (threads of one process share a pid) and mode 0600 from the start
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.link(tmp, path)  # atomic and fails if another process won the race
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_bytes()


def dev_dir(data_dir: Path) -> Path:
    return data_dir / "dev"


def private_key_pem(data_dir: Path) -> bytes:
    path = dev_dir(data_dir) / "jwt_private.pem"
    if path.exists():
        return path.read_bytes()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return _create_once(path, pem)


def public_key_pem(data_dir: Path) -> bytes:
    private = serialization.load_pem_private_key(private_key_pem(data_dir), password=None)
    return private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def mint_token(
    data_dir: Path,
    clerk_id: str,
    *,
    ttl_seconds: int = 3600,
    issuer: str | None = None,
    azp: str | None = None,
) -> str:
    """A session token shaped like Clerk's, signed with the development key."""
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": clerk_id,
        "iat": now,
        "nbf": now,
        "exp": now + ttl_seconds,
        "iss": issuer or DEV_ISSUER,
        "sid": "sess_dev",
    }
    if azp:
        claims["azp"] = azp
    return jwt.encode(claims, private_key_pem(data_dir), algorithm="RS256", headers={"kid": DEV_KEY_ID})


def webhook_secret(data_dir: Path) -> str:
    """A svix secret (``whsec_`` + base64) for signing development webhooks."""
    fresh = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    return _create_once(dev_dir(data_dir) / "webhook_secret", fresh.encode()).decode().strip()
