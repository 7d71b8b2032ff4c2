"""Bring your own strategy, end to end (issue 14): community-style strategies pasted as code through the API are
backtested to ``finished`` by a real Celery worker running stock Freqtrade, with the other candles they read
through ``self.dp`` (informative pairs, ``@informative('4h')``, a fixed BTC pair) downloaded beforehand from the
exchange stand-in; then listed and deleted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from gentrade.freqtrade.market_data import cache_root, candle_file
from tests.backtests import FINAL, start_backtest, wait_for_backtest
from tests.benign import BITCOIN_GUARD, FOUR_HOUR_FILTER, HOURLY_TREND
from tests.clerk import Tokens

STRATEGIES = "/api/v1/strategies"


def paste(api: FlaskClient, tokens: Tokens, name: str, code: str) -> dict[str, Any]:
    response = api.post(STRATEGIES, json={"name": name, "code": code}, headers=tokens.headers())
    assert response.status_code == 201, response.json
    return response.json


@pytest.mark.parametrize(
    ("name", "code", "pairs", "read"),
    [
        # logging.getLogger + self.dp: informative_pairs() over the whitelist, get_pair_dataframe, merge
        pytest.param("HourlyTrend", HOURLY_TREND, ["BTC/USDT", "ETH/USDT"], [("BTC/USDT", "1h"), ("ETH/USDT", "1h")]),
        pytest.param("FourHourFilter", FOUR_HOUR_FILTER, ["ETH/USDT"], [("ETH/USDT", "4h")]),  # @informative('4h')
        pytest.param("BitcoinGuard", BITCOIN_GUARD, ["ETH/USDT"], [("BTC/USDT", "1h")]),  # BTC/USDT, not backtested
    ],
)
def test_a_pasted_strategy_backtests_to_finished_with_the_candles_it_reads(
    api: FlaskClient, tokens: Tokens, data_dir: Path, name: str, code: str, pairs: list[str], read: list[tuple]
) -> None:
    strategy = paste(api, tokens, name, code)

    backtest = start_backtest(api, tokens, strategy["id"], pairs=pairs)
    done = wait_for_backtest(api, tokens, backtest["id"], FINAL)

    assert done["status"] == "finished", done["error"]
    assert done["timeframe"] == strategy["timeframe"]
    assert {row["pair"] for row in done["summary"]["pairs"]} == set(pairs)
    for pair, timeframe in read:  # downloaded for it, though no backtest runs on that timeframe
        assert candle_file(cache_root(data_dir), pair, timeframe).is_file(), (pair, timeframe)

    listed = api.get(STRATEGIES, headers=tokens.headers()).json
    assert [(item["name"], item["timeframe"]) for item in listed] == [(name, strategy["timeframe"])]
    assert api.delete(f"{STRATEGIES}/{strategy['id']}", headers=tokens.headers()).status_code == 204
    assert api.get(f"/api/v1/backtests/{backtest['id']}", headers=tokens.headers()).status_code == 404
