"""The web frontend's contract: one ordinary web session, replayed by tests/contract/session.mjs with the
frontend's own npm libraries (LangChain's RemoteRunnable, the AI SDK's data stream and useChat parsing,
axios, zod) against the embedded stack as ``make run`` starts it.

Why Node: the frontend talks to us only through those libraries, so their parsing is the contract; a
Python imitation would test our reading of it. The npm packages come from ``make contract-deps`` (which
``make test`` runs). Without ``node`` the test skips, except under ``CI=true``, where it fails.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NoReturn

import pytest

from gentrade.demo import DemoFailed, start_stack, stop_stack
from tests.services import unavailable
from tests.stack.gunicorn import free_port

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT / "tests" / "contract"
FLASK = Path(sys.executable).with_name("flask")
USERS = ("user_contractone", "user_contracttwo")


def _unavailable(reason: str) -> NoReturn:
    unavailable(reason, "the frontend contract must run")


def _require_node() -> str:
    """The node binary, once the contract's npm packages for the current lockfile are in place."""
    node = shutil.which("node")
    if node is None:
        _unavailable("node is not installed: the frontend contract suite needs Node.js >= 18 and npm")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    if int(version.lstrip("v").split(".")[0] or 0) < 18:
        _unavailable(f"node {version} is too old for the frontend contract suite (needs >= 18)")
    lock_hash = hashlib.sha256((CONTRACT / "package-lock.json").read_bytes()).hexdigest()
    modules = CONTRACT / "node_modules"
    if lock_hash not in os.path.realpath(modules) or not (modules / "ai_dryamvlad" / "package.json").exists():
        _unavailable(
            "the contract's npm packages for this package-lock.json are not installed: run `make contract-deps`"
        )
    return node


def _environment(data_dir: Path, home: Path) -> dict[str, str]:
    """Only what the stack needs: nothing of this machine's GENTRADE_* settings may leak in (SQLite, dev keys)."""
    return {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "GENTRADE_DATA_DIR": str(data_dir)}


def _start_stack(env: dict[str, str], data_dir: Path, log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``make run``'s command on free ports; returns the process (leader of its own group) and the base URL."""
    port = free_port()
    try:
        return start_stack(data_dir, port, log_path, env), f"http://127.0.0.1:{port}"
    except DemoFailed as exc:
        raise AssertionError(f"{exc}:\n{_tail(log_path)}") from exc


def _dev_token(env: dict[str, str], clerk_id: str) -> str:
    result = subprocess.run(
        [str(FLASK), "--app", "wsgi", "gentrade", "dev-token", clerk_id],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, f"dev-token {clerk_id} failed: {result.stderr[-2000:]}"
    return result.stdout.strip()


def _tail(path: Path, limit: int = 4000) -> str:
    return path.read_text(errors="replace")[-limit:] if path.exists() else "(no log)"


def test_a_web_session_through_the_frontends_libraries(tmp_path: Path) -> None:
    node = _require_node()
    data_dir = tmp_path / "data"
    env = _environment(data_dir, tmp_path)
    log_path = tmp_path / "stack.log"
    process, url = _start_stack(env, data_dir, log_path)
    try:
        tokens = [_dev_token(env, clerk_id) for clerk_id in USERS]
        session_env = {
            "PATH": env["PATH"],
            "HOME": str(tmp_path),
            "GENTRADE_API_URL": f"{url}/api/v1",
            "AGENT_URL": f"{url}/chat",
            "TOKEN_USER_1": tokens[0],
            "TOKEN_USER_2": tokens[1],
            "BACKTEST_TIMEOUT_S": "120",
        }
        try:
            result = subprocess.run(
                [node, str(CONTRACT / "session.mjs")],
                cwd=CONTRACT, env=session_env, capture_output=True, text=True, timeout=180, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired as exc:
            output = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else exc.stdout or ""
            pytest.fail(f"session.mjs did not finish in 180 s:\n{output[-6000:]}\n--- stack log ---\n{_tail(log_path)}")
        print(result.stdout)  # the per-step report; pytest shows it with -s or -rP
        assert result.returncode == 0, (
            f"{result.stderr.strip()}\n--- report ---\n{result.stdout[-6000:]}\n--- stack log ---\n{_tail(log_path)}"
        )
    finally:
        stop_stack(process)
