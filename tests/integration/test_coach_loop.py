"""The loop the product exists for, offline and through the API: a draft, deployed, backtested by a real worker;
"why did it lose?" answered from that backtest's figures with a revised draft; the revision deployed under a new
name and backtested over the same days, and the change shows in its figures. Then the same coach over LangServe's
``stream_events``, as the frontend calls it.
"""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from gentrade.sse_reader import parse
from tests.backtests import FINAL, start_backtest, wait_for_backtest
from tests.chats import answer_text, draft_events, langserve_turn
from tests.clerk import Tokens

STRATEGIES = "/api/v1/strategies"
ASK = "Buy BTC and ETH when RSI(14) drops under 30 on the 1h chart, sell above 65, 3% stop loss"
WINDOW = {"start_date": "2026-09-01", "end_date": "2026-10-31"}  # synthetic candles: the same figures every run


def turn_text_and_draft(
    api: FlaskClient, tokens: Tokens, thread: str, message: str
) -> tuple[str, dict[str, Any] | None]:
    """One turn on our own stream: the text it streamed and the draft it showed (None: none)."""
    response = api.post(
        "/api/v1/agent/stream", json={"thread_id": thread, "message": message}, headers=tokens.headers()
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    events = parse(response.get_data(as_text=True))
    assert not [data for event, data in events if event == "error"]
    drafts = [data["draft"] for event, data in events if event == "tool_start"]
    return "".join(data["text"] for event, data in events if event == "token"), (drafts[-1] if drafts else None)


def deploy_and_backtest(api: FlaskClient, tokens: Tokens, thread: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Deploy the chat's newest draft and backtest it over ``WINDOW`` to the end."""
    strategy = api.post(STRATEGIES, json={"thread_id": thread}, headers=tokens.headers())
    assert strategy.status_code == 201, strategy.json
    done = wait_for_backtest(api, tokens, start_backtest(api, tokens, strategy.json["id"], **WINDOW)["id"], FINAL)
    assert done["status"] == "finished", done["error"]
    return strategy.json, done["summary"]


def stop_exits(summary: dict[str, Any]) -> int:
    return next((row["trades"] for row in summary["exit_reasons"] if row["reason"] == "stop_loss"), 0)


def test_draft_backtest_ask_the_coach_revise_and_backtest_again(api: FlaskClient, tokens: Tokens) -> None:
    thread = api.post("/api/v1/chats", json={}, headers=tokens.headers()).json["thread_id"]
    _, first_draft = turn_text_and_draft(api, tokens, thread, ASK)
    assert first_draft is not None
    first, before = deploy_and_backtest(api, tokens, thread)

    answer, revised = turn_text_and_draft(api, tokens, thread, "why did it lose?")

    stopped = stop_exits(before)
    assert f"made {before['total_trades']} trades" in answer  # grounded in this backtest's figures
    assert f"{stopped} at the stop loss" in answer
    assert f"{stopped} of {before['total_trades']} trades ended at the stop loss" in answer
    assert "widen the stop loss from 3% to 4.5%" in answer
    assert revised is not None
    assert (revised["name"], revised["stoploss"]) == (f"{first['name']}V2", -0.045)
    assert {k: v for k, v in revised.items() if k not in ("name", "stoploss")} == {
        k: v for k, v in first_draft.items() if k not in ("name", "stoploss")
    }
    chat = api.get(f"/api/v1/chats/{thread}", headers=tokens.headers()).json
    assert chat["messages"][-1]["type"] == "strategy_draft"

    second, after = deploy_and_backtest(api, tokens, thread)

    assert second["name"] == f"{first['name']}V2"
    assert stop_exits(after) < stopped  # the wider stop is hit less often
    assert after["total_trades"] != before["total_trades"] or after["profit_total"] != before["profit_total"]


def test_the_coach_over_langserve_reads_the_chats_backtest(api: FlaskClient, tokens: Tokens) -> None:
    thread = api.post("/api/v1/chats", json={}, headers=tokens.headers()).json["thread_id"]
    turn_text_and_draft(api, tokens, thread, ASK)
    _, before = deploy_and_backtest(api, tokens, thread)

    events = langserve_turn(api, tokens.headers(), "what went wrong with ETH?", thread)

    text = answer_text(events)
    eth = next(row for row in before["pairs"] if row["pair"] == "ETH/USDT")
    assert text.split("\n\n")[1].startswith(f"ETH/USDT: {eth['trades']} trades")
    tool_start, _ = draft_events(events)
    assert tool_start["data"]["input"]["draft"]["stoploss"] == -0.045
