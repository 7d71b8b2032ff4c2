"""The first process of a pooled backtest container: Freqtrade imported once, then a fresh forked child per job.

Why: importing Freqtrade, pandas, TA-Lib and ccxt is about 2.5 s of CPU of every container backtest. A pooled
container pays it once, before any job exists, and then serves up to ``GENTRADE_DOCKER_CONTAINER_JOBS`` jobs, each
in a child forked from it (as the local runner's fork server, :mod:`gentrade.freqtrade.forkserver`). The docker
runner passes this file's source as ``python3 -c`` (nothing is added to the image, so any Freqtrade image works)
with four arguments: the source of :mod:`gentrade.freqtrade.progress`, the folder of the market list, the job
folder, the market-list port.

As PID 1 of a container without network (the container's own lock-down: read-only root, no capabilities, limits):

* serve the cached market list on the container's loopback (as the cold container's shell does), import what
  :data:`WARM_MODULES` names, mark the job folder ``.ready``; never run strategy code: only import and fork;
* for each job: poll for ``request.json`` (written atomically by the worker), remove it, fork a child and wait for
  it. The child is a new session, non-dumpable, first to be chosen by the OOM killer, with the job's log file
  (:data:`JOB_LOG`) as stdout and stderr and nothing else of the server open; it installs the progress hook and
  runs what ``python -m freqtrade <args>`` would;
* once the child ended: SIGKILL every other process of the container (``kill(-1)`` from PID 1 reaches the whole
  PID namespace at once, so nothing forks past it: the strategy's daemons and the market-list server too), reap
  them, empty ``/tmp``, ``/dev/shm`` and ``/dev/mqueue`` and remove the System V IPC objects, remove any
  ``request.json`` the job left; only then report ``{"done": n, "exit": code, "oom_kills": k, "clean": bool}``
  on stdout (the
  container's log: no job process can write there, its descriptors are gone, so the worker trusts this line and
  not the :data:`EXIT_HINT` file, which only says when to look), and start a fresh market-list server.

The worker collects the results and empties the job folder after that line, before it copies the next job in.

Standard library only (and Freqtrade, imported): nothing of the application is in the image.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import json
import os
import runpy
import shutil
import signal
import socket
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
JOB_LOG = ".gentrade-job.log"  # in the job folder: the child's stdout and stderr, read by the worker
EXIT_HINT = ".gentrade-exit"  # in the job folder: the server reported a job's end (the log line is the word)
POLL_SECONDS = 0.02
# Emptied after every job: the container's writable places besides the job folder (which the worker empties).
SCRATCH_DIRS = ("/tmp", "/dev/shm", "/dev/mqueue")  # noqa: S108 - the container's own tmpfs
OOM_COUNTERS = ("/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control")  # cgroup v2, v1
_PR_SET_DUMPABLE = 4
_IPC_RMID = 0
_LIBC = ctypes.CDLL(None, use_errno=True)


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


def wait_until_served(port: str, server: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Until the market-list server accepts connections (a job's Freqtrade asks it soon after it starts)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and server.poll() is None:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", int(port)), timeout=1):
            return
        time.sleep(0.01)


def take_request(job_dir: Path) -> dict[str, Any]:
    """Block until the worker hands this container a job (a stat every 20 ms), and remove the request."""
    path = job_dir / REQUEST_FILE
    while True:
        try:
            request = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            time.sleep(POLL_SECONDS)
            continue
        remove(path)
        return request


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


def run_child(request: dict[str, Any], job_dir: Path, progress_source: str) -> None:
    """The forked child: become the job's process, run Freqtrade, exit with its code; never back in the server."""
    code = 1
    try:
        os.setsid()  # its own session: nothing it starts shares the server's
        _LIBC.prctl(_PR_SET_DUMPABLE, 0)  # kept from the server across fork; said again: no ptrace, no /proc/<pid>/mem
        with contextlib.suppress(OSError), open("/proc/self/oom_score_adj", "w") as adj:
            adj.write("1000")  # the container's OOM killer takes the job (and what it starts), not the server
        signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a fresh interpreter
        for number in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(number, signal.SIG_DFL)
        devnull = os.open(os.devnull, os.O_RDONLY)
        log = os.open(job_dir / JOB_LOG, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        os.dup2(devnull, 0)
        os.dup2(log, 1)  # the container's log (the server's reports) is out of its reach from here on
        os.dup2(log, 2)
        os.closerange(3, 65536)
        os.chdir("/freqtrade")
        if "numpy" in sys.modules:  # a fresh random state, not a copy of the server's (``random`` reseeds itself)
            sys.modules["numpy"].random.seed()
        if request.get("progress"):
            progress = load_module("gentrade_progress", progress_source)
            with contextlib.suppress(ImportError):  # no Freqtrade here: nothing reports progress, the run says why
                progress.install(Path(request["progress"]))
        code = run_freqtrade(list(request["args"]))
    except BaseException:  # whatever happens, the child exits here
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def end_other_processes() -> bool:
    """SIGKILL every process of the container but this one (PID 1) and reap them: the job's leftovers, whatever
    session they made, and the market-list server (started afresh). ``kill(-1)`` signals the namespace at once.
    Whether none is left."""
    for _ in range(10):
        with contextlib.suppress(ProcessLookupError):
            os.kill(-1, signal.SIGKILL)
        while True:
            try:
                os.waitpid(-1, 0)
            except ChildProcessError:
                break
        if not [entry for entry in os.listdir("/proc") if entry.isdigit() and entry != str(os.getpid())]:
            return True
    return False


def empty_scratch() -> None:
    """What a job may leave outside its folder: files in the tmpfs, POSIX and System V IPC objects."""
    for folder in SCRATCH_DIRS:
        with contextlib.suppress(OSError):
            for entry in os.scandir(folder):
                remove(Path(entry.path))
    for kind, remover in (("shm", _LIBC.shmctl), ("msg", _LIBC.msgctl)):
        for ident in ipc_ids(kind):
            remover(ident, _IPC_RMID, None)
    for ident in ipc_ids("sem"):
        _LIBC.semctl(ident, 0, _IPC_RMID)


def ipc_ids(kind: str) -> list[int]:
    try:
        lines = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()[1:]
    except OSError:
        return []
    return [int(line.split()[1]) for line in lines if len(line.split()) > 1]


def remove(path: Path) -> None:
    """A file, link or folder, whatever modes the job left (its own uid made it all, so chmod is allowed); links are
    removed, never followed (the worker removes a job folder with this too)."""
    if path.is_symlink() or not path.is_dir():
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return
    with contextlib.suppress(OSError):
        path.chmod(0o700)
    for folder, subfolders, _ in os.walk(path):  # top-down: each folder readable before it is entered
        for name in subfolders:
            inner = os.path.join(folder, name)
            if not os.path.islink(inner):
                with contextlib.suppress(OSError):
                    os.chmod(inner, 0o700)
    shutil.rmtree(path, ignore_errors=True)


def scratch_is_empty() -> bool:
    return not any(any(True for _ in os.scandir(folder)) for folder in SCRATCH_DIRS if os.path.isdir(folder))


def oom_kills() -> int:
    """The container cgroup's count of OOM kills (0 where the kernel does not say)."""
    for counter in OOM_COUNTERS:
        with contextlib.suppress(OSError, ValueError):
            for line in Path(counter).read_text().splitlines():
                name, _, value = line.partition(" ")
                if name == "oom_kill":
                    return int(value)
    return 0


def report(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def main(argv: list[str]) -> int:
    progress_source, markets, job_folder, port = argv
    job_dir = Path(job_folder)
    _LIBC.prctl(_PR_SET_DUMPABLE, 0)  # no process of the container reads or writes this one's memory
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a job's ``kill 1``: PID 1 ignores what it has no handler for
    server = serve_market_list(markets, port)
    warm_up()
    (job_dir / READY_FILE).touch()
    served = 0
    while True:
        request = take_request(job_dir)
        served += 1
        before = oom_kills()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            run_child(request, job_dir, progress_source)  # never returns
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        ended = end_other_processes()
        server.returncode = -signal.SIGKILL  # reaped above: its Popen must never wait for a pid reused since
        empty_scratch()
        remove(job_dir / REQUEST_FILE)  # one the job wrote is no job
        report(
            {
                "done": served,
                "exit": code if code >= 0 else 128 - code,
                "oom_kills": oom_kills() - before,
                "clean": ended and scratch_is_empty(),  # else the worker removes the container rather than reuse it
            }
        )
        with contextlib.suppress(OSError):
            remove(job_dir / EXIT_HINT)
            (job_dir / EXIT_HINT).write_text(str(served))
        server = serve_market_list(markets, port)
        wait_until_served(port, server)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
