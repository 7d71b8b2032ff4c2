"""Issue 17: backtest throughput with one worker host and with two, in the same run.

A worker host here is a Celery worker (2 processes) with a data folder of its own: it shares only PostgreSQL and
RabbitMQ with the API and the other host, downloads its own market data and writes its own strategy files from
the database. 16 backtests are submitted at once (after a warm-up that fills each host's market-data cache), and
the time until all are finished is compared: two hosts against one (the baseline). On one machine the second
host adds no CPU: the figure shows what a second host costs or gains when it shares the cores, not the scaling
that separate machines give. No target.

Run: ``.venv/bin/python -m bench.backtest_hosts`` (PostgreSQL and RabbitMQ on this machine).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

from bench.backtest_stack import backtest_stack
from bench.figures import Figure, parser, run_benchmark

CONCURRENT = 16
PAIRS = ("BTC/USDT", "ETH/USDT")


def seconds_for_all(hosts: int) -> tuple[float, list[int]]:
    """Seconds until CONCURRENT backtests submitted at once have finished, and how many each host ran."""
    with backtest_stack(PAIRS, worker_processes=2, hosts=hosts) as stack:
        strategies = [stack.deploy(f"Hosts{index}") for index in range(CONCURRENT)]
        # Warm-up: enough at once that every worker process (so every host) takes one and caches the data.
        stack.wait_all([stack.start(strategy_id) for strategy_id in strategies[: 2 * hosts]])
        started = time.perf_counter()
        ids = [stack.start(strategy_id) for strategy_id in strategies]
        stack.wait_all(ids)
        elapsed = time.perf_counter() - started
        host_dirs = [stack.data_dir] if hosts == 1 else sorted((stack.data_dir / "hosts").iterdir())
        ran = [
            sum(1 for backtest_id in ids if any(host.glob(f"ft_userdata/*/user_data/backtest_results/{backtest_id}")))
            for host in host_dirs
        ]
    return elapsed, ran


@dataclass
class Hosts:
    """Seconds for all CONCURRENT backtests, and how many each host ran: with one worker host and with two."""

    one: float
    ran_one: list[int]
    two: float
    ran_two: list[int]


def measure() -> Hosts:
    return Hosts(*seconds_for_all(1), *seconds_for_all(2))


def report(hosts: Hosts) -> list[str]:
    return [
        f"{CONCURRENT} backtests at once, one worker host:  {hosts.one:6.2f} s   (baseline; ran {hosts.ran_one})",
        f"{CONCURRENT} backtests at once, two worker hosts: {hosts.two:6.2f} s   (ran per host: {hosts.ran_two})",
        f"ratio two hosts / one host: {hosts.two / hosts.one:.2f} (one machine: the second host shares its 2 cores)",
    ]


def figures(hosts: Hosts) -> list[Figure]:
    return [
        Figure(f"Issue 17: {CONCURRENT} backtests, two worker hosts (2 processes each)", f"{hosts.two:.2f} s",
               f"one worker host {hosts.one:.2f} s", round(hosts.two / hosts.one, 3), "none (same machine)", None)
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    return run_benchmark(parser(__doc__.splitlines()[0]), argv, lambda _: measure(), report, figures)


if __name__ == "__main__":
    sys.exit(main())
