"""Measured (issue 14): the review and the Freqtrade check accept every ordinary strategy of the benign corpus,
and the review refuses every snippet of the hostile corpus (each in an otherwise valid strategy).

The rates are printed (``-s``) and recorded as test properties (``--junitxml``); the assertions demand 100 % and 0 %.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gentrade.services.strategies import CODE_CHECK_PAIRS, CODE_CHECK_STAKE_CURRENCY
from gentrade.strategies.check import StrategyCheckFailed, check_strategy
from gentrade.strategies.review import ReviewRejected, review
from tests.benign import BENIGN
from tests.hostile import HOSTILE, RUNTIME_PROBES, probe

Record = Callable[[str, object], None]


def test_every_benign_strategy_passes_the_review_and_the_freqtrade_check(record_property: Record) -> None:
    refused: list[str] = []
    for param in BENIGN:
        name, code = param.values
        try:
            review(code, name)
            check_strategy(code, name, list(CODE_CHECK_PAIRS), CODE_CHECK_STAKE_CURRENCY)
        except (ReviewRejected, StrategyCheckFailed) as exc:
            refused.append(f"{param.id}: {exc}")
    accepted = len(BENIGN) - len(refused)
    print(
        f"benign corpus: {accepted}/{len(BENIGN)} accepted by the review and the check ({accepted / len(BENIGN):.0%})"
    )
    record_property("benign_accepted", f"{accepted}/{len(BENIGN)}")
    assert refused == []
    assert len(BENIGN) >= 10


def test_no_hostile_snippet_passes_the_review(record_property: Record) -> None:
    corpus = [*HOSTILE, *RUNTIME_PROBES]
    passed = []
    for param in corpus:
        top, body, _ = param.values
        try:
            review(probe(top=top, body=body), "Probe")
        except ReviewRejected:
            continue
        passed.append(param.id)
    refused = len(corpus) - len(passed)
    print(f"hostile corpus: {refused}/{len(corpus)} refused by the review, {len(passed)} accepted")
    record_property("hostile_refused", f"{refused}/{len(corpus)}")
    assert passed == []


@pytest.mark.parametrize(("name", "code"), BENIGN)
def test_benign_strategy_passes_the_review(name: str, code: str) -> None:
    review(code, name)
