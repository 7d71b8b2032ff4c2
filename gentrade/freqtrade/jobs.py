"""What a backtest run needs, independent of where it runs (subprocess or container).

The service builds a ``BacktestJob``; a ``Runner`` executes stock ``freqtrade backtesting`` for
it and reports a ``RunOutcome``. Paths are the worker's own; a runner that executes elsewhere
(a container) maps them with ``freqtrade_args(path_map)``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

PathMap = Callable[[Path], str]


@dataclass(frozen=True)
class BacktestJob:
    backtest_id: uuid.UUID
    strategy_name: str
    user_data_dir: Path  # <user dir>/user_data: config.json and strategies/
    config_files: tuple[Path, ...]  # the user's config.json, then this backtest's overrides
    datadir: Path  # the shared market-data cache of this exchange and trading mode
    results_dir: Path  # user_data/backtest_results/<backtest id>/, this backtest's alone
    timerange: str  # YYYYMMDD-YYYYMMDD; an end today is YYYYMMDDTHHMM (the last closed candle)
    timeframe: str
    pairs: tuple[str, ...]
    timeout_seconds: int = 900
    memory_mb: int = 2048
    cpus: float = 1.0

    def freqtrade_args(self, path_map: PathMap = str) -> list[str]:
        """Arguments of stock ``freqtrade`` (after the executable) for this backtest."""
        args = ["backtesting"]
        for config in self.config_files:
            args += ["--config", path_map(config)]
        return [
            *args,
            "--userdir", path_map(self.user_data_dir),
            "--datadir", path_map(self.datadir),
            "--strategy", self.strategy_name,
            "--timeframe", self.timeframe,
            "--timerange", self.timerange,
            "--cache", "none",
            "--export", "trades",
            "--backtest-directory", path_map(self.results_dir),
        ]  # fmt: skip


class RunnerProblem(Exception):
    """The runner cannot run Freqtrade at all (not the strategy's fault); ``code`` is the backtest's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class RunOutcome:
    exit_code: int | None  # None when the run was killed (timeout or cancel)
    timed_out: bool
    cancelled: bool
    seconds: float
    log_tail: str  # the last lines Freqtrade printed, for error details (the worker's log; users see it scrubbed)
    out_of_memory: bool = False  # it failed because it hit the memory limit (an OOM kill, or MemoryError)
    peak_memory_bytes: int | None = None  # the most it held at once, where the runner can tell (a cgroup)

    @property
    def succeeded(self) -> bool:
        return self.exit_code == 0 and not self.timed_out and not self.cancelled


class Runner(Protocol):
    def run(
        self,
        job: BacktestJob,
        *,
        should_cancel: Callable[[], bool],
        on_poll: Callable[[], None],
        poll_seconds: float = 1.0,
        progress: Callable[[float], None] | None = None,
    ) -> RunOutcome:
        """Run the backtest to completion, timeout or cancel; call ``on_poll`` and ``should_cancel`` each poll,
        and ``progress`` with how far it is (0..1) when the backtest reports it. ``on_poll`` is a hook for whoever
        wants to see the polls go by (tests and benchmarks count them); the worker's liveness heartbeat is a
        thread of its own and passes a no-op."""
        ...
