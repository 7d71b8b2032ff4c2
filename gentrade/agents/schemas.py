"""Structured outputs the agent asks its model for (besides ``StrategyDraft`` itself)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

DRAFT_TOOL_NAME = "StrategyDraftOutputTool"


class RouteDecision(BaseModel):
    """Where a user message goes: strategy work (create or revise a draft), the coach (a question about the
    chat's backtest) or a general question."""

    route: Literal["strategy", "coach", "general"] = Field(
        description=(
            "'strategy' to create or revise a trading strategy draft; 'coach' for a question about how this chat's "
            "strategy did in its backtest or how to improve it; 'general' for any other question."
        )
    )
    reason: str = Field(default="", max_length=300, description="One short sentence.")


class CoachRevision(BaseModel):
    """After the coach's answer: the one change to the draft the backtest's figures point to, if any."""

    revise: bool = Field(description="True when the answer recommends a concrete change to the draft.")
    change: str = Field(
        default="",
        max_length=500,
        description="The change in one sentence, as a trader would ask for it (e.g. 'widen the stop loss to 8%').",
    )
