"""Backtest memory and time against candles x pairs: the calibration of :mod:`gentrade.freqtrade.limits`.

For 1, 4 and 8 pairs x 30, 180 and 365 days of 5m, 8 pairs x 730 days (the largest request the API accepts by
default) and 1-2 pairs x 365-730 days of 1m (one pair's many candles), on the stand-in's synthetic candles:

* the stock CLI (``python -m freqtrade backtesting``, no limit): seconds, peak resident memory (VmHWM), VmPeak,
  and VmData's peak (polled every 20 ms: the kernel keeps no peak of it);
* the service's warm runner under the default limits (a per-backtest memory cgroup where one can be made, else
  RLIMIT_DATA) and with RLIMIT_DATA alone: seconds, whether it finished, the cgroup's peak;
* ``limits.estimated_peak_mib`` beside each measured peak, and RLIMIT_DATA's allowance beside VmData - VmHWM.

Run: ``.venv/bin/python -m bench.backtest_memory [--quick]`` (``--quick``: 8 x 365 days of 5m only). No database.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.figures import Figure, parser, run_benchmark
from gentrade.exchange_sim import ExchangeSimulator, SimulatorConfig
from gentrade.freqtrade.jobs import BacktestJob
from gentrade.freqtrade.limits import (
    MIB,
    candles_per_pair,
    cpus,
    data_limit_bytes,
    estimated_peak_mib,
    find_cgroup_place,
)
from gentrade.freqtrade.runners.warm import WarmRunner
from gentrade.samples import draft
from gentrade.strategies.compiler import compile_strategy
from gentrade.strategies.draft import parse_draft
from gentrade.timeframes import TIMEFRAME_SECONDS
from tests.freqtrade_env import write_candles, write_configs

PAIRS = ("BTC/USDT", "ETH/USDT", "SOL/USDT", "ADA/USDT", "XRP/USDT", "DOT/USDT", "LTC/USDT", "BNB/USDT")
END = datetime(2026, 10, 31, tzinfo=UTC)
NOW = END + timedelta(days=1)
MEMORY_MB = 2048  # GENTRADE_BACKTEST_MEMORY_MB's default
TIMEOUT_SECONDS = 900
SIZES = [(pairs, days, "5m") for pairs in (1, 4, 8) for days in (30, 180, 365)]
SIZES += [(8, 730, "5m"), (1, 365, "1m"), (1, 730, "1m"), (2, 730, "1m")]
# The stock CLI, recording /proc/self/status when it exits (VmHWM and VmPeak are the kernel's own peaks).
CLI = (
    "import atexit, runpy, sys\n"
    "out = sys.argv[1]\n"
    "atexit.register(lambda: open(out, 'w').write(open('/proc/self/status').read()))\n"
    "sys.argv = ['freqtrade', *sys.argv[2:]]\n"
    "runpy.run_module('freqtrade', run_name='__main__', alter_sys=True)\n"
)


@dataclass
class Setup:
    user_data: Path
    datadir: Path
    api_url: str = ""

    def job(self, pairs: int, days: int, timeframe: str, work: Path) -> BacktestJob:
        """A backtest of the first ``pairs`` pairs (its own config names them, as the worker's overrides do)."""
        return BacktestJob(
            backtest_id=uuid.uuid4(),
            strategy_name="RsiDipBuyer",
            user_data_dir=self.user_data,
            config_files=tuple(write_configs(work / "config", list(PAIRS[:pairs]), self.api_url)),
            datadir=self.datadir,
            results_dir=self.user_data / "backtest_results" / work.name,
            timerange=f"{END - timedelta(days=days):%Y%m%d}-{END:%Y%m%d}",
            timeframe=timeframe,
            pairs=PAIRS[:pairs],
            timeout_seconds=TIMEOUT_SECONDS,
            memory_mb=MEMORY_MB,
        )


def status_kib(text: str) -> dict[str, int]:
    values = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.startswith("Vm") and value.strip().endswith("kB"):
            values[key] = int(value.split()[0])
    return values


def stock_cli(setup: Setup, job: BacktestJob, folder: Path) -> dict[str, Any]:
    """The stock CLI without any limit: time and memory peaks."""
    status = folder / "status.txt"
    args = [sys.executable, "-c", CLI, str(status), *job.freqtrade_args()]
    env = {"PATH": os.environ["PATH"], "HOME": str(folder), "TZ": "UTC", "LANG": "C.UTF-8"}
    started = time.monotonic()
    with (folder / "cli.log").open("wb") as output:
        process = subprocess.Popen(args, stdout=output, stderr=subprocess.STDOUT, env=env, cwd=folder)
    vm_data = 0
    while process.poll() is None:
        with contextlib.suppress(OSError):
            vm_data = max(vm_data, status_kib(Path(f"/proc/{process.pid}/status").read_text()).get("VmData", 0))
        time.sleep(0.02)
    seconds = time.monotonic() - started
    final = status_kib(status.read_text()) if status.exists() else {}
    return {
        "ok": process.returncode == 0,
        "seconds": round(seconds, 1),
        "hwm": final.get("VmHWM", 0) // 1024,
        "vm_peak": final.get("VmPeak", 0) // 1024,
        "vm_data": vm_data // 1024,
    }


def service(setup: Setup, job: BacktestJob, memory_cgroup: str) -> dict[str, Any]:
    """The warm runner as the worker runs it, under the default limits (or RLIMIT_DATA alone)."""
    runner = WarmRunner(memory_cgroup=memory_cgroup)
    outcome = runner.run(job, should_cancel=lambda: False, on_poll=lambda: None, poll_seconds=0.2)
    peak = outcome.peak_memory_bytes
    return {
        "ok": outcome.succeeded,
        "seconds": round(outcome.seconds, 1),
        "out_of_memory": outcome.out_of_memory,
        "cgroup_peak": peak // MIB if peak is not None else None,
    }


def prepare(root: Path) -> Setup:
    datadir = root / "market" / "binance"
    first = END - timedelta(days=740)
    write_candles(datadir, list(PAIRS), "5m", first, NOW)
    write_candles(datadir, list(PAIRS[:2]), "1m", first, NOW)
    user_data = root / "user_data"
    (user_data / "strategies").mkdir(parents=True)
    rsi = draft(entry_conditions={"all": [{"left": "rsi", "op": "<", "right": 30}]})
    (user_data / "strategies" / "RsiDipBuyer.py").write_text(compile_strategy(parse_draft(rsi)))
    return Setup(user_data, datadir)


def measure(sizes: list[tuple[int, int, str]]) -> list[dict[str, Any]]:
    """One row per size: the estimate, and the stock CLI's and the service's runs (printed as they finish)."""
    place = find_cgroup_place()
    mechanism = f"cgroup v{place.version} under {place.parent}" if place else "RLIMIT_DATA (no cgroup here)"
    print(f"{cpus()} CPUs; default limits: {MEMORY_MB} MiB by {mechanism}; ", end="")
    print(f"RLIMIT_DATA alone: {data_limit_bytes(MEMORY_MB) // MIB} MiB")
    rows = []
    with tempfile.TemporaryDirectory(prefix="gentrade-bench-memory-") as folder:
        root = Path(folder)
        setup = prepare(root)
        with ExchangeSimulator(SimulatorConfig(pairs=PAIRS, now=NOW)) as exchange:  # the markets, at start-up
            setup.api_url = exchange.api_url
            for pairs, days, timeframe in sizes:
                row: dict[str, Any] = {"pairs": pairs, "days": days, "timeframe": timeframe}
                candles = candles_per_pair(days, TIMEFRAME_SECONDS[timeframe])
                row["candles"] = pairs * candles
                row["estimate"] = round(estimated_peak_mib(pairs, candles))
                for name, run in (
                    ("cli", lambda job, work: stock_cli(setup, job, work)),
                    ("default", lambda job, work: service(setup, job, "auto")),
                    ("rlimit", lambda job, work: service(setup, job, "off")),
                ):
                    work = root / "runs" / f"{pairs}-{days}-{timeframe}-{name}"
                    work.mkdir(parents=True)
                    row[name] = run(setup.job(pairs, days, timeframe, work), work)
                rows.append(row)
                print(json.dumps(row), flush=True)
    return rows


def report(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "",
        "| pairs x days | candles | stock CLI s | VmHWM MiB | VmData peak MiB | VmData - VmHWM | VmPeak MiB "
        "| estimate MiB | service s (default) | cgroup peak MiB | RLIMIT_DATA alone |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        cli, default, rlimit = row["cli"], row["default"], row["rlimit"]
        verdict = "finished" if rlimit["ok"] else ("MemoryError" if rlimit["out_of_memory"] else "failed")
        lines.append(
            f"| {row['pairs']} x {row['days']} {row['timeframe']} | {row['candles']:,} | {cli['seconds']} "
            f"| {cli['hwm']:,} | {cli['vm_data']:,} | {cli['vm_data'] - cli['hwm']:,} | {cli['vm_peak']:,} "
            f"| {row['estimate']:,} | {default['seconds']} {'ok' if default['ok'] else 'FAILED'} "
            f"| {default['cgroup_peak'] if default['cgroup_peak'] is not None else '-'} | {verdict} |"
        )
    lines.append(f"\nmeasured peaks above their estimate: {len(_above_estimate(rows))} of {len(rows)}")
    lines.append(
        f"VmData above VmHWM: at most {_data_excess(rows)} MiB; RLIMIT_DATA's allowance here: {_allowance()} MiB"
    )
    return lines


def figures(rows: list[dict[str, Any]]) -> list[Figure]:
    """The largest size the default limits accept, and whether every accepted size kept to its estimate."""
    fits_default = [row for row in rows if row["estimate"] <= MEMORY_MB]
    finished = all(row["default"]["ok"] and row["rlimit"]["ok"] for row in fits_default)
    largest = max(fits_default, key=lambda row: row["candles"])
    default, cli = largest["default"], largest["cli"]
    return [
        Figure(
            f"{largest['pairs']} pairs x {largest['days']} days {largest['timeframe']} under the default limits",
            f"{default['seconds']} s",
            f"stock CLI {cli['seconds']} s, {cli['hwm']} MiB peak",
            round(default["seconds"] / cli["seconds"], 2) if cli["seconds"] else None,
            "every accepted size finishes, both mechanisms; no peak above its estimate",
            finished and not _above_estimate(rows) and _data_excess(rows) <= _allowance(),
        )
    ]


def _above_estimate(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [row for row in rows if row["cli"]["hwm"] > row["estimate"]]


def _data_excess(rows: list[dict[str, Any]]) -> int:
    """MiB of VmData above VmHWM, at most: what RLIMIT_DATA must allow beyond the memory limit."""
    return max(row["cli"]["vm_data"] - row["cli"]["hwm"] for row in rows)


def _allowance() -> int:
    return data_limit_bytes(0) // MIB - 1


def main(argv: list[str] | None = None) -> int:
    arguments = parser(__doc__.splitlines()[0])
    arguments.add_argument("--quick", action="store_true", help="8 pairs x 365 days of 5m only")
    return run_benchmark(
        arguments, argv, lambda args: measure([(8, 365, "5m")] if args.quick else SIZES), report, figures
    )


if __name__ == "__main__":
    sys.exit(main())
