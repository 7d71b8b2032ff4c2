"""Backtests end to end: the API publishes to the real RabbitMQ, a real Celery worker process runs
stock Freqtrade on data downloaded from the local exchange stand-in, and the API reads the outcome.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient

from gentrade import create_app
from gentrade.exchange_sim import ExchangeSimulator
from gentrade.extensions import db
from gentrade.models import Backtest, User
from gentrade.schemas.backtests import BacktestCreateSchema
from gentrade.sse_reader import parse
from tests.backtests import BACKTESTS, FINAL, deploy_strategy, hand_written_strategy, start_backtest, wait_for_backtest
from tests.clerk import Tokens
from tests.settings import production_settings
from tests.stack import ROOT
from tests.stack.environment import STALE_SECONDS, TIMEOUT_SECONDS
from tests.stack.exchange import END, START, TODAY
from tests.stack.worker import Worker


def test_backtest_runs_to_a_finished_summary(
    api: FlaskClient, tokens: Tokens, data_dir: Path, exchange: ExchangeSimulator
) -> None:
    strategy_id = deploy_strategy(api, tokens)
    backtest = start_backtest(api, tokens, strategy_id)
    done = wait_for_backtest(api, tokens, backtest["id"], FINAL)
    assert done["status"] == "finished", done["error"]
    summary = done["summary"]
    assert summary["total_trades"] > 0
    assert {row["pair"] for row in summary["pairs"]} == {"BTC/USDT", "ETH/USDT"}
    assert 2 <= len(summary["equity_curve"]) <= 500
    assert done["result_path"].startswith(f"user_data/backtest_results/{backtest['id']}/")
    assert (data_dir / "ft_userdata" / "user_user_alice" / done["result_path"]).is_file()
    assert done["started_at"]
    assert done["finished_at"]
    assert done["attempts"] == 1

    # Data reuse: the same range again downloads nothing.
    before = exchange.requests["klines:BTCUSDT"]
    again = wait_for_backtest(api, tokens, start_backtest(api, tokens, strategy_id)["id"], FINAL)
    assert again["status"] == "finished"
    assert exchange.requests["klines:BTCUSDT"] == before
    assert again["summary"]["total_trades"] == summary["total_trades"]


def test_concurrent_backtests_of_one_user_keep_their_own_results(api: FlaskClient, tokens: Tokens) -> None:
    first, second = (
        deploy_strategy(api, tokens, name="FirstOne"),
        deploy_strategy(api, tokens, name="SecondOne", timeframe="4h"),
    )
    started = [start_backtest(api, tokens, first), start_backtest(api, tokens, second)]
    results = [wait_for_backtest(api, tokens, b["id"], FINAL) for b in started]
    assert [r["status"] for r in results] == ["finished", "finished"], [r["error"] for r in results]
    assert results[0]["result_path"] != results[1]["result_path"]
    assert results[0]["result_path"].split("/")[2] == started[0]["id"]


@pytest.mark.parametrize(
    ("pair", "code", "named"),
    [
        ("LATE/USDT", "data_unavailable", "LATE/USDT"),
        ("GAPPY/USDT", "data_invalid", "GAPPY/USDT"),
        ("FAILS/USDT", "data_unavailable", "FAILS/USDT"),
    ],
)
def test_bad_market_data_fails_with_a_precise_error(
    api: FlaskClient, tokens: Tokens, pair: str, code: str, named: str
) -> None:
    strategy_id = deploy_strategy(api, tokens)
    done = wait_for_backtest(
        api, tokens, start_backtest(api, tokens, strategy_id, pairs=["BTC/USDT", pair])["id"], FINAL
    )
    assert done["status"] == "failed"
    assert done["error"]["code"] == code, done["error"]
    assert named in done["error"]["message"]
    assert done["summary"] is None


def test_a_strategy_that_raises_fails_with_strategy_error(
    api: FlaskClient, tokens: Tokens, backtest_app: Flask, data_dir: Path
) -> None:
    strategy_id = hand_written_strategy(backtest_app, "user_alice", "Raises", "raise ValueError('boom in populate')")
    done = wait_for_backtest(api, tokens, start_backtest(api, tokens, strategy_id)["id"], FINAL)
    assert done["status"] == "failed"
    assert done["error"]["code"] == "strategy_error"
    detail = done["error"]["detail"]
    assert "boom in populate" in detail
    assert "in your strategy Raises.py, line" in detail  # where in their own code, without the server's frames
    assert_no_server_internals(done["error"], data_dir)


def assert_no_server_internals(error: dict[str, Any], data_dir: Path) -> None:
    """Nothing of the server in what the API shows: no traceback, no absolute path, no library folder."""
    for text in (error["message"], error["detail"] or ""):
        assert "Traceback" not in text
        assert 'File "' not in text
        assert str(data_dir) not in text
        assert str(ROOT) not in text
        assert "site-packages" not in text
        assert not re.search(r"(?<![\w.:/])/\w", text), text


def test_a_backtest_over_the_memory_limit_fails_with_resource_limit(
    api: FlaskClient, tokens: Tokens, backtest_app: Flask, data_dir: Path
) -> None:
    hog = "blobs = [bytearray(256 << 20) for _ in range(64)]  # 16 GiB, filled"
    strategy_id = hand_written_strategy(backtest_app, "user_alice", "MemoryHog", hog)
    done = wait_for_backtest(api, tokens, start_backtest(api, tokens, strategy_id)["id"], FINAL)
    assert done["status"] == "failed"
    assert done["error"]["code"] == "resource_limit", done["error"]
    message = done["error"]["message"]
    assert "2048 MiB of memory" in message
    assert "fewer pairs, a shorter date range or a longer timeframe" in message
    assert_no_server_internals(done["error"], data_dir)


def test_a_backtest_over_the_time_limit_fails_with_resource_limit(
    api: FlaskClient, tokens: Tokens, backtest_app: Flask
) -> None:
    strategy_id = hand_written_strategy(backtest_app, "user_alice", "Sleeper", "time.sleep(600)")
    done = wait_for_backtest(
        api, tokens, start_backtest(api, tokens, strategy_id)["id"], FINAL, timeout=TIMEOUT_SECONDS + 90
    )
    assert done["status"] == "failed"
    assert done["error"]["code"] == "resource_limit"
    assert f"longer than the {TIMEOUT_SECONDS} s a backtest may take" in done["error"]["message"]
    assert "fewer pairs" in done["error"]["message"]


def test_cancel_kills_a_running_backtest(api: FlaskClient, tokens: Tokens, backtest_app: Flask) -> None:
    strategy_id = hand_written_strategy(backtest_app, "user_alice", "Sleeper", "time.sleep(600)")
    backtest = start_backtest(api, tokens, strategy_id)
    wait_for_backtest(api, tokens, backtest["id"], {"running"})
    response = api.post(f"{BACKTESTS}/{backtest['id']}/cancel", headers=tokens.headers())
    assert response.status_code == 200
    assert response.json["status"] == "cancelled"
    time.sleep(STALE_SECONDS)  # the worker notices within a heartbeat and kills Freqtrade
    assert api.get(f"{BACKTESTS}/{backtest['id']}", headers=tokens.headers()).json["status"] == "cancelled"
    leftover = subprocess.run(["pgrep", "-f", f"backtest_results/{backtest['id']}"], capture_output=True, text=True)
    assert leftover.stdout == "", "the cancelled Freqtrade process is still running"
    again = api.post(f"{BACKTESTS}/{backtest['id']}/cancel", headers=tokens.headers())
    assert again.status_code == 422


def test_killed_worker_leaves_no_backtest_running(api: FlaskClient, tokens: Tokens, worker: Worker) -> None:
    strategy_id = deploy_strategy(api, tokens)
    backtest = start_backtest(api, tokens, strategy_id)
    wait_for_backtest(api, tokens, backtest["id"], {"downloading_data", "running"}, timeout=60)
    worker.kill()
    time.sleep(1)
    assert api.get(f"{BACKTESTS}/{backtest['id']}", headers=tokens.headers()).json["status"] in {
        "downloading_data",
        "running",
    }
    worker.start()  # RabbitMQ redelivers the unacknowledged task; the stale heartbeat lets the new worker claim it
    done = wait_for_backtest(api, tokens, backtest["id"], FINAL, timeout=180)
    assert done["status"] == "finished", done["error"]
    assert done["attempts"] == 2


def test_a_redelivered_task_for_a_finished_backtest_does_nothing(
    api: FlaskClient, tokens: Tokens, backtest_app: Flask
) -> None:
    strategy_id = deploy_strategy(api, tokens)
    done = wait_for_backtest(api, tokens, start_backtest(api, tokens, strategy_id)["id"], FINAL)
    assert done["status"] == "finished"
    with backtest_app.app_context():
        from gentrade.work_queue import publish_run

        publish_run(uuid.UUID(done["id"]))
    time.sleep(3)
    after = api.get(f"{BACKTESTS}/{done['id']}", headers=tokens.headers()).json
    assert (after["status"], after["attempts"], after["finished_at"]) == ("finished", 1, done["finished_at"])


def status_events(response: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """The ``status`` events' data, and every event block, of a backtest's event stream."""
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    text = response.get_data(as_text=True)
    events = [block for block in text.split("\n\n") if block.startswith("event:")]
    data = [value for event, value in parse(text) if event == "status"]
    return data, events


def test_events_stream_every_status_until_the_end(api: FlaskClient, tokens: Tokens) -> None:
    strategy_id = deploy_strategy(api, tokens)
    backtest = start_backtest(api, tokens, strategy_id)
    snapshots, events = status_events(api.get(f"{BACKTESTS}/{backtest['id']}/events", headers=tokens.headers()))
    statuses = [snapshot["status"] for snapshot in snapshots]
    assert statuses[-1] == "finished"
    changes = [status for index, status in enumerate(statuses) if index == 0 or status != statuses[index - 1]]
    assert changes == sorted(set(changes), key=changes.index)  # each status once, in order (progress may repeat one)
    assert events[-1].startswith("event: end")
    assert snapshots[-1]["progress"] == 1.0


SLOW_STRATEGY = """
from pandas import DataFrame

from freqtrade.strategy import IStrategy


class SlowLoop(IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "1h"
    minimal_roi = {"0": 0.05}
    stoploss = -0.05

    def bot_loop_start(self, current_time, **kwargs) -> None:
        total = 0
        for step in range(150000):  # a few milliseconds of work per candle: seconds of running
            total += step

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[dataframe["close"] > dataframe["open"], "enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe
"""


def test_a_running_backtest_reports_its_progress(api: FlaskClient, tokens: Tokens) -> None:
    """Freqtrade's own progress, from the warm runner's child to the row and the events: it moves while running."""
    pasted = api.post("/api/v1/strategies", json={"name": "SlowLoop", "code": SLOW_STRATEGY}, headers=tokens.headers())
    assert pasted.status_code == 201, pasted.json
    backtest = start_backtest(api, tokens, pasted.json["id"], pairs=["BTC/USDT"])
    snapshots, _ = status_events(api.get(f"{BACKTESTS}/{backtest['id']}/events", headers=tokens.headers()))

    running = [snapshot["progress"] for snapshot in snapshots if snapshot["status"] == "running"]
    assert running[0] == 0.0
    assert any(0 < value < 1 for value in running), snapshots  # it moved while running
    assert running == sorted(running)  # never backwards
    assert {s["progress"] for s in snapshots if s["status"] in ("queued", "downloading_data")} <= {None}
    done = api.get(f"{BACKTESTS}/{backtest['id']}", headers=tokens.headers()).json
    assert (done["status"], done["progress"]) == ("finished", 1.0)


def test_validation_ownership_and_limits(api: FlaskClient, tokens: Tokens, backtest_app: Flask) -> None:
    strategy_id = deploy_strategy(api, tokens)
    headers = tokens.headers()

    def post(**body: Any) -> Any:
        payload = {"strategy_id": strategy_id, "start_date": START.isoformat(), "end_date": END.isoformat(), **body}
        return api.post(BACKTESTS, json=payload, headers=headers)

    assert post(start_date=END.isoformat()).status_code == 422
    tomorrow = TODAY + timedelta(days=1)
    assert "Must not be after today" in post(end_date=tomorrow.isoformat()).json["errors"]["end_date"][0]
    in_the_future = api.post(
        BACKTESTS, json={"strategy_id": strategy_id, "date_range": f"{END:%Y%m%d}-{tomorrow:%Y%m%d}"}, headers=headers
    )
    assert in_the_future.status_code == 422
    assert "Must not be after today" in in_the_future.json["errors"]["end_date"][0]
    assert post(end_date=(TODAY + timedelta(days=5)).isoformat()).status_code == 422
    assert post(start_date=(END - timedelta(days=2000)).isoformat()).status_code == 422
    assert post(pairs=["btc/usdt"]).status_code == 422
    assert post(pairs=["BTC/USDT", "ETH/BTC"]).json["errors"]["pairs"]
    assert post(timeframe="2h").status_code == 422
    # Two years of 1m candles of two pairs cannot fit the default 2048 MiB: refused before anything runs.
    too_big = post(pairs=["BTC/USDT", "ETH/USDT"], timeframe="1m", start_date=(END - timedelta(days=730)).isoformat())
    assert too_big.status_code == 422, too_big.json
    assert "more than the 2048 MiB a backtest may use" in too_big.json["message"]
    assert "fewer pairs, a shorter date range or a longer timeframe" in too_big.json["message"]
    assert too_big.json["errors"]["_schema"] == [too_big.json["message"]]
    unknown = post(pairs=["BTC/USDT", "NOPE/USDT"])
    assert unknown.status_code == 422
    assert "NOPE/USDT" in unknown.json["errors"]["pairs"][0]
    assert post(strategy_id=str(uuid.uuid4())).status_code == 404
    mallory = api.post(
        BACKTESTS,
        json={"strategy_id": strategy_id, "start_date": START.isoformat(), "end_date": END.isoformat()},
        headers=tokens.headers("user_mallory"),
    )
    assert mallory.status_code == 403

    sleeper = hand_written_strategy(backtest_app, "user_alice", "Sleeper", "time.sleep(600)")
    running = [start_backtest(api, tokens, sleeper) for _ in range(3)]
    too_many = api.post(
        BACKTESTS,
        json={"strategy_id": sleeper, "start_date": START.isoformat(), "end_date": END.isoformat()},
        headers=headers,
    )
    assert too_many.status_code == 429
    for backtest in running:
        assert api.post(f"{BACKTESTS}/{backtest['id']}/cancel", headers=headers).status_code == 200
    listed = api.get(f"{BACKTESTS}?strategy_id={sleeper}&status=cancelled", headers=headers)
    assert json.loads(listed.headers["X-Pagination"])["total"] == 3
    assert sorted(item["id"] for item in listed.json) == sorted(backtest["id"] for backtest in running)
    assert "summary" not in listed.json[0]
    assert (listed.json[0]["start_date"], listed.json[0]["end_date"]) == (START.isoformat(), END.isoformat())
    assert api.get(f"{BACKTESTS}/{running[0]['id']}", headers=tokens.headers("user_mallory")).status_code == 403


def test_queue_down_fails_the_backtest_at_once(
    app: Flask,
    client: FlaskClient,
    tokens: Tokens,
    postgres_url: str,
    data_dir: Path,
    clerk_key: rsa.RSAPrivateKey,
    exchange: ExchangeSimulator,
) -> None:
    dead_broker = "amqp://guest:guest@127.0.0.1:1//"
    settings = production_settings(
        data_dir, postgres_url, clerk_key, broker_url=dead_broker, exchange_api_url=exchange.api_url
    )
    broken = create_app(settings)
    try:
        api = broken.test_client()
        strategy_id = deploy_strategy(api, tokens)
        response = api.post(
            BACKTESTS,
            json={"strategy_id": strategy_id, "start_date": START.isoformat(), "end_date": END.isoformat()},
            headers=tokens.headers(),
        )
        assert response.status_code == 503
        backtest_id = response.json["errors"]["backtest_id"][0]
        body = api.get(f"{BACKTESTS}/{backtest_id}", headers=tokens.headers()).json
        assert (body["status"], body["error"]["code"]) == ("failed", "queue_unavailable")
        assert api.get("/readyz").status_code == 503
    finally:  # its own engine: close its pooled connections, not left open for the rest of the session
        with broken.app_context():
            db.engine.dispose()


def test_deleting_the_strategy_removes_its_backtests(api: FlaskClient, tokens: Tokens, backtest_app: Flask) -> None:
    strategy_id = deploy_strategy(api, tokens)
    done = wait_for_backtest(api, tokens, start_backtest(api, tokens, strategy_id)["id"], FINAL)
    assert api.delete(f"/api/v1/strategies/{strategy_id}", headers=tokens.headers()).status_code == 204
    assert api.get(f"{BACKTESTS}/{done['id']}", headers=tokens.headers()).status_code == 404
    with backtest_app.app_context():
        assert db.session.query(Backtest).count() == 0
        assert db.session.query(User).count() >= 1
    assert date.fromisoformat(done["timerange"]["start"]) == START


def test_a_date_range_ending_today_is_backtested_up_to_the_last_closed_candle(api: FlaskClient, tokens: Tokens) -> None:
    """The web frontend's default: the last days, ending today, in its ``yyyyMMdd-yyyyMMdd`` form."""
    strategy_id = deploy_strategy(api, tokens)
    today = datetime.now(UTC).date()
    first = today - timedelta(days=3)
    before = datetime.now(UTC)
    response = api.post(
        BACKTESTS,
        json={"strategy_id": strategy_id, "date_range": f"{first:%Y%m%d}-{today:%Y%m%d}", "pairs": ["BTC/USDT"]},
        headers=tokens.headers(),
    )
    assert response.status_code == 202, response.json
    assert (response.json["start_date"], response.json["end_date"]) == (first.isoformat(), today.isoformat())
    done = wait_for_backtest(api, tokens, response.json["id"], FINAL)
    after = datetime.now(UTC)
    assert done["status"] == "finished", done["error"]
    assert (done["start_date"], done["end_date"]) == (first.isoformat(), today.isoformat())

    # Freqtrade's last candle is the last 1h candle closed when the worker ran it: not a future one.
    last_candle = datetime.fromisoformat(done["summary"]["timerange"]["end"].replace("Z", "+00:00"))
    hour = timedelta(hours=1)
    assert _hour_floor(before) - hour <= last_candle <= _hour_floor(after) - hour
    listed = api.get(f"{BACKTESTS}?strategy_id={strategy_id}", headers=tokens.headers()).json
    assert [(b["id"], b["start_date"], b["end_date"]) for b in listed] == [
        (done["id"], first.isoformat(), today.isoformat())
    ]


def _hour_floor(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


NOT_A_RANGE = "Not a date range like 20261127-20261204 (yyyyMMdd-yyyyMMdd)."


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"date_range": "2026-11-27/2026-12-04"}, "date_range", NOT_A_RANGE),
        ({"date_range": "20261127-2026120"}, "date_range", NOT_A_RANGE),
        ({"date_range": " 20261127-20261204"}, "date_range", NOT_A_RANGE),
        ({"date_range": "20260230-20260305"}, "date_range", "20260230 is not a date."),
        ({"date_range": "20261127-20261304"}, "date_range", "20261304 is not a date."),
        ({"date_range": 20261127}, "date_range", "Not a valid string."),
        (
            {"date_range": "20261127-20261204", "start_date": "2026-11-27"},
            "date_range",
            "Give date_range or start_date and end_date, not both.",
        ),
        (
            {"date_range": "20261127-20261204", "start_date": "2026-11-27", "end_date": "2026-12-04"},
            "date_range",
            "Give date_range or start_date and end_date, not both.",
        ),
        ({}, "date_range", "Give date_range (yyyyMMdd-yyyyMMdd), or start_date and end_date."),
        ({"start_date": "2026-11-27"}, "end_date", "Missing data for required field."),
        ({"end_date": "2026-12-04"}, "start_date", "Missing data for required field."),
    ],
)
def test_the_range_is_one_well_formed_form_or_a_422_naming_the_field(
    client: FlaskClient, tokens: Tokens, body: dict[str, Any], field: str, message: str
) -> None:
    """Refused by the request schema, before the strategy is looked up (the id here names none)."""
    response = client.post(BACKTESTS, json={"strategy_id": str(uuid.uuid4()), **body}, headers=tokens.headers())
    assert response.status_code == 422, response.json
    assert response.json["errors"]["json"] == {field: [message]}


def test_a_date_range_loads_as_the_same_two_dates() -> None:
    schema, strategy_id = BacktestCreateSchema(), uuid.uuid4()
    as_range = schema.load({"strategy_id": str(strategy_id), "date_range": "20261127-20261204"})
    as_dates = schema.load({"strategy_id": str(strategy_id), "start_date": "2026-11-27", "end_date": "2026-12-04"})
    assert (
        as_range
        == as_dates
        == {"strategy_id": strategy_id, "start_date": date(2026, 11, 27), "end_date": date(2026, 12, 4)}
    )
