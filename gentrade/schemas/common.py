"""Schemas shared by several resources."""

from __future__ import annotations

from typing import Any

import marshmallow as ma


class StrictSchema(ma.Schema):
    """Request bodies refuse unknown fields, so a typo is a 422 and not silently dropped."""

    class Meta:
        unknown = ma.RAISE


class PageSchema(ma.Schema):
    """The envelope of a paginated list; the same totals are in the ``X-Pagination`` header."""

    total = ma.fields.Integer(required=True, metadata={"description": "Items across all pages."})
    page = ma.fields.Integer(required=True)
    page_size = ma.fields.Integer(required=True)


def page_of(items_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """A ``PageSchema`` subclass whose ``items`` are ``items_schema`` objects."""
    fields: dict[str, Any] = {"items": ma.fields.List(ma.fields.Nested(items_schema), required=True)}
    return type(name, (PageSchema,), fields)


class StatusSchema(ma.Schema):
    status = ma.fields.String(required=True)
