"""The public site: no sign-in, no cookies, published figures only."""

from __future__ import annotations

from tracker.web.public.views import bp

__all__ = ["bp"]
