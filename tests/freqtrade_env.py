"""Test helpers for real Freqtrade runs offline: market data from the local exchange stand-in.

Production code has its own market-data service; these helpers exist so that tests of other
pieces (runners, result parsing) can prepare data with stock ``freqtrade download-data``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from gentrade.freqtrade.exchange_config import command_overrides
from gentrade.freqtrade.synthetic import synthetic_frame
from gentrade.freqtrade.userdir import backtest_config
from gentrade.timeframes import TIMEFRAME_SECONDS

FREQTRADE = [sys.executable, "-m", "freqtrade"]


def write_configs(folder: Path, pairs: list[str], api_url: str) -> list[Path]:
    """A user-style base config and the offline overrides, as Freqtrade ``--config`` files."""
    folder.mkdir(parents=True, exist_ok=True)
    base, overrides = folder / "config.json", folder / "offline.json"
    base.write_text(json.dumps(backtest_config("user_test")))
    overrides.write_text(json.dumps(command_overrides(pairs, "USDT", api_url)))
    return [base, overrides]


def download(datadir: Path, pairs: list[str], timeframe: str, timerange: str, api_url: str, workdir: Path) -> None:
    """``freqtrade download-data`` from the stand-in into ``datadir`` (files ``<datadir>/BTC_USDT-1h.feather``)."""
    configs = write_configs(workdir / "download-config", pairs, api_url)
    (workdir / "download-userdir").mkdir(parents=True, exist_ok=True)
    args = [*FREQTRADE, "download-data"]
    for config in configs:
        args += ["--config", str(config)]
    args += ["--userdir", str(workdir / "download-userdir"), "--datadir", str(datadir), "--pairs", *pairs,
             "--timeframes", timeframe, "--timerange", timerange]  # fmt: skip
    result = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False, cwd=workdir)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


def write_candles(datadir: Path, pairs: list[str], timeframe: str, start: datetime, end: datetime) -> None:
    """The exchange stand-in's candles of ``pairs`` from ``start`` to ``end``, written straight into Freqtrade's
    feather files (what ``download`` writes, in a second instead of minutes for years of 5m candles)."""
    datadir.mkdir(parents=True, exist_ok=True)
    step = TIMEFRAME_SECONDS[timeframe]
    count = int((end - start).total_seconds()) // step
    for pair in pairs:
        frame = synthetic_frame(pair, timeframe, int(start.timestamp() * 1000), count)
        frame.to_feather(datadir / f"{pair.replace('/', '_')}-{timeframe}.feather", compression_level=1)
