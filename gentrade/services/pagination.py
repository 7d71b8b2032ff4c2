"""One page of a query and the total across pages: every list endpoint pages the same way."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from sqlalchemy import Row, Select, func, select

from gentrade.extensions import db

T = TypeVar("T")
MAX_OFFSET = 2**63 - 1  # PostgreSQL's OFFSET is a bigint: a page past it is past the end of any table


def _counted_page(
    query: Select[Any], page: int, page_size: int, params: Mapping[str, Any] | None = None
) -> tuple[list[Row[Any]], int]:
    """The page's rows (each with the total as its last column) and the total.

    One statement: the total rides along on every row as ``count(*) OVER ()`` (window functions see
    all matching rows before LIMIT/OFFSET). Only a page past the end, which has no row to carry it,
    costs a second statement to count.
    """
    offset = (page - 1) * page_size
    counted = query.add_columns(func.count().over()).offset(offset).limit(page_size)
    rows = list(db.session.execute(counted, params).all()) if offset <= MAX_OFFSET else []
    if rows:
        return rows, rows[0][-1]
    if page == 1:
        return [], 0
    return [], db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()), params) or 0


def page_of(
    query: Select[tuple[T]], page: int, page_size: int, params: Mapping[str, Any] | None = None
) -> tuple[list[T], int]:
    """Entities ``page_size * (page - 1)`` onwards of ``query`` (one entity, already ordered), and the total.
    ``params`` fill the query's ``bindparam()``s."""
    rows, total = _counted_page(query, page, page_size, params)
    return [row[0] for row in rows], total


def rows_page_of(
    query: Select[Any], page: int, page_size: int, params: Mapping[str, Any] | None = None
) -> tuple[list[Mapping[str, Any]], int]:
    """Like :func:`page_of` for a query of columns: plain read-only rows by column name, no ORM objects
    (building entities cost a list request more than the query did)."""
    rows, total = _counted_page(query, page, page_size, params)
    return [row._mapping for row in rows], total
