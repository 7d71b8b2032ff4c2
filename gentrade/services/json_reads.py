"""Reads whose response body PostgreSQL builds in the query (``json_build_object``, ``json_agg``).

The hottest routes (a chat list, a strategy) spent most of their CPU loading rows into Python and dumping
them with marshmallow; PostgreSQL writes the same JSON in microseconds, and the route returns its text as is.
Each statement's JSON must be what the route's response schema dumps for the same rows (field names,
``null``s, the datetime format): ``tests/integration/test_json_reads.py`` compares both on the same rows.
SQLite (the embedded default) has no such functions: there the routes keep the ORM and schema path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Row

from gentrade.extensions import db

# Python's ``datetime.isoformat()`` of a UTC datetime, which marshmallow's AwareDateTime dumps: the fraction
# only when there are microseconds, always six digits, and ``+00:00``.
_WHOLE_SECOND = 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'
_FRACTION = 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'


def supported() -> bool:
    """Whether the app's database builds JSON (PostgreSQL)."""
    return db.engine.dialect.name == "postgresql"


def iso_datetime(column: str) -> str:
    """SQL for the text AwareDateTime dumps for the ``timestamptz`` column (UTC whatever the session's zone)."""
    utc = f"({column} AT TIME ZONE 'UTC')"
    whole = f"date_trunc('second', {utc}) = {utc}"
    return f"to_char({utc}, CASE WHEN {whole} THEN '{_WHOLE_SECOND}' ELSE '{_FRACTION}' END)"


def fetch_one(sql: str, params: Mapping[str, Any]) -> Row[Any] | None:
    """The first row of the read ``sql`` (the driver's own SQL, ``%(name)s`` parameters).

    On a pooled connection of its own in autocommit (one statement: no ``BEGIN``/``ROLLBACK`` round trips),
    without the ORM session's transaction bookkeeping around it, and handed to the driver as it is: no
    statement to compile or cache-key. SQLAlchemy still wraps the driver's errors, so a connection the
    server ended is a 503 and is replaced, as on every other route.
    """
    with db.engine.connect() as connection:
        return connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(sql, params).first()
