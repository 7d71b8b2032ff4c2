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

from bench.backtest_stack import backtest_stack
from bench.common import result_line, runner_choice

RUNS = 5
TARGET = 0.6


def main(argv: list[str] | None = None) -> int:
    runner, tool, label = runner_choice(__doc__.splitlines()[0], argv)
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

    api, cli = statistics.median(api_times), statistics.median(cli_times)
    ratio = api / cli
    print(f"backtest through the API{label} (median of {RUNS}): {api:6.2f} s")
    print(f"{tool} (median of {RUNS}): {cli:6.2f} s   (baseline)")
    print(f"ratio API/baseline: {ratio:.3f}   target <= {TARGET}: {'met' if ratio <= TARGET else 'MISSED'}")
    print(f"data reuse: {klines_during} klines requests during {RUNS} backtests on cached data (target 0)")
    print(result_line(f"P2 backtest through the API{label}", f"median {api:.2f} s", f"{tool} median {cli:.2f} s",
                      round(ratio, 3), f"ratio <= {TARGET}", ratio <= TARGET))  # fmt: skip
    if runner == "local":
        print(result_line("P3 data reuse (cached range)", f"{klines_during} klines requests in {RUNS} backtests",
                          "first backtest downloaded", None, "0 requests", klines_during == 0))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
