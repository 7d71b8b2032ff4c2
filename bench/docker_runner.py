"""The docker runner's overhead: the same backtest (2 pairs, 1h, 2 months, cached data) with the local
runner (the baseline, measured in the same run) and in a container on the real engine, median of RUNS.

Run: ``.venv/bin/python -m bench.docker_runner`` (a Docker engine with `make docker-images` built).
"""

from __future__ import annotations

import statistics
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

import docker

from gentrade.exchange_sim import ExchangeSimulator, SimulatorConfig
from gentrade.freqtrade.jobs import BacktestJob
from gentrade.freqtrade.market_list import ensure_market_list
from gentrade.freqtrade.runners import DockerRunner, LocalRunner
from gentrade.settings import DEFAULT_FREQTRADE_IMAGE
from gentrade.strategies.compiler import compile_strategy
from gentrade.strategies.draft import parse_draft
from tests.freqtrade_env import download, write_configs
from tests.samples import draft

RUNS = 5
PAIRS = ["BTC/USDT", "ETH/USDT"]


def seconds(runner: LocalRunner | DockerRunner, job: BacktestJob) -> float:
    outcome = runner.run(job, should_cancel=lambda: False, heartbeat=lambda: None, poll_seconds=0.2)
    assert outcome.succeeded, outcome.log_tail
    return outcome.seconds


def main() -> int:
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

        docker_runner = DockerRunner(docker.from_env, DEFAULT_FREQTRADE_IMAGE, data_dir)
        seconds(docker_runner, job())  # warm the engine's page cache for the image
        local_times, docker_times = [], []
        for _ in range(RUNS):  # interleaved, so drift on the machine hits both alike
            local_times.append(seconds(LocalRunner(), job()))
            docker_times.append(seconds(docker_runner, job()))
    local, in_docker = statistics.median(local_times), statistics.median(docker_times)
    print(f"local runner  (median of {RUNS}): {local:6.2f} s   (baseline)")
    print(f"docker runner (median of {RUNS}): {in_docker:6.2f} s")
    print(f"ratio docker/local: {in_docker / local:.3f}   (+{in_docker - local:.2f} s per backtest)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
