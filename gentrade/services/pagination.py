"""One page of a query and the total across pages: every list endpoint pages the same way."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, func, select

from gentrade.extensions import db

T = TypeVar("T")


def page_of(query: Select[tuple[T]], page: int, page_size: int) -> tuple[list[T], int]:
    """Rows ``page_size * (page - 1)`` onwards of ``query`` (already ordered), and the total count."""
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = db.session.scalars(query.offset((page - 1) * page_size).limit(page_size)).all()
    return list(rows), total


def envelope(items: list[Any], total: int, pagination: Any) -> dict[str, Any]:
    """The list body (``PageSchema``); also sets the total for flask-smorest's ``X-Pagination`` header."""
    pagination.item_count = total
    return {"items": items, "total": total, "page": pagination.page, "page_size": pagination.page_size}
