"""The local runners' test workspace (one user's strategies, configs and downloaded market data) and one
way to run_locally a job on a runner, counting its heartbeats and cancelling after some. Used by the runner tests and
by the hostile-strategy tests that run_locally a strategy the way the worker does."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gentrade.exchange_sim import ExchangeSimulator, SimulatorConfig
from gentrade.freqtrade.jobs import BacktestJob, RunOutcome
from gentrade.freqtrade.runners.local import LocalRunner
from gentrade.samples import draft
from gentrade.strategies.compiler import compile_strategy
from gentrade.strategies.draft import parse_draft
from tests.freqtrade_env import download, write_configs

PAIRS = ["BTC/USDT", "ETH/USDT"]
BROKEN_STRATEGY = """
from freqtrade.strategy import IStrategy
from pandas import DataFrame


class BrokenStrategy(IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "1h"
    minimal_roi = {"0": 0.1}
    stoploss = -0.05

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        raise ValueError("boom from populate_indicators")

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe
"""

# Freqtrade itself, held up in the strategy: a warm run of the two months takes under a second on an idle machine,
# too little for a 1 s timeout to be sure to catch it running.
SLOW_STRATEGY = BROKEN_STRATEGY.replace("BrokenStrategy", "SlowStrategy").replace(
    'raise ValueError("boom from populate_indicators")', "import time\n        time.sleep(60)\n        return dataframe"
)


@dataclass
class LocalWorkspace:
    """One user directory with two strategies, its configs, and the shared market data."""

    user_data: Path
    datadir: Path
    configs: tuple[Path, ...]
    api_url: str

    def job(self, name: str, *, strategy: str = "RsiDipBuyer", **changes: Any) -> BacktestJob:
        values: dict[str, Any] = {
            "backtest_id": uuid.uuid4(),
            "strategy_name": strategy,
            "user_data_dir": self.user_data,
            "config_files": self.configs,
            "datadir": self.datadir,
            "results_dir": self.user_data / "backtest_results" / f"{name}-{uuid.uuid4().hex[:8]}",
            "timerange": "20260701-20260901",
            "timeframe": "1h",
            "pairs": tuple(PAIRS),
            "timeout_seconds": 120,
        }
        values.update(changes)
        return BacktestJob(**values)


@contextmanager
def local_workspace_in(root: Path) -> Iterator[LocalWorkspace]:
    """A user directory with the RSI dip buyer, a broken and a slow strategy, and two months of market data
    downloaded from a stand-in exchange (running while the workspace is in use)."""
    config = SimulatorConfig(pairs=tuple(PAIRS), now=datetime(2026, 11, 1, tzinfo=UTC))
    with ExchangeSimulator(config) as exchange:  # backtesting also asks it for the markets
        datadir = root / "market" / "binance"
        download(datadir, PAIRS, "1h", "20260601-20260901", exchange.api_url, root / "work")
        user_data = root / "ft_userdata" / "user_test" / "user_data"
        strategies = user_data / "strategies"
        strategies.mkdir(parents=True)
        # RSI below 30 alone, so the synthetic candles give trades in two months.
        rsi_only = draft(entry_conditions={"all": [{"left": "rsi", "op": "<", "right": 30}]})
        (strategies / "RsiDipBuyer.py").write_text(compile_strategy(parse_draft(rsi_only)))
        (strategies / "BrokenStrategy.py").write_text(BROKEN_STRATEGY)
        (strategies / "SlowStrategy.py").write_text(SLOW_STRATEGY)
        configs = tuple(write_configs(user_data, PAIRS, exchange.api_url))
        yield LocalWorkspace(user_data, datadir, configs, exchange.api_url)


@dataclass
class Heartbeats:
    heartbeats: list[float] = field(default_factory=list)
    cancel_after: int | None = None

    def heartbeat(self) -> None:
        self.heartbeats.append(time.monotonic())

    def should_cancel(self) -> bool:
        return self.cancel_after is not None and len(self.heartbeats) >= self.cancel_after


def run_locally(
    runner: LocalRunner, job: BacktestJob, calls: Heartbeats | None = None, poll: float = 0.5
) -> RunOutcome:
    calls = calls or Heartbeats()
    return runner.run(job, should_cancel=calls.should_cancel, on_poll=calls.heartbeat, poll_seconds=poll)
