"""Strategies: deploy a draft (compile, review, Freqtrade check, store, write) or a trader's own code
(review, isolated Freqtrade check, store, write), list, read, delete.

Deploying is atomic across the database and the file system: the row is flushed first (so a
name clash is a 409 before anything touches the disk), then the file is written atomically,
then the transaction commits; a failure at any step leaves neither row nor file behind.
"""

from __future__ import annotations

import json
import logging
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer, selectinload

from gentrade.agents.card_edits import CardUnreadable, read_card_edits
from gentrade.agents.providers import chat_model
from gentrade.extensions import db
from gentrade.freqtrade.userdir import write_atomically
from gentrade.models import Backtest, Chat, Strategy, User
from gentrade.runtime import runtime
from gentrade.services import json_reads, ownership, users
from gentrade.services.errors import Conflict, Invalid, NotFound
from gentrade.services.json_reads import iso_datetime
from gentrade.services.pagination import page_of
from gentrade.settings import StrategyCodegen
from gentrade.strategies.acceptance import CodeRejected, accepted_code, review_and_check
from gentrade.strategies.card import edited_fields
from gentrade.strategies.draft import DraftInvalid, StrategyDraft, parse_draft
from gentrade.strategies.isolated_check import check_in_subprocess
from gentrade.strategies.llm_codegen import LlmCodegen
from gentrade.work_queue import publish_prune

DRAFT_TOOL = "StrategyDraftOutputTool"
# Code brought by a trader is checked on these (its pairs come with each backtest).
CODE_CHECK_PAIRS = ("BTC/USDT", "ETH/USDT")
CODE_CHECK_STAKE_CURRENCY = "USDT"
NAME_RULE = "strategy-name"  # the review's rule that the class is named as the strategy
log = logging.getLogger(__name__)


def message_draft(message: dict[str, Any]) -> dict[str, Any] | None:
    """The draft a chat message carries (the agent's ``StrategyDraftOutputTool`` output), if any."""
    data = message.get("tool_data")
    if isinstance(data, dict) and isinstance(data.get("draft"), dict):
        return data["draft"]
    return None


def _draft_message_index(messages: list[dict[str, Any]], draft: StrategyDraft | None) -> int | None:
    """The newest message carrying ``draft`` (or any draft, when ``draft`` is None)."""
    for index in range(len(messages) - 1, -1, -1):
        carried = message_draft(messages[index])
        if carried is None:
            continue
        if draft is None:
            return index
        try:
            if parse_draft(carried) == draft:
                return index
        except DraftInvalid:
            continue
    return None


def _parse(data: Any) -> StrategyDraft:
    try:
        return parse_draft(data)
    except DraftInvalid as exc:
        raise Invalid("the draft is invalid", {"draft": exc.errors}) from exc


def deploy(user: User, thread_id: uuid.UUID, draft_data: dict[str, Any] | None) -> Strategy:
    chat = ownership.owned_chat(user, thread_id)
    if draft_data is None:
        index = _draft_message_index(chat.messages, None)
        if index is None:
            raise Invalid(
                "this chat has no strategy draft yet", {"draft": ["Missing, and no chat message carries one."]}
            )
        draft = _parse(message_draft(chat.messages[index]))
    else:
        draft = _parse(draft_data)
        index = _draft_message_index(chat.messages, draft)

    def link(strategy_id: str | None) -> None:
        if index is not None:
            _link_message(chat, index, strategy_id)

    return _deploy(user, chat, draft, link, name_errors={"draft": {"name": ["Already used."]}})


def deploy_card(user: User, tool_call_id: uuid.UUID, chat_id: uuid.UUID | None, card: dict[str, Any]) -> Strategy:
    """Deploy the structured draft a ``StrategyDraftOutputTool`` call showed, with the trader's edits of its
    card read back into it (by the agent's drafting model); the chat's tool result gets the strategy's id."""
    output = ownership.owned_draft(user, tool_call_id)
    chat = _card_chat(user, chat_id, output.thread_id)
    draft = _parse(output.draft)
    edits = edited_fields(draft, card)
    if edits:
        try:
            draft = read_card_edits(draft, edits, chat_model(runtime().settings))
        except CardUnreadable as exc:
            raise Invalid("the edited draft card could not be read", exc.errors) from exc
        log.info("read the edited fields %s of draft card %s", sorted(edits), tool_call_id)

    def link(strategy_id: str | None) -> None:
        if chat is not None:
            _link_tool_result(chat, str(tool_call_id), strategy_id)

    return _deploy(user, chat, draft, link, name_errors={"name": ["Already used."]})


def _card_chat(user: User, chat_id: uuid.UUID | None, thread_id: uuid.UUID) -> Chat | None:
    """The chat a card is saved from: the one named (checked as the caller's), else the caller's chat holding the
    draft's thread, if it is saved yet (a lookup among the caller's chats: nothing to refuse)."""
    if chat_id is None:
        return db.session.scalar(select(Chat).where(Chat.thread_id == thread_id, Chat.user_id == user.id))
    return ownership.owned_chat_by_id(user, chat_id)


def _deploy(
    user: User,
    chat: Chat | None,
    draft: StrategyDraft,
    link: Callable[[str | None], None],
    name_errors: dict[str, Any],
) -> Strategy:
    if _name_taken(user, draft.name):
        raise Conflict(f"you already have a strategy named {draft.name}", name_errors)
    try:
        code = _code_for(draft)
    except CodeRejected as exc:
        raise _not_accepted(exc) from exc
    return _store(user, chat, _Stored(draft.name, code, draft.model_dump(mode="json")), link, name_errors)


def deploy_code(user: User, name: str, code: str) -> Strategy:
    """Store a trader's own Freqtrade strategy (class ``name``) once the review and the isolated check accept it;
    what the check read off the class (timeframe, ...) stands in for the draft it does not have."""
    name_errors = {"name": ["Already used."]}
    if _name_taken(user, name):
        raise Conflict(f"you already have a strategy named {name}", name_errors)
    try:
        result = review_and_check(
            code, name, list(CODE_CHECK_PAIRS), CODE_CHECK_STAKE_CURRENCY, check=check_in_subprocess
        )
    except CodeRejected as exc:
        raise _not_accepted(exc) from exc
    return _store(user, None, _Stored(name, code, {}, result["loaded"]), lambda _: None, name_errors)


def _not_accepted(exc: CodeRejected) -> Invalid:
    errors: dict[str, Any] = {"code": {exc.stage: exc.details}}
    if NAME_RULE in exc.rules:
        errors["name"] = [detail for detail in exc.details if detail.endswith(f"[{NAME_RULE}]")]
    return Invalid(f"the strategy was not accepted: {exc}", errors)


def _code_for(draft: StrategyDraft) -> str:
    """Compiled (default) or LLM-written; either way reviewed and checked by Freqtrade before it is stored."""
    settings = runtime().settings
    if settings.strategy_codegen is StrategyCodegen.LLM:
        # LlmCodegen reviews each answer and checks it in a child process (code it wrote never runs here).
        return LlmCodegen(chat_model(settings), max_repairs=settings.codegen_max_repairs).generate(draft)
    return accepted_code(draft)


def _name_taken(user: User, name: str) -> bool:
    return db.session.scalar(select(Strategy.id).where(Strategy.user_id == user.id, Strategy.name == name)) is not None


@dataclass(frozen=True)
class _Stored:
    """What a deploy stores: the class name, the accepted code, the draft ({} for code brought as is) and,
    without a draft, what the check read off the class."""

    name: str
    code: str
    draft: dict[str, Any]
    loaded: dict[str, Any] | None = None


def _store(
    user: User,
    chat: Chat | None,
    stored: _Stored,
    link: Callable[[str | None], None],
    name_errors: dict[str, Any],
) -> Strategy:
    dirs = runtime().user_dirs
    path = dirs.strategy_file(user.clerk_id, stored.name)
    code = stored.code
    strategy = Strategy(
        user_id=user.id,
        chat_id=chat.id if chat is not None else None,
        name=stored.name,
        code=code,
        file_path=str(path.relative_to(dirs.path_for(user.clerk_id))),
        draft=stored.draft,
        loaded=stored.loaded,
    )
    # Held until the commit (before the row's locks, as a deletion takes it): a host's sweep of this user waits
    # until the file and the row are both there.
    users.lock(user.clerk_id)
    db.session.add(strategy)
    try:
        db.session.flush()  # claims the (user, name) slot; a concurrent deploy of the name waits here
    except IntegrityError:
        db.session.rollback()
        # Which constraint: the name (a concurrent deploy won), or the chat (deleted meanwhile)?
        if _name_taken(user, stored.name):
            raise Conflict(f"you already have a strategy named {stored.name}", name_errors) from None
        if db.session.scalar(select(Chat.id).where(Chat.id == strategy.chat_id)) is None:
            raise NotFound("chat not found") from None
        raise
    link(str(strategy.id))
    try:
        dirs.ensure(user.clerk_id)
        write_atomically(path, code)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        path.unlink(missing_ok=True)
        raise
    log.info("deployed strategy %s (%s) for %s", stored.name, strategy.id, user.clerk_id)
    return strategy


def _link_message(chat: Chat, index: int, strategy_id: str | None) -> None:
    messages = [dict(message) for message in chat.messages]
    messages[index]["strategy_id"] = strategy_id
    chat.messages = messages


def _link_tool_result(chat: Chat, tool_call_id: str, strategy_id: str | None) -> None:
    """Write ``strategy_id`` into the draft card (the tool result) of that tool call, as the frontend does."""
    messages = [_with_card_link(message, tool_call_id, strategy_id) for message in chat.messages]
    if messages != chat.messages:
        chat.messages = messages


def _with_card_link(message: dict[str, Any], tool_call_id: str, strategy_id: str | None) -> dict[str, Any]:
    invocations = message.get("toolInvocations")
    if not isinstance(invocations, list) or not any(_calls(item, tool_call_id) for item in invocations):
        return message
    linked = [
        {**item, "result": _card_with(item.get("result"), strategy_id)} if _calls(item, tool_call_id) else item
        for item in invocations
    ]
    return {**message, "toolInvocations": linked}


def _calls(invocation: Any, tool_call_id: str) -> bool:
    return isinstance(invocation, dict) and invocation.get("toolCallId") == tool_call_id


def _as_card(result: Any) -> dict[str, Any] | None:
    """A tool result read as a draft card (JSON text, or an object); None when it is not one."""
    if isinstance(result, str):
        try:
            result = json.loads(result)
        except ValueError:
            return None
    return result if isinstance(result, dict) else None


def _card_with(result: Any, strategy_id: str | None) -> Any:
    """The card with ``strategy_id`` set, or removed when None, in the card's own form; other results as they are."""
    card = _as_card(result)
    if card is None:
        return result
    card = {key: value for key, value in card.items() if key != "strategy_id"}
    if strategy_id is not None:
        card["strategy_id"] = strategy_id
    return json.dumps(card) if isinstance(result, str) else card


def _unlink_messages(chat: Chat, strategy_id: uuid.UUID) -> None:
    """Remove the strategy's id from the chat: from our messages and from the cards that carry it."""
    target = str(strategy_id)
    messages = [
        {**message, "strategy_id": None} if message.get("strategy_id") == target else message
        for message in chat.messages
    ]
    for index, message in enumerate(messages):
        for item in message.get("toolInvocations") or []:
            if isinstance(item, dict) and (_as_card(item.get("result")) or {}).get("strategy_id") == target:
                messages[index] = _with_card_link(messages[index], item.get("toolCallId"), None)
    if messages != chat.messages:
        chat.messages = messages


def list_page(user: User, page: int, page_size: int) -> tuple[list[Strategy], int]:
    """One page of the user's strategies, newest first (summaries: the code is not loaded)."""
    query = (
        select(Strategy)
        .where(Strategy.user_id == user.id)
        .order_by(Strategy.created_at.desc(), Strategy.id)
        .options(selectinload(Strategy.chat).load_only(Chat.thread_id), defer(Strategy.code))
    )
    return page_of(query, page, page_size)


get_owned = ownership.owned_strategy

# The strategy as ``StrategySchema`` dumps it (keys sorted, as Flask writes them), its owner, and the caller's
# user id by Clerk id, in one statement (one row even when either is missing). Constants only are formatted in.
# The body is built for its owner only (nothing another's is sent back); whether the caller gets it, a 403 or a
# 404 is ``ownership.check``'s decision on the two ids.
_FALSY_JSON = "('null', 'false', '0', '\"\"', '[]', '{}')"  # what Python's ``or`` passes over in the draft
_OWNED_JSON = f"""
SELECT u.id AS caller_id, s.user_id AS owner_id,
       CASE WHEN s.user_id = u.id THEN json_build_object(
           'chat_id', s.chat_id,
           'code', s.code,
           'created_at', {iso_datetime("s.created_at")},
           'description', coalesce(s.draft -> 'description', '""'),
           'draft', s.draft,
           'file_path', s.file_path,
           'id', s.id,
           'name', s.name,
           'pairs', s.draft -> 'pairs',
           'thread_id', c.thread_id,
           'timeframe', CASE WHEN coalesce(s.draft -> 'timeframe', 'null') IN {_FALSY_JSON}
                             THEN s.loaded ->> 'timeframe' ELSE s.draft ->> 'timeframe' END,
           'updated_at', {iso_datetime("s.updated_at")}
       )::text END AS body
  FROM (SELECT 1) AS one
  LEFT JOIN users AS u ON u.clerk_id = %(clerk_id)s
  LEFT JOIN strategies AS s ON s.id = %(strategy_id)s
  LEFT JOIN chats AS c ON c.id = s.chat_id
"""  # noqa: S608


def get_owned_json(clerk_id: str, strategy_id: uuid.UUID, account: Callable[[], User]) -> str:
    """:func:`get_owned` as the response's JSON text, read with the caller's user row by Clerk id.

    ``account`` is called when there is no such row yet (it provisions the user or refuses a deleted
    account); the ownership rule is :func:`ownership.check`'s, as for every owned row.
    """
    row = json_reads.fetch_one(_OWNED_JSON, {"clerk_id": clerk_id, "strategy_id": strategy_id})
    assert row is not None  # FROM a one-row SELECT: always one row
    caller_id, owner_id, body = row
    ownership.check(caller_id if caller_id is not None else account().id, owner_id, "strategy")
    return cast(str, body)


def delete(user: User, strategy_id: uuid.UUID) -> None:
    strategy = get_owned(user, strategy_id)
    remove_files = stage_delete(user, strategy)
    db.session.commit()
    remove_files()
    publish_prune(user.clerk_id)  # the copies on the worker hosts


def stage_delete(user: User, strategy: Strategy) -> Callable[[], None]:
    """Delete the row (its backtests cascade) and unlink chat messages in the current transaction.

    Returns the file-system clean-up to run once the transaction has committed.
    """
    dirs = runtime().user_dirs
    paths: list[Path] = [dirs.path_for(user.clerk_id) / strategy.file_path]
    backtest_ids = db.session.scalars(select(Backtest.id).where(Backtest.strategy_id == strategy.id)).all()
    paths += [dirs.backtest_results(user.clerk_id, backtest_id) for backtest_id in backtest_ids]
    if strategy.chat_id is not None:
        chat = db.session.get(Chat, strategy.chat_id)
        if chat is not None:
            _unlink_messages(chat, strategy.id)
    db.session.delete(strategy)

    def remove_files() -> None:
        for path in paths:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)

    return remove_files
