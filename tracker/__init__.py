"""tracker: accounts for every coin raised for political prisoners.

Only :func:`create_app` is re-exported, lazily, so that importing
``tracker.importers`` or ``tracker.tagging`` never loads Flask or SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from flask import Flask

__all__ = ["create_app"]


def create_app(
    config: dict[str, Any] | None = None, *, instance_path: str | Path | None = None
) -> Flask:
    """Build the Flask application (see :func:`tracker.app.create_app`)."""
    from tracker.app import create_app as _create_app

    return _create_app(config, instance_path=instance_path)
