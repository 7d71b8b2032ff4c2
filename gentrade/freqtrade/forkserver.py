"""A warm start for backtests: a process that has imported Freqtrade once and forks one fresh child per backtest.

Why: about half of a short backtest is importing Freqtrade, pandas, TA-Lib and ccxt in a fresh interpreter. The
server pays that once; each backtest then starts as a copy of it. Isolation is the cold runner's:

* the server starts from the scrubbed environment (no secret), is non-dumpable, dies with the worker process
  that started it, and never runs strategy code: it only imports libraries and forks;
* each child is a new session (cancel and timeout kill its whole group), dies with the server, is niced and
  resource-limited exactly as a cold one (:mod:`gentrade.freqtrade.limits`: it joins its backtest's memory cgroup,
  or sets RLIMIT_DATA), and gets the job's environment, working folder and log file before anything else runs;
  the protocol's pipes are closed in it, so nothing it does can reach the server or the next backtest;
* the child runs what ``python <program>`` would (``-m freqtrade backtesting ...``: Freqtrade's own entry
  point with the job's arguments), so the result is the stock CLI's.

Protocol, one JSON object per line: the worker writes a request (``program``, ``cwd``, ``env``, ``log``,
``limits``, optionally ``progress``); the server answers ``{"pid": n}`` once the child exists, then
``{"exit": code}`` when it ends (a negative code is the signal that ended it, as ``Popen.returncode``). One job
at a time: each worker process owns its own server.

Standard library, setproctitle, :mod:`gentrade.process_guard` and :mod:`gentrade.freqtrade.limits` only
(``gentrade`` itself is imported lazily), so the server holds nothing of the application.
"""

from __future__ import annotations

import builtins
import contextlib
import importlib
import json
import os
import resource
import runpy
import signal
import sys
import traceback
from pathlib import Path
from typing import Any

from gentrade.freqtrade.limits import ChildLimits, apply_in_child
from gentrade.process_guard import die_with_parent, forbid_inspection

# Imported once by the server; everything a backtest imports beyond these (its strategy) is the child's own.
WARM_MODULES = (
    "numpy",
    "pandas",
    "talib",
    "technical.indicators",
    "ccxt",
    "freqtrade.main",
    "freqtrade.commands",
    "freqtrade.commands.optimize_commands",
    "freqtrade.configuration",
    "freqtrade.data.history",
    "freqtrade.exchange",
    "freqtrade.optimize.backtesting",
    "freqtrade.optimize.optimize_reports",
    "freqtrade.resolvers",
    "freqtrade.strategy",
    "gentrade.freqtrade.progress",
)
LOG_MODE = 0o644


def warm_up() -> list[str]:
    """Import the heavy modules; the names of those that failed (a server without Freqtrade still serves)."""
    failed = []
    for name in WARM_MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # a missing optional module only costs its import in each child
            failed.append(name)
    return failed


def serve(requests: Any = None, answers: Any = None) -> None:
    """Answer requests until the worker closes the pipe."""
    forbid_inspection()
    requests = requests or sys.stdin
    answers = answers or sys.stdout
    failed = warm_up()
    _answer(answers, {"ready": True, "cold": failed})
    for line in requests:
        if not line.strip():
            continue
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(request, [requests.fileno(), answers.fileno()])  # never returns
        _answer(answers, {"pid": pid})
        _, status = os.waitpid(pid, 0)
        _answer(answers, {"exit": os.waitstatus_to_exitcode(status)})


def _answer(answers: Any, message: dict[str, Any]) -> None:
    answers.write(json.dumps(message) + "\n")
    answers.flush()


def _child(request: dict[str, Any], protocol_fds: list[int]) -> None:
    """Become the backtest's process, run its program, exit with its code: nothing returns to the server's loop."""
    code = 1
    try:
        _show_as(request["program"])
        _become_backtest(request, protocol_fds)
        code = run_program(list(request["program"]))
    except BaseException:  # whatever happens, the child exits here, never back in the loop
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _become_backtest(request: dict[str, Any], protocol_fds: list[int]) -> None:
    os.setsid()  # its own session and process group: killpg reaches whatever it starts
    die_with_parent()
    for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(number, signal.SIG_DFL)
    apply_in_child(ChildLimits.from_dict(request["limits"]))  # its memory cgroup before anything of it runs
    devnull = os.open(os.devnull, os.O_RDONLY)
    log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, LOG_MODE)
    os.dup2(devnull, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    for fd in {devnull, log, *protocol_fds} - {0, 1, 2}:
        os.close(fd)
    os.closerange(3, _max_fd())
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    if "numpy" in sys.modules:  # a fresh random state, not a copy of the server's
        sys.modules["numpy"].random.seed()
    if request.get("progress"):
        from gentrade.freqtrade.progress import install

        with contextlib.suppress(ImportError):  # no Freqtrade here: nothing reports progress
            install(Path(request["progress"]))


def _show_as(program: list[str]) -> None:
    """Take the command line a cold backtest would have (``python -m freqtrade backtesting ...``), so ``ps`` and
    ``pgrep -f <results folder>`` find a forked backtest as they find a cold one."""
    try:
        from setproctitle import setproctitle
    except ImportError:  # a process title is a convenience for operators
        return
    setproctitle(" ".join([sys.executable, *program]))


def _max_fd() -> int:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft if soft != resource.RLIM_INFINITY else 65536


def run_program(program: list[str]) -> int:
    """What ``python <program>`` does, in this interpreter: ``-m module args``, ``-c code args`` or ``script args``.
    Its exit code, as the interpreter would give it."""
    try:
        if program[:1] == ["-m"]:
            sys.argv = [program[1], *program[2:]]
            runpy.run_module(program[1], run_name="__main__", alter_sys=True)
        elif program[:1] == ["-c"]:
            sys.argv = ["-c", *program[2:]]
            exec(compile(program[1], "<string>", "exec"), {"__name__": "__main__", "__builtins__": builtins})  # noqa: S102
        else:
            sys.argv = list(program)
            runpy.run_path(program[0], run_name="__main__")
    except SystemExit as exit_:
        return _exit_code(exit_.code)
    except BaseException:  # as the interpreter does: the traceback on stderr, exit 1
        traceback.print_exc()
        return 1
    return 0


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


if __name__ == "__main__":
    serve()
