"""Backtests, the API side: start one (validate, commit, publish), list, read, cancel, follow.

The row is committed as ``queued`` before the task is published; if publishing fails the row
ends ``failed`` (``queue_unavailable``) at once, so nothing waits for a message that never left.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from gentrade.extensions import db
from gentrade.freqtrade.exchange_config import EXCHANGE
from gentrade.freqtrade.limits import candles_per_pair, fits, too_big_message
from gentrade.freqtrade.markets import ListingUnavailable, listed_pairs
from gentrade.models import Backtest, BacktestArchive, BacktestStatus, Strategy, User
from gentrade.models.backtest import ACTIVE_STATUSES, FINAL_STATUSES
from gentrade.runtime import runtime
from gentrade.services import backtest_state, ownership
from gentrade.services.errors import Conflict, Invalid, NotFound, ServiceError, Unavailable
from gentrade.services.pagination import page_of
from gentrade.services.public_errors import public_error
from gentrade.strategies.draft import DraftInvalid, parse_draft
from gentrade.strategies.loaded import startup_candles
from gentrade.timeframes import TIMEFRAME_SECONDS
from gentrade.work_queue import publish_run

log = logging.getLogger(__name__)


class TooManyActive(ServiceError):
    status = 429


class QueueUnavailable(Unavailable):
    """The backtest was recorded, but its task could not be published (the row ends ``queue_unavailable``)."""


def _valid_pairs(strategy: Strategy, start: date, end: date, pairs: list[str] | None, timeframe: str) -> list[str]:
    settings = runtime().settings
    problems: dict[str, list[str]] = {}
    today = datetime.now(UTC).date()
    if start >= end:
        problems.setdefault("start_date", []).append("Must be before end_date.")
    if end > today:
        problems.setdefault("end_date", []).append(
            f"Must not be after today ({today.isoformat()} UTC): there are no candles from the future."
        )
    if (end - start).days > settings.backtest_max_days:
        problems.setdefault("end_date", []).append(f"The range may span at most {settings.backtest_max_days} days.")
    can_short, own_pairs = _shorts_and_pairs(strategy)
    if can_short:
        problems.setdefault("strategy_id", []).append(
            "Short strategies need futures market data, which backtests do not support yet."
        )
    chosen = pairs or own_pairs
    if not chosen:
        problems.setdefault("pairs", []).append(
            "Required: this strategy was brought as code and has no pairs of its own; name the pairs to backtest."
        )
    quotes = {pair.split("/")[1] for pair in chosen}
    if len(quotes) > 1:
        problems.setdefault("pairs", []).append("All pairs must share one quote currency.")
    _check_listed(chosen, problems)
    _check_size(strategy, start, end, chosen, timeframe)
    return chosen


def _check_listed(pairs: list[str], problems: dict[str, list[str]]) -> None:
    """A 422 naming the pairs the exchange does not list, with the request's other ``problems``. When the
    exchange's list cannot be had (and none is cached) the pairs cannot be checked: a request that is invalid
    anyway gets its 422, any other a 503 with ``Retry-After`` (``gentrade.freqtrade.markets``)."""
    try:
        listed = listed_pairs(runtime().settings.exchange_api_url) if pairs else frozenset()
    except ListingUnavailable as exc:
        if problems:
            raise Invalid("the backtest request is invalid", problems) from exc
        raise Unavailable(
            "the exchange's market list is unavailable, try again shortly",
            {"pairs": [f"Cannot be checked now: {EXCHANGE}'s market list could not be loaded."]},
            retry_after=exc.retry_after,
        ) from exc
    unknown = [pair for pair in pairs if pair not in listed]
    if unknown:
        problems.setdefault("pairs", []).append(f"Not listed on {EXCHANGE}: {', '.join(unknown)}.")
    if problems:
        raise Invalid("the backtest request is invalid", problems)


def _check_size(strategy: Strategy, start: date, end: date, pairs: list[str], timeframe: str) -> None:
    """Refuse up front what cannot fit the memory a backtest may use (the runner would stop it with
    ``resource_limit`` after minutes); the estimate is calibrated on measured runs (``limits``)."""
    memory_mb = runtime().settings.backtest_memory_mb
    days = (end - start).days + 1  # both days included
    candles = candles_per_pair(days, TIMEFRAME_SECONDS[timeframe], startup_candles(strategy.draft, strategy.loaded))
    if not fits(len(pairs), candles, memory_mb):
        message = too_big_message(len(pairs), candles, memory_mb)
        raise Invalid(message, {"_schema": [message]})


def _shorts_and_pairs(strategy: Strategy) -> tuple[bool, list[str]]:
    """Whether the strategy shorts, and its own pairs: from its draft, or (brought as code) from its class."""
    if strategy.loaded is not None:
        return strategy.loaded["can_short"], []
    try:
        draft = parse_draft(strategy.draft)
    except DraftInvalid as exc:
        raise Invalid("the strategy's draft no longer validates", {"strategy_id": [str(exc)]}) from exc
    return draft.can_short, list(draft.pairs)


def create(
    user: User,
    strategy_id: uuid.UUID,
    start: date,
    end: date,
    pairs: list[str] | None = None,
    timeframe: str | None = None,
) -> Backtest:
    strategy = ownership.owned_strategy(user, strategy_id)
    timeframe = timeframe or strategy.timeframe
    chosen_pairs = _valid_pairs(strategy, start, end, pairs, timeframe)
    # Serialise this user's starts (row lock), so the active limit holds under concurrent requests.
    db.session.execute(select(User.id).where(User.id == user.id).with_for_update())
    limit = runtime().settings.backtest_max_active_per_user
    if _active_count(user) >= limit:
        db.session.rollback()
        raise TooManyActive(f"at most {limit} backtests may be queued or running at once; wait or cancel one")
    backtest = Backtest(
        strategy_id=strategy.id,
        timerange_start=start,
        timerange_end=end,
        pairs=chosen_pairs,
        timeframe=timeframe,
        status=BacktestStatus.QUEUED,
    )
    db.session.add(backtest)
    db.session.commit()
    try:
        publish_run(backtest.id)
    except Exception as exc:
        log.exception("could not publish backtest %s", backtest.id)
        backtest_state.fail(backtest.id, "queue_unavailable", "the task queue could not be reached", str(exc)[:500])
        raise QueueUnavailable(
            "the backtest queue is unavailable; try again shortly", {"backtest_id": [str(backtest.id)]}
        ) from exc
    return backtest


def _active_count(user: User) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Backtest)
            .join(Strategy)
            .where(Strategy.user_id == user.id, Backtest.status.in_([str(s) for s in ACTIVE_STATUSES]))
        )
        or 0
    )


def list_page(
    user: User, page: int, page_size: int, strategy_id: uuid.UUID | None = None, status: str | None = None
) -> tuple[list[Backtest], int]:
    query = select(Backtest).join(Strategy).where(Strategy.user_id == user.id)
    if strategy_id is not None:
        query = query.where(Backtest.strategy_id == strategy_id)
    if status is not None:
        query = query.where(Backtest.status == status)
    return page_of(query.order_by(Backtest.created_at.desc(), Backtest.id), page, page_size)


get_owned = ownership.owned_backtest


def result_archive(user: User, backtest_id: uuid.UUID) -> BacktestArchive:
    """The stored result archive of one of the user's finished backtests (any API host can serve it)."""
    backtest = get_owned(user, backtest_id)
    if backtest.status != BacktestStatus.FINISHED:
        raise Conflict(f"the backtest is {backtest.status}: only a finished backtest has a result archive")
    archive = db.session.get(BacktestArchive, backtest_id)
    if archive is None:
        limit = runtime().settings.result_archive_max_mb
        raise NotFound(
            "this backtest's result archive is not stored: it finished before archives were kept, "
            f"or it was larger than the {limit} MiB kept"
        )
    return archive


def count_by_status() -> dict[str, int]:
    """How many backtests are in each status, every status present (zero included): one grouped query."""
    counts = dict.fromkeys((str(status) for status in BacktestStatus), 0)
    try:
        rows = db.session.execute(select(Backtest.status, func.count()).group_by(Backtest.status)).all()
    finally:
        db.session.rollback()  # a read: release the connection now, whether it answered or not
    counts.update({status: count for status, count in rows})
    return counts


def cancel(user: User, backtest_id: uuid.UUID) -> Backtest:
    backtest = get_owned(user, backtest_id)
    if backtest.status in FINAL_STATUSES:
        raise Invalid(f"the backtest is already {backtest.status}", {"status": [backtest.status]})
    backtest_state.cancel(backtest_id)
    db.session.refresh(backtest)
    return backtest


def snapshot(backtest_id: uuid.UUID) -> dict[str, Any] | None:
    """What a progress event carries; reads and releases the connection (nothing is held while waiting)."""
    try:
        row = db.session.execute(
            select(
                Backtest.status,
                Backtest.progress,
                Backtest.error,
                Backtest.attempts,
                Backtest.started_at,
                Backtest.finished_at,
            ).where(Backtest.id == backtest_id)
        ).one_or_none()
    finally:
        db.session.remove()
    if row is None:
        return None
    return {
        "id": str(backtest_id),
        "status": row.status,
        "progress": row.progress,
        "error": public_error(row.error),
        "attempts": row.attempts,
        "started_at": row.started_at.isoformat() if row.started_at else None,
        "finished_at": row.finished_at.isoformat() if row.finished_at else None,
    }


def follow(
    backtest_id: uuid.UUID, poll_seconds: float = 1.0, max_duration: timedelta = timedelta(hours=1)
) -> Iterator[dict[str, Any] | None]:
    """Yield a snapshot at each status change until a final state; ``None`` means "still waiting" (a keep-alive)."""
    deadline = time.monotonic() + max_duration.total_seconds()
    last: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        current = snapshot(backtest_id)
        if current is None:
            return
        if current != last:
            last = current
            yield current
            if current["status"] in FINAL_STATUSES:
                return
        else:
            yield None
        time.sleep(poll_seconds)
