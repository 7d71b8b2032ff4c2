"""The coach with hosted models over the wire: "why did it lose?" on a chat whose strategy has a finished
backtest, through ``POST /api/v1/agent/stream`` (and once through LangServe's ``/chat/stream_events``) with
the real ``ChatOpenAI`` and ``ChatAnthropic`` clients against the scripted servers of ``tests/llm_wire.py``.

The strategy and its backtest are rows written here (no worker runs); the backtest's summary is what
``freqtrade.results.summarise`` makes of a losing run. Each test asserts what reached the model (the backtest's
figures without the equity curve, the draft, the change to make) as well as what the client saw.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from gentrade.agents.context import (
    ANNOUNCE_HEADING,
    BACKTEST_HEADING,
    CHANGE_HEADING,
    COACH_ANSWER_HEADING,
    DRAFT_HEADING,
    NO_BACKTEST_HEADING,
    block_value,
)
from gentrade.agents.wire_schema import strict_problems
from gentrade.extensions import db
from gentrade.freqtrade.results import summarise
from gentrade.models import Backtest, BacktestStatus, Chat, Strategy
from gentrade.samples import DRAFT, draft
from gentrade.strategies.draft import StrategyDraft
from tests.chats import answer_text, draft_events, hosted_turn, langserve_turn, new_chat
from tests.clerk import Tokens
from tests.llm_wire import (
    WireServer,
    both,
    last_user_text,
    openai,
    sent_schema,
    sent_text,
    structured_answer,
    text,
    wire_draft,
)

WHY = "why did it lose?"
COACH = {"route": "coach", "reason": "a question about the backtest"}
COACH_ANSWER = (
    "It lost 6%: 12 of its 20 trades ended at the 5% stop loss and none of those won. "
    "Widen the stop loss to 8% so normal swings do not stop it out."
)
CHANGE = "widen the stop loss to 8%"
NO_CHANGE = "Most of its 6% loss came from ETH/USDT; test a longer range before changing it."
ANNOUNCEMENT = "I've revised the draft: the stop loss is now 8%."
DEPLOYED = StrategyDraft.model_validate(DRAFT).model_dump(mode="json")  # as POST /strategies saves it
REVISED = draft(stoploss=-0.08)  # the model keeps the deployed name: the agent must not
START_MS = 1_767_225_600_000  # 2026-01-01 00:00 UTC
HOUR_MS = 3_600_000


def losing_stats() -> dict[str, Any]:
    """Freqtrade's stats of a losing month of the sample draft: 20 trades, 12 of them stopped out."""
    profits = [-8.0] * 12 + [5.0] * 6 + [3.0] * 2  # stop loss, ROI, exit signal: -60 in all
    trades = [
        {"pair": ("BTC/USDT", "ETH/USDT")[i % 2], "close_timestamp": START_MS + (i + 1) * 24 * HOUR_MS, "profit_abs": p}
        for i, p in enumerate(profits)
    ]

    def row(key: str, trades: int, wins: int, losses: int, profit: float, duration: str = "3:00:00") -> dict[str, Any]:
        winrate = wins / trades
        counts = {"trades": trades, "wins": wins, "draws": trades - wins - losses, "losses": losses}
        money = {"profit_total": profit / 1000, "profit_total_abs": profit}
        return {"key": key, **counts, "winrate": winrate, **money, "duration_avg": duration}

    return {
        "total_trades": 20,
        "starting_balance": 1000,
        "final_balance": 940,
        "trades": trades,
        "backtest_start_ts": START_MS,
        "backtest_end_ts": START_MS + 31 * 24 * HOUR_MS,
        "timeframe": "1h",
        "stake_currency": "USDT",
        "wins": 8,
        "draws": 0,
        "losses": 12,
        "winrate": 0.4,
        "profit_total": -0.06,
        "profit_total_abs": -60.0,
        "max_drawdown_account": 0.09,
        "max_drawdown_abs": 90.0,
        "sharpe": -1.8,
        "sortino": -2.1,
        "calmar": -3.3,
        "profit_factor": 0.375,
        "holding_avg_s": 10_800.0,
        "winner_holding_avg_s": 18_000.0,
        "loser_holding_avg_s": 5_400.0,
        "max_consecutive_wins": 2,
        "max_consecutive_losses": 5,
        "best_pair": {"key": "BTC/USDT"},
        "worst_pair": {"key": "ETH/USDT"},
        "exit_reason_summary": [
            row("stop_loss", 12, 0, 12, -96.0),
            row("roi", 6, 6, 0, 30.0),
            row("exit_signal", 2, 2, 0, 6.0),
            row("TOTAL", 20, 8, 12, -60.0),
        ],
        "results_per_pair": [
            row("BTC/USDT", 10, 5, 5, 4.0),
            row("ETH/USDT", 10, 3, 7, -64.0),
            row("TOTAL", 20, 8, 12, -60.0),
        ],
    }


SUMMARY = summarise(losing_stats(), DRAFT["name"])


def deploy_with_backtest(app: Flask, thread: str, status: BacktestStatus = BacktestStatus.FINISHED) -> None:
    """The sample draft deployed from the chat on ``thread``, with one backtest in ``status`` (finished: with
    ``SUMMARY``), as the API and the worker would leave them."""
    finished = status is BacktestStatus.FINISHED
    with app.app_context():
        chat = db.session.scalars(select(Chat).where(Chat.thread_id == uuid.UUID(thread))).one()
        name = DRAFT["name"]
        strategy = Strategy(
            user_id=chat.user_id, chat_id=chat.id, name=name, code="", file_path=f"{name}.py", draft=DEPLOYED
        )
        db.session.add(strategy)
        db.session.flush()
        db.session.add(
            Backtest(
                strategy_id=strategy.id,
                status=status.value,
                timerange_start=date(2026, 1, 1),
                timerange_end=date(2026, 2, 1),
                pairs=DRAFT["pairs"],
                timeframe=DRAFT["timeframe"],
                summary=SUMMARY if finished else None,
                finished_at=datetime(2026, 3, 1, tzinfo=UTC) if finished else None,
            )
        )
        db.session.commit()


def coach_chat(app: Flask, client: FlaskClient, tokens: Tokens) -> str:
    thread = new_chat(client, tokens.headers())
    deploy_with_backtest(app, thread)
    return thread


def assert_sees_the_backtest(body: dict[str, Any]) -> None:
    """The request carries the draft and the backtest's figures (all of them but the equity curve)."""
    prompt = sent_text(body)
    backtest = block_value(prompt, BACKTEST_HEADING)
    assert backtest is not None, prompt
    assert backtest["figures"] == {key: value for key, value in SUMMARY.items() if key != "equity_curve"}
    assert backtest["figures"]["total_trades"] == 20
    assert backtest["figures"]["exit_reasons"][0] == {
        "reason": "stop_loss", "trades": 12, "wins": 0, "draws": 0, "losses": 12, "win_rate": 0.0,
        "profit_total": -0.096, "profit_total_abs": -96.0,
    }  # fmt: skip
    assert [pair["pair"] for pair in backtest["figures"]["pairs"]] == ["BTC/USDT", "ETH/USDT"]
    assert (backtest["strategy"], backtest["draft"]) == (DRAFT["name"], DEPLOYED)
    assert block_value(prompt, DRAFT_HEADING) == DEPLOYED
    assert "equity_curve" not in prompt
    assert '"balance"' not in prompt  # no point of the curve under another name either
    assert NO_BACKTEST_HEADING not in prompt


def ends_with_the_traders_message(body: dict[str, Any], message: str) -> bool:
    """Claude models from 4.6 on refuse a conversation that ends with the assistant's message (a prefill)."""
    last = body["messages"][-1]
    return last["role"] == "user" and message in sent_text({"messages": [last]})


def tokens_of(turn: dict[str, Any]) -> list[str]:
    return [data["text"] for kind, data in turn["events"] if kind == "token"]


def queue_coached_revision(hosted: WireServer) -> None:
    """The model's answers to a coached turn that drafts the change it names: route, answer, the change, the
    revised draft, its announcement."""
    hosted.queue(
        structured_answer(hosted, "RouteDecision", COACH),
        text(COACH_ANSWER),
        structured_answer(hosted, "CoachRevision", {"revise": True, "change": CHANGE}),
        structured_answer(hosted, "StrategyDraft", wire_draft(REVISED)),
        text(ANNOUNCEMENT),
    )


# --- the coach's answer, and the change it names --------------------------------------------------------------


@both
def test_why_did_it_lose_is_answered_from_the_figures_and_the_change_drafted_under_a_free_name(
    app: Flask, client: FlaskClient, tokens: Tokens, hosted: WireServer
) -> None:
    thread = coach_chat(app, client, tokens)
    queue_coached_revision(hosted)
    _, turn = hosted_turn(client, tokens, WHY, thread)

    route, coach, revision, drafting, announce = hosted.requests
    # What the model was asked, and with what.
    for body in (route, coach, revision, drafting):
        assert_sees_the_backtest(body)
    assert WHY in last_user_text(route)
    route_schema = sent_schema(route)
    assert strict_problems(route_schema) == [], route_schema
    assert "coach" in route_schema["properties"]["route"]["enum"]
    assert coach["stream"] is True
    assert "response_format" not in coach
    assert "tools" not in coach
    revision_schema = sent_schema(revision)
    assert strict_problems(revision_schema) == [], revision_schema
    assert set(revision_schema["properties"]) == {"revise", "change"}
    if hosted.protocol == "openai":
        assert route["response_format"]["json_schema"]["strict"] is True
        assert revision["response_format"]["json_schema"]["strict"] is True
        assert revision["response_format"]["json_schema"]["name"] == "CoachRevision"
    else:
        assert revision["tool_choice"] == {"type": "tool", "name": "CoachRevision"}
    # The coach's answer is what the revision reads the change from: a block, as the conversation ends with
    # the question (the wire server answers 400 otherwise, as Claude Sonnet 4.6 does).
    assert block_value(sent_text(revision), COACH_ANSWER_HEADING) == {"answer": COACH_ANSWER}
    assert all(ends_with_the_traders_message(body, WHY) for body in hosted.requests)
    assert block_value(sent_text(drafting), CHANGE_HEADING) == {"change": CHANGE}
    announced = block_value(sent_text(announce), ANNOUNCE_HEADING)
    assert announced["revised"] is True
    assert announced["draft"]["name"] == "RsiDipBuyerV2"

    # What the client saw: the coach's answer streamed, then the revised draft, then its announcement.
    kinds = [kind for kind, _ in turn["events"]]
    assert kinds[-2:] == ["message", "end"]
    assert kinds.count("tool_start") == 1
    pieces = tokens_of(turn)
    separator = pieces.index("\n\n")
    assert "".join(pieces[:separator]) == COACH_ANSWER
    assert separator > 1  # streamed in pieces, not sent whole
    assert "".join(pieces[separator + 1 :]) == ANNOUNCEMENT
    first_token, tool_start = kinds.index("token"), kinds.index("tool_start")
    assert first_token < tool_start < [i for i, kind in enumerate(kinds) if kind == "token"][separator]
    steps = [data["step"] for kind, data in turn["events"] if kind == "status"]
    assert steps == ["reading", "writing", "drafting", "writing"]

    shown = turn["tool_start"]["draft"]
    assert shown["name"] == "RsiDipBuyerV2"  # the model answered RsiDipBuyer, the deployed strategy's name
    assert shown["stoploss"] == -0.08
    assert shown == DEPLOYED | {"name": "RsiDipBuyerV2", "stoploss": -0.08}
    message = turn["message"]
    assert message["type"] == "strategy_draft"
    assert message["content"] == f"{COACH_ANSWER}\n\n{ANNOUNCEMENT}"
    assert message["tool_data"]["draft"] == shown
    saved = client.get(f"/api/v1/chats/{thread}", headers=tokens.headers()).json["messages"]
    assert [m["role"] for m in saved] == ["user", "assistant"]
    assert saved[1]["type"] == "strategy_draft"
    assert saved[1]["tool_data"]["draft"]["name"] == "RsiDipBuyerV2"

    # The revised draft deploys beside the one it revises.
    deployed = client.post("/api/v1/strategies", json={"thread_id": thread}, headers=tokens.headers())
    assert deployed.status_code == 201, deployed.json
    assert (deployed.json["name"], deployed.json["draft"]["stoploss"]) == ("RsiDipBuyerV2", -0.08)


@both
def test_no_change_recommended_ends_the_turn_with_the_coachs_answer(
    app: Flask, client: FlaskClient, tokens: Tokens, hosted: WireServer
) -> None:
    thread = coach_chat(app, client, tokens)
    hosted.queue(
        structured_answer(hosted, "RouteDecision", COACH),
        text(NO_CHANGE),
        structured_answer(hosted, "CoachRevision", {"revise": False, "change": None}),  # strict mode fills every field
    )
    _, turn = hosted_turn(client, tokens, WHY, thread)
    assert "tool_start" not in turn
    assert turn["message"]["type"] == "text"
    assert turn["message"]["content"] == NO_CHANGE
    assert "\n\n" not in tokens_of(turn)
    assert [data["step"] for kind, data in turn["events"] if kind == "status"] == ["reading", "writing"]
    assert len(hosted.requests) == 3  # router, coach, coach_revision: no draft, no announcement
    saved = client.get(f"/api/v1/chats/{thread}", headers=tokens.headers()).json["messages"]
    assert saved[-1]["type"] == "text"


@openai
@pytest.mark.parametrize("status", [None, BacktestStatus.RUNNING, BacktestStatus.FAILED])
def test_without_a_finished_backtest_the_coach_is_told_so_and_no_change_is_asked_for(
    app: Flask, client: FlaskClient, tokens: Tokens, hosted: WireServer, status: BacktestStatus | None
) -> None:
    thread = new_chat(client, tokens.headers())
    if status is not None:
        deploy_with_backtest(app, thread, status)
    hosted.queue(
        structured_answer(hosted, "RouteDecision", COACH), text("There is no finished backtest yet: run one first.")
    )
    _, turn = hosted_turn(client, tokens, WHY, thread)
    assert turn["message"]["type"] == "text"
    assert turn["message"]["content"] == "There is no finished backtest yet: run one first."
    assert "tool_start" not in turn
    assert len(hosted.requests) == 2  # coach_revision asks nothing without a backtest
    for body in hosted.requests:
        prompt = sent_text(body)
        assert NO_BACKTEST_HEADING in prompt
        assert BACKTEST_HEADING not in prompt
        assert "total_trades" not in prompt


@both
def test_a_malformed_coach_revision_is_retried_with_feedback(
    app: Flask, client: FlaskClient, tokens: Tokens, hosted: WireServer
) -> None:
    thread = coach_chat(app, client, tokens)
    hosted.queue(
        structured_answer(hosted, "RouteDecision", COACH),
        text(COACH_ANSWER),
        structured_answer(
            hosted, "CoachRevision", {"revise": "perhaps", "change": CHANGE}
        ),  # parses, does not validate
        structured_answer(hosted, "CoachRevision", {"revise": True, "change": CHANGE}),
        structured_answer(hosted, "StrategyDraft", wire_draft(REVISED)),
        text(ANNOUNCEMENT),
    )
    _, turn = hosted_turn(client, tokens, WHY, thread)
    assert turn["tool_start"]["draft"]["stoploss"] == -0.08
    first, retry = hosted.requests[2], hosted.requests[3]
    feedback = last_user_text(retry)
    assert "not valid" in feedback
    assert "CoachRevision" in feedback
    assert "revise" in feedback
    assert sent_text(retry).startswith(sent_text(first))  # the same request, plus what was wrong
    assert block_value(sent_text(hosted.requests[4]), CHANGE_HEADING) == {"change": CHANGE}


# --- the frontend's stream ------------------------------------------------------------------------------------


@both
def test_the_coach_through_langserve_streams_the_answer_and_the_revised_draft(
    app: Flask, client: FlaskClient, tokens: Tokens, hosted: WireServer
) -> None:
    thread = coach_chat(app, client, tokens)
    queue_coached_revision(hosted)
    events = langserve_turn(client, tokens.headers(), WHY, thread)
    assert answer_text(events) == f"{COACH_ANSWER}\n\n{ANNOUNCEMENT}"  # no structured output streams as text
    start, end = draft_events(events)
    assert start["data"]["input"]["draft"]["name"] == "RsiDipBuyerV2"
    assert start["data"]["input"]["draft"]["stoploss"] == -0.08
    assert json.loads(end["data"]["output"]["content"])["stoploss"] == "-8%"
    assert_sees_the_backtest(hosted.requests[1])
    assert len(hosted.requests) == 5
