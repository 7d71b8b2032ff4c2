"""P2: a backtest through the API (POST -> finished, data cached) versus the stock CLI on the same
strategy, data and range. Target: ratio of medians <= 1.10. Also P3 (data reuse): the API runs on
cached data make 0 klines requests.

Run: ``.venv/bin/python -m bench.backtest_overhead`` (PostgreSQL and RabbitMQ on this machine).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from datetime import timedelta

from bench.backtest_stack import END, START, backtest_stack
from bench.common import result_line

RUNS = 5
TARGET = 1.10


def main() -> int:
    with backtest_stack(("BTC/USDT", "ETH/USDT")) as stack:
        strategy_id = stack.deploy("OverheadProbe")
        first = stack.wait(stack.start(strategy_id))  # downloads the data once
        klines_before = stack.exchange.requests["klines"]
        api_times = []
        for _ in range(RUNS):
            started = time.perf_counter()
            stack.wait(stack.start(strategy_id))
            api_times.append(time.perf_counter() - started)
        klines_during = stack.exchange.requests["klines"] - klines_before

        # The same backtest with the stock CLI, on the same files, as the worker ran it.
        results = stack.data_dir / "ft_userdata" / "user_user_bench" / "user_data" / "backtest_results" / first["id"]
        user_data = results.parent.parent
        timerange = f"{START:%Y%m%d}-{END + timedelta(days=1):%Y%m%d}"
        cli_times = []
        for index in range(RUNS):
            out = stack.data_dir / f"cli-{index}"
            out.mkdir()
            command = [
                sys.executable, "-m", "freqtrade", "backtesting",
                "--config", str(user_data / "config.json"), "--config", str(results / "config.json"),
                "--userdir", str(user_data), "--datadir", str(stack.data_dir / "market_data" / "binance"),
                "--strategy", "OverheadProbe", "--timeframe", "1h",
                "--timerange", timerange,
                "--cache", "none", "--export", "trades", "--backtest-directory", str(out),
            ]  # fmt: skip
            started = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, cwd=out)
            cli_times.append(time.perf_counter() - started)

    api, cli = statistics.median(api_times), statistics.median(cli_times)
    ratio = api / cli
    print(f"backtest through the API (median of {RUNS}): {api:6.2f} s")
    print(f"stock freqtrade CLI      (median of {RUNS}): {cli:6.2f} s   (baseline)")
    print(f"ratio API/CLI: {ratio:.3f}   target <= {TARGET}: {'met' if ratio <= TARGET else 'MISSED'}")
    print(f"data reuse: {klines_during} klines requests during {RUNS} backtests on cached data (target 0)")
    print(result_line("P2 backtest through the API", f"median {api:.2f} s", f"stock CLI median {cli:.2f} s",
                      round(ratio, 3), f"ratio <= {TARGET}", ratio <= TARGET))  # fmt: skip
    print(result_line("P3 data reuse (cached range)", f"{klines_during} klines requests in {RUNS} backtests",
                      "first backtest downloaded", None, "0 requests", klines_during == 0))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
