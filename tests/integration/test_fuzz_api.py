"""Schemathesis fuzzes every operation of the app's own OpenAPI document (issue 7, "Fuzzing the API").

Alice calls every operation with a valid token; every id in a path, query or body is drawn from alice's
real resources, bob's real resources or a random UUID. Every response must be documented and match its
schema (schemathesis's checks), never be a 5xx, never carry bob's ids, titles, messages or strategy code,
and a request naming bob's resource is never a success. At the end bob's resources are as they were.

Bounded for CI: ``FUZZ_EXAMPLES`` cases per operation and generation mode (valid and invalid data), from a
fixed seed (``derandomize``). ``GENTRADE_FUZZ_EXAMPLES=500`` runs a longer campaign by hand.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.parameters import ParameterLocation
from schemathesis.schemas import APIOperation, BaseSchema

from gentrade.blueprints.base import TOO_DEEP_MESSAGE, UNSTORABLE_MESSAGE
from gentrade.extensions import db
from gentrade.freqtrade import markets
from gentrade.models import Backtest, BacktestStatus, Chat, Strategy
from gentrade.runtime import runtime
from gentrade.samples import draft
from tests.backtests import add_backtest_row
from tests.clerk import Svix, Tokens

FUZZ_EXAMPLES = int(os.environ.get("GENTRADE_FUZZ_EXAMPLES", "25"))  # 25: about 45 s on 2 cores
ID_FIELDS = ("thread_id", "strategy_id", "backtest_id")
OWNERS = ("alice", "bob", "random")
LISTED_PAIRS = frozenset({"BTC/USDT", "ETH/USDT"})  # what the local exchange stand-in lists
SSE = "text/event-stream"
# How each event stream ends: ours with an empty JSON object, LangServe's protocol with no data line.
SSE_ENDINGS = {
    "POST /api/v1/agent/stream": "event: end\ndata: {}\n\n",
    "GET /api/v1/backtests/{backtest_id}/events": "event: end\ndata: {}\n\n",
    "POST /chat/stream_events": "event: end\n\n",
}
WEBHOOKS = "/api/v1/webhooks/"
INPUT_LOCATIONS = [ParameterLocation.PATH, ParameterLocation.QUERY, ParameterLocation.HEADER]
# Rules JSON Schema cannot state, so a schema-valid body may still be a 422 (positive_data_acceptance accepts it
# for these operations only; every other check still applies). The reason is the rule the app enforces.
SEMANTIC_422 = {
    "POST /api/v1/backtests": "date_range or both dates, start < end <= today, a bounded span, pairs listed alike",
    "POST /api/v1/strategies": "the draft must compile: conditions name declared indicators and known outputs",
    "POST /chat/stream_events": "the newest message is the user's, with 1 to 8,000 characters of text",
}
CONFIG: dict[str, Any] = {
    # PostgreSQL cannot store NUL, so the API refuses it (a 422, tested on every body below): not a valid input.
    "generation": {"allow-x00": False},
    "max-stream-events": 10_000,  # read each event stream to its end (both end: see World)
    "operations": [
        {
            "include-name": name,
            "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "401", "403", "404", "409", "422"]}},
        }
        for name in SEMANTIC_422
    ]
    # Unknown query parameters are ignored by design (flask-smorest reads pagination and filters with separate
    # schemas; proxies and trackers append their own), while an unknown body field is a 422 and stays fuzzed.
    + [{"include-method": "GET", "generation": {"allow-extra-parameters": False}}],
}
FUZZ_SETTINGS = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)


@dataclass(frozen=True)
class Resources:
    """One user's resources; ``backtest_id`` is finished (its event stream ends), ``queued_id`` is cancellable."""

    thread_id: str
    strategy_id: str
    backtest_id: str
    queued_id: str
    secrets: tuple[str, ...]


def add_backtest_of_status(app: Flask, strategy_id: str, status: BacktestStatus) -> str:
    return add_backtest_row(app, strategy_id, status=status)


def seed(client: FlaskClient, app: Flask, headers: dict[str, str], tag: str) -> Resources:
    """A chat with a message, a deployed strategy and two backtests, each marked with ``tag``."""
    title, note, name = f"{tag} private chat", f"{tag} private message", f"{tag.capitalize()}PrivateEdge"
    chat = client.post(
        "/api/v1/chats", json={"title": title, "messages": [{"role": "user", "content": note}]}, headers=headers
    )
    assert chat.status_code == 201, chat.json
    thread_id = chat.json["thread_id"]
    strategy = client.post(
        "/api/v1/strategies", json={"thread_id": thread_id, "draft": draft(name=name)}, headers=headers
    )
    assert strategy.status_code == 201, strategy.json
    strategy_id = strategy.json["id"]
    finished = add_backtest_of_status(app, strategy_id, BacktestStatus.FINISHED)
    queued = add_backtest_of_status(app, strategy_id, BacktestStatus.QUEUED)
    ids = (thread_id, chat.json["id"], strategy_id, finished, queued)
    return Resources(thread_id, strategy_id, finished, queued, (*ids, title, note, name))


@dataclass
class World:
    """Alice (the caller) and bob (the victim); alice's resources are re-made when a fuzzed call removes them."""

    app: Flask
    client: FlaskClient
    tokens: Tokens
    svix: Svix
    alice: Resources
    bob: Resources
    remade: int = 0
    minted: set[str] = field(default_factory=set)

    def alice_token(self) -> str:
        """A fresh session token per request (a token lives 5 minutes; the long campaign lasts longer)."""
        authorization = f"Bearer {self.tokens('user_alice')}"
        self.minted.add(authorization)
        return authorization

    def alice_now(self) -> Resources:
        """Alice's resources as they are now, so "alice's id" always names a real resource of hers."""
        with self.app.app_context():
            chat = db.session.scalar(db.select(Chat.id).where(Chat.thread_id == uuid.UUID(self.alice.thread_id)))
            strategy = db.session.get(Strategy, uuid.UUID(self.alice.strategy_id))
            queued = db.session.get(Backtest, uuid.UUID(self.alice.queued_id))
            finished = db.session.get(Backtest, uuid.UUID(self.alice.backtest_id))
            queued_status = queued.status if queued else None
            db.session.remove()
        if chat is None or strategy is None or finished is None:
            self.remade += 1
            self.alice = seed(self.client, self.app, self.tokens.headers("user_alice"), f"alice{self.remade}")
        elif queued_status != BacktestStatus.QUEUED:
            self.remade += 1
            queued_id = add_backtest_of_status(self.app, self.alice.strategy_id, BacktestStatus.QUEUED)
            self.alice = replace(self.alice, queued_id=queued_id)
        return self.alice

    def id_for(self, owner: str, name: str, path: str, generated: str) -> str:
        if owner == "random":
            return generated
        resources = self.alice_now() if owner == "alice" else self.bob
        if name == "backtest_id" and path.endswith("/cancel"):
            return resources.queued_id
        return getattr(resources, name)

    def steer(self, path: str, values: Any) -> st.SearchStrategy[Any]:
        """Replace each valid id in ``values`` by alice's, bob's or the generated one (invalid ids stay invalid)."""
        if not isinstance(values, dict):
            return st.just(values)
        names = [name for name in ID_FIELDS if _is_uuid(values.get(name))]
        if not names:
            return st.just(values)
        owners = st.tuples(*(st.sampled_from(OWNERS) for _ in names))
        return owners.map(
            lambda chosen: values | {n: self.id_for(o, n, path, values[n]) for n, o in zip(names, chosen, strict=True)}
        )


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return isinstance(value, str)


@dataclass
class Ledger:
    """What the campaign did, for docs/reliability.md."""

    cases: Counter[str] = field(default_factory=Counter)
    seconds: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def summary(self, seconds: float, remade: int) -> str:
        return json.dumps(
            {
                "examples_per_operation_and_mode": FUZZ_EXAMPLES,
                "operations": len(self.cases),
                "cases": sum(self.cases.values()),
                "statuses": dict(sorted(self.statuses.items())),
                **{kind: self.kinds[kind] for kind in LEDGER_KINDS},
                "alice_resources_remade": remade,
                "seconds": round(seconds, 1),
                "slowest": {name: round(t, 1) for name, t in self.seconds.most_common(4)},
            }
        )


LEDGER_KINDS = (
    "naming_bobs_resources",
    "without_credentials",  # schemathesis's negative mode also drops the token: each must be a 401
    "webhook_signed",
    "webhook_unsigned",
    "server_errors",
    "cross_user_leaks",
    "check_failures",  # schemathesis's checks: documented status, schema, content type, headers, ...
)


def _sent_values(*containers: Any) -> Iterator[str]:
    for container in containers:
        if isinstance(container, dict):
            yield from (str(value) for value in container.values())


def send(case: schemathesis.Case, world: World, sign: bool) -> tuple[schemathesis.Response, dict[str, str], list[Any]]:
    """The request (alice's token comes from the auth provider); a webhook delivery may be signed as svix signs it."""
    if not case.operation.path.startswith(WEBHOOKS):
        return case.call(), {}, []
    if sign and case.meta.generation.mode is GenerationMode.POSITIVE:
        payload = json.dumps(case.body)
        headers = world.svix.headers(payload)
        return case.call(headers=headers, data=payload), headers, []
    # No generator can forge a signature: an unsigned delivery must be refused with exactly 400 (below).
    return case.call(), {}, [schemathesis.checks.positive_data_acceptance]


def exercise(case: schemathesis.Case, world: World, ledger: Ledger, sign: bool) -> None:
    """One request as alice, then every check; a failure raises so hypothesis reports the smallest example."""
    label = case.operation.label
    ledger.cases[label] += 1
    try:
        response, headers, excluded = send(case, world, sign)
    except Exception:  # schemathesis re-raises an exception that escaped a Flask view: the client got a 500
        ledger.kinds["server_errors"] += 1
        raise
    status = response.status_code
    ledger.statuses[status] += 1
    if status >= 500:
        ledger.kinds["server_errors"] += 1
        raise AssertionError(f"{label} answered {status}: {response.content[:500]!r}")
    # A path or body naming bob's resource is an action on it: never a success. A query naming it is a
    # filter over alice's own rows (an empty page is right); the body check below covers it.
    acts_on_bob = any(value in world.bob.secrets for value in _sent_values(case.path_parameters, case.body))
    names_bob = acts_on_bob or any(value in world.bob.secrets for value in _sent_values(case.query))
    ledger.kinds["naming_bobs_resources"] += names_bob
    body = response.content.decode("utf-8", "replace")
    leaked = [secret for secret in world.bob.secrets if secret in body]
    if leaked or (acts_on_bob and status < 300):
        ledger.kinds["cross_user_leaks"] += 1
        raise AssertionError(f"{label} as alice ({status}) served bob's {leaked or 'resource'}: {body[:500]}")
    authorization = response.request.headers.get("Authorization")
    if case.operation.path.startswith(WEBHOOKS):
        ledger.kinds["webhook_unsigned" if excluded else "webhook_signed"] += 1
        assert status == 400 or not excluded, f"an unsigned webhook delivery got {status}"
    elif authorization in world.minted:
        assert status != 401, f"alice's valid token was refused: {body[:300]}"
    elif case.operation.definition.raw.get("security") != []:  # negative mode withheld the token it needs
        ledger.kinds["without_credentials"] += 1
        unrouted = not all(_is_uuid(value) for value in (case.path_parameters or {}).values())  # 404 before auth
        assert status == 401 or (status == 404 and unrouted), f"no token, yet {status}"
    if label in SSE_ENDINGS and status == 200:
        assert response.headers["content-type"][0].startswith(SSE), response.headers
        assert body.endswith(SSE_ENDINGS[label]), body[-300:]
    try:
        case.validate_response(response, headers=headers, excluded_checks=excluded)
    except (Exception, BaseExceptionGroup):
        ledger.kinds["check_failures"] += 1
        raise


def modes(operation: APIOperation) -> list[GenerationMode]:
    """Invalid input too, where the operation takes any (``/healthz`` takes none)."""
    takes_input = operation.body or any(operation.get_parameter_set(location) for location in INPUT_LOCATIONS)
    return [GenerationMode.POSITIVE, GenerationMode.NEGATIVE] if takes_input else [GenerationMode.POSITIVE]


def fuzz(operation: APIOperation, mode: GenerationMode, world: World, ledger: Ledger) -> None:
    @FUZZ_SETTINGS
    @given(case=operation.as_strategy(generation_mode=mode), sign=st.booleans())
    def run(case: schemathesis.Case, sign: bool) -> None:
        exercise(case, world, ledger, sign)

    started = time.monotonic()
    try:
        run()
    except (Exception, BaseExceptionGroup) as exc:  # FailureGroup is one; all failures are reported together
        notes = "\n".join(getattr(exc, "__notes__", []))
        ledger.failures.append(f"--- {operation.label} ({mode.value}): {type(exc).__name__}: {exc}\n{notes}")
    ledger.seconds[f"{operation.label} {mode.value}"] += time.monotonic() - started


@pytest.fixture
def world(app: Flask, client: FlaskClient, tokens: Tokens, svix: Svix, monkeypatch: pytest.MonkeyPatch) -> World:
    with app.app_context():  # the exchange cannot be reached from a test: list the stand-in's pairs
        monkeypatch.setitem(markets._cache, runtime().settings.exchange_api_url, (time.monotonic(), LISTED_PAIRS))
    bob = seed(client, app, tokens.headers("user_bob"), "bob")
    alice = seed(client, app, tokens.headers("user_alice"), "alice")
    return World(app, client, tokens, svix, alice, bob)


@pytest.fixture
def api_schema(app: Flask, world: World) -> BaseSchema:
    """The app's own document, with every id steered to alice's, bob's or a random one."""
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app, config=schemathesis.Config.from_dict(CONFIG))
    for location in ("path_parameters", "query", "body"):
        schema.hook(f"flatmap_{location}")(lambda context, values: world.steer(context.operation.path, values))

    @schema.auth(refresh_interval=None)
    class AliceToken:
        """Through schemathesis, so that its negative mode can also send a request without it."""

        def get(self, case: schemathesis.Case, context: schemathesis.AuthContext) -> str:
            return world.alice_token()

        def set(self, case: schemathesis.Case, data: str, context: schemathesis.AuthContext) -> None:
            case.headers = {**(case.headers or {}), "Authorization": data}

    return schema


def bobs_view(client: FlaskClient, tokens: Tokens, bob: Resources) -> dict[str, Any]:
    headers = tokens.headers("user_bob")
    chat = client.get(f"/api/v1/chats/{bob.thread_id}", headers=headers).json
    strategy = client.get(f"/api/v1/strategies/{bob.strategy_id}", headers=headers).json
    backtests = client.get("/api/v1/backtests", headers=headers).json
    return {
        "chat": (chat["title"], chat["messages"], chat["updated_at"]),
        "strategy": (strategy["name"], strategy["code"], strategy["updated_at"]),
        "backtests": sorted((b["id"], b["status"], b["updated_at"]) for b in backtests),
    }


def test_fuzz_every_operation_as_alice(api_schema: BaseSchema, world: World, capsys: pytest.CaptureFixture) -> None:
    before = bobs_view(world.client, world.tokens, world.bob)
    ledger = Ledger()
    started = time.monotonic()
    operations = [result.ok() for result in api_schema.get_all_operations()]
    for operation in operations:
        for mode in modes(operation):
            fuzz(operation, mode, world, ledger)
    summary = ledger.summary(time.monotonic() - started, world.remade)
    with capsys.disabled():
        print(f"\nfuzz figures: {summary}")
    assert not ledger.failures, "\n".join(ledger.failures)
    assert len(ledger.cases) == len(operations) >= 19, "every operation was fuzzed"
    assert ledger.kinds["naming_bobs_resources"] > 0, "bob's ids were tried"
    assert ledger.kinds["webhook_signed"] > 0, "signed deliveries reached the handler"
    assert ledger.kinds["webhook_unsigned"] > 0, "unsigned deliveries were refused"
    assert bobs_view(world.client, world.tokens, world.bob) == before, "alice changed nothing of bob's"


# What the generator does not send: text PostgreSQL cannot store, and JSON nested past the parser's recursion limit.
HOSTILE_BODIES = {
    "NUL character": ('{"title": "a\\u0000b"}', 422, UNSTORABLE_MESSAGE),
    "unpaired surrogate": ('{"title": "a\\ud800b"}', 422, UNSTORABLE_MESSAGE),
    "NUL in a key": ('{"a\\u0000": 1}', 422, UNSTORABLE_MESSAGE),
    "nested too deep": ("[" * 100_000 + "]" * 100_000, 400, TOO_DEEP_MESSAGE),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE_BODIES))
def test_hostile_json_is_refused_on_every_body_route(
    app: Flask, client: FlaskClient, tokens: Tokens, svix: Svix, kind: str
) -> None:
    """Each was a 500 (PostgreSQL refuses NUL and lone surrogates; json.loads raises RecursionError)."""
    body, status, message = HOSTILE_BODIES[kind]
    paths = client.get("/api/openapi.json").json["paths"]
    routes = [(method, path) for path, item in paths.items() for method, op in item.items() if "requestBody" in op]
    assert len(routes) >= 7, routes  # read from the document: a new body route is covered too
    for method, path in routes:
        headers = svix.headers(body) if path.startswith(WEBHOOKS) else tokens.headers("user_alice")
        url = path.replace("{thread_id}", str(uuid.uuid4()))
        response = client.open(url, method=method.upper(), data=body, headers=headers, content_type="application/json")
        assert response.status_code == status, (kind, method, path, response.json)
        assert message in json.dumps(response.json), (kind, method, path, response.json)


def test_item_and_list_errors_together_are_a_422(client: FlaskClient, tokens: Tokens) -> None:
    """Found by the long campaign: item errors (keyed 0) beside list errors ("_schema") were a 500."""
    body = {"strategy_id": str(uuid.uuid4()), "start_date": "2000-01-01", "end_date": "2000-01-02"}
    body["pairs"] = ["00/00*", "00/00", "00/00"]  # one malformed pair, and a duplicate
    response = client.post("/api/v1/backtests", json=body, headers=tokens.headers())
    assert response.status_code == 422, response.json
    assert set(response.json["errors"]["json"]["pairs"]) == {"0", "_schema"}


def _get_parameters(path_item: dict[str, Any]) -> list[dict[str, Any]]:
    return path_item.get("get", {}).get("parameters", [])


def test_a_page_past_any_table_is_an_empty_page(client: FlaskClient, tokens: Tokens) -> None:
    """Found by the fuzzer: OFFSET (page - 1) * page_size past PostgreSQL's bigint was a 500 on every list."""
    paths = client.get("/api/openapi.json").json["paths"]
    lists = [path for path, item in paths.items() if any(p["name"] == "page" for p in _get_parameters(item))]
    assert len(lists) >= 3, lists
    for path in lists:
        response = client.get(f"{path}?page={2**62}&page_size=100", headers=tokens.headers())
        assert response.status_code == 200, (path, response.json)
        assert response.json == []
        assert json.loads(response.headers["X-Pagination"]) == {"total": 0, "total_pages": 0}
