"""The per-app collaborators (settings, user directories, token verifier) services depend on."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app

from gentrade.freqtrade.userdir import UserDirectories
from gentrade.settings import Settings
from gentrade.tokens import TokenVerifier

EXTENSION_KEY = "gentrade"


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    user_dirs: UserDirectories
    token_verifier: TokenVerifier
    webhook_secret: str


def install(app: Flask, runtime: Runtime) -> None:
    app.extensions[EXTENSION_KEY] = runtime


def runtime() -> Runtime:
    """The runtime of the current app (request, CLI or task context)."""
    return current_app.extensions[EXTENSION_KEY]
