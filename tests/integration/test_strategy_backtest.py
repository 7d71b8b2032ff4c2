"""A draft deployed through the API is a file that stock Freqtrade downloads data for and backtests.

Offline: ccxt talks to the local exchange stand-in (synthetic candles), the user's own
``config.json`` is used as written, plus a second config that only redirects the exchange.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from flask.testing import FlaskClient

from gentrade.exchange_sim import ExchangeSimulator, SimulatorConfig
from gentrade.samples import DRAFT
from tests.chats import new_chat
from tests.clerk import Tokens
from tests.spies import user_dir

STRATEGIES = "/api/v1/strategies"

FREQTRADE = str(Path(sys.executable).with_name("freqtrade"))


def freqtrade(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([FREQTRADE, *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def test_deployed_strategy_backtests_with_stock_freqtrade(
    client: FlaskClient, tokens: Tokens, data_dir: Path, tmp_path: Path
) -> None:
    headers = tokens.headers()
    thread = new_chat(client, headers)
    # The DESIGN.md example, with an entry that fires often enough to trade in two months.
    draft = {**DRAFT, "entry_conditions": {"any": [{"left": "rsi", "op": "<", "right": 30}, DRAFT["entry_conditions"]]}}
    deployed = client.post(STRATEGIES, json={"thread_id": thread, "draft": draft}, headers=headers)
    assert deployed.status_code == 201, deployed.json
    base = user_dir(data_dir)
    user_data = base / "user_data"

    config = SimulatorConfig(pairs=("BTC/USDT", "ETH/USDT"), now=datetime(2026, 11, 1, tzinfo=UTC))
    with ExchangeSimulator(config) as exchange:
        offline = tmp_path / "exchange.json"
        offline.write_text(
            json.dumps(
                {
                    "exchange": {
                        "name": "binance",
                        "only_from_ccxt": True,
                        "ccxt_config": {
                            "urls": {"api": {"public": exchange.api_url}},
                            "options": {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False},
                        },
                    }
                }
            )
        )
        configs = ["-c", str(user_data / "config.json"), "-c", str(offline), "--userdir", str(user_data)]
        datadir = tmp_path / "market"
        freqtrade(
            "download-data", *configs, "--datadir", str(datadir), "--pairs", "BTC/USDT", "ETH/USDT",
            "--timeframes", "1h", "--timerange", "20260601-20260901", cwd=tmp_path,
        )  # fmt: skip
        results = user_data / "backtest_results" / "check"
        results.mkdir(parents=True)
        freqtrade(
            "backtesting", *configs, "--datadir", str(datadir), "--strategy", "RsiDipBuyer",
            "--timerange", "20260701-20260901", "--cache", "none", "--backtest-directory", str(results),
            cwd=tmp_path,
        )  # fmt: skip
        assert exchange.requests["exchangeInfo"] >= 2
        assert exchange.requests["klines:BTCUSDT"] >= 1

    archives = list(results.glob("*.zip"))
    assert len(archives) == 1
    with zipfile.ZipFile(archives[0]) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".json") and "_config" not in n)
        stats = json.loads(archive.read(name))["strategy"]["RsiDipBuyer"]
    assert stats["total_trades"] > 0
    assert stats["timeframe"] == "1h"
    assert set(stats["pairlist"]) == {"BTC/USDT", "ETH/USDT"}
