"""The two ``Runner`` implementations (DESIGN.md §7) and a factory the settings choose from.

``local`` runs the pinned Freqtrade package in a subprocess (embedded default, tests), forked from a warm fork
server (``warm=True``) or in a new interpreter;
``docker`` runs the pinned image in a sibling container (production).
"""

from __future__ import annotations

from typing import Any

from gentrade.freqtrade.jobs import Runner
from gentrade.freqtrade.runners.docker import DockerRunner
from gentrade.freqtrade.runners.local import LocalRunner
from gentrade.freqtrade.runners.warm import WarmRunner

__all__ = ["DockerRunner", "LocalRunner", "WarmRunner", "build_runner"]


def build_runner(kind: str, **options: Any) -> Runner:
    """``build_runner("local", warm=True)`` or ``build_runner("docker", client=..., image=..., data_dir=...)``."""
    if kind == "local":
        return WarmRunner(**options) if options.pop("warm", False) else LocalRunner(**options)
    if kind == "docker":
        return DockerRunner(**options)
    raise ValueError(f"unknown Freqtrade runner {kind!r}: expected 'local' or 'docker'")
