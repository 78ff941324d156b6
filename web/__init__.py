"""Flask pages, JSON API and the `lookalike` command line.

Importing `web` loads nothing heavy: the app factory lives in `web.app` (Flask, the serving
runtime), the commands in `web.cli`, and each command imports only what it uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from web.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":  # `from web import create_app` without importing Flask eagerly
        from web.app import create_app

        return create_app
    raise AttributeError(f"module 'web' has no attribute {name!r}")
