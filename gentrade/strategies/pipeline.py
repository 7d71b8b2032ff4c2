"""From draft to accepted code: generate, review, then let Freqtrade load and run it.

Every code path ends here, so nothing is written or stored that has not passed the review and
the Freqtrade check. The generator is the compiler by default (the LLM path plugs in later).
"""

from __future__ import annotations

from collections.abc import Callable

from gentrade.strategies.check import StrategyCheckFailed, check_strategy
from gentrade.strategies.compiler import compile_strategy
from gentrade.strategies.draft import StrategyDraft
from gentrade.strategies.review import ReviewRejected, review

CodeGenerator = Callable[[StrategyDraft], str]


class CodeRejected(Exception):
    """The generated code failed the review or the Freqtrade check (the message says which and why)."""

    def __init__(self, stage: str, message: str, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.stage = stage
        self.details = details or [message]


def verify(code: str, draft: StrategyDraft) -> None:
    """Review, then the Freqtrade check; raise :class:`CodeRejected` with the reasons."""
    try:
        review(code, draft.name)
    except ReviewRejected as exc:
        raise CodeRejected(
            "review", "the strategy code was rejected by the review", [str(v) for v in exc.violations]
        ) from exc
    try:
        check_strategy(code, draft.name, list(draft.pairs), draft.stake_currency)
    except StrategyCheckFailed as exc:
        raise CodeRejected("freqtrade_check", str(exc)) from exc


def verified_code(draft: StrategyDraft, generate: CodeGenerator = compile_strategy) -> str:
    code = generate(draft)
    verify(code, draft)
    return code
