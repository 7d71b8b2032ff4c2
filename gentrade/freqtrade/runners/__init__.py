"""The two ``Runner`` implementations (DESIGN.md §7) and a factory the settings choose from.

``local`` runs the pinned Freqtrade package in a subprocess (embedded default, tests);
``docker`` runs the pinned image in a sibling container (production).
"""

from __future__ import annotations

from typing import Any

from gentrade.freqtrade.jobs import Runner
from gentrade.freqtrade.runners.docker import DockerRunner
from gentrade.freqtrade.runners.local import LocalRunner

__all__ = ["DockerRunner", "LocalRunner", "build_runner"]


def build_runner(kind: str, **options: Any) -> Runner:
    """``build_runner("local")`` or ``build_runner("docker", client=..., image=..., data_dir=...)``."""
    if kind == "local":
        return LocalRunner(**options)
    if kind == "docker":
        return DockerRunner(**options)
    raise ValueError(f"unknown Freqtrade runner {kind!r}: expected 'local' or 'docker'")
