"""Result parsing against REAL result zips, written in-test by stock ``freqtrade backtesting``, offline.

Market data comes from the local exchange stand-in (synthetic candles) through stock
``freqtrade download-data``; the strategies are compiled from drafts. One strategy trades,
one never enters (the 0-trade case). Both backtests run once for the module, in parallel.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from freqtrade.configuration.directory_operations import create_userdata_dir

from gentrade.exchange_sim import ExchangeSimulator, SimulatorConfig
from gentrade.freqtrade.results import (
    CURVE_LIMIT,
    ParsedResults,
    ResultsError,
    ResultsInvalid,
    ResultsMissing,
    parse_results,
)
from gentrade.samples import draft
from gentrade.strategies.compiler import compile_strategy
from gentrade.strategies.draft import parse_draft
from tests.freqtrade_env import FREQTRADE, download, write_configs

PAIRS = ["BTC/USDT", "ETH/USDT"]
TRADES, NEVER = "DipTrader", "NeverTrades"
ENTRIES = {TRADES: 30, NEVER: 0.001}  # rsi < 30 trades in two months; rsi < 0.001 never fires
SUMMARY_KEYS = {
    "strategy", "timeframe", "timerange", "stake_currency", "total_trades", "wins", "draws", "losses", "win_rate",
    "profit_total", "profit_total_abs", "starting_balance", "final_balance", "max_drawdown", "max_drawdown_abs",
    "sharpe", "sortino", "calmar", "profit_factor", "avg_trade_duration_seconds", "avg_trade_duration",
    "winner_avg_duration_seconds", "loser_avg_duration_seconds", "max_consecutive_wins", "max_consecutive_losses",
    "exit_reasons", "best_pair", "worst_pair", "pairs", "equity_curve",
}  # fmt: skip
EXIT_REASON_KEYS = {"reason", "trades", "wins", "draws", "losses", "win_rate", "profit_total", "profit_total_abs"}
PAIR_KEYS = {"pair", "trades", "wins", "draws", "losses", "win_rate", "profit_total", "profit_total_abs",
             "avg_duration_seconds"}  # fmt: skip


@dataclass(frozen=True)
class Run:
    results_dir: Path
    parsed: ParsedResults
    stats: dict[str, Any]  # Freqtrade's own strategy.<Name> section, read independently


def freqtrade_stats(archive: Path, name: str) -> dict[str, Any]:
    with zipfile.ZipFile(archive) as bundle:
        member = next(n for n in bundle.namelist() if n.endswith(".json") and n.removesuffix(".json") == archive.stem)
        return json.loads(bundle.read(member))["strategy"][name]


def backtest_args(configs: list[Path], userdir: Path, datadir: Path, name: str, results_dir: Path) -> list[str]:
    args = [*FREQTRADE, "backtesting"]
    for config in configs:
        args += ["--config", str(config)]
    return [
        *args,
        "--userdir", str(userdir),
        "--datadir", str(datadir),
        "--strategy", name,
        "--timerange", "20260701-20260901",
        "--cache", "none",
        "--backtest-directory", str(results_dir),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    work = tmp_path_factory.mktemp("results")
    userdir, datadir = work / "user_data", work / "market"
    # Made before the concurrent runs: each Freqtrade makes missing subfolders with a check-then-mkdir race.
    create_userdata_dir(str(userdir), create_dir=True)
    for name, threshold in ENTRIES.items():
        value = draft(name=name, entry_conditions={"all": [{"left": "rsi", "op": "<", "right": threshold}]})
        (userdir / "strategies" / f"{name}.py").write_text(compile_strategy(parse_draft(value)))
    results_dirs = {name: work / "backtest_results" / name for name in ENTRIES}
    with ExchangeSimulator(SimulatorConfig(now=datetime(2026, 11, 1, tzinfo=UTC))) as exchange:
        download(datadir, PAIRS, "1h", "20260601-20260901", exchange.api_url, work)
        configs = write_configs(work / "backtest-config", PAIRS, exchange.api_url)
        processes = []
        for name, results_dir in results_dirs.items():
            results_dir.mkdir(parents=True)
            args = backtest_args(configs, userdir, datadir, name, results_dir)
            output = subprocess.PIPE
            processes.append(subprocess.Popen(args, cwd=work, stdout=output, stderr=subprocess.STDOUT, text=True))
        for process in processes:
            output, _ = process.communicate(timeout=300)
            assert process.returncode == 0, output[-3000:]
    result = {}
    for name, results_dir in results_dirs.items():
        parsed = parse_results(results_dir, name)
        result[name] = Run(results_dir, parsed, freqtrade_stats(parsed.archive, name))
    return result


def test_summary_matches_freqtrades_own_numbers(runs: dict[str, Run]) -> None:
    run = runs[TRADES]
    summary, stats = run.parsed.summary, run.stats
    assert run.parsed.archive.parent == run.results_dir
    assert run.parsed.archive.name.startswith("backtest-result-")
    assert set(summary) == SUMMARY_KEYS
    assert summary["strategy"] == TRADES
    assert summary["timeframe"] == "1h"
    assert summary["stake_currency"] == "USDT"
    assert summary["timerange"] == {"start": "2026-07-01T00:00:00Z", "end": "2026-09-01T00:00:00Z"}
    assert summary["total_trades"] == stats["total_trades"] > 0
    assert (summary["wins"], summary["draws"], summary["losses"]) == (stats["wins"], stats["draws"], stats["losses"])
    assert summary["wins"] + summary["draws"] + summary["losses"] == summary["total_trades"]
    close = {
        "win_rate": "winrate",
        "profit_total": "profit_total",
        "profit_total_abs": "profit_total_abs",
        "starting_balance": "starting_balance",
        "final_balance": "final_balance",
        "max_drawdown": "max_drawdown_account",
        "max_drawdown_abs": "max_drawdown_abs",
        "sharpe": "sharpe",
        "sortino": "sortino",
        "calmar": "calmar",
        "profit_factor": "profit_factor",
        "avg_trade_duration_seconds": "holding_avg_s",
    }
    for ours, theirs in close.items():
        rounded_to = 4 if ours in {"sharpe", "sortino", "calmar", "profit_factor"} else 6
        assert summary[ours] == pytest.approx(stats[theirs], rel=0, abs=0.51 * 10**-rounded_to), ours
    assert 0 <= summary["win_rate"] <= 1
    assert 0 < summary["max_drawdown"] < 1
    assert summary["avg_trade_duration"] == stats["holding_avg"]  # both str(timedelta), e.g. "14:00:00"
    assert summary["best_pair"] == stats["best_pair"]["key"]
    assert summary["worst_pair"] == stats["worst_pair"]["key"]


def test_summary_is_strict_json(runs: dict[str, Run]) -> None:
    for run in runs.values():
        text = json.dumps(run.parsed.summary, allow_nan=False)
        assert json.loads(text) == run.parsed.summary


def test_per_pair_table(runs: dict[str, Run]) -> None:
    summary = runs[TRADES].parsed.summary
    rows = summary["pairs"]
    assert sorted(row["pair"] for row in rows) == PAIRS  # one row each, no TOTAL
    assert all(set(row) == PAIR_KEYS for row in rows)
    assert sum(row["trades"] for row in rows) == summary["total_trades"]
    assert sum(row["profit_total_abs"] for row in rows) == pytest.approx(summary["profit_total_abs"], abs=1e-6)
    theirs = {row["key"]: row for row in runs[TRADES].stats["results_per_pair"]}
    for row in rows:
        assert row["trades"] == theirs[row["pair"]]["trades"] > 0
        assert row["win_rate"] == pytest.approx(theirs[row["pair"]]["winrate"], abs=1e-6)
        assert row["wins"] + row["draws"] + row["losses"] == row["trades"]
        assert row["avg_duration_seconds"] > 0


def test_exit_reasons(runs: dict[str, Run]) -> None:
    summary, stats = runs[TRADES].parsed.summary, runs[TRADES].stats
    reasons = summary["exit_reasons"]
    theirs = {row["key"]: row for row in stats["exit_reason_summary"] if row["key"] != "TOTAL"}
    assert [row["reason"] for row in reasons] == sorted(theirs, key=lambda key: (-theirs[key]["trades"], key))
    assert all(set(row) == EXIT_REASON_KEYS for row in reasons)
    assert sum(row["trades"] for row in reasons) == summary["total_trades"]
    assert sum(row["profit_total_abs"] for row in reasons) == pytest.approx(summary["profit_total_abs"], abs=1e-6)
    by_reason = {t: sum(1 for trade in stats["trades"] if trade["exit_reason"] == t) for t in theirs}
    for row in reasons:
        their = theirs[row["reason"]]
        assert row["trades"] == their["trades"] == by_reason[row["reason"]] > 0
        assert (row["wins"], row["draws"], row["losses"]) == (their["wins"], their["draws"], their["losses"])
        assert row["wins"] + row["draws"] + row["losses"] == row["trades"]
        assert row["win_rate"] == pytest.approx(their["winrate"], abs=0.51e-6)
        assert row["profit_total"] == pytest.approx(their["profit_total"], abs=0.51e-6)
        assert row["profit_total_abs"] == pytest.approx(their["profit_total_abs"], abs=0.51e-8)
    # The stand-in market, a stop loss and a 60-day window: more than one way out is exercised.
    assert len(reasons) >= 2


def test_winner_and_loser_figures(runs: dict[str, Run]) -> None:
    summary, stats = runs[TRADES].parsed.summary, runs[TRADES].stats
    assert summary["wins"] > 0  # else the run cannot check both
    assert summary["losses"] > 0
    for kind, sign in (("winner", 1), ("loser", -1)):
        seconds = summary[f"{kind}_avg_duration_seconds"]
        assert isinstance(seconds, int)
        assert seconds == stats[f"{kind}_holding_avg_s"]
        assert stats[f"{kind}_holding_min_s"] <= seconds <= stats[f"{kind}_holding_max_s"]
        minutes = [t["trade_duration"] for t in stats["trades"] if t["profit_ratio"] * sign > 0]
        assert seconds == round(sum(minutes) / len(minutes)) * 60  # Freqtrade rounds the mean to whole minutes
    for streak in ("max_consecutive_wins", "max_consecutive_losses"):
        assert summary[streak] == stats[streak]
        assert isinstance(summary[streak], int)
    assert 1 <= summary["max_consecutive_wins"] <= summary["wins"]
    assert 1 <= summary["max_consecutive_losses"] <= summary["losses"] + summary["draws"]  # a draw breaks a win run
    # The streaks follow the trades in Freqtrade's order, a draw counting as a loss.
    runs_of = {True: 0, False: 0}
    longest = {True: 0, False: 0}
    for trade in stats["trades"]:
        won = trade["profit_ratio"] > 0
        runs_of[won], runs_of[not won] = runs_of[won] + 1, 0
        longest[won] = max(longest[won], runs_of[won])
    assert (summary["max_consecutive_wins"], summary["max_consecutive_losses"]) == (longest[True], longest[False])


def test_equity_curve(runs: dict[str, Run]) -> None:
    summary, stats = runs[TRADES].parsed.summary, runs[TRADES].stats
    curve = summary["equity_curve"]
    assert 2 <= len(curve) <= CURVE_LIMIT
    times = [datetime.fromisoformat(point["time"]) for point in curve]
    assert all(moment.utcoffset() is not None and moment.utcoffset().total_seconds() == 0 for moment in times)
    assert times == sorted(times)
    assert len(set(times)) == len(times)
    assert curve[0] == {"time": "2026-07-01T00:00:00Z", "balance": stats["starting_balance"]}
    assert curve[-1]["time"] == "2026-09-01T00:00:00Z"
    assert curve[-1]["balance"] == pytest.approx(stats["final_balance"], abs=1e-6)
    assert all(math.isfinite(point["balance"]) for point in curve)
    # Each point is the balance after every trade closed by then (computed here from Freqtrade's trades).
    for moment, point in zip(times[1:], curve[1:], strict=True):
        closed = [t["profit_abs"] for t in stats["trades"] if t["close_timestamp"] <= moment.timestamp() * 1000]
        assert point["balance"] == pytest.approx(stats["starting_balance"] + sum(closed), abs=1e-6)
    start = stats["starting_balance"]
    assert min(point["balance"] for point in curve) == pytest.approx(min(start, stats["csum_min"]), abs=1e-6)
    assert max(point["balance"] for point in curve) == pytest.approx(max(start, stats["csum_max"]), abs=1e-6)


def test_zero_trades_summary_is_complete(runs: dict[str, Run]) -> None:
    summary, stats = runs[NEVER].parsed.summary, runs[NEVER].stats
    assert stats["total_trades"] == 0
    assert set(summary) == SUMMARY_KEYS
    assert summary["total_trades"] == summary["wins"] == summary["draws"] == summary["losses"] == 0
    assert summary["profit_total"] == summary["profit_total_abs"] == 0.0
    assert summary["max_drawdown"] == summary["max_drawdown_abs"] == 0.0
    assert summary["starting_balance"] == summary["final_balance"] == stats["starting_balance"]
    for undefined in ("win_rate", "sharpe", "sortino", "calmar", "profit_factor", "avg_trade_duration_seconds",
                      "avg_trade_duration", "winner_avg_duration_seconds", "loser_avg_duration_seconds",
                      "max_consecutive_wins", "max_consecutive_losses", "best_pair", "worst_pair"):  # fmt: skip
        assert summary[undefined] is None, undefined
    assert stats["max_consecutive_wins"] == stats["max_consecutive_losses"] == 0  # Freqtrade's, made None above
    assert summary["exit_reasons"] == []
    assert sorted(row["pair"] for row in summary["pairs"]) == PAIRS
    assert all(row["trades"] == 0 and row["win_rate"] is None for row in summary["pairs"])
    assert summary["equity_curve"] == [
        {"time": "2026-07-01T00:00:00Z", "balance": stats["starting_balance"]},
        {"time": "2026-09-01T00:00:00Z", "balance": stats["starting_balance"]},
    ]


def test_newest_archive_by_name_is_read(runs: dict[str, Run], tmp_path: Path) -> None:
    real = runs[TRADES].parsed.archive
    shutil.copy(real, tmp_path / "backtest-result-2026-11-26_11-35-59.zip")
    (tmp_path / "backtest-result-2026-11-25_23-59-59.zip").write_bytes(b"an older, broken result")
    parsed = parse_results(tmp_path, TRADES)
    assert parsed.archive == tmp_path / "backtest-result-2026-11-26_11-35-59.zip"
    assert parsed.summary == runs[TRADES].parsed.summary

    (tmp_path / "backtest-result-2026-11-27_00-00-00.zip").write_bytes(b"a newer, broken result")
    with pytest.raises(ResultsInvalid, match="2026-11-27_00-00-00"):
        parse_results(tmp_path, TRADES)


def test_renamed_archive_is_still_read(runs: dict[str, Run], tmp_path: Path) -> None:
    shutil.copy(runs[TRADES].parsed.archive, tmp_path / "mine.zip")
    assert parse_results(tmp_path, TRADES).summary == runs[TRADES].parsed.summary


def test_no_result_zip(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "backtest-result-2026-11-26_11-35-10.meta.json").write_text("{}")
    with pytest.raises(ResultsMissing, match=r"no backtest result \(no \.zip\)"):
        parse_results(tmp_path, TRADES)
    with pytest.raises(ResultsMissing):
        parse_results(tmp_path / "absent", TRADES)
    assert issubclass(ResultsMissing, ResultsError)
    assert issubclass(ResultsInvalid, ResultsError)


def test_corrupted_zips(runs: dict[str, Run], tmp_path: Path) -> None:
    archive = tmp_path / "backtest-result-2026-11-26_11-35-10.zip"
    archive.write_bytes(b"not a zip at all")
    with pytest.raises(ResultsInvalid, match="not a readable Freqtrade result zip"):
        parse_results(tmp_path, TRADES)

    real = runs[TRADES].parsed.archive.read_bytes()
    archive.write_bytes(real[: len(real) // 2])  # truncated, as by a full disk
    with pytest.raises(ResultsInvalid, match="not a readable Freqtrade result zip"):
        parse_results(tmp_path, TRADES)

    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("backtest-result-2026-11-26_11-35-10_config.json", "{}")
    with pytest.raises(ResultsInvalid, match="no backtest result JSON inside"):
        parse_results(tmp_path, TRADES)

    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("backtest-result-2026-11-26_11-35-10.json", '{"strategy": {"DipTr')
    with pytest.raises(ResultsInvalid, match="not a readable"):
        parse_results(tmp_path, TRADES)


def test_wrong_strategy_or_missing_essentials(runs: dict[str, Run], tmp_path: Path) -> None:
    shutil.copy(runs[TRADES].parsed.archive, tmp_path / "backtest-result-2026-11-26_11-35-10.zip")
    with pytest.raises(ResultsInvalid, match=r"no results for strategy 'Other' \(found: DipTrader\)"):
        parse_results(tmp_path, "Other")

    stats = dict(runs[TRADES].stats)
    del stats["final_balance"]
    write_result(tmp_path / "backtest-result-2026-11-26_11-35-10.zip", {TRADES: stats})
    with pytest.raises(ResultsInvalid, match="final_balance"):
        parse_results(tmp_path, TRADES)


def test_nan_and_infinity_become_none(runs: dict[str, Run], tmp_path: Path) -> None:
    stats = {**runs[TRADES].stats, "sharpe": math.nan, "profit_factor": math.inf, "calmar": -100.0}
    write_result(tmp_path / "backtest-result-2026-11-26_11-35-10.zip", {TRADES: stats})
    summary = parse_results(tmp_path, TRADES).summary
    assert summary["sharpe"] is None
    assert summary["profit_factor"] is None
    assert summary["calmar"] is None  # Freqtrade's "denominator was zero" sentinel
    assert summary["sortino"] == runs[TRADES].parsed.summary["sortino"]
    json.dumps(summary, allow_nan=False)


def write_result(archive: Path, strategies: dict[str, Any]) -> None:
    """A result zip shaped like Freqtrade's (Python's json writes NaN/Infinity, which json.loads accepts)."""
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr(f"{archive.stem}.json", json.dumps({"strategy": strategies, "strategy_comparison": []}))
        bundle.writestr(f"{archive.stem}_config.json", "{}")


def test_long_equity_curve_is_sampled(runs: dict[str, Run], tmp_path: Path) -> None:
    start_ms = runs[TRADES].stats["backtest_start_ts"]
    profits = [(-1) ** i * (i % 13) * 0.5 for i in range(3000)]
    trades = [{"pair": "BTC/USDT", "close_timestamp": start_ms + (i + 1) * 1_000_000, "profit_abs": profit,
               "trade_duration": 60} for i, profit in enumerate(profits)]  # fmt: skip
    stats = {**runs[TRADES].stats, "trades": trades}
    write_result(tmp_path / "backtest-result-2026-11-26_11-35-10.zip", {TRADES: stats})
    curve = parse_results(tmp_path, TRADES).summary["equity_curve"]
    assert len(curve) == CURVE_LIMIT
    balances = [stats["starting_balance"] + sum(profits[:i]) for i in range(len(profits) + 1)]
    assert curve[0]["balance"] == stats["starting_balance"]
    assert curve[-1] == {"time": "2026-09-01T00:00:00Z", "balance": pytest.approx(balances[-1], abs=1e-6)}
    assert min(p["balance"] for p in curve) == pytest.approx(min(balances), abs=1e-6)
    assert max(p["balance"] for p in curve) == pytest.approx(max(balances), abs=1e-6)
    assert [p["time"] for p in curve] == sorted(p["time"] for p in curve)
