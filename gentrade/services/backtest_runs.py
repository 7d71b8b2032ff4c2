"""The worker side of a backtest: claim it, fetch and verify data, run Freqtrade, parse, record.

Called by the Celery task with the backtest id. Every status change is written as it happens
(``backtest_state``). A heartbeat thread keeps ``heartbeat_at`` fresh while the worker owns the
backtest and notices a cancel (or a deletion) within one beat; the runner then kills Freqtrade.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app

from gentrade.extensions import db
from gentrade.freqtrade.exchange_config import command_overrides
from gentrade.freqtrade.jobs import BacktestJob, Runner
from gentrade.freqtrade.market_data import ExchangeUnavailable, MarketDataCache
from gentrade.freqtrade.results import ResultsInvalid, ResultsMissing, parse_results
from gentrade.freqtrade.runners import build_runner
from gentrade.freqtrade.synthetic import TIMEFRAME_SECONDS
from gentrade.freqtrade.userdir import write_atomically
from gentrade.freqtrade.verify import DataProblem, verify
from gentrade.models import Backtest
from gentrade.runtime import runtime
from gentrade.services import backtest_state as state
from gentrade.strategies.draft import DraftInvalid, parse_draft
from gentrade.tasks.celery_app import publish_run

log = logging.getLogger(__name__)
TRANSIENT_RETRIES = 4


@dataclass(frozen=True)
class Step:
    """What the task should do next: nothing, or run again after ``retry_in`` seconds."""

    outcome: str
    retry_in: float | None = None


class _Heartbeat:
    """Beats every few seconds in a thread; ``lost`` turns True once the backtest is no longer ours."""

    def __init__(self, backtest_id: uuid.UUID, app: Any) -> None:
        self.backtest_id = backtest_id
        self.app = app
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat-{backtest_id}", daemon=True)

    def _loop(self) -> None:
        with self.app.app_context():
            interval = state.heartbeat_every()
            while not self._stop.wait(interval):
                try:
                    if not state.beat(self.backtest_id):
                        self.lost = True
                except Exception:  # a database blip must not kill the backtest; the next beat retries
                    log.warning("heartbeat of %s failed", self.backtest_id, exc_info=True)

    def check_now(self) -> bool:
        """Beat immediately (used when a phase starts) and say whether we still own the backtest."""
        if not state.beat(self.backtest_id):
            self.lost = True
        return not self.lost

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def _runner() -> Runner:
    settings = runtime().settings
    if settings.freqtrade_runner == "docker":
        import docker

        return build_runner(
            "docker",
            client=docker.from_env,  # a client per run, closed after it
            image=settings.freqtrade_image,
            data_dir=settings.resolved_data_dir,
            host_data_dir=settings.docker_host_data_dir or settings.resolved_data_dir,
        )
    return build_runner("local")


def market_cache() -> MarketDataCache:
    settings = runtime().settings
    return MarketDataCache(settings.resolved_data_dir, settings.exchange_api_url)


def execute(backtest_id: uuid.UUID, task_id: str | None, retries: int) -> Step:
    claim = state.claim(backtest_id, task_id)
    if claim is not state.Claim.CLAIMED:
        log.info("backtest %s: %s, nothing to run", backtest_id, claim)
        # Busy: another delivery is on it; look again once its heartbeat could have gone stale.
        return Step(claim, state.stale_after().total_seconds() if claim is state.Claim.BUSY else None)
    backtest = db.session.get(Backtest, backtest_id)
    assert backtest is not None
    settings = runtime().settings
    if backtest.attempts > settings.backtest_max_attempts:
        state.fail(backtest_id, "worker_lost", f"the worker stopped during {backtest.attempts - 1} attempts")
        return Step("failed")
    with _Heartbeat(backtest_id, current_app._get_current_object()) as heartbeat:  # type: ignore[attr-defined]
        try:
            return _pipeline(backtest, heartbeat)
        except ExchangeUnavailable as exc:
            if retries < TRANSIENT_RETRIES:
                delay = 10.0 * 2**retries
                state.requeue(backtest_id, state.error("exchange_unavailable", f"retrying in {delay:.0f} s", str(exc)))
                log.warning("backtest %s: exchange unavailable, retry in %.0f s", backtest_id, delay)
                return Step("retry", delay)
            state.fail(backtest_id, "data_unavailable", "the exchange could not be reached", str(exc)[-2000:])
            return Step("failed")
        except Exception as exc:
            log.exception("backtest %s failed unexpectedly", backtest_id)
            state.fail(backtest_id, "internal_error", f"{type(exc).__name__}: {exc}"[:500])
            return Step("failed")


def _pipeline(backtest: Backtest, heartbeat: _Heartbeat) -> Step:
    backtest_id = backtest.id
    strategy = backtest.strategy
    user = strategy.user
    try:
        startup_candles = parse_draft(strategy.draft).effective_startup_candles
    except DraftInvalid:
        startup_candles = 500
    candle = timedelta(seconds=TIMEFRAME_SECONDS[backtest.timeframe])
    start = datetime.combine(backtest.timerange_start, datetime.min.time(), tzinfo=UTC)
    end = datetime.combine(backtest.timerange_end, datetime.min.time(), tzinfo=UTC) + timedelta(days=1)
    data_start = start - startup_candles * candle
    pairs = list(backtest.pairs)

    cache = market_cache()
    cache.ensure(pairs, backtest.timeframe, data_start, end)
    if not heartbeat.check_now():
        return Step("cancelled")
    try:
        verify(cache.root, pairs, backtest.timeframe, data_start, end)
    except DataProblem as problem:
        state.fail(backtest_id, problem.code, problem.message, problem.detail)
        return Step("failed")

    if not state.start_running(backtest_id):
        return Step("cancelled")
    dirs = runtime().user_dirs
    results_dir = dirs.backtest_results(user.clerk_id, backtest_id)
    results_dir.mkdir(parents=True, exist_ok=True)
    job = _job(backtest, strategy.name, user.clerk_id, cache.root, results_dir, start, end, pairs)
    outcome = _runner().run(job, should_cancel=lambda: heartbeat.lost, heartbeat=lambda: None)
    if outcome.cancelled or heartbeat.lost:
        return Step("cancelled")
    if outcome.timed_out:
        state.fail(backtest_id, "timeout", f"the backtest ran longer than {job.timeout_seconds} s", outcome.log_tail)
        return Step("failed")
    if not outcome.succeeded:
        state.fail(backtest_id, "strategy_error", f"Freqtrade exited with {outcome.exit_code}", outcome.log_tail)
        return Step("failed")
    try:
        parsed = parse_results(results_dir, strategy.name)
    except (ResultsMissing, ResultsInvalid) as exc:
        state.fail(backtest_id, "results_invalid", str(exc), outcome.log_tail)
        return Step("failed")
    relative = str(parsed.archive.relative_to(dirs.path_for(user.clerk_id)))
    state.finish(backtest_id, parsed.summary, relative)
    log.info("backtest %s finished in %.1f s", backtest_id, outcome.seconds)
    return Step("finished")


def _job(
    backtest: Backtest,
    strategy_name: str,
    clerk_id: str,
    datadir: Path,
    results_dir: Path,
    start: datetime,
    end: datetime,
    pairs: list[str],
) -> BacktestJob:
    settings = runtime().settings
    dirs = runtime().user_dirs
    user_data = dirs.user_data(clerk_id)
    stake_currency = pairs[0].split("/")[1]
    overrides = results_dir / "config.json"
    write_atomically(
        overrides, json.dumps(command_overrides(pairs, stake_currency, settings.exchange_api_url), indent=2)
    )
    return BacktestJob(
        backtest_id=backtest.id,
        strategy_name=strategy_name,
        user_data_dir=user_data,
        config_files=(user_data / "config.json", overrides),
        datadir=datadir,
        results_dir=results_dir,
        timerange=f"{start:%Y%m%d}-{end:%Y%m%d}",
        timeframe=backtest.timeframe,
        pairs=tuple(pairs),
        timeout_seconds=settings.backtest_timeout_seconds,
        memory_mb=settings.backtest_memory_mb,
        cpus=settings.backtest_cpus,
    )


def reap() -> int:
    """Backtests whose worker died and whose message is gone: run them again, or fail them. Returns how many."""
    max_attempts = runtime().settings.backtest_max_attempts
    handled = 0
    for backtest_id, attempts in state.stale():
        if attempts >= max_attempts:
            state.fail(backtest_id, "worker_lost", f"the worker stopped during {attempts} attempts")
        elif state.requeue(backtest_id, state.error("worker_lost", "the worker stopped; running it again")):
            publish_run(backtest_id)
        handled += 1
    return handled
