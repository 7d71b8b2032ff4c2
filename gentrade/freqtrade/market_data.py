"""The shared market-data cache: Freqtrade's own candle files, filled by stock ``download-data``.

One cache per exchange and trading mode (spot only for now), shared by every user:
``<data dir>/market_data/binance/BTC_USDT-1h.feather``, exactly where and how Freqtrade itself
stores candles, so ``freqtrade backtesting --datadir <root>`` reads it unchanged.

Only the missing part of a range is downloaded. A cached file is always one contiguous run of
candles (Freqtrade appends from its last candle and prepends up to its first), so its first and
last candle say what is missing. Downloads run in a private staging folder and are moved into
the cache with ``os.replace``, so a backtest never reads half a file; a per-(pair, timeframe)
``flock`` keeps two workers from fetching the same file at once.

Exit code 0 proves nothing (``download-data`` exits 0 for unknown pairs, late listings, gaps and
HTTP 500s): :mod:`gentrade.freqtrade.candle_check` decides whether the data is usable. Only a non-zero
exit (the exchange unreachable) or a timeout raises :class:`ExchangeUnavailable` here.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from gentrade.freqtrade.candle_times import required_candles
from gentrade.freqtrade.exchange_config import EXCHANGE, command_overrides
from gentrade.freqtrade.userdir import backtest_config
from gentrade.process_guard import die_with_parent

log = logging.getLogger(__name__)

DATA_FORMAT = "feather"  # Freqtrade 2026.9's default, and what the base config asks for
TRADING_MODE = "spot"
DOWNLOAD_TIMEOUT_SECONDS = 900.0
# A worker waiting for the lock may sit behind a prepend and an append download of another worker.
LOCK_TIMEOUT_SECONDS = 2 * DOWNLOAD_TIMEOUT_SECONDS + 60
LOCK_POLL_SECONDS = 0.2
LOG_TAIL_LINES = 40
MAX_LOG_WARNINGS = 20
_LOG_LEVEL = re.compile(r" - (WARNING|ERROR|CRITICAL) - ")
CONFIG_OWNER = "user_marketdata"  # names the bot in the base config; the cache belongs to no user
# Spot pairs only ("BTC/USDT"); also keeps anything that could pass for a CLI option out of argv.
PAIR_PATTERN = re.compile(r"[A-Z0-9]{1,20}/[A-Z0-9]{1,20}")
FREQTRADE_COMMAND = (sys.executable, "-m", "freqtrade")


class ExchangeUnavailable(Exception):
    """Transient: the exchange could not be reached (download-data failed or timed out). Retry later."""

    def __init__(self, message: str, *, log_tail: str = "", exit_code: int | None = None) -> None:
        super().__init__(f"{message}\n{log_tail}".rstrip())
        self.message = message
        self.log_tail = log_tail
        self.exit_code = exit_code


class CacheBusy(ExchangeUnavailable):
    """Another worker held a file lock for longer than ``lock_timeout_seconds``; retry like an outage."""


@dataclass(frozen=True)
class DownloadReport:
    """What ``ensure`` did: pairs sent to ``download-data``, pairs already cached, Freqtrade runs, time.

    ``log_warnings`` holds the WARNING/ERROR lines Freqtrade printed (e.g. a pair whose candles
    failed): context for an error message, never the verdict on the data.
    """

    downloaded: tuple[str, ...]
    cached: tuple[str, ...]
    invocations: int
    seconds: float
    log_warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Missing:
    absent: bool  # no usable file: download the whole range
    before: bool  # the file starts after the first candle needed: prepend
    after: bool  # the file ends before the last candle needed: append


def cache_root(data_dir: Path) -> Path:
    """``<data dir>/market_data/binance``: Freqtrade's datadir for spot candles of this exchange."""
    return data_dir / "market_data" / EXCHANGE


def pair_to_filename(pair: str) -> str:
    """Freqtrade's ``misc.pair_to_filename`` (kept in step; importing Freqtrade costs ~2 s)."""
    for char in ("/", " ", ".", "@", "$", "+", ":"):
        pair = pair.replace(char, "_")
    return pair


def candle_file(root: Path, pair: str, timeframe: str) -> Path:
    """Where Freqtrade stores spot candles of ``pair`` under ``root``: ``BTC_USDT-1h.feather``."""
    return root / f"{pair_to_filename(pair)}-{timeframe.replace('M', 'Mo')}.{DATA_FORMAT}"


def read_dates(path: Path) -> pd.Series | None:
    """The ``date`` column of a cached file (UTC), or None when the file is missing or unreadable."""
    try:
        return pd.read_feather(path, columns=["date"])["date"]
    except FileNotFoundError:
        return None
    except Exception as exc:  # a broken file is as good as none; it will be re-downloaded
        log.warning("unreadable candle file %s: %s", path, exc)
        return None


def candle_span(path: Path) -> tuple[datetime, datetime] | None:
    """First and last candle of a cached file; None when it is missing, unreadable or empty."""
    dates = read_dates(path)
    if dates is None or dates.empty:
        return None
    return dates.iloc[0].to_pydatetime(), dates.iloc[-1].to_pydatetime()


def _validate_pairs(pairs: Iterable[str]) -> list[str]:
    result = list(dict.fromkeys(pairs))
    if not result:
        raise ValueError("no pairs given")
    for pair in result:
        if not isinstance(pair, str) or not PAIR_PATTERN.fullmatch(pair):
            raise ValueError(f"not a spot pair: {pair!r:.40}")
    return result


def _day_floor(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _timerange(start: datetime, end: datetime) -> str:
    """``YYYYMMDD-YYYYMMDD`` widened to whole days (a little more data, never less)."""
    last_day = _day_floor(end)
    if last_day < end:
        last_day += timedelta(days=1)
    return f"{_day_floor(start):%Y%m%d}-{last_day:%Y%m%d}"


class MarketDataCache:
    """Candle files of one exchange (spot), shared by all users and workers."""

    def __init__(
        self,
        data_dir: Path,
        exchange_api_url: str | None,
        *,
        freqtrade_command: Sequence[str] = FREQTRADE_COMMAND,
        download_timeout_seconds: float = DOWNLOAD_TIMEOUT_SECONDS,
        lock_timeout_seconds: float = LOCK_TIMEOUT_SECONDS,
    ) -> None:
        self.root = cache_root(Path(data_dir)).resolve()
        self.exchange_api_url = exchange_api_url  # None: the real exchange
        self.freqtrade_command = list(freqtrade_command)
        self.download_timeout_seconds = download_timeout_seconds
        self.lock_timeout_seconds = lock_timeout_seconds

    def path(self, pair: str, timeframe: str) -> Path:
        return candle_file(self.root, pair, timeframe)

    # --- the one public operation ------------------------------------------------------------
    def ensure(self, pairs: Iterable[str], timeframe: str, start: datetime, end: datetime) -> DownloadReport:
        """Download whatever the cache lacks of ``[start, end)`` for ``pairs``; fetch nothing already cached.

        Does not judge the data (call :func:`gentrade.freqtrade.candle_check.check_candles` next). Raises
        :class:`ExchangeUnavailable` when the exchange cannot be reached.
        """
        began = time.monotonic()
        wanted = _validate_pairs(pairs)
        first, last = required_candles(start, end, timeframe)
        todo = [pair for pair in wanted if self._missing(pair, timeframe, first, last)]
        if not todo:
            log.debug("market data: %s %s cached for %s", ", ".join(wanted), timeframe, _timerange(start, end))
            return DownloadReport((), tuple(wanted), 0, time.monotonic() - began)

        downloaded: set[str] = set()
        warnings: list[str] = []
        invocations = 0
        self.root.mkdir(parents=True, exist_ok=True)
        with self._locked(todo, timeframe):
            # Look again under the lock: another worker may just have fetched some of it.
            plan = {pair: self._missing(pair, timeframe, first, last) for pair in todo}
            prepend = [pair for pair, missing in plan.items() if missing and missing.before and not missing.absent]
            if prepend:
                warnings += self._download(prepend, timeframe, start, end, prepend=True)
                downloaded.update(prepend)
                invocations += 1
            # Then whatever lacks its end (looked at after the prepend, which rewrote those files).
            rest = []
            for pair in todo:
                missing = self._missing(pair, timeframe, first, last)
                if missing and (missing.absent or missing.after):
                    rest.append(pair)
            if rest:
                warnings += self._download(rest, timeframe, start, end, prepend=False)
                downloaded.update(rest)
                invocations += 1
        report = DownloadReport(
            downloaded=tuple(pair for pair in wanted if pair in downloaded),
            cached=tuple(pair for pair in wanted if pair not in downloaded),
            invocations=invocations,
            seconds=time.monotonic() - began,
            log_warnings=tuple(warnings[:MAX_LOG_WARNINGS]),
        )
        log.info(
            "market data %s %s: downloaded %s, cached %s (%d runs, %.1f s)",
            _timerange(start, end), timeframe, ", ".join(report.downloaded) or "-",
            ", ".join(report.cached) or "-", report.invocations, report.seconds,
        )  # fmt: skip
        return report

    # --- what is missing ---------------------------------------------------------------------
    def _missing(self, pair: str, timeframe: str, first: datetime, last: datetime) -> _Missing | None:
        span = candle_span(self.path(pair, timeframe))
        if span is None:
            return _Missing(absent=True, before=True, after=True)
        have_first, have_last = span
        missing = _Missing(absent=False, before=have_first > first, after=have_last < last)
        return missing if missing.before or missing.after else None

    # --- locking -----------------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self, pairs: Iterable[str], timeframe: str) -> Iterator[None]:
        """Exclusive ``flock`` per (pair, timeframe), taken in sorted order so two workers cannot deadlock."""
        lock_dir = self.root / ".locks"
        lock_dir.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.lock_timeout_seconds
        with contextlib.ExitStack() as stack:
            for pair in sorted(set(pairs)):
                path = lock_dir / f"{pair_to_filename(pair)}-{timeframe}.lock"
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
                stack.callback(os.close, fd)  # closing the descriptor releases the lock
                waited = False
                while True:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if time.monotonic() >= deadline:
                            raise CacheBusy(
                                f"{pair} {timeframe}: another worker held the download lock for "
                                f"more than {self.lock_timeout_seconds:.0f} s"
                            ) from None
                        if not waited:
                            log.info("market data %s %s: waiting for another worker's download", pair, timeframe)
                            waited = True
                        time.sleep(LOCK_POLL_SECONDS)
            yield

    # --- downloading -------------------------------------------------------------------------
    def _download(
        self, pairs: list[str], timeframe: str, start: datetime, end: datetime, *, prepend: bool
    ) -> list[str]:
        """One ``freqtrade download-data`` run for ``pairs`` into staging, then move the results into the cache.

        Returns the WARNING/ERROR lines of Freqtrade's log.
        """
        staging_parent = self.root / ".staging"
        staging_parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=staging_parent, prefix="download-"))
        try:
            with tempfile.TemporaryDirectory(prefix="gentrade-download-") as private:
                work = Path(private)
                had_cache: set[str] = set()
                for pair in pairs:
                    source = self.path(pair, timeframe)
                    if candle_span(source) is not None:  # Freqtrade appends to / prepends before this copy
                        shutil.copyfile(source, staging / source.name)
                        had_cache.add(pair)
                timerange = _timerange(start, end)
                args = self._arguments(work, staging, pairs, timeframe, timerange, prepend=prepend)
                began = time.monotonic()
                exit_code, lines = self._run(args, work)
                tail = "\n".join(lines[-LOG_TAIL_LINES:])
                seconds = time.monotonic() - began
                what = f"{', '.join(pairs)} {timeframe} {timerange}{' (prepend)' if prepend else ''}"
                if exit_code is None:
                    raise ExchangeUnavailable(
                        f"freqtrade download-data timed out after {self.download_timeout_seconds:.0f} s for {what}",
                        log_tail=tail,
                    )
                if exit_code != 0:
                    raise ExchangeUnavailable(
                        f"freqtrade download-data exited with {exit_code} for {what}: the exchange is unreachable",
                        log_tail=tail,
                        exit_code=exit_code,
                    )
                log.info("market data: downloaded %s in %.1f s", what, seconds)
                for pair in pairs:
                    self._promote(staging, pair, timeframe, had_cache=pair in had_cache)
                return [line for line in lines if _LOG_LEVEL.search(line)]
        finally:
            shutil.rmtree(staging, ignore_errors=True)  # our own private staging folder, nothing else

    def _arguments(
        self, work: Path, staging: Path, pairs: list[str], timeframe: str, timerange: str, *, prepend: bool
    ) -> list[str]:
        base, overrides = work / "config.json", work / "overrides.json"
        base.write_text(json.dumps(backtest_config(CONFIG_OWNER)), encoding="utf-8")
        stake_currency = pairs[0].split("/")[1]
        overrides.write_text(json.dumps(command_overrides(pairs, stake_currency, self.exchange_api_url)))
        userdir = work / "user_data"
        userdir.mkdir()
        args = [
            *self.freqtrade_command, "download-data",
            "--config", str(base), "--config", str(overrides),
            "--userdir", str(userdir), "--datadir", str(staging),
            "--trading-mode", TRADING_MODE, "--data-format-ohlcv", DATA_FORMAT,
            "--pairs", *pairs, "--timeframes", timeframe, "--timerange", timerange,
        ]  # fmt: skip
        if prepend:
            args.append("--prepend")
        return args

    def _run(self, args: list[str], work: Path) -> tuple[int | None, list[str]]:
        """Run Freqtrade with a scrubbed environment; exit code (None on timeout) and its log lines."""
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(work),
               "LANG": os.environ.get("LANG", "C.UTF-8"), "TZ": "UTC"}  # fmt: skip
        log_path = work / "download.log"
        with log_path.open("wb") as output:
            process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell; pairs and timeframe are validated
                args, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=env, cwd=work, start_new_session=True, preexec_fn=die_with_parent,
            )  # fmt: skip
            try:
                exit_code: int | None = process.wait(timeout=self.download_timeout_seconds)
            except subprocess.TimeoutExpired:
                exit_code = None
                _kill_group(process)
            except BaseException:
                _kill_group(process)
                raise
        return exit_code, log_path.read_text(encoding="utf-8", errors="replace").splitlines()

    def _promote(self, staging: Path, pair: str, timeframe: str, *, had_cache: bool) -> None:
        """Move a downloaded file into the cache atomically; never lose candles the cache already had."""
        staged, target = candle_file(staging, pair, timeframe), self.path(pair, timeframe)
        try:
            fresh = pd.read_feather(staged)
        except FileNotFoundError:
            log.info("market data %s %s: the exchange returned nothing", pair, timeframe)
            return
        except Exception as exc:
            log.warning("market data %s %s: unreadable download (%s), cache left as it was", pair, timeframe, exc)
            return
        if fresh.empty:
            log.info("market data %s %s: the exchange returned no candles", pair, timeframe)
            return
        # Freqtrade drops the last stored candle as "incomplete" whenever it updates a file, so a
        # prepend shortens the tail by one; put back what the cache had (we hold its lock).
        cached_dates = read_dates(target) if had_cache else None
        if cached_dates is not None and not cached_dates.empty:
            lost = ~_nanoseconds(cached_dates).isin(_nanoseconds(fresh["date"])).to_numpy()
            if lost.any():
                cached = pd.read_feather(target)
                merged = pd.concat([fresh, cached.loc[lost]], ignore_index=True)
                merged["date"] = merged["date"].dt.as_unit("ms")
                merged = merged.sort_values("date", kind="stable").reset_index(drop=True)
                merged.to_feather(staged, compression="lz4", compression_level=9)  # as Freqtrade stores it
                log.debug("market data %s %s: kept %d cached candles", pair, timeframe, int(lost.sum()))
        os.replace(staged, target)


def _nanoseconds(dates: pd.Series) -> pd.Series:
    return dates.dt.as_unit("ns").astype("int64")


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
