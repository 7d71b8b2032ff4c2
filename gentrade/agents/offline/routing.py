"""Routing: whether a message is strategy work (create or revise a draft), a question for the coach (about the
chat's backtest) or a general question.

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
_IT = r"(?:it|this|that|the\s+(?:strategy|bot|backtest|draft)|my\s+(?:strategy|bot|backtest|draft)|they|we|i)"
_COACH = re.compile(
    r"\bwhy\s+(?:did|does|do|is|was|were|has|have)\s+" + _IT + r"\b.*\b(?:lose|loose|lost|losing|loss|fail"
    r"|under-?perform|do\s+(?:so\s+)?(?:bad|badly|poorly|well)|perform|trade|win|make)"
    r"|\bwhy\s+(?:so\s+few|no|only\s+\d+|zero)\s+trades\b|\bwhy\s+(?:didn'?t|did\s+not|doesn'?t)\s+"
    + _IT
    + r"\s+trade\b"
    r"|\bwhat\s+went\s+wrong\b|\bwhat\s+happened\b"
    r"|\bwhat\s+(?:can|could|should)\s+(?:i|we|you)\s+(?:do\s+better|change|improve)\s*\??$"
    r"|\bhow\s+(?:did|does)\s+" + _IT + r"\s+(?:do|go|perform|work\s+out)\b"
    r"|\b(?:improve|fix|tune|optimi[sz]e)\s+" + _IT + r"\b(?!\s+(?:by|with|using|so)\b)"
    r"|\bmake\s+" + _IT + r"\s+(?:better|more\s+profitable|profitable)\s*\??$"
    r"|\b(?:explain|read|interpret|summari[sz]e)\s+(?:the|my|these|its)\s+(?:backtest\s+)?(?:results?|figures|numbers|backtest)\b"
    r"|\b(?:the|my)\s+backtest\s+(?:results?|says?|shows?)\b"
)
_POLITE = re.compile(r"^\s*(?:can|could|would|will)\s+you\b|\bplease\b")
_SUGGESTION = re.compile(r"^\s*(?:what\s+if|how\s+about|what\s+about)\b")


def classify(text: str, has_previous_draft: bool) -> RouteDecision:
    """Strategy work (create or revise a draft), the coach or a general question; deterministic."""
    t = normalize(text).strip()
    question = bool(_QUESTION_START.search(t) or t.endswith("?"))
    names = unsupported(t)
    if names:  # answered plainly (general_answer), never drafted as something else
        return RouteDecision(route="general", reason=f"The message names what no draft can hold: {', '.join(names)}.")
    if _COACH.search(t):
        return RouteDecision(route="coach", reason="The message asks about the strategy's backtest.")
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
