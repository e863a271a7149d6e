"""Response policy in one place: security headers, public caching, no cookies.

- Security headers on every response, errors included (Flask-Talisman): a
  CSP without inline script, ``object-src 'none'``, ``base-uri 'none'``,
  ``frame-ancestors 'none'``; ``nosniff``; ``Referrer-Policy: no-referrer``;
  HSTS when the request came over HTTPS. Badges relax framing only
  (:data:`EMBEDDABLE`), through Talisman's per-view options.
- Public responses are built once per chain head and path and served from
  memory (:func:`public_response`): ``ETag`` = release + language,
  ``Cache-Control`` for shared caches, 304 for ``If-None-Match``, and neither
  ``Set-Cookie`` nor ``Vary: Cookie``.

May import: Flask, Flask-Talisman, :mod:`tracker.services.published`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, request
from flask_talisman import Talisman

from tracker.extensions import db
from tracker.services import published

CSP: dict[str, str | list[str]] = {
    "default-src": "'self'",
    "script-src": "'self'",
    # pygal's inline SVG carries <style> and style attributes; never script
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}

#: Per-view options for responses other sites may embed (badges).
EMBEDDABLE: dict[str, Any] = {
    "frame_options": None,
    "content_security_policy": {**CSP, "frame-ancestors": "*"},
}

PUBLIC_CACHE = "public, max-age=300, s-maxage=3600, stale-while-revalidate=86400, stale-if-error=604800"
#: A published release never changes: its JSON may be cached for good.
IMMUTABLE_CACHE = "public, max-age=31536000, immutable"

talisman = Talisman()


def install(app: Flask) -> None:
    """Bind the header policy to the app."""
    talisman.init_app(
        app,
        force_https=False,  # TLS ends at the reverse proxy; HSTS is still sent over HTTPS
        frame_options="DENY",
        content_security_policy=CSP,
        referrer_policy="no-referrer",
        session_cookie_secure=not app.config.get("TESTING", False) and app.config.get("TRACKER_ENV") != "development",
        strict_transport_security=True,
        permissions_policy={"interest-cohort": "()", "browsing-topics": "()"},
    )
    app.after_request(_no_cookies_in_public)


def _no_cookies_in_public(response: Response) -> Response:
    if not request.path.startswith("/admin"):
        response.headers.pop("Set-Cookie", None)
        vary = [v.strip() for v in response.headers.get("Vary", "").split(",") if v.strip() and v.strip().lower() != "cookie"]
        if vary:
            response.headers["Vary"] = ", ".join(vary)
        else:
            response.headers.pop("Vary", None)
    return response


class _Store:
    """A small LRU of built public responses, keyed by database, head and URL."""

    def __init__(self, size: int = 2048) -> None:
        self.size = size
        self.items: OrderedDict[tuple[Any, ...], tuple[bytes, str, int]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> tuple[bytes, str, int] | None:
        with self.lock:
            item = self.items.get(key)
            if item is not None:
                self.items.move_to_end(key)
            return item

    def put(self, key: tuple[Any, ...], item: tuple[bytes, str, int]) -> None:
        with self.lock:
            self.items[key] = item
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)


_store = _Store()


def public_response(
    build: Callable[[published.Figures], tuple[bytes | str, int] | bytes | str],
    mimetype: str,
    *,
    lang: str | None = None,
    cache_control: str = PUBLIC_CACHE,
) -> Response:
    """Serve a public resource built from the published figures, cached per release.

    ``build`` returns the body (or body and status); it runs once per chain
    head, URL and host. The ETag names the release and the language.
    """
    figures = published.figures(db.session)
    release = figures.head.seq if figures.head else 0
    etag = f"r{release}-{lang}" if lang else f"r{release}"
    key = (str(db.engine.url), release, request.host, request.path)
    item = _store.get(key)
    if item is None:
        result = build(figures)
        body, status = result if isinstance(result, tuple) else (result, 200)
        data = body.encode("utf-8") if isinstance(body, str) else body
        item = (data, mimetype, status)
        _store.put(key, item)
    data, mimetype, status = item
    response = Response(data, status=status, mimetype=mimetype)
    if status == 200:
        response.set_etag(etag)
        response.headers["Cache-Control"] = cache_control
        response.make_conditional(request)
    else:
        response.headers["Cache-Control"] = "public, max-age=300"
    return response
