"""LocalRunner (a new interpreter per backtest) and WarmRunner (forked from a warm fork server) with the real,
pinned Freqtrade, offline (local exchange stand-in, synthetic candles): every test runs against both.

Market data for 2 pairs / 1h / 3 months is downloaded once per module with stock
``freqtrade download-data``; each test then backtests two months of it. Tests that are about the
process handling rather than Freqtrade (environment, memory limit, process group, gevent) run a
small Python command in Freqtrade's place through the runner's configurable command prefix.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
import pytest

from gentrade.exchange_sim import ExchangeSimulator, SimulatorConfig
from gentrade.freqtrade.jobs import BacktestJob, RunOutcome
from gentrade.freqtrade.limits import CGROUP_PREFIX, MIB, find_cgroup_place
from gentrade.freqtrade.runners.local import BACKTEST_NICENESS, LOG_FILE, LocalRunner
from gentrade.freqtrade.runners.warm import ForkServers, WarmRunner
from gentrade.samples import draft
from gentrade.strategies.compiler import compile_strategy
from gentrade.strategies.draft import parse_draft
from tests.freqtrade_env import write_candles, write_configs
from tests.local_runner import Heartbeats, LocalWorkspace, run_locally

REPO = Path(__file__).resolve().parents[2]
ALLOWED_ENV = {"PATH", "HOME", "LANG", "LC_ALL", "PYTHONDONTWRITEBYTECODE", "TZ"}


RUNNERS: dict[str, type[LocalRunner]] = {"cold": LocalRunner, "warm": WarmRunner}


@pytest.fixture(params=sorted(RUNNERS))
def make_runner(request: pytest.FixtureRequest) -> type[LocalRunner]:
    """Each test runs once per runner: the isolation guarantees are the same."""
    return RUNNERS[request.param]


def leftovers(marker: Path) -> list[psutil.Process]:
    """Processes whose command line or open files name ``marker`` (a results folder only one job uses): a forked
    backtest has its server's command line, but its output goes to the job's log file."""
    found = []
    for process in psutil.process_iter(["cmdline", "status", "open_files"]):
        names = [*(process.info["cmdline"] or []), *(f.path for f in process.info["open_files"] or [])]
        if process.info["status"] != psutil.STATUS_ZOMBIE and any(str(marker) in name for name in names):
            found.append(process)
    return found


def stats_of(results_dir: Path, strategy: str) -> dict[str, Any]:
    [archive] = results_dir.glob("*.zip")
    with zipfile.ZipFile(archive) as opened:
        name = next(n for n in opened.namelist() if n.endswith(".json") and "_config" not in n)
        return json.loads(opened.read(name))["strategy"][strategy]


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file (not folder: a new results folder changes its parent's mtime) with size and mtime."""
    files = (p for p in folder.rglob("*") if p.is_file())
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in files}


def test_successful_backtest(make_runner: type[LocalRunner], local_workspace: LocalWorkspace) -> None:
    job = local_workspace.job("success")
    calls = Heartbeats()
    outcome = run_locally(make_runner(), job, calls, poll=0.05)  # a warm run on an idle machine is a few hundred ms

    assert outcome.succeeded, outcome.log_tail
    assert outcome.exit_code == 0
    assert not outcome.timed_out
    assert not outcome.cancelled
    assert 1 < outcome.seconds < 60
    assert calls.heartbeats  # at least one poll went by while Freqtrade ran
    assert stats_of(job.results_dir, "RsiDipBuyer")["total_trades"] > 0
    assert (job.results_dir / LOG_FILE).stat().st_size > 0
    assert "Final balance" in outcome.log_tail  # the end of Freqtrade's report tables
    assert len(outcome.log_tail.splitlines()) <= 60


def test_timeout_kills_the_run(make_runner: type[LocalRunner], local_workspace: LocalWorkspace) -> None:
    job = local_workspace.job("timeout", strategy="SlowStrategy", timeout_seconds=1)
    started = time.monotonic()
    outcome = run_locally(make_runner(kill_grace_seconds=2), job, poll=0.2)

    assert time.monotonic() - started < 5
    assert outcome.timed_out
    assert not outcome.cancelled
    assert outcome.exit_code is None
    assert not outcome.succeeded
    assert "[gentrade] killed: timeout of 1 s reached" in outcome.log_tail
    assert leftovers(job.results_dir) == []
    assert list(job.results_dir.glob("*.zip")) == []


def test_cancel_after_the_first_heartbeat(make_runner: type[LocalRunner], local_workspace: LocalWorkspace) -> None:
    job = local_workspace.job("cancel", strategy="SlowStrategy")
    calls = Heartbeats(cancel_after=1)
    outcome = run_locally(make_runner(kill_grace_seconds=2), job, calls, poll=0.3)

    assert outcome.cancelled
    assert not outcome.timed_out
    assert outcome.exit_code is None
    assert len(calls.heartbeats) == 1
    assert outcome.seconds < 3  # one poll, then SIGTERM ends Freqtrade at once
    assert "[gentrade] killed: cancelled" in outcome.log_tail
    assert leftovers(job.results_dir) == []


def test_strategy_error_gives_exit_code_and_traceback(
    make_runner: type[LocalRunner], local_workspace: LocalWorkspace
) -> None:
    job = local_workspace.job("broken", strategy="BrokenStrategy")
    outcome = run_locally(make_runner(), job)

    assert outcome.exit_code not in (0, None)
    assert not outcome.succeeded
    assert not outcome.timed_out
    assert "Traceback" in outcome.log_tail
    assert "boom from populate_indicators" in outcome.log_tail


def test_concurrent_runs_write_only_their_own_results(
    make_runner: type[LocalRunner], local_workspace: LocalWorkspace
) -> None:
    jobs = [local_workspace.job("concurrent-a"), local_workspace.job("concurrent-b")]
    before = snapshot(local_workspace.user_data)
    outcomes: dict[str, RunOutcome] = {}

    def work(job: BacktestJob) -> None:
        outcomes[job.results_dir.name] = run_locally(make_runner(), job)

    threads = [threading.Thread(target=work, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)

    assert all(outcome.succeeded for outcome in outcomes.values()), outcomes
    after = snapshot(local_workspace.user_data)
    changed = {name for name in after if before.get(name) != after[name]}
    assert changed, "the runs wrote nothing"
    own = {f"backtest_results/{job.results_dir.name}" for job in jobs}
    assert all(any(name.startswith(f"{root}/") for root in own) for name in changed), changed
    for job in jobs:
        assert len(list(job.results_dir.glob("*.zip"))) == 1
        assert stats_of(job.results_dir, "RsiDipBuyer")["total_trades"] > 0


def test_child_environment_has_no_secrets(
    make_runner: type[LocalRunner], local_workspace: LocalWorkspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GENTRADE_CLERK_WEBHOOK_SECRET", "whsec_must-not-leak")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-must-not-leak")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-must-not-leak")
    monkeypatch.setenv("GENTRADE_DATABASE_URL", "postgresql://user:password@db/gentrade")
    dump_env = [sys.executable, "-c", "import json, os; print(json.dumps(dict(os.environ)))"]
    job = local_workspace.job("environment", results_dir=tmp_path / "results")

    outcome = run_locally(make_runner(dump_env), job, poll=0.1)

    assert outcome.succeeded, outcome.log_tail
    env = json.loads((job.results_dir / LOG_FILE).read_text())
    assert set(env) == ALLOWED_ENV
    assert env["PATH"] == os.environ["PATH"]
    assert env["TZ"] == "UTC"
    assert env["LANG"] == env["LC_ALL"] == "C.UTF-8"
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["HOME"] != os.environ.get("HOME")
    assert not Path(env["HOME"]).exists()  # a private home, removed after the run
    leaked = [value for value in env.values() if "must-not-leak" in value or "password" in value]
    assert leaked == []


MECHANISMS = {"cgroup": "auto", "rlimit": "off"}  # LocalRunner's memory_cgroup: a memory cgroup, or RLIMIT_DATA


@pytest.fixture(params=sorted(MECHANISMS))
def memory_cgroup(request: pytest.FixtureRequest) -> str:
    """Each memory test runs under both mechanisms: the cgroup (where one can be made) and RLIMIT_DATA."""
    if request.param == "cgroup" and find_cgroup_place() is None:
        pytest.skip("no writable memory cgroup here (not root, or none delegated): RLIMIT_DATA only")
    return MECHANISMS[request.param]


def test_memory_limit_stops_a_runaway_allocation(
    make_runner: type[LocalRunner], memory_cgroup: str, local_workspace: LocalWorkspace, tmp_path: Path
) -> None:
    # Allocates (and fills) 64 MiB after 64 MiB without end, 16 GiB in all: far past any limit of a 256 MiB run.
    runaway = "blobs = []\nfor _ in range(256):\n    blobs.append(bytearray(64 << 20))\nprint('allocated')"
    job = local_workspace.job("memory", results_dir=tmp_path / "results", memory_mb=256)

    outcome = run_locally(make_runner([sys.executable, "-c", runaway], memory_cgroup=memory_cgroup), job, poll=0.1)

    assert outcome.exit_code not in (0, None)
    assert outcome.out_of_memory
    assert "allocated" not in outcome.log_tail
    if memory_cgroup == "off":  # RLIMIT_DATA: the allocation beyond it fails in the child
        assert "MemoryError" in outcome.log_tail
    else:  # the cgroup's OOM killer at 256 MiB resident, and nothing held more
        assert outcome.exit_code == -signal.SIGKILL
        assert "[gentrade] killed: out of memory (limit 256 MiB)" in outcome.log_tail
        assert outcome.peak_memory_bytes is not None
        assert outcome.peak_memory_bytes <= 256 * MIB
    assert leftovers(job.results_dir) == []


def test_memory_reserved_but_never_used_does_not_count(
    make_runner: type[LocalRunner], memory_cgroup: str, local_workspace: LocalWorkspace, tmp_path: Path
) -> None:
    """What pyarrow's allocator does when a backtest reads its candles: a 1 GiB writable reservation it never
    touches. Only the 64 MiB really used count against a 256 MiB limit (a plain RLIMIT_DATA of 256 MiB failed)."""
    reserve = (
        "import mmap\n"
        "arena = mmap.mmap(-1, 1 << 30, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)\n"
        "used = bytearray(64 << 20)\n"
        "print('within the limit')"
    )
    job = local_workspace.job("reserved", results_dir=tmp_path / "results", memory_mb=256)

    outcome = run_locally(make_runner([sys.executable, "-c", reserve], memory_cgroup=memory_cgroup), job, poll=0.1)

    assert outcome.succeeded, outcome.log_tail
    assert "within the limit" in outcome.log_tail
    assert not outcome.out_of_memory


def test_each_run_has_a_memory_cgroup_of_its_own_removed_after_it(
    make_runner: type[LocalRunner], local_workspace: LocalWorkspace, tmp_path: Path
) -> None:
    place = find_cgroup_place()
    if place is None:
        pytest.skip("no writable memory cgroup here (not root, or none delegated): RLIMIT_DATA only")
    before = set(place.parent.glob(f"{CGROUP_PREFIX}*"))
    show = [sys.executable, "-c", "print(open('/proc/self/cgroup').read())"]
    job = local_workspace.job("cgroup", results_dir=tmp_path / "results", memory_mb=300)

    outcome = run_locally(make_runner(show), job, poll=0.1)

    assert outcome.succeeded, outcome.log_tail
    controller = "memory" if place.version == 1 else ""
    [line] = [line for line in outcome.log_tail.splitlines() if line.split(":")[1:2] == [controller]]
    joined = line.split(":", 2)[2]
    assert joined.rsplit("/", 1)[-1].startswith(CGROUP_PREFIX)  # it ran inside its backtest's cgroup
    assert not (place.parent / joined.rsplit("/", 1)[-1]).exists()  # which is gone
    assert set(place.parent.glob(f"{CGROUP_PREFIX}*")) == before


def test_backtests_run_below_the_workers_priority(
    make_runner: type[LocalRunner], local_workspace: LocalWorkspace, tmp_path: Path
) -> None:
    """A backtest is batch work: on a shared host the API's requests and the worker come first."""
    report = [sys.executable, "-c", "import os; print('niceness', os.nice(0))"]
    job = local_workspace.job("nice", results_dir=tmp_path / "results")

    outcome = run_locally(make_runner(report), job, poll=0.1)

    assert f"niceness {os.nice(0) + BACKTEST_NICENESS}" in outcome.log_tail


def test_timeout_kills_the_whole_group_even_a_child_ignoring_sigterm(
    make_runner: type[LocalRunner], local_workspace: LocalWorkspace, tmp_path: Path
) -> None:
    # The "freqtrade" here starts a child that ignores SIGTERM, then sleeps: both must die.
    script = (
        "import signal, subprocess, sys, time\n"
        "child = 'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)'\n"
        "subprocess.Popen([sys.executable, '-c', child, *sys.argv[1:]])\n"
        "print('started', flush=True)\n"
        "time.sleep(60)\n"
    )
    job = local_workspace.job("group", results_dir=tmp_path / "results", timeout_seconds=1)
    started = time.monotonic()

    outcome = run_locally(make_runner([sys.executable, "-c", script], kill_grace_seconds=0.5), job, poll=0.1)

    assert outcome.timed_out
    assert outcome.exit_code is None
    assert time.monotonic() - started < 4
    assert "started" in outcome.log_tail
    deadline = time.monotonic() + 3  # SIGKILL is immediate, the reaping by init may take a moment
    while leftovers(job.results_dir) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert leftovers(job.results_dir) == []


GEVENT_SCRIPT = """
from gevent import monkey

monkey.patch_all()

import json, sys, uuid
from pathlib import Path

import gevent

from gentrade.freqtrade.jobs import BacktestJob
from gentrade.freqtrade.runners.local import LocalRunner
from gentrade.freqtrade.runners.warm import WarmRunner

spec = json.loads(sys.argv[1])
ticks = 0


def ticker():
    global ticks
    while True:
        ticks += 1
        gevent.sleep(0.05)


gevent.spawn(ticker)
report = {}
for case in spec["cases"]:
    job = BacktestJob(
        backtest_id=uuid.uuid4(), strategy_name="RsiDipBuyer", user_data_dir=Path(spec["user_data"]),
        config_files=tuple(Path(c) for c in spec["configs"]), datadir=Path(spec["datadir"]),
        results_dir=Path(case["results_dir"]), timerange="20260701-20260901", timeframe="1h",
        pairs=("BTC/USDT", "ETH/USDT"), timeout_seconds=case["timeout"],
    )
    beats = []
    start_ticks = ticks
    runner = {"LocalRunner": LocalRunner, "WarmRunner": WarmRunner}[spec["runner"]]
    outcome = runner(case["command"], kill_grace_seconds=1).run(
        job, should_cancel=lambda: case["cancel"] and len(beats) >= 1, on_poll=lambda: beats.append(1),
        poll_seconds=0.2,
    )
    report[case["name"]] = {
        "exit_code": outcome.exit_code, "timed_out": outcome.timed_out, "cancelled": outcome.cancelled,
        "seconds": outcome.seconds, "heartbeats": len(beats), "ticks": ticks - start_ticks,
        "tail": outcome.log_tail[-2000:],
    }
print(json.dumps(report))
"""


def test_works_in_a_gevent_monkey_patched_process(
    make_runner: type[LocalRunner], local_workspace: LocalWorkspace, tmp_path: Path
) -> None:
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    cases = [
        {"name": "backtest", "command": None, "timeout": 120, "cancel": False},
        {"name": "timeout", "command": sleeper, "timeout": 1, "cancel": False},
        {"name": "cancel", "command": sleeper, "timeout": 60, "cancel": True},
    ]
    for case in cases:
        case["results_dir"] = str(
            local_workspace.user_data / "backtest_results" / f"gevent-{case['name']}-{uuid.uuid4().hex}"
        )
    spec = {
        "user_data": str(local_workspace.user_data),
        "configs": [str(c) for c in local_workspace.configs],
        "datadir": str(local_workspace.datadir),
        "cases": cases,
        "runner": make_runner.__name__,
    }
    script = tmp_path / "gevent_runner.py"
    script.write_text(GEVENT_SCRIPT)

    result = subprocess.run(
        [sys.executable, str(script), json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])

    backtest = report["backtest"]
    assert backtest["exit_code"] == 0, backtest["tail"]
    assert not backtest["timed_out"]
    assert stats_of(Path(cases[0]["results_dir"]), "RsiDipBuyer")["total_trades"] > 0
    # Other greenlets kept running while the runner waited: it never blocks the hub.
    assert backtest["ticks"] >= backtest["seconds"] / 0.05 * 0.5
    assert backtest["heartbeats"] >= 1

    assert report["timeout"]["timed_out"]
    assert report["timeout"]["exit_code"] is None
    assert report["timeout"]["seconds"] < 3
    assert report["cancel"]["cancelled"]
    assert report["cancel"]["heartbeats"] == 1
    assert report["cancel"]["seconds"] < 2
    for case in cases:
        assert leftovers(Path(case["results_dir"])) == []


def test_sigxcpu_counts_as_a_timeout(
    make_runner: type[LocalRunner], local_workspace: LocalWorkspace, tmp_path: Path
) -> None:
    # A child killed by RLIMIT_CPU (SIGXCPU) is reported as timed out, not as an exit code.
    suicide = [sys.executable, "-c", f"import os; os.kill(os.getpid(), {int(signal.SIGXCPU)})"]
    job = local_workspace.job("sigxcpu", results_dir=tmp_path / "results", timeout_seconds=5)

    outcome = run_locally(make_runner(suicide), job, poll=0.1)

    assert outcome.timed_out
    assert outcome.exit_code is None
    assert "CPU time limit of 15 s reached" in outcome.log_tail


# --- the warm runner alone -----------------------------------------------------------------------------------


def test_the_warm_runner_reports_freqtrades_progress(local_workspace: LocalWorkspace) -> None:
    job = local_workspace.job("progress")
    seen: list[float] = []

    outcome = WarmRunner().run(
        job, should_cancel=lambda: False, on_poll=lambda: None, poll_seconds=0.05, progress=seen.append
    )

    assert outcome.succeeded, outcome.log_tail
    assert seen, "no progress was reported"
    assert seen == sorted(seen)
    assert any(0 < value < 1 for value in seen)


def test_a_warm_backtest_gives_the_stock_clis_result(local_workspace: LocalWorkspace, tmp_path: Path) -> None:
    """Same strategy, data, range and configs: the forked backtest and ``freqtrade backtesting`` in a new
    interpreter trade alike, to the last figure."""
    warm = local_workspace.job("warm-vs-cli")
    outcome = WarmRunner().run(warm, should_cancel=lambda: False, on_poll=lambda: None, poll_seconds=0.1)
    assert outcome.succeeded, outcome.log_tail
    stock = local_workspace.job("cli-vs-warm")
    stock.results_dir.mkdir(parents=True)
    subprocess.run(
        [sys.executable, "-m", "freqtrade", *stock.freqtrade_args()],
        check=True,
        capture_output=True,
        cwd=tmp_path,
        timeout=300,
    )

    ours, theirs = stats_of(warm.results_dir, "RsiDipBuyer"), stats_of(stock.results_dir, "RsiDipBuyer")

    assert ours["total_trades"] > 0
    assert ours["trades"] == theirs["trades"]
    for key in ("total_trades", "profit_total", "profit_total_abs", "final_balance", "max_drawdown_account", "wins"):
        assert ours[key] == theirs[key], key


PROBE = (
    "import ctypes, json, os, numpy\n"
    "print(json.dumps({'dumpable': ctypes.CDLL(None).prctl(3, 0, 0, 0, 0), 'pid': os.getpid(), 'sid': os.getsid(0),"
    " 'left_behind': hasattr(numpy, 'left_by_the_last_backtest'), 'draw': numpy.random.random()}))\n"
    "numpy.left_by_the_last_backtest = True\n"
)


def test_a_forked_backtest_leaves_nothing_for_the_next_and_cannot_inspect_anything(
    local_workspace: LocalWorkspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-must-not-leak")
    servers = ForkServers()
    runner = WarmRunner([sys.executable, "-c", PROBE], servers=servers)
    reports = []
    for name in ("first", "second"):
        job = local_workspace.job(name, results_dir=tmp_path / name)
        outcome = run_locally(runner, job, poll=0.1)
        assert outcome.succeeded, outcome.log_tail
        reports.append(json.loads((job.results_dir / LOG_FILE).read_text()))
    [server] = servers._servers

    first, second = reports
    assert first["pid"] != second["pid"]  # a fresh child each time, from the same server
    assert [first["left_behind"], second["left_behind"]] == [False, False]  # what one did is gone for the next
    assert first["draw"] != second["draw"]  # its own random state, not a copy of the server's
    assert all(report["sid"] == report["pid"] for report in reports)  # its own session: killpg reaches all of it
    assert all(report["dumpable"] == 0 for report in reports)  # no ptrace, no /proc reading by a same-user process
    server_environment = Path(f"/proc/{server.process.pid}/environ").read_bytes()
    assert b"must-not-leak" not in server_environment  # the server started from the scrubbed environment
    assert server.process.pid not in {report["pid"] for report in reports}


BIG_PAIRS = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "ADA/USDT", "XRP/USDT", "DOT/USDT", "LTC/USDT", "BNB/USDT"]


def test_a_one_year_8_pair_5m_backtest_finishes_under_the_default_limits(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Issue 16: an ordinary request (8 pairs, 365 days of 5m: ~1.1 GB resident, ~2.2 GB of VmData) failed after
    14 s with ``_ArrayMemoryError`` under RLIMIT_DATA = 2048 MiB. It now finishes under the default limits (2048 MiB,
    900 s, this machine's mechanism) on the warm runner the worker uses by default; about 20 s on an idle 2-CPU
    machine. Both mechanisms, and every size up to 8 x 730 days, are run by ``bench/backtest_memory.py``."""
    root = tmp_path_factory.mktemp("big")
    end = datetime(2026, 10, 31, tzinfo=UTC)
    datadir = root / "market" / "binance"
    write_candles(datadir, BIG_PAIRS, "5m", end - timedelta(days=366), end + timedelta(days=1))
    user_data = root / "user_data"
    (user_data / "strategies").mkdir(parents=True)
    rsi_only = draft(entry_conditions={"all": [{"left": "rsi", "op": "<", "right": 30}]})
    (user_data / "strategies" / "RsiDipBuyer.py").write_text(compile_strategy(parse_draft(rsi_only)))
    config = SimulatorConfig(pairs=tuple(BIG_PAIRS), now=end + timedelta(days=1))
    with ExchangeSimulator(config) as exchange:  # Freqtrade loads the markets when it starts
        job = BacktestJob(
            backtest_id=uuid.uuid4(),
            strategy_name="RsiDipBuyer",
            user_data_dir=user_data,
            config_files=tuple(write_configs(root / "config", BIG_PAIRS, exchange.api_url)),
            datadir=datadir,
            results_dir=user_data / "backtest_results" / "big",
            timerange=f"{end - timedelta(days=365):%Y%m%d}-{end:%Y%m%d}",
            timeframe="5m",
            pairs=tuple(BIG_PAIRS),
        )
        assert (job.memory_mb, job.timeout_seconds) == (2048, 900)  # the defaults of the settings
        outcome = run_locally(WarmRunner(), job, poll=0.5)

    assert outcome.succeeded, outcome.log_tail
    assert not outcome.out_of_memory
    stats = stats_of(job.results_dir, "RsiDipBuyer")
    assert {row["key"] for row in stats["results_per_pair"]} >= set(BIG_PAIRS)
    if outcome.peak_memory_bytes is not None:
        assert outcome.peak_memory_bytes < 2048 * MIB
