"""How request bodies with files are received.

Every file part of every request is written into a
:class:`~tracker.services.uploads.SealingSpool`, never into Werkzeug's
default temporary file, so no uploaded byte reaches the disk in clear (rule
10). Bodies are capped by ``MAX_CONTENT_LENGTH``, except on the views named in
:data:`LARGE_BODY_ENDPOINTS`, which allow ``IMPORT_MAX_BYTES``; Werkzeug
refuses a declared length over the cap with 413 before reading the body, and
stops reading a streamed body at the cap. Request bodies are never
decompressed (a ``Content-Encoding`` on a request is refused).

May import: Flask, Werkzeug, :mod:`tracker.services.uploads`, :mod:`tracker.services.keys`.
"""

from __future__ import annotations

from typing import IO, Any

from flask import Flask, Request, abort, current_app, request

#: Views that accept import uploads: the only place bodies may exceed MAX_CONTENT_LENGTH.
LARGE_BODY_ENDPOINTS = frozenset({"admin.imports_page"})


class TrackerRequest(Request):
    """A request whose file parts are sealed on arrival."""

    @property
    def max_content_length(self) -> int | None:  # type: ignore[override]
        """``IMPORT_MAX_BYTES`` on the upload views, ``MAX_CONTENT_LENGTH`` elsewhere."""
        if self._max_content_length is not None:
            return self._max_content_length
        if not current_app:
            return super().max_content_length
        if self.url_rule is not None and self.url_rule.endpoint in LARGE_BODY_ENDPOINTS:
            return int(current_app.config["IMPORT_MAX_BYTES"])
        return super().max_content_length

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value

    def _get_file_stream(
        self, total_content_length: int | None, content_type: str | None, filename: str | None = None, content_length: int | None = None
    ) -> IO[bytes]:
        from tracker.services.keys import server_keys
        from tracker.services.uploads import SealingSpool

        return SealingSpool(server_keys().hash_key)


def install(app: Flask) -> None:
    """Use :class:`TrackerRequest` and refuse encoded request bodies."""
    app.request_class = TrackerRequest

    @app.before_request
    def _no_encoded_bodies() -> Any:
        if request.headers.get("Content-Encoding", "identity").strip().lower() not in ("", "identity"):
            abort(415)
        return None
