"""The docker runner's cost, cold and pooled: the same backtest (2 pairs, 1h, 2 months, cached data), median of RUNS.

* ``local``: the local runner in a new interpreter (for reference);
* ``docker run``: ``docker run --rm`` of the stock image with the cold runner's own options (no network, the
  market list on loopback, the limits and the lock-down), timed around the CLI: the baseline;
* ``cold``: the docker runner creating a container for the backtest (``GENTRADE_DOCKER_POOL_SIZE=0``);
* ``pooled``: the docker runner handing the backtest to a fresh pooled container that imported Freqtrade already
  (single-use, ``GENTRADE_DOCKER_CONTAINER_JOBS=1``; a backtest arriving at an idle worker: the pool is ready
  before each run). Its replacement starts importing during the run, as in production (with the least CPU
  weight), and has finished before the next measurement starts, so no other run pays for it;
* ``reused``: the default configuration (``GENTRADE_DOCKER_CONTAINER_JOBS=20``): a pooled container that served
  backtests already forks a child for this one (the pool is ready before each run).

Interleaved, so drift on the machine hits all alike. Target: pooled and reused <= 0.6 x ``docker run``.

Run: ``.venv/bin/python -m bench.docker_runner`` (a Docker engine with `make docker-images` built).
"""

from __future__ import annotations

import statistics
import subprocess
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import docker

from bench.docker_cli import docker_run_command
from bench.figures import Figure, parser, run_benchmark
from gentrade.exchange_sim import ExchangeSimulator, SimulatorConfig
from gentrade.freqtrade.jobs import BacktestJob
from gentrade.freqtrade.market_list import ensure_market_list
from gentrade.freqtrade.runners import DockerRunner, LocalRunner
from gentrade.freqtrade.runners.docker_pool import ContainerPool
from gentrade.samples import draft
from gentrade.settings import DEFAULT_FREQTRADE_IMAGE
from gentrade.strategies.compiler import compile_strategy
from gentrade.strategies.draft import parse_draft
from tests.freqtrade_env import download, write_configs

RUNS = 5
PAIRS = ["BTC/USDT", "ETH/USDT"]
TARGET = 0.6


def seconds(runner: LocalRunner | DockerRunner, job: BacktestJob) -> float:
    outcome = runner.run(job, should_cancel=lambda: False, on_poll=lambda: None, poll_seconds=0.2)
    assert outcome.succeeded, outcome.log_tail
    return outcome.seconds


def docker_run_seconds(runner: DockerRunner, job: BacktestJob) -> float:
    """The stock image by hand: ``docker run`` with the cold runner's options, timed around the CLI."""
    argv = docker_run_command(runner.data_dir, job, runner.image)
    started = time.monotonic()
    done = subprocess.run(argv, capture_output=True, check=False)
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return elapsed


def measure() -> dict[str, list[float]]:
    """Seconds of each way, RUNS times, interleaved."""
    pool, reuse_pool = ContainerPool(), ContainerPool()
    with (
        tempfile.TemporaryDirectory() as folder,
        ExchangeSimulator(SimulatorConfig(pairs=tuple(PAIRS), now=datetime(2026, 11, 1, tzinfo=UTC))) as exchange,
    ):
        data_dir = Path(folder)
        datadir = data_dir / "market_data" / "binance"
        download(datadir, PAIRS, "1h", "20260601-20260901", exchange.api_url, data_dir / "work")
        ensure_market_list(datadir, exchange.api_url)
        user_data = data_dir / "ft_userdata" / "user_bench" / "user_data"
        (user_data / "strategies").mkdir(parents=True)
        rsi = draft(entry_conditions={"all": [{"left": "rsi", "op": "<", "right": 30}]})
        (user_data / "strategies" / "RsiDipBuyer.py").write_text(compile_strategy(parse_draft(rsi)))
        configs = tuple(write_configs(user_data, PAIRS, exchange.api_url))

        def job() -> BacktestJob:
            backtest_id = uuid.uuid4()
            return BacktestJob(
                backtest_id, "RsiDipBuyer", user_data, configs, datadir,
                user_data / "backtest_results" / str(backtest_id), "20260701-20260901", "1h", tuple(PAIRS),
            )  # fmt: skip

        cold = DockerRunner(docker.from_env, DEFAULT_FREQTRADE_IMAGE, data_dir)
        pooled = DockerRunner(docker.from_env, DEFAULT_FREQTRADE_IMAGE, data_dir, pool_size=1, pool=pool)
        reused = DockerRunner(
            docker.from_env, DEFAULT_FREQTRADE_IMAGE, data_dir, pool_size=1, pool=reuse_pool, container_jobs=20
        )
        probe = job()
        seconds(cold, probe)  # warm the engine's page cache for the image
        pooled.prestart(datadir, probe.memory_mb, probe.cpus)
        reused.prestart(datadir, probe.memory_mb, probe.cpus)
        assert reuse_pool.wait_ready(120), "the reused container did not get ready"
        seconds(reused, job())  # its first backtest: the container serves the measured ones after it
        times: dict[str, list[float]] = {"local": [], "docker run": [], "cold": [], "pooled": [], "reused": []}
        try:
            for _ in range(RUNS):
                times["local"].append(seconds(LocalRunner(), job()))
                times["docker run"].append(docker_run_seconds(cold, job()))
                times["cold"].append(seconds(cold, job()))
                assert pool.wait_ready(120), "the pooled container did not get ready"
                times["pooled"].append(seconds(pooled, job()))
                assert pool.wait_ready(120), "the replacement did not get ready"  # its import is done before
                time.sleep(0.5)  # the next measurement starts
                assert reuse_pool.wait_ready(120), "the reused container is not idle"
                times["reused"].append(seconds(reused, job()))
                time.sleep(0.5)
        finally:
            pool.close()
            reuse_pool.close()
    return times


def report(times: dict[str, list[float]]) -> list[str]:
    medians = _medians(times)
    lines = []
    for name, value in medians.items():
        runs = " ".join(f"{v:.2f}" for v in times[name])
        lines.append(f"{name:<11} (median of {RUNS}): {value:6.2f} s   [{runs}]")
    for name in ("pooled", "reused"):
        ratio = medians[name] / medians["docker run"]
        verdict = "met" if ratio <= TARGET else "MISSED"
        lines.append(f"ratio {name}/docker run: {ratio:.3f}   (target <= {TARGET}: {verdict})")
    lines.append(f"ratio pooled/cold runner: {medians['pooled'] / medians['cold']:.3f}")
    lines.append(f"ratio cold runner/local: {medians['cold'] / medians['local']:.3f}")
    return lines


def figures(times: dict[str, list[float]]) -> list[Figure]:
    """The pooled and the reused container against ``docker run`` of the stock image."""
    medians = _medians(times)
    baseline = f"docker run of the stock image median {medians['docker run']:.2f} s"
    result = []
    for name, title in (("pooled", "pooled container"), ("reused", "reused pooled container")):
        ratio = medians[name] / medians["docker run"]
        result.append(Figure(f"Docker runner, {title}", f"median {medians[name]:.2f} s", baseline, round(ratio, 3),
                             f"<= {TARGET}", ratio <= TARGET))  # fmt: skip
    return result


def _medians(times: dict[str, list[float]]) -> dict[str, float]:
    return {name: statistics.median(values) for name, values in times.items()}


def main(argv: list[str] | None = None) -> int:
    return run_benchmark(parser(__doc__.splitlines()[0]), argv, lambda _: measure(), report, figures)


if __name__ == "__main__":
    raise SystemExit(main())
