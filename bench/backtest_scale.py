"""P4: 16 backtests submitted at once to a worker with 2 processes, versus the stock CLI running the same 16 in
two parallel lanes (target: the service takes <= 0.6x the time). P3 (data reuse): two concurrent backtests on
the same new pair download it once.

``--runner docker``: the worker runs its backtests in pooled containers (one per worker process), against
``docker run --rm`` of the stock image with the same options in two parallel lanes, same target.

Run: ``.venv/bin/python -m bench.backtest_scale [--runner docker]`` (PostgreSQL and RabbitMQ on this machine;
a Docker engine with `make docker-images` built for the docker runner).
"""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from bench.backtest_stack import backtest_stack
from bench.common import AgainstStockTool, runner_parser
from bench.figures import Figure, run_benchmark

CONCURRENT = 16
LANES = 2  # the worker's processes, and the CLI's parallel runs
TARGET = 0.6
ONE_DOWNLOAD = 3  # klines requests of one download of the new pair: a listing probe and 2 chunks


@dataclass
class Scale(AgainstStockTool):
    """Seconds for all CONCURRENT backtests through the service and with the stock tool in LANES lanes; the
    klines requests for the new pair two concurrent backtests needed."""

    service: float
    stock: float
    new_pair_requests: int

    @property
    def ratio(self) -> float:
        return self.service / self.stock


def measure(runner: str) -> Scale:
    with backtest_stack(("BTC/USDT", "ETH/USDT", "SOL/USDT", "ADA/USDT"), worker_processes=2, runner=runner) as stack:
        # Data reuse: two backtests needing the same new pair at once download it once.
        first, second = stack.deploy("ReuseA", pairs=["SOL/USDT"]), stack.deploy("ReuseB", pairs=["SOL/USDT"])
        ids = [stack.start(first), stack.start(second)]
        for backtest_id in ids:
            stack.wait(backtest_id)
        sol_requests = stack.exchange.requests["klines:SOLUSDT"]

        strategies = [stack.deploy(f"Scale{index}") for index in range(CONCURRENT)]
        warm = stack.wait(stack.start(strategies[0]))  # data for BTC and ETH cached before timing

        started = time.perf_counter()
        stack.wait_all([stack.start(strategy_id) for strategy_id in strategies])
        service = time.perf_counter() - started

        def cli(index: int) -> None:
            out = stack.data_dir / f"cli-{index}"
            out.mkdir()
            command = stack.baseline_command(f"Scale{index}", warm["id"], out)
            subprocess.run(command, check=True, capture_output=True, cwd=out)

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=LANES) as lanes:
            list(lanes.map(cli, range(CONCURRENT)))
        stock = time.perf_counter() - started
    return Scale(runner, service, stock, sol_requests)


def report(scale: Scale) -> list[str]:
    return [
        f"{CONCURRENT} runs of the {scale.tool}, {LANES} at a time: {scale.stock:6.2f} s   (baseline)",
        f"{CONCURRENT} through the API{scale.label}, {LANES} worker processes: {scale.service:6.2f} s",
        scale.ratio_line("ratio", 2, TARGET),
        f"data reuse: SOL/USDT downloaded with {scale.new_pair_requests} klines requests for 2 concurrent backtests",
    ]


def figures(scale: Scale) -> list[Figure]:
    """P4, and P3 with the local runner."""
    result = [
        scale.figure(f"P4 {CONCURRENT} backtests at once, {LANES} worker processes", f"{scale.service:.2f} s",
                     f"in {LANES} lanes {scale.stock:.2f} s", TARGET)
    ]  # fmt: skip
    if scale.runner == "local":
        requests = scale.new_pair_requests
        once = f"one download: a listing probe and 2 chunks = {ONE_DOWNLOAD}"
        result.append(Figure("P3 two concurrent backtests on one new pair", f"{requests} klines requests", once,
                             None, f"downloaded once ({ONE_DOWNLOAD})", requests == ONE_DOWNLOAD))  # fmt: skip
    return result


def main(argv: list[str] | None = None) -> int:
    arguments = runner_parser(__doc__.splitlines()[0])
    return run_benchmark(arguments, argv, lambda args: measure(args.runner), report, figures)


if __name__ == "__main__":
    sys.exit(main())
