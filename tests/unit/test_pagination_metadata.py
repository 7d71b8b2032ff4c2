"""``ApiBlueprint`` writes the ``X-Pagination`` header without flask-smorest's per-request schema: the same
document, key for key and in the same order."""

from __future__ import annotations

import json

import pytest
from flask_smorest.pagination import PaginationMixin

from gentrade.blueprints.base import ApiBlueprint


@pytest.mark.parametrize("item_count", [0, 1, 9, 10, 11, 99, 100, 101, 1234])
def test_the_pagination_header_is_flask_smorests(item_count: int) -> None:
    for page_size in (1, 3, 10, 100, 500):
        for page in (1, 2, 3, 10, 11, 13, 124, 125, 10**20):
            ours = ApiBlueprint._make_pagination_metadata(page, page_size, item_count)
            theirs = PaginationMixin._make_pagination_metadata(page, page_size, item_count)
            assert json.dumps(ours) == json.dumps(theirs), (page, page_size, item_count)
