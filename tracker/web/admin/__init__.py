"""The signed-in side under ``/admin``: treasurers, organisers, admins."""

from __future__ import annotations

from tracker.web.admin import money_pages  # noqa: F401 - registers its views on bp
from tracker.web.admin.views import bp

__all__ = ["bp"]
