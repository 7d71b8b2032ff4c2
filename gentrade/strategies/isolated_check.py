"""The Freqtrade check in a child process, for code the project did not write itself (the LLM, a trader).

The review is an allow-list, not a sandbox, and the check still runs the reviewed code. Run
in the API process, code that got past the review could read its memory (settings, tokens,
the database session) or keep it busy. Run here, it gets a fresh interpreter with a scrubbed
environment (no secrets), a private temporary folder as home, working and temp directory,
its own session (the whole process group is killed on timeout), a memory limit and a CPU
limit, and it answers with one JSON object on a pipe only the check writes to.

Protocol: ``python -m gentrade.strategies.isolated_check --memory-bytes N --cpu-seconds N``
reads ``{"code", "name", "pairs", "stake_currency"}`` as JSON on stdin and writes
``{"ok": true, "result": {...}}`` or ``{"ok": false, "error": "..."}`` on stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from gentrade.strategies.check import SIGNAL_COLUMNS, StrategyCheckFailed, check_strategy
from gentrade.strategies.loaded import valid_loaded

MEMORY_LIMIT_BYTES = 1 << 30  # RLIMIT_DATA: the check itself needs about 350 MB (Freqtrade, pandas, TA-Lib)
STDERR_LIMIT_BYTES = 4 << 20  # RLIMIT_FSIZE: the child's only file output besides the strategy file is its log
CPU_GRACE_SECONDS = 5  # RLIMIT_CPU = timeout + this: stops a busy child even if the parent died first
STDERR_TAIL_CHARS = 500
ERROR_MAX_CHARS = 2000  # the strategy controls its exception texts
MODULE = "gentrade.strategies.isolated_check"
# The gentrade package's parent: the child imports gentrade from there (the app is not pip-installed).
SOURCE_ROOT = Path(__file__).resolve().parents[2]
# One thread per native library: fewer arenas and stacks, so the memory limit means the same on any host.
THREAD_LIMITS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")
log = logging.getLogger(__name__)


def child_environment(private_dir: str) -> dict[str, str]:
    """Everything the child sees of the environment: no GENTRADE_*, no API keys, no proxies."""
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": private_dir,
        "TMPDIR": private_dir,  # tempfile (the check's strategy folder) writes here, nowhere else
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TZ": "UTC",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONPATH": str(SOURCE_ROOT),
        **dict.fromkeys(THREAD_LIMITS, "1"),
    }


def check_in_subprocess(
    code: str, name: str, pairs: list[str], stake_currency: str, timeout_seconds: float = 60
) -> dict[str, Any]:
    """:func:`gentrade.strategies.check.check_strategy` in a sandboxed child; same result, same errors."""
    request = json.dumps({"code": code, "name": name, "pairs": list(pairs), "stake_currency": stake_currency})
    command = [
        sys.executable,
        "-m",
        MODULE,
        "--memory-bytes",
        str(MEMORY_LIMIT_BYTES),
        "--cpu-seconds",
        str(math.ceil(timeout_seconds) + CPU_GRACE_SECONDS),
    ]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gentrade-isolated-", ignore_cleanup_errors=True) as private_dir:
        stderr_path = Path(private_dir) / "stderr.log"
        with stderr_path.open("wb") as stderr:
            process = subprocess.Popen(  # noqa: S603 - a fixed command: this interpreter and this module
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                cwd=private_dir,
                env=child_environment(private_dir),
                start_new_session=True,  # its own process group: one killpg ends it and anything it started
                close_fds=True,
            )
            try:
                stdout, _ = process.communicate(request.encode("utf-8"), timeout=timeout_seconds)
            except subprocess.TimeoutExpired:
                _kill_group(process)
                process.communicate()
                raise StrategyCheckFailed(f"the Freqtrade check timed out after {timeout_seconds:g} s") from None
            finally:
                _kill_group(process)  # no-op unless something is left (a timeout, or the child started others)
        reply = _parse_reply(stdout, process.returncode, stderr_path)
    log.debug("isolated check of %s took %.0f ms", name, (time.perf_counter() - started) * 1000)
    return reply


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    if process.poll() is None:
        process.wait()


def _parse_reply(stdout: bytes, returncode: int, stderr_path: Path) -> dict[str, Any]:
    """The child's answer, checked for shape: the code it ran is untrusted, so its output is too."""
    try:
        reply = json.loads(stdout.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        reply = None
    if isinstance(reply, dict) and reply.get("ok") is False and isinstance(reply.get("error"), str):
        raise StrategyCheckFailed(reply["error"][:ERROR_MAX_CHARS])
    if isinstance(reply, dict) and reply.get("ok") is True and _valid_result(reply.get("result")):
        return reply["result"]
    if returncode < 0:
        ended = f"was killed by signal {-returncode} ({signal.strsignal(-returncode)})"
    else:
        ended = f"exited with code {returncode}"
    tail = _tail(stderr_path)
    raise StrategyCheckFailed(f"the Freqtrade check process {ended} without an answer" + (f": {tail}" if tail else ""))


def _valid_result(result: Any) -> bool:
    if not isinstance(result, dict) or not isinstance(result.get("candles_per_pair"), int):
        return False
    signals = result.get("signals")
    return (
        isinstance(signals, dict)
        and set(signals) == set(SIGNAL_COLUMNS)
        and all(isinstance(count, int) for count in signals.values())
        and isinstance(result.get("seconds"), int | float)
        and valid_loaded(result.get("loaded"))
    )


def _tail(path: Path) -> str:
    """The last line of the child's log (what it died of), shortened."""
    try:
        with path.open("rb") as file:
            file.seek(max(0, path.stat().st_size - 4 * STDERR_TAIL_CHARS))
            text = file.read().decode("utf-8", "replace")
    except OSError:
        return ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][-STDERR_TAIL_CHARS:] if lines else ""


# --- the child ---------------------------------------------------------------------------------------------


def _limit_resources(memory_bytes: int, cpu_seconds: int) -> None:
    """Hard limits (the strategy cannot raise them again) before any strategy code runs."""
    for limit, value in (
        (resource.RLIMIT_DATA, memory_bytes),
        (resource.RLIMIT_CPU, cpu_seconds),
        (resource.RLIMIT_FSIZE, STDERR_LIMIT_BYTES),
        (resource.RLIMIT_CORE, 0),
    ):
        resource.setrlimit(limit, (value, value))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a full log makes writes fail, not the child die


def main(argv: list[str] | None = None) -> int:
    """The child: run the check on the request from stdin, answer on the original stdout."""
    parser = argparse.ArgumentParser(prog=MODULE)
    parser.add_argument("--memory-bytes", type=int, default=MEMORY_LIMIT_BYTES)
    parser.add_argument("--cpu-seconds", type=int, default=60 + CPU_GRACE_SECONDS)
    args = parser.parse_args(argv)
    _limit_resources(args.memory_bytes, args.cpu_seconds)
    # Keep the answer channel private: whatever the strategy prints goes to stderr (the log), not the reply.
    answer = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    try:
        request = json.load(sys.stdin)
        result = check_strategy(request["code"], request["name"], request["pairs"], request["stake_currency"])
        reply: dict[str, Any] = {"ok": True, "result": result}
    except StrategyCheckFailed as exc:
        reply = {"ok": False, "error": str(exc)[:ERROR_MAX_CHARS]}
    except BaseException as exc:  # SystemExit or MemoryError from the strategy, a broken request, ...
        reply = {"ok": False, "error": f"the Freqtrade check raised {type(exc).__name__}: {exc}"[:ERROR_MAX_CHARS]}
    with answer:
        json.dump(reply, answer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
