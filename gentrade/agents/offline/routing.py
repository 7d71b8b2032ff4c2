"""Routing: whether a message is strategy work (create or revise a draft) or a general question.

Why: the agent graph asks the model to route every message; offline, the answer comes from the same reader that
drafts, so a message routed to strategy work is one the drafter can read.
"""

from __future__ import annotations

import re
from typing import Any

from gentrade.agents.offline.message import ROLE
from gentrade.agents.offline.reader import Reader
from gentrade.agents.offline.registry import Registry
from gentrade.agents.offline.text import normalize
from gentrade.agents.offline.vocabulary import unsupported
from gentrade.agents.schemas import RouteDecision

_QUESTION_START = re.compile(
    r"^\s*(?:what|what's|whats|how|why|when|where|who|which|is|are|does|do|can|could|should|would|explain|define"
    r"|tell\s+me|describe|difference|meaning)\b"
)
_CONCEPT = re.compile(
    r"\b(?:what\s+(?:is|are|does|do)|what's|whats|how\s+(?:do|does|can|should)\s+i|explain|define|meaning|mean\b|difference)\b"
)
_CREATE = re.compile(
    r"\b(?:create|build|draft|make|write|generate|design|code|develop|give\s+me|i\s+want|i'd\s+like|i\s+would\s+like|set\s+up"
    r"|come\s+up\s+with|suggest|propose|need)\b.*\b(?:strateg|bot|system|algo|draft|setup)"
)
_GOOD_STRATEGY = re.compile(r"\b(?:good|best|simple|profitable|example|sample|basic)\s+(?:\w+\s+){0,3}?(?:strateg|bot)")
_FEEDBACK = re.compile(
    r"\b(?:add|remove|drop|change|make|use|switch|set|increase|decrease|lower|raise|tighten|widen|replace|swap"
    r"|instead|include|exclude|without|only|also|try|move|put)\b"
)
_POLITE = re.compile(r"^\s*(?:can|could|would|will)\s+you\b|\bplease\b")
_SUGGESTION = re.compile(r"^\s*(?:what\s+if|how\s+about|what\s+about)\b")


def classify(text: str, has_previous_draft: bool) -> RouteDecision:
    """Strategy work (create or revise a draft) or a general question; deterministic."""
    t = normalize(text).strip()
    question = bool(_QUESTION_START.search(t) or t.endswith("?"))
    names = unsupported(t)
    if names:  # answered plainly (general_answer), never drafted as something else
        return RouteDecision(route="general", reason=f"The message names what no draft can hold: {', '.join(names)}.")
    if _CREATE.search(t) or _GOOD_STRATEGY.search(t):
        return RouteDecision(route="strategy", reason="The message asks for a strategy.")
    if question:
        suggestion = (_POLITE.search(t) and _FEEDBACK.search(t)) or _SUGGESTION.search(t)
        if has_previous_draft and suggestion and not _CONCEPT.search(t) and _reads_rules(t, {}):
            return RouteDecision(route="strategy", reason="The message asks to change the current draft.")
        return RouteDecision(route="general", reason="The message is a question.")
    rules = _reads_rules(t, None)
    if rules:
        return RouteDecision(route="strategy", reason="The message describes trading rules.")
    if has_previous_draft and _reads_rules(t, {}):
        return RouteDecision(route="strategy", reason="The message is feedback on the current draft.")
    return RouteDecision(route="general", reason="The message is not about a strategy draft.")


def _reads_rules(text: str, previous: dict[str, Any] | None) -> bool:
    """Whether the text names anything a draft holds: rules, indicators, stops, pairs, timeframes."""
    registry = Registry([], revising=previous is not None)
    reading = Reader(registry, previous).read(text)
    if previous is None:
        return bool(
            reading.found
            or reading.leftovers
            or reading.stop is not None
            or reading.roi is not None
            or (ROLE.search(text) and reading.recognised)
        )
    return reading.recognised
