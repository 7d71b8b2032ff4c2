"""The worker side of a backtest: claim it, fetch and check the candles, run Freqtrade, parse, record.

Called by the Celery task with the backtest id. Every status change is written as it happens
(``backtest_state``). A heartbeat thread (``backtest_watch``) keeps ``heartbeat_at`` fresh while the worker
owns the backtest and notices a cancel (or a deletion) within one beat; the runner then kills Freqtrade.

No database transaction stays open across the long phases (download, Freqtrade): the backtest is
read into a plain ``_Plan`` and the read committed, so a dropped connection costs nothing until
the next short status write, and DDL or a ``TRUNCATE`` never waits behind an idle transaction.
A dropped database connection is retried like any transient fault; a full disk ends ``disk_full``.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from gentrade.extensions import db
from gentrade.freqtrade.candle_check import DataProblem, check_candles
from gentrade.freqtrade.candle_times import range_end
from gentrade.freqtrade.exchange_config import command_overrides
from gentrade.freqtrade.jobs import BacktestJob, Runner, RunnerProblem, RunOutcome
from gentrade.freqtrade.limits import memory_limit_message, time_limit_message
from gentrade.freqtrade.market_data import ExchangeUnavailable
from gentrade.freqtrade.market_list import MarketListUnavailable, ensure_market_list
from gentrade.freqtrade.results import ResultsInvalid, ResultsMissing, parse_results
from gentrade.freqtrade.runners import DockerRunner
from gentrade.freqtrade.userdir import write_atomically
from gentrade.metrics import instruments
from gentrade.models import Backtest, Strategy, User
from gentrade.runtime import runtime
from gentrade.services import backtest_state as state
from gentrade.services import host_files
from gentrade.services.backtest_runners import configured_runner, market_cache
from gentrade.services.backtest_watch import Heartbeat, ProgressRecorder
from gentrade.strategies.loaded import CandleRange, informative_of, informative_ranges
from gentrade.strategies.loaded import startup_candles as needed_startup_candles
from gentrade.timeframes import TIMEFRAME_SECONDS
from gentrade.work_queue import publish_run

log = logging.getLogger(__name__)
TRANSIENT_RETRIES = 4
DATABASE_RETRY_SECONDS = 2.0
# Write errors that mean "no room": the device, the user's quota, or a file size limit.
NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
MIN_FREE_BYTES = 1024 * 1024  # a results folder with less free space than this cannot take a result


class DiskFull(Exception):
    """The results folder's file system is full: the backtest cannot write its output."""


@dataclass(frozen=True)
class _Plan:
    """What a run needs of the backtest, its strategy and its user, as plain values (no ORM object)."""

    backtest_id: uuid.UUID
    strategy_name: str
    code: str  # the stored code: this host writes its own copy of the file before the run
    draft: dict[str, Any]
    loaded: dict[str, Any] | None  # a strategy brought as code: what the check read off its class
    clerk_id: str
    timerange_start: date
    timerange_end: date
    timeframe: str
    pairs: tuple[str, ...]


@dataclass(frozen=True)
class NextStep:
    """What the task should do next: nothing, or run again after ``retry_in`` seconds."""

    outcome: str
    retry_in: float | None = None


def _plan(backtest_id: uuid.UUID) -> tuple[_Plan, int] | None:
    """The backtest's plan and attempts, read in one query; the read transaction is over when this returns."""
    row = db.session.execute(
        select(Backtest, Strategy.name, Strategy.code, Strategy.draft, Strategy.loaded, User.clerk_id)
        .join(Strategy, Backtest.strategy_id == Strategy.id)
        .join(User, Strategy.user_id == User.id)
        .where(Backtest.id == backtest_id)
    ).one_or_none()
    loaded = None
    if row is not None:
        backtest = row.Backtest
        plan = _Plan(
            backtest_id=backtest_id,
            strategy_name=row.name,
            code=row.code,
            draft=row.draft,
            loaded=row.loaded,
            clerk_id=row.clerk_id,
            timerange_start=backtest.timerange_start,
            timerange_end=backtest.timerange_end,
            timeframe=backtest.timeframe,
            pairs=tuple(backtest.pairs),
        )
        loaded = plan, backtest.attempts
    db.session.commit()  # read before committing (commit expires ORM objects): nothing is held from here on
    return loaded


def execute(backtest_id: uuid.UUID, task_id: str | None, retries: int) -> NextStep:
    """Run the backtest if this delivery can claim it; the run's duration is recorded by how it ended."""
    began = time.monotonic()
    step = _execute_or_retry(backtest_id, task_id, retries)
    instruments.backtest_run_ended(step.outcome, time.monotonic() - began)
    return step


def _execute_or_retry(backtest_id: uuid.UUID, task_id: str | None, retries: int) -> NextStep:
    try:
        return _execute(backtest_id, task_id, retries)
    except OperationalError as exc:
        # The database connection dropped (restart, failover, a killed backend): transient, run it again.
        # The heartbeat has stopped, so a delivery that finds the backtest still working takes it over
        # once the heartbeat is stale.
        db.session.rollback()
        log.warning("backtest %s: database error, retry in %.0f s: %s", backtest_id, DATABASE_RETRY_SECONDS, exc)
        try:
            state.requeue(backtest_id, state.user_error("database_unavailable", "the database connection dropped"))
        except OperationalError:
            db.session.rollback()
        return NextStep("retry", DATABASE_RETRY_SECONDS)


def _execute(backtest_id: uuid.UUID, task_id: str | None, retries: int) -> NextStep:
    claim = state.claim(backtest_id, task_id)
    if claim is not state.Claim.CLAIMED:
        log.info("backtest %s: %s, nothing to run", backtest_id, claim)
        # Busy: another delivery is on it; look again once its heartbeat could have gone stale.
        return NextStep(claim, state.stale_after().total_seconds() if claim is state.Claim.BUSY else None)
    loaded = _plan(backtest_id)
    if loaded is None:
        return NextStep(state.Claim.MISSING)
    plan, attempts = loaded
    settings = runtime().settings
    if attempts > settings.backtest_max_attempts:
        state.fail(backtest_id, "worker_lost", f"the worker stopped during {attempts - 1} attempts")
        return NextStep("failed")
    with Heartbeat(backtest_id, current_app._get_current_object()) as heartbeat:  # type: ignore[attr-defined]
        try:
            step = _pipeline(plan, heartbeat)
            if step.outcome == "cancelled":
                _remove_orphans(plan)
            return step
        except DiskFull as exc:
            state.fail(backtest_id, "disk_full", "the results folder is out of space", str(exc)[-2000:])
            return NextStep("failed")
        except OperationalError:
            raise
        except ExchangeUnavailable as exc:
            if retries < TRANSIENT_RETRIES:
                delay = 10.0 * 2**retries
                retrying = state.user_error("exchange_unavailable", f"retrying in {delay:.0f} s", str(exc))
                state.requeue(backtest_id, retrying)
                log.warning("backtest %s: exchange unavailable, retry in %.0f s", backtest_id, delay)
                return NextStep("retry", delay)
            state.fail(backtest_id, "data_unavailable", "the exchange could not be reached", str(exc)[-2000:])
            return NextStep("failed")
        except Exception as exc:
            log.exception("backtest %s failed unexpectedly", backtest_id)
            db.session.rollback()
            state.fail(backtest_id, "internal_error", f"{type(exc).__name__}: {exc}"[:500])
            return NextStep("failed")


def _pipeline(plan: _Plan, heartbeat: Heartbeat) -> NextStep:
    """Data, verification, Freqtrade, results: each phase ends the backtest (failed, cancelled) or hands on."""
    now = datetime.now(UTC)
    start = datetime.combine(plan.timerange_start, datetime.min.time(), tzinfo=UTC)
    ranges = _candle_ranges(plan, start, now)
    cache = market_cache()
    for candles in ranges:
        cache.ensure(candles.pairs, candles.timeframe, candles.start, candles.end)
    runner = configured_runner()
    if isinstance(runner, DockerRunner):  # its containers have no network: the markets come from the cache
        try:
            ensure_market_list(cache.root, runtime().settings.exchange_api_url)
        except MarketListUnavailable as exc:
            raise ExchangeUnavailable(str(exc)) from exc
    if not heartbeat.check_now():
        return NextStep("cancelled")
    try:
        for candles in ranges:
            check_candles(cache.root, candles.pairs, candles.timeframe, candles.start, candles.end)
    except DataProblem as problem:
        state.fail(plan.backtest_id, problem.code, problem.message, problem.detail)
        return NextStep("failed")
    if not state.start_running(plan.backtest_id):
        return NextStep("cancelled")
    job = _prepared_job(plan, cache.root, start, ranges[0].end)
    return _run(plan, runner, job, heartbeat)


def _candle_ranges(plan: _Plan, start: datetime, now: datetime) -> list[CandleRange]:
    """The candles the run reads: first its pairs' own, from the start-up candles before ``start`` to the range's
    end (decided once, ``now``: download, verification and run agree), then the informative ones."""
    startup_candles = needed_startup_candles(plan.draft, plan.loaded)
    candle = timedelta(seconds=TIMEFRAME_SECONDS[plan.timeframe])
    end = range_end(plan.timerange_end, plan.timeframe, now)
    pairs = list(plan.pairs)
    own = CandleRange(pairs, plan.timeframe, start - startup_candles * candle, end)
    informative = informative_of(plan.draft, plan.loaded)
    return [own, *informative_ranges(informative, pairs, start, plan.timerange_end, now, startup_candles)]


def _prepared_job(plan: _Plan, datadir: Path, start: datetime, end: datetime) -> BacktestJob:
    """The run's results folder and job. The database is the source of truth: this host may never have seen the
    user or the strategy, so it writes them first."""
    results_dir = runtime().user_dirs.backtest_results(plan.clerk_id, plan.backtest_id)
    try:
        host_files.materialize(plan.clerk_id, plan.strategy_name, plan.code)
        results_dir.mkdir(parents=True, exist_ok=True)
        return _job(plan, datadir, results_dir, start, end)
    except OSError as exc:
        _raise_if_no_space(exc, results_dir)
        raise


def _run(plan: _Plan, runner: Runner, job: BacktestJob, heartbeat: Heartbeat) -> NextStep:
    """Freqtrade, until it ends or the backtest is no longer ours; a failed run is recorded with its reason."""
    progress = ProgressRecorder(plan.backtest_id)
    try:
        outcome = runner.run(job, should_cancel=lambda: heartbeat.lost, on_poll=lambda: None, progress=progress)
    except RunnerProblem as problem:
        state.fail(plan.backtest_id, problem.code, problem.message)
        return NextStep("failed")
    if outcome.cancelled or heartbeat.lost:
        return NextStep("cancelled")
    if not outcome.succeeded:
        if not outcome.timed_out:
            _check_space(job.results_dir, outcome.log_tail)
        code, message = failure_of(outcome, job)
        state.fail(plan.backtest_id, code, message, outcome.log_tail)
        return NextStep("failed")
    return _record_results(plan, outcome, job.results_dir)


def _record_results(plan: _Plan, outcome: RunOutcome, results_dir: Path) -> NextStep:
    """Parse Freqtrade's results and finish the backtest with them (unless it was cancelled meanwhile)."""
    try:
        parsed = parse_results(results_dir, plan.strategy_name)
    except (ResultsMissing, ResultsInvalid) as exc:
        _check_space(results_dir, outcome.log_tail)
        state.fail(plan.backtest_id, "results_invalid", str(exc), outcome.log_tail)
        return NextStep("failed")
    relative = str(parsed.archive.relative_to(runtime().user_dirs.path_for(plan.clerk_id)))
    if not state.finish(plan.backtest_id, parsed.summary, relative, _archive(parsed.archive)):
        return NextStep("cancelled")  # cancelled or deleted while Freqtrade was finishing
    log.info("backtest %s finished in %.1f s", plan.backtest_id, outcome.seconds)
    return NextStep("finished")


def _archive(path: Path) -> state.Archive | None:
    """The result archive to store with the backtest, or None (logged) when it is larger than the limit: the
    summary is what the API shows, and the file stays in this host's results folder."""
    limit = runtime().settings.result_archive_max_mb * 1024 * 1024
    size = path.stat().st_size
    if size > limit:
        log.warning("the result archive %s has %d bytes, over the %d stored: not stored", path, size, limit)
        return None
    return state.Archive(path.name, path.read_bytes())


def failure_of(outcome: RunOutcome, job: BacktestJob) -> tuple[str, str]:
    """The error code and sentence of a run that failed: a limit it hit says which and what to change, so a run
    stopped by a limit never reads as the strategy's fault."""
    if outcome.timed_out:  # the wall clock, or the CPU-time backstop just above it
        return "resource_limit", time_limit_message(job.timeout_seconds)
    if outcome.out_of_memory:  # an OOM kill of its cgroup or container, or MemoryError under RLIMIT_DATA
        return "resource_limit", memory_limit_message(job.memory_mb)
    return "strategy_error", f"Freqtrade exited with {outcome.exit_code}"


def _check_space(results_dir: Path, log_tail: str) -> None:
    """Raise ``DiskFull`` (removing the partial output) when a failed run failed for want of space.

    Freqtrade may not manage to log the write error on a full disk, so the free space decides too.
    """
    said_so = any(os.strerror(code) in log_tail for code in NO_SPACE_ERRNOS)
    try:
        free = shutil.disk_usage(results_dir).free
    except OSError:
        free = MIN_FREE_BYTES
    if said_so or free < MIN_FREE_BYTES:
        shutil.rmtree(results_dir, ignore_errors=True)
        raise DiskFull(f"{free} bytes free in the results folder\n{log_tail}")


def _raise_if_no_space(exc: OSError, results_dir: Path) -> None:
    if exc.errno in NO_SPACE_ERRNOS:
        shutil.rmtree(results_dir, ignore_errors=True)
        raise DiskFull(f"{exc.strerror}: {exc.filename}") from exc


def _remove_orphans(plan: _Plan) -> None:
    """After a run that stopped because the backtest was no longer ours: if it was deleted (with its
    strategy or user) rather than cancelled, remove what this run wrote or recreated meanwhile."""
    if db.session.scalar(select(Backtest.id).where(Backtest.id == plan.backtest_id)) is not None:
        db.session.commit()
        return  # cancelled: its folder stays with its row
    user_exists = db.session.scalar(select(User.id).where(User.clerk_id == plan.clerk_id)) is not None
    db.session.commit()
    dirs = runtime().user_dirs
    # A deleted user's folder is gone for good (a tombstone stops re-provisioning): whatever is there now is ours.
    leftover = dirs.backtest_results(plan.clerk_id, plan.backtest_id) if user_exists else dirs.path_for(plan.clerk_id)
    if leftover.exists():
        shutil.rmtree(leftover, ignore_errors=True)
        log.info("backtest %s was deleted while it ran; removed %s", plan.backtest_id, leftover)


def _job(plan: _Plan, datadir: Path, results_dir: Path, start: datetime, end: datetime) -> BacktestJob:
    settings = runtime().settings
    dirs = runtime().user_dirs
    user_data = dirs.user_data(plan.clerk_id)
    stake_currency = plan.pairs[0].split("/")[1]
    overrides = results_dir / "config.json"
    write_atomically(
        overrides, json.dumps(command_overrides(plan.pairs, stake_currency, settings.exchange_api_url), indent=2)
    )
    return BacktestJob(
        backtest_id=plan.backtest_id,
        strategy_name=plan.strategy_name,
        user_data_dir=user_data,
        config_files=(user_data / "config.json", overrides),
        datadir=datadir,
        results_dir=results_dir,
        timerange=f"{_timerange_part(start)}-{_timerange_part(end)}",
        timeframe=plan.timeframe,
        pairs=plan.pairs,
        timeout_seconds=settings.backtest_timeout_seconds,
        memory_mb=settings.backtest_memory_mb,
        cpus=settings.backtest_cpus,
    )


def _timerange_part(moment: datetime) -> str:
    """One side of Freqtrade's ``--timerange``: the day at midnight, else day and time (a range ending today)."""
    return f"{moment:%Y%m%d}" if moment.time() == datetime.min.time() else f"{moment:%Y%m%dT%H%M}"


def reap() -> int:
    """Backtests whose worker died and whose message is gone: run them again, or fail them. Returns how many."""
    max_attempts = runtime().settings.backtest_max_attempts
    handled = 0
    for backtest_id, attempts in state.stale():
        if attempts >= max_attempts:
            state.fail(backtest_id, "worker_lost", f"the worker stopped during {attempts} attempts")
        elif state.requeue(backtest_id, state.user_error("worker_lost", "the worker stopped; running it again")):
            publish_run(backtest_id)
        handled += 1
    return handled
