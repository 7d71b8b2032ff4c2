"""What the docker runner's two ways of running a backtest share: the container's paths, how a run ended, what the
run loop watches. Cold runs are :mod:`gentrade.freqtrade.runners.docker`'s, pooled ones
:mod:`gentrade.freqtrade.runners.docker_pooled_job`'s; both import these, so neither reaches into the other's half.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from gentrade.freqtrade.jobs import BacktestJob
from gentrade.freqtrade.progress import read_progress

CONTAINER_USER_DATA = PurePosixPath("/freqtrade/user_data")
CONTAINER_MARKET_DATA = PurePosixPath("/freqtrade/market_data")
LABEL = "gentrade.backtest"
MARKETS_PORT = 8765  # on the container's own loopback, the only address it has
NETWORK_CONFIG = "container-exchange.json"  # in the results folder: Freqtrade's exchange URL in the container


def container_name(job: BacktestJob) -> str:
    return f"gentrade-backtest-{job.backtest_id}"


@dataclasses.dataclass
class Ended:
    """How a supervised backtest ended."""

    exit_code: int | None = None
    timed_out: bool = False
    cancelled: bool = False
    note: str = ""
    tail: str = ""
    oom_killed: bool = False  # by the container's cgroup limit
    served: bool = False  # a pooled container's server reported the end: no process of the job is left in it


@dataclasses.dataclass(frozen=True)
class Watch:
    """What the run loop calls each poll, and when it gives up."""

    should_cancel: Callable[[], bool]
    on_poll: Callable[[], None]
    poll_seconds: float
    progress: Callable[[float], None] | None
    deadline: float

    def tick(self, ended: Ended, progress_dir: Path, timeout_seconds: int) -> bool:
        """One poll of a running job: call ``on_poll``, pass on Freqtrade's progress, and say whether to stop it
        (cancelled, or past the deadline: noted in ``ended``). The same step for a cold and a pooled container."""
        self.on_poll()
        if self.progress is not None:
            current = read_progress(progress_dir)
            if current is not None:
                self.progress(current)
        if self.should_cancel():
            ended.cancelled, ended.note = True, "cancelled"
            return True
        if time.monotonic() >= self.deadline:
            ended.timed_out, ended.note = True, f"timeout of {timeout_seconds} s reached"
            return True
        return False
