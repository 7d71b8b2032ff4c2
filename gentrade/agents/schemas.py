"""Structured outputs the agent asks its model for (besides ``StrategyDraft`` itself)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

DRAFT_TOOL_NAME = "StrategyDraftOutputTool"


class RouteDecision(BaseModel):
    """Where a user message goes: strategy work (create or revise a draft) or a general question."""

    route: Literal["strategy", "general"] = Field(
        description="'strategy' to create or revise a trading strategy draft; 'general' for any other question."
    )
    reason: str = Field(default="", max_length=300, description="One short sentence.")


class StrategyCode(BaseModel):
    """The LLM code path's answer: one Python module with one Freqtrade IStrategy class."""

    code: str = Field(description="The complete Python module, no Markdown fences.")
