"""W8: the security headers on every response of every route, for every kind of visitor.

The crawl walks ``app.url_map`` (so a route added later is crawled too) with
GET, POST (no CSRF token: a 400, nothing changes) and a method the route does
not allow (405), as an anonymous visitor and signed in as each role, over
plain HTTP and over HTTPS; plus unknown URLs (404) and a view that raises
(500), registered in this test's app only. Every response must carry:

- a CSP with ``object-src 'none'``, ``base-uri 'none'``, no ``'unsafe-inline'``
  (or ``'unsafe-eval'``) for scripts, and ``frame-ancestors 'none'``, except
  at the badges' addresses, which other sites embed (their GET answers must
  allow framing; a 405 there is no badge and may refuse it);
- ``X-Content-Type-Options: nosniff`` and a ``Referrer-Policy``;
- ``Strict-Transport-Security`` over HTTPS and never over plain HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from tests.admin.test_access import add_user, app, enrol, set_password, sign_in  # noqa: F401 - app is a fixture
from tests.web import public_seed

#: views other sites may frame (badges); everything else refuses framing
EMBEDDABLE_PREFIXES = ("/badge/",)
#: what a URL argument is filled with, by name (anything unknown: "x", or 1 for a number)
VALUES = {"lang": "en", "slug": "anna", "tag": "205", "seq": 1, "name": "totals", "filename": "css/site.css",
          "token": "no-such-token", "user_id": 1, "event_id": 1}
REFERRER_POLICIES = {"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"}
BOOM = "/__test-only/boom"


@pytest.fixture
def crawl_app(app: Any, tmp_path: Any) -> Iterator[Any]:  # noqa: F811 - the imported fixture
    """Published books, a user per role, and a view that fails (this test's app only)."""

    def boom() -> str:
        raise RuntimeError("a bug in a view")

    app.add_url_rule(BOOM, "test_boom", boom)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a real 500 page, as in production
    with app.app_context():
        from tests.factories import Books
        from tracker.extensions import db

        public_seed.seed(Books(db.session), tmp_path)
        public_seed.cut(date(2025, 3, 1))
        db.session.remove()
    yield app


def _client(app: Any, role: str | None, https: bool) -> Any:
    client = app.test_client()
    if role is None:
        return client
    email = f"{role}-{'s' if https else 'p'}@example.org"
    set_password(client, add_user(app, email, role))
    response = sign_in(client, email)
    assert response.status_code == 302, response.data
    if role in ("admin", "treasurer"):
        enrol(client)
    assert client.get("/admin/").status_code == 200
    return client


def _urls(app: Any) -> list[tuple[str, str]]:
    """(method, URL) for every rule: its methods with filled arguments, one it refuses, 404s, the 500."""
    from flask import url_for

    found: set[tuple[str, str]] = {("GET", "/no/such/page"), ("GET", "/en/no-such-page"), ("GET", "/admin/no-such-page"),
                                   ("GET", "/open-data/nothing.json"), ("GET", "/campaign/999.csv"), ("GET", BOOM)}
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            try:
                url = url_for(rule.endpoint, **{arg: VALUES.get(arg, "x") for arg in rule.arguments})
            except ValueError:  # a number where "x" was tried
                url = url_for(rule.endpoint, **{arg: VALUES.get(arg, 1) for arg in rule.arguments})
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                found.add((method, url))
            found.add(("PUT" if "PUT" not in rule.methods else "PATCH", url))  # 405
            found.add(("OPTIONS", url))
    return sorted(found)


def _directives(csp: str) -> dict[str, list[str]]:
    parts = [p.split() for p in csp.split(";") if p.strip()]
    return {p[0].lower(): p[1:] for p in parts}


def check(method: str, url: str, response: Any, https: bool) -> list[str]:
    """What is wrong with one response's headers (empty when nothing)."""
    where = f"{method} {url} ({response.status_code}, {'https' if https else 'http'})"
    headers = response.headers
    problems = []
    csp = headers.get("Content-Security-Policy")
    if not csp:
        return [f"{where}: no Content-Security-Policy"]
    d = _directives(csp)
    if d.get("object-src") != ["'none'"]:
        problems.append(f"{where}: object-src is {d.get('object-src')}")
    if d.get("base-uri") != ["'none'"]:
        problems.append(f"{where}: base-uri is {d.get('base-uri')}")
    script = d.get("script-src", d.get("default-src"))
    if not script or {"'unsafe-inline'", "'unsafe-eval'", "*"} & set(script):
        problems.append(f"{where}: script-src is {script}")
    if url.startswith(EMBEDDABLE_PREFIXES):
        if method == "GET" and (d.get("frame-ancestors") == ["'none'"] or headers.get("X-Frame-Options")):
            problems.append(f"{where}: a badge must be embeddable")  # the badge view itself answered
    elif d.get("frame-ancestors") != ["'none'"]:
        problems.append(f"{where}: frame-ancestors is {d.get('frame-ancestors')}")
    if headers.get("X-Content-Type-Options") != "nosniff":
        problems.append(f"{where}: X-Content-Type-Options is {headers.get('X-Content-Type-Options')}")
    if headers.get("Referrer-Policy") not in REFERRER_POLICIES:
        problems.append(f"{where}: Referrer-Policy is {headers.get('Referrer-Policy')}")
    hsts = headers.get("Strict-Transport-Security", "")
    if https and "max-age=" not in hsts:
        problems.append(f"{where}: no HSTS over HTTPS")
    if https and hsts and int(hsts.split("max-age=")[1].split(";")[0]) < 15552000:
        problems.append(f"{where}: HSTS max-age under 180 days: {hsts}")
    if not https and hsts:
        problems.append(f"{where}: HSTS over plain HTTP")
    return problems


@pytest.mark.parametrize("https", [False, True], ids=["http", "https"])
def test_every_response_carries_the_security_headers(crawl_app: Any, https: bool) -> None:
    app = crawl_app
    # the test client's default scheme, so signing in happens over the same scheme as the crawl
    # (the session cookie is named __Host-... over HTTPS)
    app.config["PREFERRED_URL_SCHEME"] = "https" if https else "http"
    urls = _urls(app)
    assert len(urls) > 60
    problems: list[str] = []
    statuses: dict[str, set[int]] = {}
    kinds: set[str] = set()
    base = f"{'https' if https else 'http'}://localhost/"
    for role in (None, "organiser", "treasurer", "admin"):
        client = _client(app, role, https)
        for method, url in urls:
            if url.startswith("/admin/logout"):
                continue  # would end this client's session (without a token it is a 400 anyway)
            response = client.open(url, method=method, base_url=base)
            response.get_data()
            response.close()
            problems += check(method, url, response, https)
            statuses.setdefault(str(role), set()).add(response.status_code)
            kinds.add(response.mimetype)
        for url in ("/admin/logout", "/admin/logout-everywhere"):  # checked last, with no token: 400
            response = client.post(url, base_url=base)
            problems += check("POST", url, response, https)
    assert not problems, "\n".join(problems[:40])
    # the crawl reached what it claims to: pages, errors and every kind of body
    for role in ("organiser", "treasurer", "admin"):
        assert {200, 400, 403, 404, 405, 500} <= statuses[role], (role, statuses[role])
    assert {200, 302, 404, 405, 500} <= statuses["None"]
    assert {"text/html", "application/json", "text/csv", "image/svg+xml"} <= kinds, kinds


def test_the_checks_catch_a_missing_or_weak_header() -> None:
    """The checker is not a tautology: each weakness it looks for is reported."""
    from werkzeug.wrappers import Response

    good = ("default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
    base = {"Content-Security-Policy": good, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}

    def problems(url: str = "/en/", https: bool = False, **changes: str | None) -> list[str]:
        headers = {k: v for k, v in {**base, **changes}.items() if v is not None}
        return check("GET", url, Response("", headers=headers), https)

    assert problems() == []
    assert problems(https=True)  # no HSTS
    assert problems(https=True, **{"Strict-Transport-Security": "max-age=31556926; includeSubDomains"}) == []
    assert problems(**{"Strict-Transport-Security": "max-age=31556926"})  # HSTS over HTTP
    assert problems(**{"Content-Security-Policy": None})
    assert problems(**{"Content-Security-Policy": good.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")})
    assert problems(**{"Content-Security-Policy": good.replace("object-src 'none'", "object-src 'self'")})
    assert problems(**{"Content-Security-Policy": good.replace("; base-uri 'none'", "")})
    assert problems(**{"Content-Security-Policy": good.replace("frame-ancestors 'none'", "frame-ancestors *")})
    assert problems("/badge/campaign/205.svg")  # a badge that refuses framing
    assert check("PUT", "/badge/campaign/205.svg", Response("", headers=base), False) == []
    assert problems("/badge/campaign/205.svg", **{"Content-Security-Policy": good.replace("frame-ancestors 'none'", "frame-ancestors *")}) == []
    assert problems(**{"X-Content-Type-Options": None})
    assert problems(**{"Referrer-Policy": "unsafe-url"})
