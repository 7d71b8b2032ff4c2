"""Draft names the user does not have yet (:mod:`gentrade.strategies.naming`)."""

from __future__ import annotations

import re

from gentrade.strategies.draft import NAME_PATTERN
from gentrade.strategies.naming import free_name


def test_a_free_name_is_kept() -> None:
    assert free_name("RsiDipBuyer", {"MacdCross"}) == "RsiDipBuyer"


def test_a_taken_name_gets_the_next_free_version() -> None:
    assert free_name("RsiDipBuyer", {"RsiDipBuyer"}) == "RsiDipBuyerV2"
    assert free_name("RsiDipBuyer", {"RsiDipBuyer", "RsiDipBuyerV2"}) == "RsiDipBuyerV3"
    assert free_name("RsiDipBuyerV2", {"RsiDipBuyer", "RsiDipBuyerV2"}) == "RsiDipBuyerV3"


def test_a_long_name_stays_a_valid_name() -> None:
    long = "A" + "b" * 63
    renamed = free_name(long, {long})
    assert renamed != long
    assert len(renamed) <= 64
    assert re.fullmatch(NAME_PATTERN, renamed)
