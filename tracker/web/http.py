"""Response policy in one place: security headers, public caching, no cookies.

- Security headers on every response, errors included (Flask-Talisman): a
  CSP without inline script, ``object-src 'none'``, ``base-uri 'none'``,
  ``frame-ancestors 'none'``; ``nosniff``; ``Referrer-Policy: no-referrer``;
  HSTS when the request came over HTTPS. Badges relax framing only
  (:data:`EMBEDDABLE`), through Talisman's per-view options.
- Public responses are built once per chain head and path and served from
  memory (:func:`public_response`): ``ETag`` = release + language,
  ``Cache-Control`` for shared caches, 304 for ``If-None-Match``, and neither
  ``Set-Cookie`` nor ``Vary: Cookie`` (the session interface writes only under
  ``/admin``: :class:`tracker.web.admin.access.AdminOnlySessions`).
- Files (open data, the chain, the books export) carry an RFC 6266
  ``Content-Disposition`` (:func:`content_disposition`) whose name the view
  builds from what the database holds, never from the request.

May import: Flask, Flask-Talisman, :mod:`tracker.services.published`.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import quote

from flask import Flask, Response, current_app, request
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

#: characters kept in the ASCII ``filename=`` (anything else becomes ``_``)
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
#: what RFC 8187 ``attr-char`` allows unencoded, beyond letters and digits
_ATTR_CHARS = "!#$&+-.^_`|~"
_MAX_NAME = 150


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _UNSAFE_NAME.sub("_", folded).strip("_.-")


def content_disposition(name: str, disposition: Literal["attachment", "inline"] = "attachment") -> str:
    """An RFC 6266 ``Content-Disposition`` value for a file called ``name``.

    ``filename=`` is always a quoted, safe ASCII name: letters, digits, ``.``,
    ``_`` and ``-`` only (no path, no quote, no control character, no leading
    dot; accents folded, other letters dropped). When that differs from the
    name, ``filename*=UTF-8''...`` (RFC 8187) carries the whole name, for the
    clients that read it. Path separators and control characters survive in
    neither form.
    """
    cleaned = "".join(" " if unicodedata.category(c)[0] in "CZ" and c != " " else c for c in name)
    cleaned = cleaned.replace("/", "_").replace("\\", "_").strip().lstrip(".")[:_MAX_NAME] or "download"
    stem, dot, suffix = cleaned.rpartition(".")
    if not dot:
        stem, suffix = cleaned, ""
    ascii_stem, ascii_suffix = _ascii(stem), _ascii(suffix)
    ascii_name = (ascii_stem or "download") + ("." + ascii_suffix if ascii_suffix else "")
    value = f'{disposition}; filename="{ascii_name}"'
    if cleaned != ascii_name:
        value += "; filename*=UTF-8''" + quote(cleaned, safe=_ATTR_CHARS)
    return value


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
    proxies = int(app.config.get("PROXY_COUNT") or 0)
    if proxies:
        # behind a TLS-terminating proxy: trust its X-Forwarded-* headers, so HSTS, the
        # rate limits' client address and external URLs are right
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)  # type: ignore[method-assign]
    app.wsgi_app = FrontCache(app.wsgi_app, app)  # type: ignore[method-assign]


class _Store:
    """A small, thread-safe LRU of built public responses."""

    def __init__(self, size: int = 2048) -> None:
        self.size = size
        self.items: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> Any:
        with self.lock:
            item = self.items.get(key)
            if item is not None:
                self.items.move_to_end(key)
            return item

    def put(self, key: tuple[Any, ...], item: Any) -> None:
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
    download: str | Callable[[published.Figures], str] | None = None,
    disposition: Literal["attachment", "inline"] = "attachment",
) -> Response:
    """Serve a public resource built from the published figures, cached per release.

    ``build`` returns the body (or body and status); it runs once per chain
    head, URL and host. The ETag names the release and the language.
    ``download`` names the file (or builds its name from the figures, after
    ``build`` found what the URL asks for): a ``Content-Disposition`` with
    ``disposition`` on a 200.
    """
    figures = published.figures(db.session, current_app.config.get("PUBLIC_HEAD_MAX_AGE", 1))
    release = f"{figures.head.seq}-{figures.head.sha256[:12]}" if figures.head else "0"
    etag = f"r{release}-{lang}" if lang else f"r{release}"
    sha = figures.head.sha256 if figures.head else None
    key = (str(db.engine.url), sha, request.host, request.path)
    item = _store.get(key)
    if item is None:
        result = build(figures)
        body, status = result if isinstance(result, tuple) else (result, 200)
        data = body.encode("utf-8") if isinstance(body, str) else body
        name = download(figures) if callable(download) else download
        header = content_disposition(name, disposition) if name is not None and status == 200 else None
        item = (data, mimetype, status, header)
        _store.put(key, item)
    data, mimetype, status, header = item
    response = Response(data, status=status, mimetype=mimetype)
    if header is not None:
        response.headers["Content-Disposition"] = header
    if status == 200:
        response.set_etag(etag)
        response.headers["Cache-Control"] = cache_control
        response.make_conditional(request)
        if response.status_code == 200:
            # the front cache (FrontCache) may keep the finished response for this release
            response.headers[FrontCache.MARK] = sha or "-"
            request.environ["tracker.database"] = key[0]
    else:
        response.headers["Cache-Control"] = "public, max-age=300"
    return response


class FrontCache:
    """WSGI middleware: finished public responses served again without entering Flask.

    Only responses that :func:`public_response` built for a release (it marks
    them) are kept, with every header Flask and Talisman added, keyed by
    database, scheme, host and path and by the release they belong to. A
    request is answered from here only while the chain head was confirmed
    within ``PUBLIC_HEAD_MAX_AGE`` seconds (:func:`published.current_head`);
    otherwise it goes through Flask, which looks the head up again. Conditional
    requests get a 304. Admin paths never come here.
    """

    MARK = "X-Tracker-Release"

    def __init__(self, wsgi_app: Any, app: Flask) -> None:
        """Wrap ``wsgi_app`` (the Flask app's own)."""
        self.wsgi_app = wsgi_app
        self.app = app
        self.items = _Store()

    def _key(self, environ: dict[str, Any]) -> tuple[Any, ...]:
        return (environ.get("wsgi.url_scheme"), environ.get("HTTP_HOST", ""), environ.get("PATH_INFO", ""))

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """Answer from memory when the release is current, else run Flask and remember."""
        method = environ.get("REQUEST_METHOD")
        path = environ.get("PATH_INFO", "")
        if method not in ("GET", "HEAD") or path.startswith("/admin") or environ.get("QUERY_STRING"):
            return self.wsgi_app(environ, start_response)
        key = self._key(environ)
        item = self.items.get(key)
        if item is not None:
            url, sha, headers, body, etag = item
            if published.fresh_head_sha(url, self.app.config.get("PUBLIC_HEAD_MAX_AGE", 1)) == sha:
                if etag and etag in environ.get("HTTP_IF_NONE_MATCH", ""):
                    start_response("304 NOT MODIFIED", [(k, v) for k, v in headers if k.lower() not in ("content-length", "content-type")])
                    return [b""]
                start_response("200 OK", headers)
                return [b""] if method == "HEAD" else [body]
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            mark = next((v for k, v in headers if k == self.MARK), None)
            clean = [(k, v) for k, v in headers if k != self.MARK]
            captured["mark"], captured["clean"] = mark, clean
            return start_response(status, clean, exc_info) if exc_info else start_response(status, clean)

        result = self.wsgi_app(environ, capture)
        if captured.get("mark") and captured["status"].startswith("200") and method == "GET":
            body = b"".join(result)
            if hasattr(result, "close"):
                result.close()
            etag = next((v for k, v in captured["clean"] if k.lower() == "etag"), "")
            url = environ.get("tracker.database", "")
            self.items.put(key, (url, captured["mark"], captured["clean"], body, etag))
            return [body]
        return result
