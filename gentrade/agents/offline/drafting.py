"""Offline drafting: read a trader's plain-English message into a ``StrategyDraft`` without a model.

Why: the embedded default, the demo and the tests run the real agent graph with no API key and no network. These
two functions are the offline model's "brain" (:mod:`.model`): a small rule reader for the phrasings traders
commonly use, with sensible defaults for whatever the message leaves out, each default reported as a
plain-English assumption.

Contract: every function here is deterministic (same input, same output) and every draft returned validates.
Every string in a draft is data (ids, names, pairs); nothing here builds code.
"""

from __future__ import annotations

from typing import Any

from gentrade.agents.offline.fresh import fresh_draft
from gentrade.agents.offline.revising import revised_draft
from gentrade.strategies.card_reading import read_card
from gentrade.strategies.draft import StrategyDraft


def draft_from_text(text: str, previous: StrategyDraft | None) -> tuple[StrategyDraft, list[str]]:
    """A valid draft read from ``text`` and the assumptions made; with ``previous``, ``text`` revises it.

    Fresh: everything not named gets a stated default. Revision: only what the feedback names
    changes. Whatever happens, the result validates: an edit that would break the draft is
    skipped and reported instead.
    """
    if previous is None:
        return fresh_draft(text)
    return revised_draft(text, previous)


def draft_from_card(edits: dict[str, Any], previous: StrategyDraft) -> tuple[StrategyDraft, list[str]]:
    """``previous`` revised so that the edited draft-card fields read as written, by the card grammar; a field
    it cannot read or apply is left as it was, and a note says why."""
    reading = read_card(previous, edits)
    problems = {**reading.unread, **reading.errors}
    return reading.draft, [f"Could not read {field}: {'; '.join(reasons)}." for field, reasons in problems.items()]
