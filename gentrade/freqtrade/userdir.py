"""Each user's Freqtrade directory: ``<data dir>/ft_userdata/user_<clerk_id>/`` (FR.38-44).

The layout is what ``freqtrade create-userdir`` plus a compose file would give, so a user
directory can be run by hand with stock Freqtrade. The clerk id is validated and the final
path is checked to lie inside the root before anything touches the file system.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import uuid
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from gentrade.identity import is_valid_clerk_id, require_clerk_id

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config" / "freqtrade"
# Every folder Freqtrade's own create_userdata_dir makes (2026.9). Each backtest's Freqtrade makes the missing
# ones with a check-then-mkdir, so two first backtests of a new user racing on them failed one with
# FileExistsError; made here once (exist_ok), they are never missing.
USER_DATA_SUBDIRS = (
    "backtest_results", "data", "freqaimodels", "hyperopt_results", "hyperopts", "logs", "notebooks", "plot",
    "strategies",
)  # fmt: skip
# A strategy's class and file name: a draft's, or any ASCII class name of a strategy brought as code.
STRATEGY_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")


class UserDirectories:
    """Creates, locates and deletes user directories under one data folder."""

    def __init__(self, data_dir: Path, freqtrade_image: str) -> None:
        self.root = (data_dir / "ft_userdata").resolve()
        self.freqtrade_image = freqtrade_image

    def path_for(self, clerk_id: str) -> Path:
        require_clerk_id(clerk_id)
        path = (self.root / f"user_{clerk_id}").resolve()
        if path.parent != self.root:  # defence in depth: the pattern already forbids this
            raise ValueError(f"user directory escapes {self.root}")
        return path

    def clerk_ids(self) -> list[str]:
        """The users who have a folder here (entries that are not a user's folder are left out)."""
        if not self.root.is_dir():
            return []
        names = (entry.name.removeprefix("user_") for entry in self.root.iterdir() if entry.name.startswith("user_"))
        return sorted(name for name in names if is_valid_clerk_id(name))

    def user_data(self, clerk_id: str) -> Path:
        return self.path_for(clerk_id) / "user_data"

    def strategy_file(self, clerk_id: str, name: str) -> Path:
        """``user_data/strategies/<Name>.py``; ``name`` must already be a validated class name."""
        if not STRATEGY_NAME.fullmatch(name):
            raise ValueError(f"not a strategy class name: {name!r:.80}")
        return self.user_data(clerk_id) / "strategies" / f"{name}.py"

    def backtest_results(self, clerk_id: str, backtest_id: uuid.UUID) -> Path:
        """A folder of its own per backtest, so concurrent backtests never share files."""
        return self.user_data(clerk_id) / "backtest_results" / str(uuid.UUID(str(backtest_id)))

    def ensure(self, clerk_id: str) -> Path:
        """Create whatever is missing; never overwrite the user's files. Safe to repeat."""
        base = self.path_for(clerk_id)
        user_data = base / "user_data"
        for sub in USER_DATA_SUBDIRS:
            (user_data / sub).mkdir(parents=True, exist_ok=True)
        compose = base / "docker-compose.yml"
        if not compose.exists():
            write_atomically(compose, render_compose(clerk_id, self.freqtrade_image))
        config = user_data / "config.json"
        if not config.exists():
            write_atomically(config, json.dumps(backtest_config(clerk_id), indent=2) + "\n")
        return base

    def delete(self, clerk_id: str) -> bool:
        """Remove the user's directory; True when there was one."""
        base = self.path_for(clerk_id)
        if not base.exists():
            return False
        shutil.rmtree(base)
        return True


@cache
def _templates() -> Environment:
    return Environment(
        loader=FileSystemLoader(CONFIG_DIR),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # noqa: S701 - YAML, not HTML; every value is validated before rendering
    )


def render_compose(clerk_id: str, image: str) -> str:
    return (
        _templates()
        .get_template("docker-compose.yml.j2")
        .render(clerk_id=require_clerk_id(clerk_id), image=json.dumps(image)[1:-1])
    )


def backtest_config(clerk_id: str) -> dict[str, Any]:
    """The base Freqtrade config from ``config/freqtrade/config.json``, named for the user."""
    config: dict[str, Any] = json.loads((CONFIG_DIR / "config.json").read_text(encoding="utf-8"))
    config["bot_name"] = f"gentrade-{require_clerk_id(clerk_id)}"
    return config


def write_atomically(path: Path, text: str, mode: int = 0o600) -> None:
    """Write via a temporary file in the same folder and rename, so readers never see half a file.

    Private to the worker's user unless ``mode`` says otherwise (public data a container must read)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if mode != 0o600:
            os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
