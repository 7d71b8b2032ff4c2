"""Development credentials: created once under ``<data dir>/dev/``, real keys, real tokens."""

from __future__ import annotations

import base64
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import pytest

from gentrade import devkeys
from gentrade.tokens import InvalidToken, StaticKey, TokenVerifier

CLERK_ID = "user_2devUSER42"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def verifier_for(data_dir: Path, **kwargs: Any) -> TokenVerifier:
    return TokenVerifier(StaticKey.from_pem(devkeys.public_key_pem(data_dir)), **kwargs)


def test_key_pair_is_created_once_and_reused(tmp_path: Path) -> None:
    first = devkeys.private_key_pem(tmp_path)
    path = tmp_path / "dev" / "jwt_private.pem"

    assert path.read_bytes() == first
    assert first.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert devkeys.private_key_pem(tmp_path) == first
    assert devkeys.public_key_pem(tmp_path) == devkeys.public_key_pem(tmp_path)
    assert sorted(p.name for p in (tmp_path / "dev").iterdir()) == ["jwt_private.pem"]  # no temporary files left


def test_private_key_file_is_readable_by_the_owner_only(tmp_path: Path) -> None:
    devkeys.private_key_pem(tmp_path)

    assert mode(tmp_path / "dev" / "jwt_private.pem") == 0o600


def test_different_data_dirs_get_different_keys(tmp_path: Path) -> None:
    assert devkeys.private_key_pem(tmp_path / "a") != devkeys.private_key_pem(tmp_path / "b")


def test_minted_token_verifies_with_the_public_key(tmp_path: Path) -> None:
    token = devkeys.mint_token(tmp_path, CLERK_ID, azp="http://localhost:3000")

    claims = verifier_for(tmp_path, issuer=devkeys.DEV_ISSUER, authorized_parties=["http://localhost:3000"]).verify(
        token
    )

    assert claims["sub"] == CLERK_ID
    assert claims["iss"] == devkeys.DEV_ISSUER
    assert claims["azp"] == "http://localhost:3000"
    assert claims["exp"] - claims["iat"] == 3600
    assert jwt.get_unverified_header(token) == {"alg": "RS256", "kid": devkeys.DEV_KEY_ID, "typ": "JWT"}


def test_minted_token_honours_issuer_and_ttl(tmp_path: Path) -> None:
    before = int(time.time())
    token = devkeys.mint_token(tmp_path, CLERK_ID, ttl_seconds=120, issuer="https://clerk.example")

    claims = verifier_for(tmp_path, issuer="https://clerk.example").verify(token)

    assert claims["iss"] == "https://clerk.example"
    assert "azp" not in claims
    assert before <= claims["iat"] <= int(time.time())
    assert claims["exp"] == claims["iat"] + 120


def test_minted_token_with_negative_ttl_is_expired(tmp_path: Path) -> None:
    token = devkeys.mint_token(tmp_path, CLERK_ID, ttl_seconds=-120)

    with pytest.raises(InvalidToken, match="expired"):
        verifier_for(tmp_path).verify(token)


def test_token_minted_for_another_data_dir_is_refused(tmp_path: Path) -> None:
    token = devkeys.mint_token(tmp_path / "other", CLERK_ID)

    with pytest.raises(InvalidToken):
        verifier_for(tmp_path / "mine").verify(token)


def test_webhook_secret_is_a_stable_svix_secret(tmp_path: Path) -> None:
    secret = devkeys.webhook_secret(tmp_path)

    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 24
    assert devkeys.webhook_secret(tmp_path) == secret
    assert mode(tmp_path / "dev" / "webhook_secret") == 0o600
    assert devkeys.webhook_secret(tmp_path / "elsewhere") != secret


def race(threads: int, target: Callable[[], Any]) -> list[Any]:
    """Run ``target`` in ``threads`` threads released at the same instant; re-raise any failure."""
    barrier = threading.Barrier(threads)
    results: list[Any] = [None] * threads
    errors: list[BaseException] = []

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = target()
        except BaseException as exc:  # re-raised below, in the test's thread
            errors.append(exc)

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    if errors:
        raise errors[0]
    return results


def test_threads_racing_to_create_the_key_end_up_with_one_key(tmp_path: Path) -> None:
    for attempt in range(3):
        data_dir = tmp_path / f"attempt{attempt}"

        keys = race(6, lambda data_dir=data_dir: devkeys.private_key_pem(data_dir))

        assert set(keys) == {(data_dir / "dev" / "jwt_private.pem").read_bytes()}
        assert [p.name for p in (data_dir / "dev").iterdir()] == ["jwt_private.pem"]
        assert mode(data_dir / "dev" / "jwt_private.pem") == 0o600


def test_threads_racing_to_create_the_webhook_secret_end_up_with_one_secret(tmp_path: Path) -> None:
    for attempt in range(10):
        data_dir = tmp_path / f"attempt{attempt}"

        secrets = race(8, lambda data_dir=data_dir: devkeys.webhook_secret(data_dir))

        assert set(secrets) == {(data_dir / "dev" / "webhook_secret").read_text()}
        assert [p.name for p in (data_dir / "dev").iterdir()] == ["webhook_secret"]
