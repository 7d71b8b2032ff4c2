"""``make bench``: every benchmark of ``bench/``, one after another, then ``bench/RESULTS.md``.

Each benchmark runs as ``python -m bench.<name> --figures FILE`` in its own process (and process group):
the workers, servers and containers it starts, and its memory and import timings, stay its own, and a
timeout can stop it (SIGINT, so its clean-up runs) without stopping the rest. Its output is shown live and
kept; its figures (``bench.figures.Figure``: name, value, baseline, ratio, target, met) come back as JSON
in FILE. A benchmark that fails is reported with its exit code and the run goes on; the exit code is
non-zero when any benchmark failed to run (a missed target is not a failure).

Run: ``.venv/bin/python -m bench.run_all [--only NAME ...] [--output PATH] [--timeout SECONDS]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from tempfile import TemporaryDirectory

from bench.figures import Figure, load

ROOT = Path(__file__).resolve().parent.parent
# name -> module of bench/ and its arguments
BENCHMARKS = {
    "deploy": ["deploy"],
    "backtest_overhead": ["backtest_overhead"],
    "backtest_scale": ["backtest_scale"],
    "backtest_memory": ["backtest_memory"],
    "docker_runner": ["docker_runner"],
    "backtest_overhead_docker": ["backtest_overhead", "--runner", "docker"],
    "backtest_scale_docker": ["backtest_scale", "--runner", "docker"],
    "backtest_hosts": ["backtest_hosts"],
    "agent_stream": ["agent_stream"],
    "api_load": ["api_load"],
}
NEEDS_DOCKER = {"docker_runner", "backtest_overhead_docker", "backtest_scale_docker"}
PACKAGES = ("freqtrade", "flask", "sqlalchemy", "langgraph", "gunicorn", "gevent", "psycopg")
DEFAULT_TIMEOUT = 1800  # seconds per benchmark
KEPT_LINES = 400  # of each benchmark's output, in RESULTS.md


@dataclass
class Outcome:
    name: str
    returncode: int
    seconds: float
    output: str
    figures: list[Figure]
    source: str  # "its figures file" or why there are no figures


# --- Running ---------------------------------------------------------------------------------------------


def docker_engine_answers() -> bool:
    """Whether a Docker engine runs here (the docker runner's benchmarks are skipped without one)."""
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=30, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def run_one(name: str, timeout: float) -> Outcome:
    """``python -m bench.<module> <args> --figures FILE``, and the figures it wrote into FILE."""
    module, *arguments = BENCHMARKS[name]
    print(f"\n=== bench.{name} ===", flush=True)
    started = time.monotonic()
    with TemporaryDirectory(prefix="gentrade-bench-figures-") as folder:
        path = Path(folder) / "figures.json"
        returncode, output = run_process(
            [sys.executable, "-m", f"bench.{module}", *arguments, "--figures", str(path)], timeout
        )
        if returncode != 0:
            figures, source = [], f"failed (exit {returncode})"
        elif path.exists():
            figures, source = load(path), "its figures file"
        else:
            figures, source = [], "no figures written"
    return Outcome(name, returncode, time.monotonic() - started, output, figures, source)


def run_process(argv: list[str], timeout: float) -> tuple[int, str]:
    """``argv`` in a process group of its own: (exit code, output), the output echoed live as it comes;
    SIGINT (the benchmark's clean-up runs) after ``timeout`` seconds."""
    process = subprocess.Popen(
        argv, cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, errors="replace", bufsize=1, start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    timed_out = threading.Event()

    def stop() -> None:
        timed_out.set()
        process.send_signal(signal.SIGINT)  # KeyboardInterrupt: the benchmark's finally blocks run
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)

    timer = threading.Timer(timeout, stop)
    timer.start()
    lines = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            print(f"  {line}", end="", flush=True)
            lines.append(line)
        returncode = process.wait()
    except KeyboardInterrupt:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
        raise
    finally:
        timer.cancel()
    output = "".join(lines)
    if timed_out.is_set():
        output += f"\n[run_all: stopped after the {timeout:.0f} s timeout]\n"
        returncode = returncode or -signal.SIGINT
    return returncode, output


# --- RESULTS.md ------------------------------------------------------------------------------------------


def proc_field(path: str, name: str) -> str | None:
    """The value of the first ``name: value`` line of a /proc file (None where there is no such file or line)."""
    if not Path(path).exists():
        return None
    for line in Path(path).read_text().splitlines():
        key, _, value = line.partition(":")
        if key.strip() == name:
            return value.strip()
    return None


def machine() -> list[str]:
    model = proc_field("/proc/cpuinfo", "model name")
    memory = proc_field("/proc/meminfo", "MemTotal")  # "24641612 kB"
    versions = []
    for package in PACKAGES:
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package} (not installed)")
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return [
        f"- CPU: {model or platform.processor() or 'unknown'}, {os.cpu_count()} cores",
        f"- Memory: {int(memory.split()[0]) / 1024 / 1024:.1f} GiB" if memory else "- Memory: unknown",
        f"- OS: {platform.platform()}",
        f"- Python {platform.python_version()}; " + ", ".join(versions),
        f"- Load average before the run: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}" if load else "- Load average: n/a",
    ]


def _cell(text: str) -> str:
    return text.replace("|", "\\|") if text else "-"


def table(outcomes: list[Outcome]) -> list[str]:
    rows = [
        "| Benchmark | Figure | Value | Baseline (same run) | Ratio | Target | Verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for outcome in outcomes:
        if outcome.returncode != 0:
            rows.append(f"| {outcome.name} | - | - | - | - | - | **FAILED** (exit {outcome.returncode}) |")
            continue
        if not outcome.figures:
            rows.append(f"| {outcome.name} | {outcome.source} | - | - | - | - | ? |")
        for item in outcome.figures:
            ratio = "-" if item.ratio is None else f"{item.ratio:g}"
            verdict = "**MISSED**" if item.met is False else item.verdict
            rows.append(
                f"| {outcome.name} | {_cell(item.name)} | {_cell(item.value)} | {_cell(item.baseline)} | {ratio} "
                f"| {_cell(item.target)} | {verdict} |"
            )
    return rows


def write_results(path: Path, outcomes: list[Outcome], started: datetime, header: list[str]) -> None:
    lines = [
        "# Benchmark results",
        "",
        f"`make bench` (`python -m bench.run_all`), started {started:%Y-%m-%d %H:%M} UTC.",
        "",
        "## Machine",
        "",
        *header,
        "",
        "## Figures",
        "",
        *table(outcomes),
        "",
        "Ratio: as each benchmark states it (figure / baseline). A missed target is reported, not a failure.",
        "",
        "## Raw output",
        "",
    ]
    for outcome in outcomes:
        output = outcome.output.splitlines()
        if len(output) > KEPT_LINES:
            output = [f"[... {len(output) - KEPT_LINES} earlier lines left out ...]", *output[-KEPT_LINES:]]
        lines += [
            "<details>",
            f"<summary>bench.{outcome.name}: exit {outcome.returncode}, {outcome.seconds:.0f} s, "
            f"figures from {outcome.source}</summary>",
            "",
            "```text",
            *(line.replace("```", "'''") for line in output),
            "```",
            "",
            "</details>",
            "",
        ]
    path.write_text("\n".join(lines))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, help="run these benchmarks only")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "RESULTS.md")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per benchmark")
    args = parser.parse_args()

    started = datetime.now(UTC)
    header = machine()  # the load average before the benchmarks add their own
    docker = docker_engine_answers()
    outcomes = []
    for name in args.only or BENCHMARKS:
        if name in NEEDS_DOCKER and not docker:
            outcomes.append(Outcome(name, 0, 0.0, "", [], "skipped: no Docker engine answers here"))
        else:
            outcomes.append(run_one(name, args.timeout))
    write_results(args.output, outcomes, started, header)

    print("\n" + "\n".join(table(outcomes)) + f"\n\nwritten: {args.output}")
    failed = [outcome.name for outcome in outcomes if outcome.returncode != 0]
    if failed:
        print(f"failed to run: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
