"""Schemas shared by several resources."""

from __future__ import annotations

import marshmallow as ma


class StrictSchema(ma.Schema):
    """Request bodies refuse unknown fields, so a typo is a 422 and not silently dropped."""

    class Meta:
        unknown = ma.RAISE


class StatusSchema(ma.Schema):
    status = ma.fields.String(required=True)
