"""The strict-mode encoding of the agent's structured outputs, its way back, and the error codes."""

from __future__ import annotations

import anthropic
import httpx
import openai
import pytest

from gentrade.agents import wire_schema
from gentrade.agents.errors import error_code
from gentrade.agents.schemas import RouteDecision
from gentrade.agents.structured import DraftRejected
from gentrade.samples import DRAFT, draft
from gentrade.strategies.draft import StrategyDraft
from tests.llm_wire import wire_draft


def test_pydantics_own_draft_schema_is_refused_by_the_strict_check() -> None:
    """Finding: the schema sent with strict: true used keywords strict mode refuses (a 400 from OpenAI)."""
    problems = " ".join(wire_schema.strict_problems(StrategyDraft.model_json_schema()))
    for keyword in ("oneOf", "discriminator", "patternProperties", "pattern", "minItems", "maxProperties"):
        assert f"'{keyword}'" in problems


@pytest.mark.parametrize("model", [StrategyDraft, RouteDecision])
def test_the_encoding_passes_the_strict_check(model: type) -> None:
    encoded = wire_schema.encode(model)
    assert wire_schema.strict_problems(encoded) == []
    if model is StrategyDraft:  # the condition tree stays recursive, through $defs
        assert encoded["$defs"]["AllGroup"]["properties"]["all"]["items"]["anyOf"][1] == {"$ref": "#/$defs/AllGroup"}


@pytest.mark.parametrize(
    "value",
    [
        DRAFT,
        draft(exit_conditions=None, minimal_roi={}, trailing_stop_positive=0.02, startup_candle_count=50),
        draft(entry_conditions={"left": {"ref": "rsi", "ago": 1}, "op": "<", "right": 30}),
    ],
)
def test_an_encoded_answer_decodes_to_the_same_draft(value: dict) -> None:
    answer = wire_draft(value)
    if isinstance(answer["entry_conditions"].get("left"), dict):  # strict mode fills every field, with nulls
        answer["entry_conditions"]["left"] |= {"times": None, "plus": None}
    decoded = wire_schema.decode(StrategyDraft, answer)
    assert StrategyDraft.model_validate(decoded) == StrategyDraft.model_validate(value)


def test_nulls_for_omitted_fields_fall_back_to_defaults() -> None:
    decoded = wire_schema.decode(RouteDecision, {"route": "general", "reason": None})
    assert RouteDecision.model_validate(decoded) == RouteDecision(route="general")


def test_the_strict_check_names_open_and_partly_required_objects() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "required": []}
    problems = wire_schema.strict_problems(schema)
    assert any("additionalProperties" in p for p in problems)
    assert any("required" in p for p in problems)
    assert wire_schema.strict_problems({"anyOf": [schema]})


def _status(cls: type, status: int) -> Exception:
    request = httpx.Request("POST", "http://model.test")
    return cls("provider words", response=httpx.Response(status, request=request), body=None)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (_status(openai.RateLimitError, 429), "llm_rate_limited"),
        (_status(anthropic.RateLimitError, 429), "llm_rate_limited"),
        (_status(openai.AuthenticationError, 401), "llm_auth"),
        (_status(anthropic.InternalServerError, 500), "llm_unavailable"),
        (openai.APITimeoutError(httpx.Request("POST", "http://model.test")), "llm_timeout"),
        (httpx.ConnectError("refused"), "llm_unavailable"),
        (DraftRejected("never valid"), "llm_bad_output"),
        (RuntimeError("a bug"), "llm_error"),
    ],
)
def test_errors_map_to_stable_codes(error: Exception, code: str) -> None:
    """Finding: the error event showed the exception class and the provider's raw message, not a code."""
    assert error_code(error) == code
