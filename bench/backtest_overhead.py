"""P2: a backtest through the API (POST -> finished, data cached) versus the stock CLI on the same
strategy, data and range. Target: ratio of medians <= 0.6 (the warm runner skips the imports the CLI pays
for). Also P3 (data reuse): the API runs on cached data make 0 klines requests.

``--runner docker``: the worker runs its backtests in pooled containers, against ``docker run --rm`` of the
stock image with the same options (bench/docker_cli.py), same target.

Run: ``.venv/bin/python -m bench.backtest_overhead [--runner docker]`` (PostgreSQL and RabbitMQ on this
machine; a Docker engine with `make docker-images` built for the docker runner).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from dataclasses import dataclass

from bench.backtest_stack import backtest_stack
from bench.common import AgainstStockTool, runner_parser
from bench.figures import Figure, run_benchmark

RUNS = 5
TARGET = 0.6


@dataclass
class Overhead(AgainstStockTool):
    """Seconds per backtest through the API and with the stock tool; klines requests during the API's runs."""

    api: list[float]
    baseline: list[float]
    klines_during: int

    @property
    def ratio(self) -> float:
        return statistics.median(self.api) / statistics.median(self.baseline)


def measure(runner: str) -> Overhead:
    """RUNS backtests through the API on cached data, then RUNS of the stock tool on the same files."""
    with backtest_stack(("BTC/USDT", "ETH/USDT"), runner=runner) as stack:
        strategy_id = stack.deploy("OverheadProbe")
        first = stack.wait(stack.start(strategy_id))  # downloads the data once
        klines_before = stack.exchange.requests["klines"]
        api_times = []
        for _ in range(RUNS):
            started = time.perf_counter()
            stack.wait(stack.start(strategy_id))
            api_times.append(time.perf_counter() - started)
        klines_during = stack.exchange.requests["klines"] - klines_before

        # The same backtest with the stock tool, on the same files, as the worker ran it.
        cli_times = []
        for index in range(RUNS):
            out = stack.data_dir / f"cli-{index}"
            out.mkdir()
            command = stack.baseline_command("OverheadProbe", first["id"], out)
            started = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, cwd=out)
            cli_times.append(time.perf_counter() - started)
    return Overhead(runner, api_times, cli_times, klines_during)


def report(overhead: Overhead) -> list[str]:
    return [
        f"backtest through the API{overhead.label} (median of {RUNS}): {statistics.median(overhead.api):6.2f} s",
        f"{overhead.tool} (median of {RUNS}): {statistics.median(overhead.baseline):6.2f} s   (baseline)",
        overhead.ratio_line("ratio API/baseline", 3, TARGET),
        f"data reuse: {overhead.klines_during} klines requests during {RUNS} backtests on cached data (target 0)",
    ]


def figures(overhead: Overhead) -> list[Figure]:
    """P2, and P3 with the local runner."""
    api, cli = statistics.median(overhead.api), statistics.median(overhead.baseline)
    result = [
        overhead.figure("P2 backtest through the API", f"median {api:.2f} s", f"median {cli:.2f} s", TARGET)
    ]  # fmt: skip
    if overhead.runner == "local":
        klines = overhead.klines_during
        result.append(Figure("P3 data reuse (cached range)", f"{klines} klines requests in {RUNS} backtests",
                             "first backtest downloaded", None, "0 requests", klines == 0))  # fmt: skip
    return result


def main(argv: list[str] | None = None) -> int:
    arguments = runner_parser(__doc__.splitlines()[0])
    return run_benchmark(arguments, argv, lambda args: measure(args.runner), report, figures)


if __name__ == "__main__":
    sys.exit(main())
