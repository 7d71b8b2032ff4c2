"""Reading a trader's edits of a draft card back into a ``StrategyDraft``, with the agent's drafting model.

Why: the frontend's Save sends the card's plain-English fields, possibly edited, and the structured draft
must follow them (DESIGN.md §11). The drafting model reads the edited fields (the offline model with the
card grammar, a hosted model by structured output), and its answer is checked before it is used: the
card grammar's own reading (:func:`gentrade.strategies.card_reading.read_card`) is what an edit means,
so when the grammar reads every edit the model's draft must read exactly like it, and when the grammar
cannot read a rule (free text a language model may understand) that field must at least have changed
while everything the trader left alone reads as before. Name and description need no model.

Never: use a model's answer unchecked, or let it change what the trader did not edit.
"""

from __future__ import annotations

import logging
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from gentrade.agents.context import card_edits_text, draft_message
from gentrade.agents.prompts.draft import DRAFT_PROMPT
from gentrade.agents.structured import DraftRejected, valid_draft
from gentrade.strategies.card import (
    CardUnreadable,
    conditions_text,
    edited_fields,
    indicator_label,
    indicator_map,
    render_card,
)
from gentrade.strategies.card_reading import RULE_FIELDS, CardReading, apply_texts, read_card, referenced_ids
from gentrade.strategies.draft import StrategyDraft

__all__ = ["CardUnreadable", "read_card_edits"]

log = logging.getLogger(__name__)
VERIFY_ATTEMPTS = 2  # a model answer that does not match the card is sent back once with what is wrong
TEXT_FIELDS = ("name", "description")  # taken as written: no model
SETTING_FIELDS = ("timeframe", "stoploss", "minimal_roi", "pairs", "can_short")  # the grammar's reading is final
FIELD_MEANINGS = {
    "indicators": "the indicators, with their parameters",
    "entry_signals": "when to enter a long trade ('Short: ...' gives the short entry)",
    "exit_signals": "when to exit a long trade ('Short: ...' for shorts; 'None' means by ROI and stop loss only)",
    "minimal_roi": "the ROI table: the profit that closes a trade, by the trade's age",
    "stoploss": "the stop loss, and any trailing stop",
    "timeframe": "the candle timeframe",
    "can_short": "whether the strategy also trades short",
    "pairs": "the pairs it trades",
}


def read_card_edits(draft: StrategyDraft, edits: dict[str, Any], model: BaseChatModel) -> StrategyDraft:
    """``draft`` revised so that the edited card fields read as the trader wrote them, everything else kept.

    ``edits`` holds card fields as sent (those equal to the draft's own card are not edits; other keys are
    ignored). Raises :class:`CardUnreadable` naming each field that could not be read, and why.
    """
    edits = edited_fields(draft, edits)
    if not edits:
        return draft
    reading = read_card(draft, edits)
    free_text = set(reading.unread) & set(RULE_FIELDS)  # rules only a language model might read
    fatal = {name: reasons for name, reasons in reading.unread.items() if name not in RULE_FIELDS}
    for name, reasons in reading.errors.items():
        if not free_text or (name in (*TEXT_FIELDS, *SETTING_FIELDS) and name != "can_short"):
            fatal[name] = reasons
    if fatal:
        raise CardUnreadable(fatal)
    asked = {name: value for name, value in edits.items() if name not in TEXT_FIELDS}
    revised = _revised_by_model(draft, asked, reading, model) if asked else reading.draft
    return apply_texts(draft, _unshown_kept(revised, reading.draft), edits)


def _revised_by_model(
    draft: StrategyDraft, asked: dict[str, Any], reading: CardReading, model: BaseChatModel
) -> StrategyDraft:
    messages: list[BaseMessage] = [
        SystemMessage(DRAFT_PROMPT),
        draft_message(draft.model_dump(mode="json")),
        HumanMessage(_request(asked, reading)),
    ]
    problems: dict[str, list[str]] = {}
    for attempt in range(1, VERIFY_ATTEMPTS + 1):
        try:
            candidate = valid_draft(model, messages)
        except DraftRejected as exc:
            reason = "the drafting model could not turn this edit into a valid draft"
            raise CardUnreadable({name: [reason] for name in asked}) from exc
        problems = _mismatches(draft, candidate, asked, reading)
        if not problems:
            return candidate
        log.warning(
            "the model's reading of card fields %s did not match (attempt %d): %s", sorted(asked), attempt, problems
        )
        messages = [*messages, HumanMessage(_feedback(problems, asked))]
    raise CardUnreadable(problems)


def _unshown_kept(revised: StrategyDraft, reading: StrategyDraft) -> StrategyDraft:
    """``revised`` with what the card never shows (so no edit can change) as the card's reading has it."""
    hidden = ["startup_candle_count"]
    if not revised.trailing_stop:
        hidden += ["trailing_stop_positive", "trailing_stop_positive_offset", "trailing_only_offset_is_reached"]
    return revised.model_copy(update={name: getattr(reading, name) for name in hidden})


def _edited_lines(asked: dict[str, Any]) -> str:
    return "\n".join(f"- {name} ({FIELD_MEANINGS[name]}): {value}" for name, value in asked.items())


def _request(asked: dict[str, Any], reading: CardReading) -> str:
    """The human message: the edited fields in words for a language model, and as JSON for the offline one."""
    text = (
        "The trader edited the draft card of the previous draft and saved it. Revise that draft so that each "
        "edited card field below reads as the trader wrote it, and keep everything the trader did not edit "
        "exactly as it is: the same indicators with the same ids and parameters, the same rules and settings.\n\n"
        f"Edited card fields:\n{_edited_lines(asked)}"
    )
    hints = [f"- {name}: {'; '.join(reasons)}" for name, reasons in reading.unread.items() if name in asked]
    if hints:
        hint = "The card's own reader could not read these; read them as the trader means them:"
        text += f"\n\n{hint}\n" + "\n".join(hints)
    return f"{text}\n\n{card_edits_text(asked)}"


def _feedback(problems: dict[str, list[str]], asked: dict[str, Any]) -> str:
    wrong = "\n".join(f"- {name}: {'; '.join(reasons)}" for name, reasons in problems.items())
    return (
        f"That revision does not match the card:\n{wrong}\n\nRevise the previous draft again so that these edited "
        f"card fields read as written, changing nothing else:\n{_edited_lines(asked)}\n\n"
        f"{card_edits_text(asked)}"
    )


# --- checking the model's reading -------------------------------------------------------------------------


def _mismatches(
    old: StrategyDraft, new: StrategyDraft, asked: dict[str, Any], reading: CardReading
) -> dict[str, list[str]]:
    """Where the model's draft disagrees with the card, by card field (empty: it matches)."""
    got, expected, before = render_card(new), render_card(reading.draft), render_card(old)
    free_text = set(reading.unread) & set(RULE_FIELDS)
    compared = SETTING_FIELDS if free_text else (*RULE_FIELDS, *SETTING_FIELDS)
    problems: dict[str, list[str]] = {}
    for name in compared:
        if got[name] != expected[name]:
            problems[name] = [_wrong(name, asked, got[name], expected[name])]
    if not free_text:
        return problems
    for name in free_text:
        if got[name] == before[name]:
            problems[name] = [*reading.unread[name], "the drafting model could not read it either"]
    for role in ("entry", "exit"):
        name = f"{role}_signals"
        keys = [f"{role}_conditions"] if "can_short" in asked else [f"{role}_conditions", f"{role}_short_conditions"]
        if name not in free_text and [_rules(new, k) for k in keys] != [_rules(reading.draft, k) for k in keys]:
            problems[name] = [_wrong(name, asked, got[name], expected[name])]
    if "indicators" not in free_text:
        missing = _labels(reading.draft) - _labels(new) if "indicators" in asked else set()
        unused = _labels(new) - _labels(reading.draft) - _used_labels(new)
        if missing or unused:
            problems["indicators"] = [_wrong("indicators", asked, got["indicators"], expected["indicators"])]
    return problems


def _wrong(name: str, asked: dict[str, Any], got: Any, expected: Any) -> str:
    if name in asked:
        return f"should read {expected!r}, but the drafting model made it {got!r}"
    return f"was not edited, but the drafting model changed it to {got!r}"


def _rules(draft: StrategyDraft, key: str) -> str:
    data = draft.model_dump()
    return conditions_text(data[key], indicator_map(data))


def _labels(draft: StrategyDraft) -> set[str]:
    return {indicator_label(item) for item in draft.model_dump()["indicators"]}


def _used_labels(draft: StrategyDraft) -> set[str]:
    used = referenced_ids(draft)
    return {indicator_label(item) for item in draft.model_dump()["indicators"] if item["id"] in used}
