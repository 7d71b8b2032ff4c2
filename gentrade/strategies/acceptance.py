"""The gate strategy code passes before it is stored: the review, then the Freqtrade check.

Compiled drafts and a trader's own code pass through :func:`review_and_check`; the LLM code path
runs the same two steps itself, per answer, so it can feed the reasons back to the model, and
raises the same :class:`CodeRejected`. Code the project did not write is checked in the isolated
child (the caller passes that check); compiled code in process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gentrade.strategies.check import StrategyCheckFailed, check_strategy
from gentrade.strategies.compiler import compile_strategy
from gentrade.strategies.draft import StrategyDraft
from gentrade.strategies.review import ReviewRejected, review

CodeGenerator = Callable[[StrategyDraft], str]
CheckFunction = Callable[[str, str, list[str], str], dict[str, Any]]
MAX_CODE_CHARS = 100_000  # a strategy module is a few kB; more is not a strategy


class CodeRejected(Exception):
    """The code failed the review or the Freqtrade check (the message says which and why)."""

    def __init__(
        self, stage: str, message: str, details: list[str] | None = None, rules: frozenset[str] = frozenset()
    ) -> None:
        super().__init__(message)
        self.stage = stage
        self.details = details or [message]
        self.rules = rules  # the review rules broken (review stage)


def review_and_check(
    code: str, name: str, pairs: list[str], stake_currency: str, check: CheckFunction = check_strategy
) -> dict[str, Any]:
    """Review, then the Freqtrade check: the check's result, or :class:`CodeRejected` with the reasons."""
    try:
        review(code, name)
    except ReviewRejected as exc:
        raise CodeRejected(
            "review",
            "the strategy code was rejected by the review",
            [str(v) for v in exc.violations],
            frozenset(v.rule for v in exc.violations),
        ) from exc
    try:
        return check(code, name, pairs, stake_currency)
    except StrategyCheckFailed as exc:
        raise CodeRejected("freqtrade_check", str(exc)) from exc


def accepted_code(draft: StrategyDraft, generate: CodeGenerator = compile_strategy) -> str:
    """The draft's code (compiled by default) once it passed :func:`review_and_check`."""
    code = generate(draft)
    review_and_check(code, draft.name, list(draft.pairs), draft.stake_currency)
    return code
