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

from bench.backtest_stack import backtest_stack
from bench.common import result_line, runner_choice

CONCURRENT = 16
LANES = 2  # the worker's processes, and the CLI's parallel runs
TARGET = 0.6


def main(argv: list[str] | None = None) -> int:
    runner, tool, label = runner_choice(__doc__.splitlines()[0], argv)
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

    ratio = service / stock
    print(f"{CONCURRENT} runs of the {tool}, {LANES} at a time: {stock:6.2f} s   (baseline)")
    print(f"{CONCURRENT} through the API{label}, {LANES} worker processes: {service:6.2f} s")
    print(f"ratio: {ratio:.2f}   target <= {TARGET}: {'met' if ratio <= TARGET else 'MISSED'}")
    print(f"data reuse: SOL/USDT downloaded with {sol_requests} klines requests for 2 concurrent backtests")
    print(result_line(f"P4 {CONCURRENT} backtests at once, {LANES} worker processes{label}", f"{service:.2f} s",
                      f"{tool} in {LANES} lanes {stock:.2f} s", round(ratio, 3), f"ratio <= {TARGET}",
                      ratio <= TARGET))  # fmt: skip
    if runner == "local":
        once = "one download: a listing probe and 2 chunks = 3"
        print(result_line("P3 two concurrent backtests on one new pair", f"{sol_requests} klines requests",
                          once, None, "downloaded once (3)", sol_requests == 3))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
