"""The signed-in side under ``/admin``: treasurers, organisers, admins."""

from __future__ import annotations

from tracker.web.admin import entries, money_pages  # noqa: F401 - register their views on bp
from tracker.web.admin import classify  # noqa: F401 - classification and transfers between funds
from tracker.web.admin import imports  # noqa: F401
from tracker.web.admin import catalog  # noqa: F401 - campaigns and prisoners
from tracker.web.admin import records  # noqa: F401 - donation and statement line search
from tracker.web.admin import review_pages  # noqa: F401 - the review queue and re-tagging
from tracker.web.admin.views import bp

__all__ = ["bp"]
