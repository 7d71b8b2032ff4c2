"""The first process of a pooled backtest container: Freqtrade imported ahead of a job, then that one job, then exit.

Why: importing Freqtrade, pandas, TA-Lib and ccxt is about 2.5 s of every container backtest. A pooled container
pays it before any job exists, then waits for the one job it will ever run. The docker runner passes this file's
source as ``python3 -c`` (nothing is added to the image, so any Freqtrade image works) with four arguments: the
source of :mod:`gentrade.freqtrade.progress`, the folder of the market list, the job folder, the market-list port.

Steps, as PID 1 of a container without network: serve the cached market list on the container's loopback (as the
cold container's shell does), import what :data:`WARM_MODULES` names, mark the job folder ``.ready``, poll for
``request.json`` (written atomically by the worker), install the progress hook, run what ``python -m freqtrade
<args>`` would, exit with its code. One request only: the container never runs a second job.

Standard library only (and Freqtrade, imported): nothing of the application is in the image.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import runpy
import subprocess
import sys
import time
import traceback
import types
from pathlib import Path
from typing import Any

# As gentrade.freqtrade.forkserver.WARM_MODULES, without the application's own module (not in the image).
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
)
REQUEST_FILE = "request.json"  # in the job folder, written by the worker with one rename
READY_FILE = ".ready"  # in the job folder, once the imports are done (benchmarks and tests wait for it)
POLL_SECONDS = 0.02


def warm_up() -> None:
    """Import the heavy modules; one that fails is only imported (and fails) again by the job itself."""
    for name in WARM_MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: S112 - an optional module missing only costs its import in the job
            continue


def serve_market_list(markets: str, port: str) -> subprocess.Popen[bytes]:
    """The exchange's market list on loopback, as the cold container serves it (Freqtrade loads it at start)."""
    return subprocess.Popen(  # noqa: S603 - this interpreter's own standard library server
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "--directory", markets, port],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_for_request(job_dir: Path) -> dict[str, Any]:
    """Block until the worker hands this container its job (a stat every 20 ms: no busy loop, no pipe to hold)."""
    path = job_dir / REQUEST_FILE
    while True:
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            time.sleep(POLL_SECONDS)


def load_module(name: str, source: str) -> types.ModuleType:
    module = types.ModuleType(name)
    sys.modules[name] = module
    exec(compile(source, f"<{name}>", "exec"), module.__dict__)  # noqa: S102 - the worker's own module source
    return module


def run_freqtrade(args: list[str]) -> int:
    """What ``python -m freqtrade <args>`` does, in this interpreter; its exit code as the interpreter gives it."""
    try:
        sys.argv = ["freqtrade", *args]
        runpy.run_module("freqtrade", run_name="__main__", alter_sys=True)
    except SystemExit as exit_:
        return exit_code(exit_.code)
    except BaseException:  # as the interpreter does: the traceback on stderr, exit 1
        traceback.print_exc()
        return 1
    return 0


def exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def main(argv: list[str]) -> int:
    progress_source, markets, job_folder, port = argv
    job_dir = Path(job_folder)
    server = serve_market_list(markets, port)
    warm_up()
    (job_dir / READY_FILE).touch()
    request = wait_for_request(job_dir)
    if server.poll() is not None:  # it died while the container waited: serve again
        server = serve_market_list(markets, port)
    if request.get("progress"):
        progress = load_module("gentrade_progress", progress_source)
        with contextlib.suppress(ImportError):  # no Freqtrade here: nothing reports progress, the run says why
            progress.install(Path(request["progress"]))
    code = run_freqtrade(list(request["args"]))
    sys.stdout.flush()
    sys.stderr.flush()
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
