"""Error pages: plain, translated, with the same headers as every response.

They name no input: a 404 for a slug does not echo the slug back. A 429
(a rate limit, e.g. on signing in) says how long to wait, in the page and in
``Retry-After``; it never says whether the account exists.

May import: Flask, Werkzeug, Flask-Limiter.
"""

from __future__ import annotations

import math
import time

from flask import Flask, Response, render_template, request
from werkzeug.exceptions import HTTPException, TooManyRequests


def _retry_after() -> int:
    """Seconds until the limit that refused this request lets requests in again (at least 1)."""
    from tracker.web.admin.access import limiter

    current = limiter.current_limit
    if current is None:
        return 60
    return max(1, math.ceil(current.reset_at - time.time()))


def install(app: Flask) -> None:
    """Render HTTP errors as small pages (JSON for open data)."""

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        code = error.code or 500
        if isinstance(error, TooManyRequests):
            seconds = _retry_after()
            response = Response(render_template("rate_limited.html", minutes=math.ceil(seconds / 60)), status=429, mimetype="text/html")
            response.headers["Retry-After"] = str(seconds)
            response.headers["Cache-Control"] = "no-store"
            return response
        if request.path.startswith(("/open-data/", "/campaign/", "/prisoner/")) and request.path.endswith((".json", ".csv")):
            response = Response(f'{{"error": {code}}}\n', status=code, mimetype="application/json")
        else:
            response = Response(render_template("error.html", code=code), status=code, mimetype="text/html")
        response.headers["Cache-Control"] = "public, max-age=60"
        return response
