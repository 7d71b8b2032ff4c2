"""``make bench``: every benchmark of ``bench/``, one after another, then ``bench/RESULTS.md``.

Each benchmark runs as ``python -m bench.<name>`` in its own process (and process group); its output is
shown live and kept. Figures come from its ``RESULT {json}`` lines (``bench.common.result_line``, one
per figure: ``name``, ``figure``, ``baseline``, ``ratio``, ``target``, ``met``) when it prints any,
otherwise from the human lines it printed before those existed, with the small regexes below. A
benchmark that fails is reported with its exit code and the run goes on; the exit code is non-zero
when any benchmark failed to run (a missed target is not a failure).

Run: ``.venv/bin/python -m bench.run_all [--only NAME ...] [--output PATH] [--timeout SECONDS]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

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
class Figure:
    """One row of the results table: the fields of ``bench.common.result_line``."""

    name: str
    figure: str
    baseline: str = ""
    ratio: float | None = None
    target: str = ""
    met: bool | None = None


@dataclass
class Outcome:
    name: str
    returncode: int
    seconds: float
    output: str
    figures: list[Figure]
    source: str  # "RESULT lines", "output lines" or why there are no figures


# --- Figures from the human output (the lines each benchmark printed before its RESULT lines) ----------

NUMBER = r"([0-9]+(?:\.[0-9]+)?)"
# bench.common.summary(): "p50    31.0 ms   p95    35.2 ms   mean ..."
SUMMARY = rf"p50\s+{NUMBER} ms\s+p95\s+{NUMBER} ms"


def _search(pattern: str, text: str) -> re.Match[str] | None:
    return re.search(pattern, text, re.MULTILINE)


def _ratio(value: str, baseline: str) -> float | None:
    return round(float(value) / float(baseline), 2) if float(baseline) else None


def parse_deploy(text: str) -> list[Figure]:
    deploy = _search(rf"^deploy\s+\((\d+) drafts\): {SUMMARY}", text)  # "deploy  (50 drafts): p50 .. p95 .."
    compile_ = _search(rf"^compile \(baseline\)\s*: {SUMMARY}", text)  # "compile (baseline)  : p50 .. p95 .."
    target = _search(r"^target p95 <= (\d+) ms: (met|MISSED)", text)  # "target p95 <= 300 ms: met (31.0 ms)"
    if not (deploy and compile_ and target):
        return []
    return [
        Figure(
            "P5 deploy (POST /strategies)",
            f"p50 {deploy[2]} ms, p95 {deploy[3]} ms",
            f"compile alone p95 {compile_[2]} ms",
            _ratio(deploy[2], compile_[1]),  # of the p50s, as the benchmark prints it
            f"p95 <= {target[1]} ms",
            target[2] == "met",
        )
    ]


def parse_backtest_overhead(text: str) -> list[Figure]:
    api = _search(rf"^backtest through the API \(median of (\d+)\):\s+{NUMBER} s", text)
    cli = _search(rf"^stock freqtrade CLI\s+\(median of \d+\):\s+{NUMBER} s", text)
    ratio = _search(rf"^ratio API/CLI: {NUMBER}\s+target <= {NUMBER}: (met|MISSED)", text)
    # "data reuse: 0 klines requests during 5 backtests on cached data (target 0)"
    reuse = _search(r"^data reuse: (\d+) klines requests during (\d+) backtests on cached data", text)
    figures = []
    if api and cli and ratio:
        figures.append(
            Figure(
                "P2 backtest through the API",
                f"median {api[2]} s",
                f"stock CLI median {cli[1]} s",
                float(ratio[1]),
                f"ratio <= {ratio[2]}",
                ratio[3] == "met",
            )
        )
    if reuse:
        figures.append(
            Figure(
                "P3 data reuse (cached range)",
                f"{reuse[1]} klines requests in {reuse[2]} backtests",
                "first backtest downloaded",
                None,
                "0 requests",
                reuse[1] == "0",
            )
        )
    return figures


def parse_backtest_scale(text: str) -> list[Figure]:
    alone = _search(rf"^one backtest alone:\s+{NUMBER} s", text)
    together = _search(rf"^(\d+) concurrent on (\d+) worker processes:\s+{NUMBER} s", text)
    ratio = _search(rf"^ratio: {NUMBER}\s+target <= {NUMBER}: (met|MISSED)", text)
    # "data reuse: SOL/USDT downloaded with 3 klines requests for 2 concurrent backtests" (no verdict printed)
    reuse = _search(r"^data reuse: (\S+) downloaded with (\d+) klines requests for (\d+) concurrent", text)
    figures = []
    if alone and together and ratio:
        figures.append(
            Figure(
                f"P4 {together[1]} concurrent backtests, {together[2]} worker processes",
                f"{together[3]} s",
                f"one alone {alone[1]} s",
                float(ratio[1]),
                f"ratio <= {ratio[2]}",
                ratio[3] == "met",
            )
        )
    if reuse:
        figures.append(
            Figure(f"P3 {reuse[3]} concurrent backtests on one new pair", f"{reuse[2]} klines requests ({reuse[1]})")
        )
    return figures


def parse_agent_stream(text: str) -> list[Figure]:
    first = _search(rf"^first SSE byte \((\d+) turns\): {SUMMARY}", text)
    turn = _search(rf"^whole turn to `end`\s*: {SUMMARY}", text)
    read = _search(rf"^GET the chat \(baseline\)\s*: {SUMMARY}", text)
    target = _search(r"^target first byte p95 <= (\d+) ms: (met|MISSED)", text)
    if not (first and turn and read and target):
        return []
    return [
        Figure(
            "P6 agent stream, first SSE byte (offline)",
            f"p50 {first[2]} ms, p95 {first[3]} ms; turn p50 {turn[1]} ms",
            f"GET the chat p50 {read[1]} ms",
            _ratio(first[2], read[1]),
            f"first byte p95 <= {target[1]} ms",
            target[2] == "met",
        )
    ]


PARSERS: dict[str, Callable[[str], list[Figure]]] = {
    "deploy": parse_deploy,
    "backtest_overhead": parse_backtest_overhead,
    "backtest_scale": parse_backtest_scale,
    "agent_stream": parse_agent_stream,
}


def result_figures(text: str) -> list[Figure]:
    """The figures of all ``RESULT {json}`` lines; an unreadable line is reported and skipped."""
    figures = []
    for line in text.splitlines():
        if not line.startswith("RESULT "):
            continue
        try:
            item = json.loads(line.removeprefix("RESULT "))
            figures.append(
                Figure(
                    name=str(item["name"]),
                    figure=str(item.get("figure", "")),
                    baseline=str(item.get("baseline") or ""),
                    ratio=None if item.get("ratio") is None else float(item["ratio"]),
                    target=str(item.get("target") or ""),
                    met=None if item.get("met") is None else bool(item["met"]),
                )
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            print(f"unreadable RESULT line ({exc!r}): {line[:200]}", file=sys.stderr)
    return figures


def figures_of(name: str, text: str) -> tuple[list[Figure], str]:
    """RESULT lines when there are any (preferred), else the regexes for the benchmark's human lines."""
    found = result_figures(text)
    if found:
        return found, "RESULT lines"
    parser = PARSERS.get(name)
    found = parser(text) if parser else []
    return found, "output lines" if found else "no figures recognised in the output"


# --- Running ---------------------------------------------------------------------------------------------


def docker_engine_answers() -> bool:
    """Whether a Docker engine runs here (the docker runner's benchmarks are skipped without one)."""
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=30, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def run_one(name: str, timeout: float) -> Outcome:
    """``python -m bench.<module> <args>``: output echoed live and captured; SIGINT (clean-up runs) on timeout."""
    module, *arguments = BENCHMARKS[name]
    print(f"\n=== bench.{name} ===", flush=True)
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", f"bench.{module}", *arguments], cwd=ROOT,
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
    figures, source = figures_of(name, output) if returncode == 0 else ([], f"failed (exit {returncode})")
    return Outcome(name, returncode, time.monotonic() - started, output, figures, source)


# --- RESULTS.md ------------------------------------------------------------------------------------------


def machine() -> list[str]:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = _search(r"^model name\s*:\s*(.+)$", cpuinfo)
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    memory = _search(r"^MemTotal:\s*(\d+) kB", meminfo)
    versions = []
    for package in PACKAGES:
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package} (not installed)")
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return [
        f"- CPU: {model[1].strip() if model else platform.processor() or 'unknown'}, {os.cpu_count()} cores",
        f"- Memory: {int(memory[1]) / 1024 / 1024:.1f} GiB" if memory else "- Memory: unknown",
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
            verdict = {True: "met", False: "**MISSED**", None: "-"}[item.met]
            rows.append(
                f"| {outcome.name} | {_cell(item.name)} | {_cell(item.figure)} | {_cell(item.baseline)} | {ratio} "
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
