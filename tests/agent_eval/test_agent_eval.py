"""The evaluation set, run against the offline model through the agent's own graph (router, draft, announce, coach).

Prints the score (``pytest -s``; docs/agent.md records it). Every case without a ``gap`` must pass; every case
with one must still fail, so that reading a new kind of request moves it out of the gaps visibly.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver

from gentrade.agents.graph import TurnContext, build_graph
from gentrade.agents.offline import OfflineChatModel
from gentrade.strategies.trees import conditions
from tests.agent_eval.cases import CASES, Case

RESULTS: dict[str, list[str]] = {}  # case id -> what was wrong (empty: right)


def converse(case: Case) -> tuple[dict[str, Any] | None, str]:
    """The draft shown by the last turn (None when it answered without one) and everything the agent said."""
    graph = build_graph(OfflineChatModel(), InMemorySaver())
    config = {"configurable": {"thread_id": str(uuid.uuid4())}}
    state: dict[str, Any] = {}
    last = TurnContext(backtest=case.backtest, taken_names=frozenset(case.taken))
    for index, message in enumerate(case.turns):
        before = len(state.get("messages", []))
        context = last if index == len(case.turns) - 1 else TurnContext()
        state = graph.invoke({"messages": [HumanMessage(message)]}, config, context=context)
        new = state["messages"][before + 1 :]
    shown = any(isinstance(m, AIMessage) and m.tool_calls for m in new)
    said = " ".join(str(m.content) for m in new)
    return (state.get("draft") if shown else None), said


def resolve(value: Any, draft: dict[str, Any]) -> Any:
    """``@rsi`` -> the id of the draft's RSI, ``@macd.signal`` -> its signal line, ``@ema9`` -> its EMA(9)."""
    if isinstance(value, dict):
        return {key: resolve(item, draft) for key, item in value.items()}
    if not (isinstance(value, str) and value.startswith("@")):
        return value
    name, dot, output = value[1:].partition(".")
    kind = name.rstrip("0123456789")
    period = name[len(kind) :]
    for item in draft["indicators"]:
        if item["type"] == kind and (not period or item["params"].get("period") == int(period)):
            return item["id"] + dot + output
    return value  # no such indicator: the rule cannot match


def normalised(rule: dict[str, Any]) -> str:
    def side(value: Any) -> Any:
        if isinstance(value, dict):
            merged = {"times": 1.0, "plus": 0.0, "ago": 0, **value}
            return {**merged, "times": float(merged["times"]), "plus": float(merged["plus"])}
        return float(value) if isinstance(value, int | float) else value

    return json.dumps({"left": side(rule["left"]), "op": rule["op"], "right": side(rule["right"])}, sort_keys=True)


def problems(case: Case, draft: dict[str, Any] | None, said: str) -> list[str]:
    found: list[str] = [f"does not say {word!r}" for word in case.says if word.lower() not in said.lower()]
    if case.no_draft:
        return found + (["drafted a strategy"] if draft is not None else [])
    if draft is None:
        return [*found, "answered without a draft"]
    types = [item["type"] for item in draft["indicators"]]
    found += [f"no {kind}" for kind in case.types if kind not in types]
    if case.only_types and set(types) != set(case.types):
        found.append(f"indicators {types}, not only {list(case.types)}")
    for kind, params in case.params.items():
        if not any(i["type"] == kind and params.items() <= i["params"].items() for i in draft["indicators"]):
            found.append(f"no {kind} with {params}")
    for kind, timeframe in case.timeframes.items():
        if not any(i["type"] == kind and i.get("timeframe") == timeframe for i in draft["indicators"]):
            found.append(f"no {kind} on {timeframe}")
    expected = {
        "pairs": list(case.pairs) or None,
        "timeframe": case.timeframe,
        "stoploss": case.stoploss,
        "minimal_roi": case.roi,
    }
    found += [
        f"{key} {draft[key]!r}, not {value!r}" for key, value in expected.items() if value and draft[key] != value
    ]
    for role, wanted in (("entry_conditions", case.entry), ("exit_conditions", case.exit)):
        have = {normalised(rule) for rule in conditions(draft.get(role))}
        found += [f"{role} lacks {rule}" for rule in wanted if normalised(resolve(rule, draft)) not in have]
    return found


@pytest.fixture(scope="module", autouse=True)
def report() -> Any:
    yield
    right = sorted(case for case, wrong in RESULTS.items() if not wrong)
    print(f"\nagent evaluation: {len(right)}/{len(RESULTS)} right")
    for case, wrong in sorted(RESULTS.items()):
        if wrong:
            print(f"  {case}: {'; '.join(wrong)}")


def test_the_set_is_large_and_varied() -> None:
    assert len(CASES) >= 60
    assert len({case.id for case in CASES}) == len(CASES)
    assert sum(1 for case in CASES if len(case.turns) > 1) >= 8  # multi-turn edits
    assert sum(1 for case in CASES if case.no_draft) >= 10  # unsupported asks and general questions
    assert sum(1 for case in CASES if case.id.startswith("coach-")) >= 8  # questions after a backtest


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_case(case: Case) -> None:
    draft, said = converse(case)
    wrong = problems(case, draft, said)
    RESULTS[case.id] = wrong
    if case.gap:
        assert wrong, f"{case.id} reads right now: remove its gap ({case.gap}) and from docs/agent.md"
    else:
        assert not wrong, wrong
