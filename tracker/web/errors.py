"""Error pages: plain, translated, with the same headers as every response.

They name no input: a 404 for a slug does not echo the slug back.

May import: Flask, Werkzeug.
"""

from __future__ import annotations

from flask import Flask, Response, render_template, request
from werkzeug.exceptions import HTTPException


def install(app: Flask) -> None:
    """Render HTTP errors as small pages (JSON for open data)."""

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        code = error.code or 500
        if request.path.startswith(("/open-data/", "/campaign/", "/prisoner/")) and request.path.endswith((".json", ".csv")):
            response = Response(f'{{"error": {code}}}\n', status=code, mimetype="application/json")
        else:
            response = Response(render_template("error.html", code=code), status=code, mimetype="text/html")
        response.headers["Cache-Control"] = "public, max-age=60"
        return response
