"""Hosted models over the wire: whole agent turns through ``POST /api/v1/agent/stream`` with the real
``ChatOpenAI`` and ``ChatAnthropic`` clients, against local servers speaking OpenAI's and Anthropic's
protocols (``tests/llm_wire.py``), scripted per test; each test asserts what was sent as well as what the
client saw. Each docstring names the finding of issue 15 it covers.
"""

from __future__ import annotations

import json
import warnings

import pytest
from flask.testing import FlaskClient

from gentrade.agents.wire_schema import strict_problems
from gentrade.samples import DRAFT, draft
from tests.chats import ASK, hosted_turn
from tests.clerk import Tokens
from tests.llm_wire import (
    Failure,
    Reply,
    WireServer,
    anthropic,
    both,
    last_user_text,
    openai,
    sent_schema,
    structured_answer,
    structured_json,
    text,
    tool,
    wire_draft,
)

STRATEGY = {"route": "strategy", "reason": "a strategy"}
GENERAL = {"route": "general", "reason": "a question"}
PROVIDER_SECRET = "org-4711 quota exceeded for key sk-live-abc"  # the provider's words: never shown to the client


# --- turns that work ----------------------------------------------------------------------------------------


@both
def test_a_draft_turn_sends_schemas_the_provider_accepts_and_shows_the_draft(
    client: FlaskClient, tokens: Tokens, hosted: WireServer
) -> None:
    """Findings: a 14 KB schema with oneOf/discriminator/patternProperties/pattern/minItems sent with strict: true
    (a 400 from the real API); a PydanticSerializationUnexpectedValue warning per structured call; Anthropic
    ignoring GENTRADE_LLM_BASE_URL (the requests would not reach this server)."""
    hosted.queue(
        structured_answer(hosted, "RouteDecision", STRATEGY),
        structured_answer(hosted, "StrategyDraft", wire_draft(DRAFT)),
        text("Here is your RSI dip buyer."),
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, turn = hosted_turn(client, tokens, ASK)
    assert turn["tool_start"]["draft"]["name"] == "RsiDipBuyer"
    assert turn["tool_start"]["draft"]["minimal_roi"] == DRAFT["minimal_roi"]
    assert turn["message"]["content"] == "Here is your RSI dip buyer."
    route, drafting, announce = hosted.requests
    for body in (route, drafting):
        assert strict_problems(sent_schema(body)) == [], sent_schema(body)
    if hosted.protocol == "openai":
        assert drafting["response_format"]["json_schema"]["strict"] is True
    assert announce["stream"] is True
    assert not [w for w in caught if "PydanticSerializationUnexpectedValue" in str(w.message)]


@both
def test_a_general_question_streams_an_answer_without_a_draft(
    client: FlaskClient, tokens: Tokens, hosted: WireServer
) -> None:
    hosted.queue(structured_answer(hosted, "RouteDecision", GENERAL), text("Drawdown is the fall from a peak."))
    _, turn = hosted_turn(client, tokens, "what is drawdown?")
    assert "tool_start" not in turn
    assert [kind for kind, _ in turn["events"]].count("token") > 1
    assert turn["message"]["content"] == "Drawdown is the fall from a peak."
    assert "response_format" not in hosted.requests[1]
    assert "tools" not in hosted.requests[1]


@both
def test_a_revision_sends_the_previous_draft_and_shows_the_revised_one(
    client: FlaskClient, tokens: Tokens, hosted: WireServer
) -> None:
    revised = draft(stoploss=-0.03)
    hosted.queue(
        structured_answer(hosted, "RouteDecision", STRATEGY),
        structured_answer(hosted, "StrategyDraft", wire_draft(DRAFT)),
        text("Done."),
        structured_answer(hosted, "RouteDecision", STRATEGY),
        structured_answer(hosted, "StrategyDraft", wire_draft(revised)),
        text("Tightened the stop."),
    )
    _, first = hosted_turn(client, tokens, ASK)
    _, second = hosted_turn(client, tokens, "tighten the stop to 3%", first["thread"])
    assert second["tool_start"]["draft"]["stoploss"] == -0.03
    prompt = json.dumps([hosted.requests[4]["messages"], hosted.requests[4].get("system")])
    assert DRAFT["description"] in prompt  # the previous draft, in full


@pytest.mark.parametrize("hosted", ["openai:json_mode", "anthropic:json_schema"], indirect=True)
def test_the_structured_output_method_is_a_setting(client: FlaskClient, tokens: Tokens, hosted: WireServer) -> None:
    """Finding: the router and the draft always sent response_format json_schema, whatever the server."""
    hosted.queue(structured_json(STRATEGY), structured_json(wire_draft(DRAFT)), text("Here it is."))
    _, turn = hosted_turn(client, tokens, ASK)
    assert turn["tool_start"]["draft"]["name"] == "RsiDipBuyer"
    route = hosted.requests[0]
    if hosted.protocol == "openai":
        assert route["response_format"] == {"type": "json_object"}
        assert '"route"' in last_user_text(route)  # the schema, in the prompt
    else:
        assert "tools" not in route
        assert route["output_config"]["format"]["type"] == "json_schema"
        assert strict_problems(route["output_config"]["format"]["schema"]) == []


# --- failures -----------------------------------------------------------------------------------------------


@openai
def test_a_server_refusing_json_schema_is_asked_by_function_calling(
    client: FlaskClient, tokens: Tokens, hosted: WireServer
) -> None:
    """Finding: a server answering 400 to response_format json_schema failed every turn, with no fallback."""
    hosted.queue(
        Failure(400, "invalid_request_error", "response_format 'json_schema' is not supported"),
        tool("RouteDecision", STRATEGY),
        tool("StrategyDraft", wire_draft(DRAFT)),
        text("Here it is."),
    )
    _, turn = hosted_turn(client, tokens, ASK)
    assert turn["tool_start"]["draft"]["name"] == "RsiDipBuyer"
    assert "response_format" in hosted.requests[0]
    for body in hosted.requests[1:3]:  # the fallback sticks for this server: the draft is not asked twice
        assert "response_format" not in body
        assert body["tool_choice"]["function"]["name"] in ("RouteDecision", "StrategyDraft")
        assert strict_problems(sent_schema(body)) == []


@both
def test_a_cut_off_answer_is_retried_with_feedback(client: FlaskClient, tokens: Tokens, hosted: WireServer) -> None:
    """Finding: finish_reason length (LengthFinishReasonError) / stop_reason max_tokens was not retried."""
    cut = '{"name": "RsiDipBuyer", "timeframe": "1h", "pai'
    hosted.queue(
        structured_answer(hosted, "RouteDecision", STRATEGY),
        structured_answer(
            hosted, "StrategyDraft", cut, finish="length" if hosted.protocol == "openai" else "max_tokens"
        ),
        structured_answer(hosted, "StrategyDraft", wire_draft(DRAFT)),
        text("Here it is."),
    )
    _, turn = hosted_turn(client, tokens, ASK)
    assert turn["tool_start"]["draft"]["name"] == "RsiDipBuyer"
    assert "cut off" in last_user_text(hosted.requests[2])


@openai
def test_a_refusal_is_retried_with_feedback_then_reported_as_a_code(
    client: FlaskClient, tokens: Tokens, hosted: WireServer
) -> None:
    """Finding: a refusal was not retried, and the error event showed the provider's text."""
    refusal = Reply(refusal="I'm sorry, I cannot help with that.")
    hosted.queue(structured_answer(hosted, "RouteDecision", STRATEGY), refusal, refusal, refusal)
    response, turn = hosted_turn(client, tokens, ASK)
    assert turn["error"]["code"] == "llm_bad_output"
    assert "declined" in last_user_text(hosted.requests[2])
    assert "cannot help" not in response.get_data(as_text=True)


@both
def test_a_rate_limit_is_reported_as_llm_rate_limited_without_the_providers_words(
    client: FlaskClient, tokens: Tokens, hosted: WireServer
) -> None:
    """Finding: the error event showed the exception class and the provider's raw message."""
    kind = "rate_limit_exceeded" if hosted.protocol == "openai" else "rate_limit_error"
    hosted.queue(*[Failure(429, kind, PROVIDER_SECRET)] * 3)  # the client's own two retries, then the failure
    response, turn = hosted_turn(client, tokens, ASK)
    assert turn["error"] == {
        "message": "the assistant failed to answer",
        "code": "llm_rate_limited",
        "request_id": response.headers["X-Request-Id"],
    }
    body = response.get_data(as_text=True)
    assert "sk-live" not in body
    assert "RateLimitError" not in body
    assert len(hosted.requests) == 3


@both
def test_a_rejected_key_is_reported_as_llm_auth(client: FlaskClient, tokens: Tokens, hosted: WireServer) -> None:
    """Finding: the error event showed the exception class and the provider's raw message."""
    kind = "invalid_api_key" if hosted.protocol == "openai" else "authentication_error"
    hosted.queue(Failure(401, kind, "Incorrect API key provided: sk-dummy"))
    response, turn = hosted_turn(client, tokens, "what is RSI?")
    assert turn["error"]["code"] == "llm_auth"
    assert "Incorrect API key" not in response.get_data(as_text=True)
    chat = client.get(f"/api/v1/chats/{turn['thread']}", headers=tokens.headers()).json
    assert chat["messages"][-1]["type"] == "error"


@anthropic
def test_a_malformed_anthropic_tool_input_is_retried_with_the_error_in_the_next_request(
    client: FlaskClient, tokens: Tokens, hosted: WireServer
) -> None:
    """Finding: a malformed tool input was retried with an identical request and no feedback, ending in
    "expected StrategyDraft, got NoneType"."""
    hosted.queue(
        tool("RouteDecision", STRATEGY),
        tool("StrategyDraft", wire_draft(draft(stoploss=0.5))),  # parses, does not validate
        tool("StrategyDraft", "not json at all"),
        tool("StrategyDraft", wire_draft(DRAFT)),
        text("Here it is."),
    )
    _, turn = hosted_turn(client, tokens, ASK)
    assert turn["tool_start"]["draft"]["stoploss"] == -0.05
    assert "stoploss" in last_user_text(hosted.requests[2])
    assert "not valid" in last_user_text(hosted.requests[3])
    assert hosted.requests[2]["messages"] != hosted.requests[1]["messages"]
