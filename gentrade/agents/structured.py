"""Structured output from the agent's model: bounded retries, with feedback, for answers that are malformed,
cut off or refused, and drafts that pass the same validation as the API. Used by the graph's nodes and by
the reading of draft-card edits.

A hosted model (its ``metadata`` names the method, see ``providers``) fills the strict-mode encoding of the
schema (``wire_schema``), which is decoded and validated by the pydantic model itself. A server that
answers HTTP 400 to ``json_schema`` is asked by function calling from then on (once per process and server).
"""

from __future__ import annotations

import functools
import json
import logging
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from pydantic import BaseModel, ValidationError

from gentrade.agents import wire_schema
from gentrade.agents.errors import LlmBadOutput, error_kind
from gentrade.strategies.draft import DraftInvalid, StrategyDraft, parse_draft

log = logging.getLogger(__name__)
STRUCTURED_OUTPUT_ATTEMPTS = 3
METHOD_KEY = "structured_output"  # in a hosted model's ``metadata``: json_schema, function_calling or json_mode
JSON_SCHEMA, FUNCTION_CALLING, JSON_MODE = "json_schema", "function_calling", "json_mode"
CUT_OFF = (
    "Your previous answer was cut off at the output length limit before it was complete. "
    "Answer again with the complete answer, keeping descriptions short."
)
REFUSED = (
    "You declined the previous request. It asks for a trading strategy as structured data (no advice, "
    "no execution); please answer it in the schema."
)
_JSON_SCHEMA_REFUSED: set[tuple[str, ...]] = set()  # servers that answered 400 to json_schema


class DraftRejected(LlmBadOutput):
    """The model kept producing answers or drafts that do not validate."""


class BadAnswer(Exception):
    """One unusable answer; ``feedback`` tells the model what was wrong, in the next request."""

    def __init__(self, feedback: str) -> None:
        super().__init__(feedback)
        self.feedback = feedback


def structured(model: BaseChatModel, schema: type[BaseModel], messages: list[BaseMessage]) -> Any:
    """Structured output, retried with feedback when the answer is unusable; provider errors propagate."""
    last: BadAnswer | None = None
    for attempt in range(1, STRUCTURED_OUTPUT_ATTEMPTS + 1):
        try:
            return _answer(model, schema, messages)
        except BadAnswer as exc:
            last = exc
            log.warning("unusable %s (attempt %d): %s", schema.__name__, attempt, exc.feedback)
            messages = [*messages, HumanMessage(exc.feedback)]
    raise DraftRejected(f"the model's {schema.__name__} was unusable {STRUCTURED_OUTPUT_ATTEMPTS} times: {last}")


def valid_draft(model: BaseChatModel, messages: list[BaseMessage]) -> StrategyDraft:
    """A draft that passes the same validation as the API (catalogue, references), or DraftRejected."""
    for attempt in range(1, STRUCTURED_OUTPUT_ATTEMPTS + 1):
        draft = structured(model, StrategyDraft, messages)
        try:
            return parse_draft(draft.model_dump(mode="json"))
        except DraftInvalid as exc:
            log.warning("invalid draft (attempt %d): %s", attempt, exc)
            messages = [*messages, HumanMessage(f"The draft is invalid: {exc}. Fix these fields and answer again.")]
    raise DraftRejected("the model could not produce a valid strategy draft")


def _answer(model: BaseChatModel, schema: type[BaseModel], messages: list[BaseMessage]) -> Any:
    method = (model.metadata or {}).get(METHOD_KEY)
    if method is None:  # a local model (offline, a test's fake) that answers in the pydantic model itself
        return _checked(schema, lambda: model.with_structured_output(schema).invoke(messages))
    if method == JSON_SCHEMA and _server(model) in _JSON_SCHEMA_REFUSED:
        method = FUNCTION_CALLING
    try:
        result = _checked(schema, lambda: _ask(model, schema, messages, method))
    except Exception as exc:
        if method != JSON_SCHEMA or error_kind(exc) != "bad_request":
            raise
        log.warning("the model server refused json_schema (%s); using function calling from now on", exc)
        _JSON_SCHEMA_REFUSED.add(_server(model))
        return _answer(model, schema, messages)
    return result


def _ask(model: BaseChatModel, schema: type[BaseModel], messages: list[BaseMessage], method: str) -> Any:
    options: dict[str, Any] = {"method": method, "include_raw": True}
    if method == JSON_MODE:  # the request carries no schema: the prompt must
        schema_text = json.dumps(_wire(schema), separators=(",", ":"))
        messages = [
            *messages,
            HumanMessage(f"Answer with one JSON object only, matching this JSON schema: {schema_text}"),
        ]
    elif type(model).__name__ == "ChatOpenAI":
        options["strict"] = True
    result = model.with_structured_output(_wire(schema), **options).invoke(messages)
    raw, parsed = result["raw"], result["parsed"]
    _check_finished(raw)
    if result["parsing_error"] is not None:
        raise result["parsing_error"]
    if parsed is None:
        problem = _tool_call_problem(raw)
        raise BadAnswer(f"That answer was not valid: {problem}. Answer again, exactly in the {schema.__name__} schema.")
    return schema.model_validate(wire_schema.decode(schema, parsed))


def _checked(schema: type[BaseModel], ask: Any) -> Any:
    """Run ``ask``; an answer that does not parse, validate or is not ``schema`` becomes a BadAnswer."""
    try:
        result = ask()
    except BadAnswer:
        raise
    except (ValidationError, ValueError) as exc:  # the output did not parse into the schema
        raise BadAnswer(_feedback(exc, schema)) from exc
    except Exception as exc:
        if error_kind(exc) != "invalid_output":  # a provider failure: the caller reports it
            raise
        raise BadAnswer(_feedback(exc, schema)) from exc
    if not isinstance(result, schema):
        raise BadAnswer(f"That answer was not a {schema.__name__}. Answer again, exactly in the schema.")
    return result


def _feedback(exc: Exception, schema: type[BaseModel]) -> str:
    name = type(exc).__name__
    if name == "LengthFinishReasonError":
        return CUT_OFF
    if "Refusal" in name or "ContentFilter" in name:
        return REFUSED
    return f"That answer was not valid: {exc}. Answer again, exactly in the {schema.__name__} schema."


def _check_finished(raw: AIMessage) -> None:
    """A cut-off or refused answer is retried with feedback that says so (not read as malformed JSON)."""
    metadata = raw.response_metadata or {}
    if metadata.get("finish_reason") == "length" or metadata.get("stop_reason") == "max_tokens":
        raise BadAnswer(CUT_OFF)
    if raw.additional_kwargs.get("refusal") or metadata.get("stop_reason") == "refusal":
        raise BadAnswer(REFUSED)


def _tool_call_problem(raw: AIMessage) -> str:
    invalid = getattr(raw, "invalid_tool_calls", None) or []
    if invalid:
        return f"the tool input was not valid JSON ({invalid[0].get('error') or invalid[0].get('args')!s:.300})"
    return "no structured answer (no tool call, or empty JSON)"


@functools.cache
def _wire(schema: type[BaseModel]) -> dict[str, Any]:
    return wire_schema.encode(schema)


def _server(model: BaseChatModel) -> tuple[str, ...]:
    url = getattr(model, "openai_api_base", None) or getattr(model, "anthropic_api_url", None) or ""
    return type(model).__name__, str(url), str(getattr(model, "model_name", None) or getattr(model, "model", ""))
