"""A strategy name the user does not have yet: ``RsiDipBuyer`` -> ``RsiDipBuyerV2`` -> ``RsiDipBuyerV3``.

Why: names are unique per user (they name the class and the file), so a draft that reuses a deployed name
could never be deployed. The agent names each draft with this before showing it.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from gentrade.strategies.draft import NAME_PATTERN

MAX_NAME = 64
_VERSION = re.compile(r"V(\d+)$")


def free_name(name: str, taken: Collection[str]) -> str:
    """``name`` if free, else its next version (``V2``, ``V3``, ...) that is free and still a valid name."""
    if name not in taken:
        return name
    match = _VERSION.search(name)
    stem, version = (name[: match.start()], int(match.group(1))) if match and match.start() >= 3 else (name, 1)
    while True:
        version += 1
        suffix = f"V{version}"
        candidate = stem[: MAX_NAME - len(suffix)] + suffix
        if candidate not in taken and re.fullmatch(NAME_PATTERN, candidate):
            return candidate
