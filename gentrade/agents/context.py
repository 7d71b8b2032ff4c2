"""How the graph hands a model the facts of a turn: the chat's draft, its latest backtest, the draft to announce,
a trader's card edits, a change to make and the coach's answer. This is the graph's prompt contract.

Why one module: hosted models and the offline model read the same messages. Each fact is a titled block a
language model reads as plain text, a heading line then the value as fenced JSON::

    The strategy draft this chat already has:
    ```json
    {"name": "RsiDipBuyer", ...}
    ```

The offline model finds a block by its heading (:func:`block_value`), so nothing here is meant for one kind of
model only. A block that cannot be read is treated as absent.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

DRAFT_HEADING = "The strategy draft this chat already has:"
BACKTEST_HEADING = "The latest finished backtest of this chat's strategy:"
NO_BACKTEST_HEADING = "This chat's strategy has no finished backtest yet:"
ANNOUNCE_HEADING = "The draft to announce:"
CARD_EDITS_HEADING = "The edited card fields:"
CHANGE_HEADING = "The change to make to the draft, recommended after its backtest:"
COACH_ANSWER_HEADING = "The coach's answer to the trader's last message:"
_FENCE = "```"


def block(heading: str, value: Any) -> str:
    """A fact as text: the heading line, then the value as fenced JSON."""
    return f"{heading}\n{_FENCE}json\n{json.dumps(value, default=str)}\n{_FENCE}"


def block_value(text: str, heading: str) -> Any | None:
    """The JSON value of the first readable block under ``heading`` in ``text``, or None.

    Every occurrence of the heading is tried in order, so a prompt that quotes a heading does not hide the
    real block.
    """
    decoder = json.JSONDecoder()
    index = text.find(heading)
    while index >= 0:
        rest = text[index + len(heading) :].lstrip()
        if rest.startswith(_FENCE):
            rest = rest[len(_FENCE) :].removeprefix("json").lstrip()
        try:
            value, _ = decoder.raw_decode(rest)
        except ValueError:
            index = text.find(heading, index + 1)
            continue
        return value
    return None


def message_text(message: BaseMessage) -> str:
    """The text of a message whether its content is a string or a list of content blocks."""
    content = message.content
    if isinstance(content, str):
        return content
    parts = [p if isinstance(p, str) else str(p.get("text", "")) for p in content if isinstance(p, str | dict)]
    return "".join(parts)


def system_value(messages: Sequence[BaseMessage], heading: str) -> Any | None:
    """The value of the newest system message's block under ``heading``, or None."""
    for message in reversed(messages):
        if isinstance(message, SystemMessage) and heading in message_text(message):
            value = block_value(message_text(message), heading)
            if value is not None:
                return value
    return None


def has_system_block(messages: Sequence[BaseMessage], heading: str) -> bool:
    return any(isinstance(m, SystemMessage) and heading in message_text(m) for m in messages)


# --- the blocks the graph sends ----------------------------------------------------------------------------


def draft_message(draft: dict[str, Any]) -> SystemMessage:
    """Tells a model which draft the thread already has: feedback revises it."""
    return SystemMessage(block(DRAFT_HEADING, draft))


def backtest_message(backtest: dict[str, Any] | None) -> SystemMessage:
    """The figures of the chat's latest finished backtest (see ``services.coaching``), or the fact there is none."""
    if backtest is None:
        text = (
            f"{NO_BACKTEST_HEADING}\n"
            "Deploy the draft (the Deploy button on its card) and run a backtest over a date range first."
        )
        return SystemMessage(text)
    return SystemMessage(block(BACKTEST_HEADING, backtest))


def announce_text(draft: dict[str, Any], revised: bool) -> str:
    """Appended to the announcement prompt: the draft to describe, and whether it revises an earlier one."""
    return block(ANNOUNCE_HEADING, {"draft": draft, "revised": revised})


def change_message(change: str) -> SystemMessage:
    """The change the coach recommended, for the drafting node to apply to the current draft."""
    return SystemMessage(block(CHANGE_HEADING, {"change": change}))


def coach_answer_message(answer: str) -> SystemMessage:
    """The coach's answer this turn, for the nodes after it. It is a fact beside the others, not the last message:
    a request must end with the trader's message (Claude models from 4.6 on refuse one ending with the assistant's)."""
    return SystemMessage(block(COACH_ANSWER_HEADING, {"answer": answer}))


def card_edits_text(edits: dict[str, Any]) -> str:
    """Appended to a human message asking to revise a draft from its edited card fields."""
    return block(CARD_EDITS_HEADING, edits)


def card_edits_value(messages: Sequence[BaseMessage]) -> dict[str, Any] | None:
    """The edited card fields the last human message carries, or None."""
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            value = block_value(message_text(message), CARD_EDITS_HEADING)
            return value if isinstance(value, dict) else None
    return None
