"""The blueprint class every resource uses, so list endpoints share one pagination contract (a JSON array
in the body, flask-smorest's ``X-Pagination`` header beside it) and every JSON body is read by the same parser."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

import flask
import marshmallow as ma
from flask_smorest import Blueprint
from flask_smorest.pagination import PaginationMetadataSchema
from webargs.flaskparser import FlaskParser, abort

# PostgreSQL text and JSONB hold neither NUL characters nor unpaired UTF-16 surrogates (which JSON's
# ``\\u`` escapes can spell): such input is refused as invalid, where the database would fail with a 500.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE_MESSAGE = "Text may not contain NUL characters or unpaired surrogates."
TOO_DEEP_MESSAGE = "Invalid JSON body: nested too deeply."
PAGINATION_HEADER = {
    "description": "The pagination metadata as JSON: the total across pages and the page numbers around this one.",
    "content": {"application/json": {"schema": PaginationMetadataSchema}},
}


# An agent turn's refusals, before any byte is streamed (documentation; the body is the usual error).
TURN_REFUSALS: dict[str, Any] = {
    "409": {"description": "Another turn is running in this chat; wait for it to end."},
    "429": {
        "description": "A per-user limit (turns per minute, turns at once, tokens per day on a hosted model); "
        "the `Retry-After` header says in how many seconds to try again."
    },
}


def sse_event_schema(*events: str) -> dict[str, Any]:
    """One server-sent event as a client's parser yields it: its name and its data (JSON text)."""
    return {
        "type": "object",
        "required": ["event", "data"],
        "properties": {
            "event": {"type": "string", "enum": list(events)},
            "data": {"type": "string", "description": "A JSON document."},
        },
    }


def storable(value: Any) -> bool:
    """Whether every string in a parsed JSON document (keys included) can be stored; iterative, so any depth."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if _UNSTORABLE.search(item):
                return False
        elif isinstance(item, Mapping):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return True


class StorableJsonParser(FlaskParser):
    """webargs' parser, answering 400/422 (not 500) for JSON nested past the interpreter's limit or unstorable text."""

    def _raw_load_json(self, req: flask.Request) -> Any:
        try:
            data = super()._raw_load_json(req)
        except RecursionError:
            abort(400, messages={"json": [TOO_DEEP_MESSAGE]})
        if not storable(data):
            abort(422, messages={"json": [UNSTORABLE_MESSAGE]})
        return data


class _SchemaReusingParser(FlaskParser):
    """flask-smorest hands webargs its pagination-parameters schema as a class, so every list request
    built a schema (copying its fields) to read two query arguments; one instance per class serves all."""

    def _get_schema(self, argmap: Any, req: flask.Request) -> ma.Schema:
        if isinstance(argmap, type) and issubclass(argmap, ma.Schema):
            return _schema_instance(argmap)
        return super()._get_schema(argmap, req)


@functools.cache
def _schema_instance(schema_class: type[ma.Schema]) -> ma.Schema:
    return schema_class()


def json_body(text: str) -> flask.Response:
    """A 200 whose JSON the database wrote (see ``gentrade.services.json_reads``): flask-smorest passes a
    ``Response`` through its response and pagination decorators untouched, beside the ``X-Pagination`` header."""
    return flask.current_app.response_class(text, mimetype="application/json")


class ApiBlueprint(Blueprint):
    ARGUMENTS_PARSER = StorableJsonParser()
    PAGINATION_ARGUMENTS_PARSER = _SchemaReusingParser()
    # A sidebar shows a user's whole list in one request; a larger page must still stay one bounded query.
    DEFAULT_PAGINATION_PARAMETERS = {"page": 1, "page_size": 100, "max_page_size": 500}

    @staticmethod
    def _make_pagination_metadata(page: int, page_size: int, item_count: int) -> dict[str, int]:
        """flask-smorest's ``X-Pagination`` document, without building its schema on every list request (a tenth
        of a list request's CPU) to dump what are integers already; the same keys and values (a unit test
        compares both)."""
        metadata = {"total": item_count}
        if item_count == 0:
            metadata["total_pages"] = 0
            return metadata
        last_page = (item_count - 1) // page_size + 1
        metadata.update(total_pages=last_page, first_page=1, last_page=last_page)
        if page <= last_page:
            metadata["page"] = page
            if page > 1:
                metadata["previous_page"] = page - 1
            if page < last_page:
                metadata["next_page"] = page + 1
        return metadata

    def _document_pagination_metadata(self, spec: Any, resp_doc: dict[str, Any]) -> None:
        """``X-Pagination`` is a JSON document, not a header-style ``key,value`` list as ``schema`` would say."""
        resp_doc.setdefault("headers", {})[self.PAGINATION_HEADER_NAME] = PAGINATION_HEADER
