"""Who may do what, and nothing changes by accident (RELIABILITY.md W1, W3, W9).

Everything here walks ``app.url_map``, so pages added later are covered
without touching this file, unless a page takes a URL parameter this file
cannot fill yet: then :data:`SEEDS` says how, and the test names the missing
one.

- W1, the access matrix: every rule, every method it allows, as anonymous,
  organiser, treasurer, admin and a disabled user. The expected outcome comes
  from the declarations: the roles each admin view names with ``requires``
  (a view under /admin without one fails the test), ``ANYONE`` for the
  sign-in pages, and everything outside /admin open to all. Allowed means any
  answer but 401, 403, a server error or the sign-in redirect (so 200, 302, a
  form's 400 and a 404 for a missing id all count); refused means exactly the
  sign-in redirect (GET, HEAD) or 401 (other methods) when not signed in, and
  403 for a signed-in user without the role. A disabled user is anonymous.
- W3, CSRF: every state-changing method under /admin, posted by someone
  allowed to use it, without a token and with another session's token, gets
  400 and leaves every table as it was; every GET and HEAD of every rule, by
  every persona, leaves every table as it was. The one column left out of the
  comparison is ``user_sessions.last_seen_at``: idle expiry needs it written
  (at most once a minute per session), and a slow run crosses that minute.
- W9, open redirects after signing in: only same-origin paths under /admin.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
import sqlalchemy as sa
from itsdangerous import URLSafeTimedSerializer
from werkzeug.routing import AnyConverter, IntegerConverter, Rule

from tests.admin.test_access import PASSWORD

PERSONAS = ("anonymous", "organiser", "treasurer", "admin", "disabled")
SIGNED_IN = ("organiser", "treasurer", "admin", "disabled")
STATE_CHANGING = ("POST", "PUT", "PATCH", "DELETE")
#: an id no seeded table reaches
MISSING_ID = 2**31 - 1
#: left out of database comparisons, and why: see the module docstring
BOOKKEEPING = {("user_sessions", "last_seen_at")}


# --- the app and its seeded objects ----------------------------------------------------


@pytest.fixture
def world(db_url: str, tmp_path: Any) -> Iterator[dict[str, Any]]:
    """An app (rate limits off: the matrix signs in hundreds of times) with books,
    publications, an event, the five personas and a spare user to act on."""
    from tests.conftest import make_app
    from tests.factories import Books
    from tests.web import public_seed
    from tracker.extensions import db
    from tracker.models import Event, User
    from tracker.services import unit_of_work, users

    app = make_app(db_url, tmp_path, RATELIMIT_ENABLED=False)
    # no app context stays pushed: each request gets its own (and its own database
    # session), as in production
    with app.app_context():
        public_seed.seed(Books(db.session), tmp_path)
        public_seed.cut(date(2025, 3, 1))
        ids: dict[str, int] = {}
        with unit_of_work() as s:
            for persona in SIGNED_IN:
                role = "treasurer" if persona == "disabled" else persona
                user, _token = users.add_user(s, f"{persona}@example.org", role)
                if role in ("admin", "treasurer"):
                    user.totp_secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
                    user.totp_enabled_at = datetime.now(UTC)
                user.active = persona != "disabled"
                ids[persona] = user.id
            spare, spare_token = users.add_user(s, "spare@example.org", "organiser")
            event = Event(name="Solidarity evening", held_on=date(2025, 1, 18), place="Hall", public=True, created_by="test")
            s.add(event)
            s.flush()
            seeds = {"user": spare.id, "event": event.id, "token": spare_token}
        db.session.remove()
    yield {"app": app, "ids": ids, "seeds": seeds}
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _first(app: Any, statement: Any) -> Any:
    from tracker.extensions import db

    with app.app_context():
        value = db.session.scalar(statement)
        db.session.rollback()
        return value


def _row_id_for(app: Any, argument: str) -> int | None:
    """By convention ``thing_id`` is the id of a row of ``things`` (``thing``, or one
    table named ``..._things``, as ``batch_id`` names ``import_batches``)."""
    from tracker.extensions import db

    stem = argument.removesuffix("_id")
    names = (stem + "s", stem + "es", stem[:-1] + "ies" if stem.endswith("y") else stem, stem)
    tables = db.metadata.tables
    found = [tables[n] for n in names if n in tables]
    found = found or [t for n, t in sorted(tables.items()) if n.endswith(tuple("_" + x for x in names))]
    if len(found) >= 1 and "id" in found[0].c and argument.endswith("_id"):
        return _first(app, sa.select(sa.func.min(found[0].c.id)))  # type: ignore[no-any-return]
    raise LookupError(argument)


def _existing(world: dict[str, Any], rule: Rule, argument: str) -> list[Any]:
    """Values of ``argument`` that name seeded objects (empty if none exist)."""
    from tracker.models import Campaign, Prisoner, Publication

    app, seeds = world["app"], world["seeds"]
    converter = rule._converters[argument]
    if isinstance(converter, AnyConverter):
        return list(converter.items)
    special: dict[str, Any] = {
        "tag": lambda: _first(app, sa.select(Campaign.tag).where(Campaign.public.is_(True)).order_by(Campaign.id)),
        "slug": lambda: _first(app, sa.select(Prisoner.slug).where(Prisoner.public.is_(True)).order_by(Prisoner.id)),
        "seq": lambda: _first(app, sa.select(sa.func.max(Publication.seq))),
        "token": lambda: seeds["token"],
        "filename": lambda: "css/site.css",
        "user_id": lambda: seeds["user"],
        "event_id": lambda: seeds["event"],
    }
    if argument in special:
        value = special[argument]()
    elif isinstance(converter, IntegerConverter):
        try:
            value = _row_id_for(app, argument)
        except LookupError:
            pytest.fail(f"{rule.rule}: add a seed for <{argument}> to SEEDS in {__name__}")
    else:
        pytest.fail(f"{rule.rule}: add a seed for <{argument}> to SEEDS in {__name__}")
    return [value] if value is not None else []


def _missing(rule: Rule, argument: str) -> Any:
    converter = rule._converters[argument]
    if isinstance(converter, AnyConverter):
        return None  # every value the rule accepts exists
    if isinstance(converter, IntegerConverter):
        return MISSING_ID
    return "no-such-" + secrets.token_hex(4)


#: how URL parameters are filled (for the docs; _existing implements it)
SEEDS = "tag, slug, seq, token, filename, user_id, event_id; <x>_id: the first row of table xs"


def urls(world: dict[str, Any], rule: Rule) -> list[str]:
    """The rule with seeded values, and once per parameter with a value that names nothing."""
    arguments = sorted(rule.arguments)
    if not arguments:
        return [rule.rule]
    existing = {a: _existing(world, rule, a) for a in arguments}
    built: list[str] = []
    adapter = world["app"].url_map.bind("localhost")
    base = {a: values[0] for a, values in existing.items() if values}
    for argument in arguments:
        for value in existing[argument][1:]:
            built.append(adapter.build(rule.endpoint, {**base, argument: value}, append_unknown=False))
        missing = _missing(rule, argument)
        if missing is not None:
            built.append(adapter.build(rule.endpoint, {**base, argument: missing}, append_unknown=False))
    if len(base) == len(arguments):
        built.insert(0, adapter.build(rule.endpoint, base, append_unknown=False))
    return built


# --- personas ----------------------------------------------------------------------------


def client_for(world: dict[str, Any], persona: str) -> tuple[Any, str]:
    """A browser for ``persona`` with a fresh server-side session (second factor done)
    and a CSRF token valid for it; anonymous gets a CSRF token only."""
    from tracker.models import User
    from tracker.services import unit_of_work, users

    app = world["app"]
    client = app.test_client()
    raw = secrets.token_hex(20)
    with client.session_transaction("/admin/") as cookie:
        cookie["csrf_token"] = raw
        if persona != "anonymous":
            with app.app_context(), unit_of_work() as s:
                signed = users.open_session(s, s.get(User, world["ids"][persona]), second_factor_done=True)
            cookie["_user_id"] = signed.token
            cookie["_fresh"] = True
    return client, URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(raw)


def expected(app: Any, rule: Rule, persona: str) -> str:
    """``allowed``, ``sign-in`` or ``forbidden``, from the declarations alone."""
    from tracker.web.admin.access import ANYONE, declared_roles

    if not rule.rule.startswith("/admin"):
        return "allowed"  # public: open to all
    roles = declared_roles(app, rule.endpoint)
    assert roles, f"{rule.rule} ({rule.endpoint}) declares no roles"
    if ANYONE in roles:
        return "allowed"
    if persona in ("anonymous", "disabled"):
        return "sign-in"
    return "allowed" if persona in roles else "forbidden"


def actual(response: Any, method: str, url: str) -> str:
    """What the response amounts to, in the same words (or the raw status when odd)."""
    status = response.status_code
    location = response.headers.get("Location", "")
    to_sign_in = status == 302 and location == "/admin/login?next=" + quote(urlsplit(url).path, safe="/")
    if method in ("GET", "HEAD") and to_sign_in:
        return "sign-in"
    if method not in ("GET", "HEAD") and status == 401:
        return "sign-in"
    if status == 403:
        return "forbidden"
    if status in (401, 403) or status >= 500 or to_sign_in:
        return f"odd {status} {location}"
    return "allowed"


def fetch(client: Any, method: str, url: str, data: dict[str, str] | None = None) -> Any:
    """One request, read whole and closed (static files are streamed)."""
    response = client.open(url, method=method, data=data, buffered=True)
    response.close()
    return response


def request(client: Any, method: str, url: str, token: str | None) -> Any:
    data = {"csrf_token": token} if token is not None and method in STATE_CHANGING else None
    return fetch(client, method, url, data)


# --- W1 ----------------------------------------------------------------------------------


def test_access_matrix_matches_the_declarations(world: dict[str, Any]) -> None:
    app = world["app"]
    rules = sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint))
    assert any(r.rule.startswith("/admin") for r in rules) and any(not r.rule.startswith("/admin") for r in rules)
    mismatches: list[str] = []
    checked = 0
    for rule in rules:
        for url in urls(world, rule):
            for method in sorted(rule.methods or ()):
                for persona in PERSONAS:
                    client, token = client_for(world, persona)
                    want = expected(app, rule, persona)
                    got = actual(request(client, method, url, token), method, url)
                    checked += 1
                    if got != want:
                        mismatches.append(f"{method} {url} as {persona}: expected {want}, got {got}")
    assert not mismatches, f"{len(mismatches)} of {checked} differ:\n" + "\n".join(mismatches)
    assert checked >= len(rules) * len(PERSONAS) * 2


def test_a_route_without_a_declaration_fails_the_matrix(world: dict[str, Any]) -> None:
    from flask import Blueprint

    app = world["app"]
    extra = Blueprint("forgotten", __name__)
    extra.add_url_rule("/admin/forgotten", "page", lambda: "secret")
    app.register_blueprint(extra)
    rule = next(r for r in app.url_map.iter_rules() if r.rule == "/admin/forgotten")
    with pytest.raises(AssertionError, match="declares no roles"):
        expected(app, rule, "admin")
    client, _ = client_for(world, "admin")
    assert client.get("/admin/forgotten").status_code == 403  # and the app denies it meanwhile


# --- W3 ----------------------------------------------------------------------------------


def dump(app: Any) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every table, sorted (less the bookkeeping columns named above)."""
    from tracker.extensions import db

    out: dict[str, list[tuple[str, ...]]] = {}
    with app.app_context():
        for name, table in sorted(db.metadata.tables.items()):
            columns = [c for c in table.c if (name, c.name) not in BOOKKEEPING]
            out[name] = sorted(tuple(str(v) for v in row) for row in db.session.execute(sa.select(*columns)))
        db.session.rollback()
    return out


def changed(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return [name for name in before if before[name] != after[name]]


def acting_persona(app: Any, rule: Rule) -> str:
    """Someone allowed to use the rule (for the sign-in pages: a signed-in treasurer,
    so signing out is a real change that a forged request could make)."""
    from tracker.web.admin.access import ANYONE, declared_roles

    roles = declared_roles(app, rule.endpoint) or frozenset()
    for persona in ("treasurer", "admin", "organiser"):
        if persona in roles or ANYONE in roles:
            return persona
    pytest.fail(f"{rule.rule}: no persona may use it")


def test_every_state_changing_admin_route_refuses_a_missing_or_foreign_csrf_token(world: dict[str, Any]) -> None:
    app = world["app"]
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/admin") and set(r.methods or ()) & set(STATE_CHANGING)]
    assert len(rules) >= 5
    failures: list[str] = []
    for rule in sorted(rules, key=lambda r: r.rule):
        for url in urls(world, rule):
            for method in sorted(set(rule.methods or ()) & set(STATE_CHANGING)):
                persona = acting_persona(app, rule)
                client, _own = client_for(world, persona)
                _other_client, foreign = client_for(world, persona)
                before = dump(app)
                for label, data in (("no token", {}), ("another session's token", {"csrf_token": foreign})):
                    response = fetch(client, method, url, data)
                    if response.status_code != 400:
                        failures.append(f"{method} {url} as {persona} with {label}: {response.status_code}")
                    if changed(before, dump(app)):
                        failures.append(f"{method} {url} as {persona} with {label} changed {changed(before, dump(app))}")
                # the session the forged requests aimed at is still signed in (nothing happened)
                if fetch(client, "GET", "/admin/").status_code != 200:
                    failures.append(f"{method} {url}: the forged request ended the session")
    assert not failures, "\n".join(failures)


def test_no_get_changes_the_database(world: dict[str, Any]) -> None:
    app = world["app"]
    clients = {persona: client_for(world, persona)[0] for persona in PERSONAS}
    requests: list[tuple[str, str, str]] = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        for method in ("GET", "HEAD"):
            if method in (rule.methods or ()):
                requests += [(persona, method, url) for url in urls(world, rule) for persona in PERSONAS]
    assert len(requests) > 50
    before = dump(app)
    for persona, method, url in requests:
        fetch(clients[persona], method, url)
    after = dump(app)
    if not changed(before, after):
        return
    culprits = []  # find which request writes, one at a time
    for persona, method, url in requests:
        start = dump(app)
        fetch(clients[persona], method, url)
        if changed(start, dump(app)):
            culprits.append(f"{method} {url} as {persona}: {changed(start, dump(app))}")
    pytest.fail("GET requests changed the database:\n" + "\n".join(culprits or changed(before, after)))


# --- W9 ----------------------------------------------------------------------------------

EVIL_NEXT = [
    "https://evil.example/",
    "//evil.example/",
    "/\\evil.example/",
    "\\\\evil.example/",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "%2F%2Fevil.example/",
    "/%2F%2Fevil.example/",
    "/admin/../../evil",
    "/admin/%2e%2e/%2e%2e/evil",
    "/admin/..%2F..%2Fevil",
    "/admin%2F..%2F..%2Fevil",
    "/admin\\..\\evil",
    "/admin/\t/evil",
    "/admin@evil.example",
    "/adminevil",
    "/evil",
    "http:/admin/",
    "/admin/#https://evil.example",
    "  /admin/",
    "data:text/html,<script>alert(1)</script>",
]
SAFE_NEXT = ["/admin/", "/admin/events", "/admin/audit?page=2", "/admin"]


@pytest.mark.parametrize("target", EVIL_NEXT + SAFE_NEXT)
def test_next_is_followed_only_to_a_plain_admin_path(target: str) -> None:
    from flask import Flask

    from tracker.web.admin.views import _safe_next, bp

    app = Flask(__name__)
    app.register_blueprint(bp)
    with app.test_request_context():
        result = _safe_next(target)
    assert result == (target if target in SAFE_NEXT else "/admin/")


def test_sign_in_never_redirects_off_the_admin_area(world: dict[str, Any]) -> None:
    """Through the real sign-in, with ``next`` as the query string carries it (URL-encoded
    and raw), for a user without and one with a second factor."""
    import pyotp

    from tests.admin.test_access import csrf
    from tracker.models import User
    from tracker.services import unit_of_work, users

    app = world["app"]
    with app.app_context(), unit_of_work() as s:
        for persona in ("organiser", "treasurer"):
            s.get(User, world["ids"][persona]).password_hash = users.HASHER.hash(PASSWORD)

    def sign_in(persona: str, raw_query: str) -> str:
        client = app.test_client()
        page = client.get("/admin/login?" + raw_query)
        done = client.post("/admin/login?" + raw_query, data={"csrf_token": csrf(page.data), "email": f"{persona}@example.org", "password": PASSWORD})
        assert done.status_code == 302
        location = done.headers["Location"]
        if persona == "treasurer":  # the code step keeps a safe next and drops a bad one
            assert urlsplit(location).path == "/admin/second-factor"
            with app.app_context(), unit_of_work() as s:
                s.get(User, world["ids"]["treasurer"]).totp_last_step = None  # the same code again is fine here
            step = client.get(location)
            done = client.post(location, data={"csrf_token": csrf(step.data), "code": pyotp.TOTP("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP").now()})
            assert done.status_code == 302, done.data
            location = done.headers["Location"]
        return location

    for target in EVIL_NEXT:
        assert sign_in("organiser", "next=" + quote(target, safe="")) == "/admin/", target
        # unencoded, as a careless link would carry it (the client drops raw tabs, so what
        # arrives may be a different, harmless path: then it must still be a plain admin path)
        location = sign_in("organiser", "next=" + target.replace("#", "%23").replace("&", "%26"))
        parts = urlsplit(location)
        assert location == "/admin/" or (
            not parts.scheme and not parts.netloc and parts.path.startswith("/admin/") and "\\" not in location and ".." not in location
        ), (target, location)
    assert sign_in("organiser", "next=%2Fadmin%2Fevents") == "/admin/events"
    assert sign_in("treasurer", "next=" + quote("//evil.example/", safe="")) == "/admin/"
    assert sign_in("treasurer", "next=" + quote("/admin/../../evil", safe="")) == "/admin/"
    assert sign_in("treasurer", "next=%2Fadmin%2Fevents") == "/admin/events"
