"""The market-data cache with the real exchange stand-in and stock ``freqtrade download-data``.

Requests to the stand-in are counted to prove that only missing candles are fetched. Figures
behind the expected counts (measured, Freqtrade 2026.9): a new pair costs one listing probe
(``startTime=0``) plus one request per 1000 candles from the start; an append or a prepend
costs one request per 1000 candles of the part fetched; nothing cached costs nothing.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gentrade.exchange_sim import ExchangeSimulator, SimulatorConfig
from gentrade.freqtrade.candle_check import DATA_INVALID, DATA_UNAVAILABLE, DataProblem, check_candles
from gentrade.freqtrade.candle_times import range_end
from gentrade.freqtrade.market_data import CacheBusy, ExchangeUnavailable, MarketDataCache, candle_span
from gentrade.freqtrade.synthetic import synthetic_frame

NOW = datetime(2026, 11, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def day(month: int, dom: int) -> datetime:
    return datetime(2026, month, dom, tzinfo=UTC)


def klines(sim: ExchangeSimulator, pair: str) -> int:
    return sim.requests[f"klines:{pair.replace('/', '')}"]


def problem(cache: MarketDataCache, pairs: list[str], start: datetime, end: datetime) -> DataProblem:
    with pytest.raises(DataProblem) as caught:
        check_candles(cache.root, pairs, "1h", start, end)
    return caught.value


def test_downloads_once_then_only_the_missing_parts(tmp_path: Path) -> None:
    with ExchangeSimulator(SimulatorConfig(now=NOW)) as sim:
        cache = MarketDataCache(tmp_path, sim.api_url)
        assert cache.root == (tmp_path / "market_data" / "binance").resolve()

        first = cache.ensure(["BTC/USDT"], "1h", day(9, 1), day(9, 15))
        assert (first.downloaded, first.cached, first.invocations) == (("BTC/USDT",), (), 1)
        assert klines(sim, "BTC/USDT") == 2  # listing probe + one 1000-candle chunk
        assert cache.path("BTC/USDT", "1h") == cache.root / "BTC_USDT-1h.feather"
        check_candles(cache.root, ["BTC/USDT"], "1h", day(9, 1), day(9, 15))
        span = candle_span(cache.path("BTC/USDT", "1h"))
        assert span is not None
        assert span[0] == day(9, 1)
        cached_last = span[1]  # the chunk reaches past the range; Freqtrade keeps it

        # Covered (also any part of it): no Freqtrade run, not a single request.
        seen = dict(sim.requests)
        for start, end in [(day(9, 1), day(9, 15)), (day(9, 3), day(9, 10))]:
            again = cache.ensure(["BTC/USDT"], "1h", start, end)
            assert (again.downloaded, again.cached, again.invocations) == ((), ("BTC/USDT",), 0)
        assert dict(sim.requests) == seen

        # Earlier start: only the earlier part is fetched, and the cached tail survives the prepend.
        earlier = cache.ensure(["BTC/USDT"], "1h", day(8, 20), day(9, 15))
        assert (earlier.downloaded, earlier.invocations) == (("BTC/USDT",), 1)
        assert klines(sim, "BTC/USDT") == 3  # 12 days before the cached first candle: one chunk
        assert candle_span(cache.path("BTC/USDT", "1h")) == (day(8, 20), cached_last)

        # Later end: only the later part is fetched.
        later = cache.ensure(["BTC/USDT"], "1h", day(8, 20), NOW)
        assert (later.downloaded, later.invocations) == (("BTC/USDT",), 1)
        assert klines(sim, "BTC/USDT") == 4  # 19 days after the cached last candle: one chunk

        # Then everything is there: nothing more to fetch.
        assert cache.ensure(["BTC/USDT"], "1h", day(8, 25), NOW).invocations == 0
        assert klines(sim, "BTC/USDT") == 4

    check_candles(cache.root, ["BTC/USDT"], "1h", day(8, 20), NOW)
    stored = pd.read_feather(cache.path("BTC/USDT", "1h"))
    assert stored["date"].is_monotonic_increasing
    assert not stored["date"].duplicated().any()
    expected = synthetic_frame("BTC/USDT", "1h", int(day(8, 20).timestamp() * 1000), (NOW - day(8, 20)) // HOUR)
    assert stored["date"].dt.as_unit("ns").tolist() == expected["date"].dt.as_unit("ns").tolist()
    assert np.allclose(stored["close"].to_numpy(), expected["close"].to_numpy(), rtol=1e-7)
    assert not list(cache.root.glob(".staging/*")), "staging folders are removed"


def test_a_range_ending_today_is_cached_up_to_the_last_closed_candle(tmp_path: Path) -> None:
    """The stand-in serves the open candle, as Binance does, and none after its clock; Freqtrade drops the
    open one. So the cache ends at the last closed candle, which is all a range ending today needs."""
    now = NOW + timedelta(hours=14, minutes=40)  # "today" is NOW's day; its 14:00 candle is still open
    end = range_end(NOW.date(), "1h", now)
    assert end == NOW + 14 * HOUR
    with ExchangeSimulator(SimulatorConfig(now=now)) as sim:
        status, candles = sim.klines({"symbol": "BTCUSDT", "interval": "1h", "startTime": str(_ms(NOW))})
        assert status == 200
        assert candles[-1][0] == _ms(NOW + 14 * HOUR)  # the open candle, nothing from the future
        cache = MarketDataCache(tmp_path, sim.api_url)
        cache.ensure(["BTC/USDT"], "1h", day(10, 25), end)
    assert candle_span(cache.path("BTC/USDT", "1h")) == (day(10, 25), end - HOUR)
    check_candles(cache.root, ["BTC/USDT"], "1h", day(10, 25), end)


def test_a_pair_listed_late_is_unavailable_for_the_early_part(tmp_path: Path) -> None:
    config = SimulatorConfig(now=NOW, listed={"ETH/USDT": day(8, 14)})
    with ExchangeSimulator(config) as sim:
        cache = MarketDataCache(tmp_path, sim.api_url)
        report = cache.ensure(["BTC/USDT", "ETH/USDT"], "1h", day(8, 1), day(9, 1))
        assert (report.downloaded, report.invocations) == (("BTC/USDT", "ETH/USDT"), 1)  # one run for both
        assert klines(sim, "ETH/USDT") == 2

    found = problem(cache, ["BTC/USDT", "ETH/USDT"], day(8, 1), day(9, 1))
    assert found.code == DATA_UNAVAILABLE
    assert found.message == "ETH/USDT 1h: no candles before 2026-08-14 00:00 UTC (needed from 2026-08-01 00:00 UTC)"
    assert [entry["pair"] for entry in found.detail["problems"]] == ["ETH/USDT"]
    check_candles(cache.root, ["ETH/USDT"], "1h", day(8, 14), day(9, 1))  # from the listing on, it is fine


def test_a_two_day_gap_is_invalid_and_named(tmp_path: Path) -> None:
    config = SimulatorConfig(now=NOW, gaps={"BTC/USDT": [(day(9, 10), day(9, 12))]})
    with ExchangeSimulator(config) as sim:
        cache = MarketDataCache(tmp_path, sim.api_url)
        cache.ensure(["BTC/USDT"], "1h", day(9, 1), day(10, 1))

    found = problem(cache, ["BTC/USDT"], day(9, 1), day(10, 1))
    assert found.code == DATA_INVALID
    assert found.message.startswith(
        "BTC/USDT 1h: gap of 48 missing candles from 2026-09-10 00:00 UTC to 2026-09-12 00:00 UTC"
    )


def test_unknown_and_failing_pairs_exit_0_but_are_unavailable(tmp_path: Path) -> None:
    with ExchangeSimulator(SimulatorConfig(now=NOW, failing={"ETH/USDT"})) as sim:
        cache = MarketDataCache(tmp_path, sim.api_url)
        report = cache.ensure(["BTC/USDT", "ETH/USDT", "XRP/USDT"], "1h", day(9, 1), day(9, 15))  # no exception
        assert report.downloaded == ("BTC/USDT", "ETH/USDT", "XRP/USDT")
        assert klines(sim, "ETH/USDT") > 0  # asked, answered HTTP 500
        assert klines(sim, "XRP/USDT") == 0  # not listed: Freqtrade skips it
        assert any('Failed to download history data for pair: "ETH/USDT"' in line for line in report.log_warnings)

    found = problem(cache, ["BTC/USDT", "ETH/USDT", "XRP/USDT"], day(9, 1), day(9, 15))
    assert found.code == DATA_UNAVAILABLE
    assert [entry["message"] for entry in found.detail["problems"]] == [
        f"{pair} 1h: no candle data (needed from 2026-09-01 00:00 UTC until 2026-09-15 00:00 UTC)"
        for pair in ("ETH/USDT", "XRP/USDT")
    ]


def test_an_unreachable_exchange_raises_exchange_unavailable(tmp_path: Path) -> None:
    sim = ExchangeSimulator(SimulatorConfig(now=NOW)).start()
    sim.stop()  # the port now refuses connections
    cache = MarketDataCache(tmp_path, sim.api_url)
    with pytest.raises(ExchangeUnavailable) as caught:
        cache.ensure(["BTC/USDT"], "1h", day(9, 1), day(9, 15))
    assert caught.value.exit_code not in (0, None)
    assert "exited with" in caught.value.message
    assert "BTC/USDT 1h 20260901-20260915" in caught.value.message
    assert caught.value.log_tail
    assert not cache.path("BTC/USDT", "1h").exists()
    assert not list(cache.root.glob(".staging/*"))


def test_a_hanging_exchange_times_out_as_unavailable(tmp_path: Path) -> None:
    with ExchangeSimulator(SimulatorConfig(now=NOW, hang_seconds=15)) as sim:
        cache = MarketDataCache(tmp_path, sim.api_url, download_timeout_seconds=6)
        began = time.monotonic()
        with pytest.raises(ExchangeUnavailable, match="timed out after 6 s"):
            cache.ensure(["BTC/USDT"], "1h", day(9, 1), day(9, 15))
        assert time.monotonic() - began < 10
    assert not cache.path("BTC/USDT", "1h").exists()


_WORKER = """
import json, sys, time
from datetime import UTC, datetime
from pathlib import Path
from gentrade.freqtrade.market_data import MarketDataCache

cache = MarketDataCache(Path(sys.argv[1]), sys.argv[2])
began = time.monotonic()
report = cache.ensure(["SOL/USDT"], "1h", datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 9, 15, tzinfo=UTC))
print(json.dumps({"downloaded": report.downloaded, "invocations": report.invocations,
                  "began": began, "ended": time.monotonic()}))
"""


def test_two_workers_download_a_new_pair_once(tmp_path: Path) -> None:
    config = SimulatorConfig(pairs=("BTC/USDT", "ETH/USDT", "SOL/USDT"), now=NOW)
    with ExchangeSimulator(config) as sim:
        args = [sys.executable, "-c", _WORKER, str(tmp_path), sim.api_url]
        env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
        workers = [
            subprocess.Popen(args, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        outputs = [worker.communicate(timeout=120) for worker in workers]
        assert [worker.returncode for worker in workers] == [0, 0], [err[-2000:] for _, err in outputs]
        reports = sorted((json.loads(out.strip().splitlines()[-1]) for out, _ in outputs), key=lambda r: r["ended"])
        assert klines(sim, "SOL/USDT") == 2  # one download's worth: listing probe + one chunk
        assert sim.requests["exchangeInfo"] == 1  # a single Freqtrade run
    assert reports[0]["downloaded"] == ["SOL/USDT"]
    assert (reports[1]["downloaded"], reports[1]["invocations"]) == ([], 0)
    assert reports[1]["began"] < reports[0]["ended"], "the second worker ran while the first downloaded"
    check_candles(MarketDataCache(tmp_path, None).root, ["SOL/USDT"], "1h", day(9, 1), day(9, 15))


def test_a_lock_held_too_long_raises_cache_busy(tmp_path: Path) -> None:
    cache = MarketDataCache(tmp_path, "http://127.0.0.1:9/api/v3", lock_timeout_seconds=0.5)
    (cache.root / ".locks").mkdir(parents=True)
    with (cache.root / ".locks" / "BTC_USDT-1h.lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(CacheBusy, match="BTC/USDT 1h: another worker held the download lock"):
            cache.ensure(["BTC/USDT"], "1h", day(9, 1), day(9, 15))


@pytest.mark.parametrize("pairs", [[], ["btc/usdt"], ["--help"], ["BTC/USDT:USDT"]])
def test_bad_pairs_are_refused_before_anything_runs(tmp_path: Path, pairs: list[str]) -> None:
    cache = MarketDataCache(tmp_path, "http://127.0.0.1:9/api/v3")
    with pytest.raises(ValueError, match="pair"):
        cache.ensure(pairs, "1h", day(9, 1), day(9, 15))
