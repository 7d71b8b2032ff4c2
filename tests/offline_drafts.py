"""Shared helpers and phrases for the offline model's tests: draft a message and check it validates, and
build the rules and indicators a draft is compared with.

Not a test module: the offline tests (tests/unit/offline) import from here, never from each other.
"""

from __future__ import annotations

from typing import Any

from gentrade.agents.offline import draft_from_text
from gentrade.strategies.catalogue import CATALOGUE
from gentrade.strategies.draft import StrategyDraft, parse_draft
from tests.cards import rule

DESIGN_MESSAGE = "buy BTC and ETH when RSI(14) drops under 30 on the 1h chart, sell above 70, 5% stop loss"


def draft(text: str, previous: StrategyDraft | None = None) -> tuple[dict[str, Any], list[str]]:
    """Draft from text, check it passes the API's validation, and return it as plain data."""
    result, assumptions = draft_from_text(text, previous)
    assert isinstance(result, StrategyDraft)
    assert parse_draft(result.model_dump()) == result
    assert all(isinstance(a, str) and a for a in assumptions)
    return result.model_dump(), assumptions


def conditions(node: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Every condition in a group tree, in order."""
    if not node:
        return []
    for key in ("all", "any"):
        if key in node:
            return [c for child in node[key] for c in conditions(child)]
    return [node]


def indicator(data: dict[str, Any], ident: str) -> dict[str, Any]:
    return next(i for i in data["indicators"] if i["id"] == ident)


def ind(kind: str, ident: str | None = None, timeframe: str | None = None, **params: Any) -> dict[str, Any]:
    """An indicator as a draft stores it: every parameter, defaults included."""
    item = {"id": ident or kind, "type": kind, "params": CATALOGUE[kind].params(**params).model_dump()}
    return {**item, "timeframe": timeframe} if timeframe else item


def every(*rules: dict[str, Any]) -> dict[str, Any]:
    return {"all": list(rules)}


def anyof(*rules: dict[str, Any]) -> dict[str, Any]:
    return {"any": list(rules)}


def ago(ref: str, candles: int = 1) -> dict[str, Any]:
    return {"ref": ref, "ago": candles}


def times(ref: str, factor: float) -> dict[str, Any]:
    return {"ref": ref, "times": factor}


SUPERTREND_FLIP = (rule("supertrend.direction", "crosses_above", 0), rule("supertrend.direction", "crosses_below", 0))


RISING_FILTER = "Buy BTC on the 1h chart when RSI dips below 30, but only while the 4h EMA 50 is rising"


GENERAL_MESSAGES = [
    "what is RSI?",
    "how do I deploy?",
    "what does drawdown mean?",
    "hello",
    "thanks!",
    "Explain the Sharpe ratio",
    "What is a stop loss?",
    "how does backtesting work?",
    "what timeframe should I use?",
    "Is RSI better than MACD?",
]
