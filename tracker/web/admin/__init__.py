"""The signed-in side under ``/admin``: treasurers, organisers, admins."""

from __future__ import annotations

from tracker.web.admin.views import bp

__all__ = ["bp"]
