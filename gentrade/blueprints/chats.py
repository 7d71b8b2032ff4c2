"""``/api/v1/chats``: HTTP only; the chats service does the work."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from flask import Response
from flask.views import MethodView
from flask_smorest.pagination import PaginationParameters

from gentrade.auth import current_clerk_id, current_user, login_required
from gentrade.blueprints.base import ApiBlueprint, json_body
from gentrade.models import Chat
from gentrade.schemas.chats import (
    ChatCreateSchema,
    ChatSchema,
    ChatSummarySchema,
    ChatUpdateByBodySchema,
    ChatUpdateSchema,
)
from gentrade.services import chats, json_reads

blp = ApiBlueprint("chats", __name__, url_prefix="/api/v1/chats", description="Chat histories with the agent.")


@blp.route("")
class Chats(MethodView):
    # Per method: the list reads the caller's user row in its own statement.
    @login_required(get_without_transaction=False, provision_user_first=True)
    @blp.arguments(ChatCreateSchema)
    @blp.response(201, ChatSchema)
    @blp.alt_response(200, schema=ChatSchema, description="Saved again: the chat under this thread_id was updated.")
    @blp.alt_response(409, description="This thread_id is someone else's.")
    def post(self, body: dict[str, Any]) -> tuple[Chat, int]:
        """Start a chat (under your own ``thread_id`` if you give one); the answer carries its ``thread_id``."""
        chat, created = chats.create(current_user(), body.get("title"), body.get("messages"), body.get("thread_id"))
        return chat, 201 if created else 200

    @login_required(get_without_transaction=False, provision_user_first=False)
    @blp.response(200, ChatSummarySchema(many=True))
    @blp.paginate()
    def get(self, pagination_parameters: PaginationParameters) -> list[Mapping[str, Any]] | Response:
        """List the caller's chats (summaries), most recently updated first."""
        page, page_size = pagination_parameters.page, pagination_parameters.page_size
        if json_reads.supported():  # the most read route: PostgreSQL writes the JSON
            body, pagination_parameters.item_count = chats.list_page_json(
                current_clerk_id(), page, page_size, current_user
            )
            return json_body(body)
        items, pagination_parameters.item_count = chats.list_page(current_user(), page, page_size)
        return items

    @login_required(get_without_transaction=False, provision_user_first=True)
    @blp.arguments(ChatUpdateByBodySchema)
    @blp.response(200, ChatSchema)
    def patch(self, body: dict[str, Any]) -> Chat:
        """Update the chat named by ``thread_id`` in the body (the frontend's form)."""
        thread_id = body.pop("thread_id")
        return chats.update(current_user(), thread_id, **body)


@blp.route("/<uuid:thread_id>")
class ChatByThread(MethodView):
    decorators = [login_required(get_without_transaction=True, provision_user_first=True)]

    @blp.response(200, ChatSchema)
    def get(self, thread_id: uuid.UUID) -> Chat:
        """One chat with its messages."""
        return chats.get_owned(current_user(), thread_id)

    @blp.arguments(ChatUpdateSchema)
    @blp.response(200, ChatSchema)
    def patch(self, body: dict[str, Any], thread_id: uuid.UUID) -> Chat:
        """Change the title and/or replace the messages."""
        return chats.update(current_user(), thread_id, **body)

    @blp.response(204)
    def delete(self, thread_id: uuid.UUID) -> None:
        """Delete the chat and everything made from it."""
        chats.delete(current_user(), thread_id)
