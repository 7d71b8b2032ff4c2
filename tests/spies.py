"""Spies and snapshots for tests that must prove a refused request ran, stored and wrote nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from gentrade.extensions import db
from gentrade.models import Strategy
from gentrade.strategies import acceptance, check, isolated_check


@dataclass
class Calls:
    """Counts calls to the Freqtrade check; the real check still runs (a spy, not a stand-in)."""

    in_process: int = 0
    children: int = 0


def spy_on_checks(monkeypatch: pytest.MonkeyPatch) -> Calls:
    calls = Calls()

    def counting(target: Callable[..., Any], counter: str) -> Callable[..., Any]:
        def spy(*args: Any, **kwargs: Any) -> Any:
            setattr(calls, counter, getattr(calls, counter) + 1)
            return target(*args, **kwargs)

        return spy

    monkeypatch.setattr(acceptance, "check_strategy", counting(check.check_strategy, "in_process"))
    # Called once per child the isolated check starts, just before it starts it.
    monkeypatch.setattr(isolated_check, "child_environment", counting(isolated_check.child_environment, "children"))
    return calls


def files_under(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def strategy_rows(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Strategy))


def user_dir(data_dir: Path, clerk_id: str = "user_alice") -> Path:
    """A user's Freqtrade folder under the data folder."""
    return data_dir / "ft_userdata" / f"user_{clerk_id}"
