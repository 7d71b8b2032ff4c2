"""Structured output from the agent's model: bounded retries for malformed answers, and drafts that pass
the same validation as the API. Used by the graph's nodes and by the reading of draft-card edits."""

from __future__ import annotations

import logging
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage
from pydantic import ValidationError

from gentrade.strategies.draft import DraftInvalid, StrategyDraft, parse_draft

log = logging.getLogger(__name__)
STRUCTURED_OUTPUT_ATTEMPTS = 3


class DraftRejected(Exception):
    """The model kept producing drafts that do not validate."""


def structured(model: BaseChatModel, schema: type, messages: list[BaseMessage]) -> Any:
    """Structured output, retried when the answer is malformed; provider errors propagate."""
    runnable = model.with_structured_output(schema)
    last_error: Exception | None = None
    for attempt in range(1, STRUCTURED_OUTPUT_ATTEMPTS + 1):
        try:
            result = runnable.invoke(messages)
        except (ValidationError, ValueError) as exc:  # the model's output did not parse into the schema
            last_error = exc
            log.warning("malformed %s (attempt %d): %s", schema.__name__, attempt, exc)
            retry = HumanMessage(f"That answer was not valid: {exc}. Answer again, exactly in the schema.")
            messages = [*messages, retry]
            continue
        if isinstance(result, schema):
            return result
        last_error = ValueError(f"expected {schema.__name__}, got {type(result).__name__}")
    raise DraftRejected(f"the model's {schema.__name__} was malformed {STRUCTURED_OUTPUT_ATTEMPTS} times: {last_error}")


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
