"""GenTrade backend. ``create_app()`` (:mod:`gentrade.app`) wires settings, extensions, blueprints and error handlers.

Why it is imported lazily: importing a light part of the package (the backtest fork server, the process guards)
must not load Flask, LangChain and the settings with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gentrade.app import ConfigurationError, create_app

__all__ = ["ConfigurationError", "create_app"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from gentrade import app

        return getattr(app, name)
    raise AttributeError(f"module 'gentrade' has no attribute {name!r}")
