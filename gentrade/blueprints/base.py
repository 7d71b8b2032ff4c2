"""The blueprint class every resource uses, so list endpoints share one pagination contract."""

from __future__ import annotations

from flask_smorest import Blueprint


class ApiBlueprint(Blueprint):
    DEFAULT_PAGINATION_PARAMETERS = {"page": 1, "page_size": 20, "max_page_size": 100}
