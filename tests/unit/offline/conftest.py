"""Fixtures for the offline model's tests: the design example's draft, drafted once per module."""

from __future__ import annotations

import pytest

from gentrade.agents.offline import draft_from_text
from gentrade.strategies.draft import StrategyDraft
from tests.offline_drafts import DESIGN_MESSAGE


@pytest.fixture(scope="module")
def design_draft() -> StrategyDraft:
    return draft_from_text(DESIGN_MESSAGE, None)[0]
