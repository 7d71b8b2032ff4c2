"""The offline model: a deterministic, rule-based chat model that reads plain English into a ``StrategyDraft``.

The package's modules follow the reading: :mod:`.text` and :mod:`.lexer` (words to tokens), :mod:`.message`,
:mod:`.pairs` and :mod:`.timeframes` (a message's settings), :mod:`.conditions` and :mod:`.reader` (clauses to
rules), :mod:`.defaults`, :mod:`.fresh` and :mod:`.revising` (rules to a draft), :mod:`.coach` (a backtest's
figures to advice), :mod:`.wording`, :mod:`.routing` and :mod:`.answers` (words back), and :mod:`.model` (the
LangChain chat model). This file only re-exports the public API.
"""

from gentrade.agents.offline.answers import FALLBACK_ANSWER, general_answer
from gentrade.agents.offline.drafting import draft_from_card, draft_from_text
from gentrade.agents.offline.model import (
    OfflineChatModel,
    as_messages,
    assumptions_for,
    draft_for,
    previous_draft,
)
from gentrade.agents.offline.routing import classify
from gentrade.agents.offline.wording import describe_draft

__all__ = [
    "FALLBACK_ANSWER",
    "OfflineChatModel",
    "as_messages",
    "assumptions_for",
    "classify",
    "describe_draft",
    "draft_for",
    "draft_from_card",
    "draft_from_text",
    "general_answer",
    "previous_draft",
]
