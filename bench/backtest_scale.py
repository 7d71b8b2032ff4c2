"""P4: 8 concurrent backtests on a 2-process worker versus one alone (target ratio <= 4.4: the ideal
is 4.0, two at a time). P3 (data reuse): two concurrent backtests on the same new pair download it once.

Run: ``.venv/bin/python -m bench.backtest_scale`` (PostgreSQL and RabbitMQ on this machine).
"""

from __future__ import annotations

import sys
import time

from bench.backtest_stack import backtest_stack
from bench.common import result_line

CONCURRENT = 8
TARGET = 4.4


def main() -> int:
    with backtest_stack(("BTC/USDT", "ETH/USDT", "SOL/USDT", "ADA/USDT"), worker_processes=2) as stack:
        # Data reuse: two backtests needing the same new pair at once download it once.
        first, second = stack.deploy("ReuseA", pairs=["SOL/USDT"]), stack.deploy("ReuseB", pairs=["SOL/USDT"])
        ids = [stack.start(first), stack.start(second)]
        for backtest_id in ids:
            stack.wait(backtest_id)
        sol_requests = stack.exchange.requests["klines:SOLUSDT"]

        strategies = [stack.deploy(f"Scale{index}") for index in range(CONCURRENT)]
        stack.wait(stack.start(strategies[0]))  # data for BTC and ETH cached before timing
        started = time.perf_counter()
        stack.wait(stack.start(strategies[0]))
        alone = time.perf_counter() - started

        started = time.perf_counter()
        stack.wait_all([stack.start(strategy_id) for strategy_id in strategies])
        together = time.perf_counter() - started

    ratio = together / alone
    print(f"one backtest alone:                {alone:6.2f} s   (baseline)")
    print(f"{CONCURRENT} concurrent on 2 worker processes: {together:6.2f} s")
    print(f"ratio: {ratio:.2f}   target <= {TARGET}: {'met' if ratio <= TARGET else 'MISSED'}")
    print(f"data reuse: SOL/USDT downloaded with {sol_requests} klines requests for 2 concurrent backtests")
    print(result_line(f"P4 {CONCURRENT} concurrent backtests, 2 worker processes", f"{together:.2f} s",
                      f"one alone {alone:.2f} s", round(ratio, 2), f"ratio <= {TARGET}", ratio <= TARGET))  # fmt: skip
    once = "one download: a listing probe and 2 chunks = 3"
    print(result_line("P3 two concurrent backtests on one new pair", f"{sol_requests} klines requests",
                      once, None, "downloaded once (3)", sol_requests == 3))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
