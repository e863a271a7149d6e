"""Sign-in, second factor, server-side sessions, roles declared per view, CSRF, rate limits."""

from __future__ import annotations

import re
from typing import Any

import pyotp
import pytest
import sqlalchemy as sa

PASSWORD = "correct horse battery staple"


@pytest.fixture
def app(db_url: str, tmp_path: Any) -> Any:
    """The app without a pushed app context: each test-client request gets its own
    (as in production), so per-request state such as the CSRF token is not shared."""
    from tests.conftest import make_app

    application = make_app(db_url, tmp_path)
    yield application
    with application.app_context():
        from tracker.extensions import db

        db.session.remove()
        db.engine.dispose()


def csrf(page: bytes) -> str:
    match = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"', page)
    assert match, "a form with a CSRF token"
    return (match.group(1) or match.group(2)).decode()


def add_user(app: Any, email: str, role: str) -> str:
    result = app.test_cli_runner().invoke(args=["user", "add", email, "--role", role])
    assert result.exit_code == 0, result.output
    link = result.output.strip().splitlines()[0]
    assert "/admin/set-password/" in link
    return link.split("127.0.0.1:5000", 1)[1]


def set_password(client: Any, path: str) -> None:
    page = client.get(path)
    assert page.status_code == 200
    done = client.post(path, data={"csrf_token": csrf(page.data), "password": PASSWORD, "repeat": PASSWORD})
    assert done.status_code == 302, done.data


def sign_in(client: Any, email: str, password: str = PASSWORD) -> Any:
    page = client.get("/admin/login")
    return client.post("/admin/login", data={"csrf_token": csrf(page.data), "email": email, "password": password})


def enrol(client: Any) -> tuple[str, list[str]]:
    page = client.get("/admin/second-factor/setup")
    secret = re.search(rb'id="totp-secret">([A-Z2-7]+)<', page.data).group(1).decode()
    done = client.post("/admin/second-factor/setup", data={"csrf_token": csrf(page.data), "code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200
    codes = re.findall(rb"<li><code>([0-9a-f]{6}-[0-9a-f]{6})</code></li>", done.data)
    assert len(codes) == 10
    return secret, [c.decode() for c in codes]


@pytest.fixture
def treasurer(app: Any) -> tuple[Any, str]:
    client = app.test_client()
    set_password(client, add_user(app, "Tess@Example.org", "treasurer"))
    response = sign_in(client, "tess@example.org")
    assert response.headers["Location"].endswith("/admin/second-factor/setup")
    secret, _codes = enrol(client)
    return client, secret


def test_treasurer_signs_in_with_a_second_factor_and_sees_the_dashboard(app: Any, treasurer: Any) -> None:
    client, _secret = treasurer
    page = client.get("/admin/")
    assert page.status_code == 200 and b"Dashboard" in page.data
    assert page.headers["Cache-Control"] == "no-store"
    public = client.get("/en/")
    assert "Set-Cookie" not in public.headers


def test_second_sign_in_asks_for_the_code_and_recovery_codes_work_once(app: Any) -> None:
    client = app.test_client()
    set_password(client, add_user(app, "t2@example.org", "treasurer"))
    sign_in(client, "t2@example.org")
    _secret, codes = enrol(client)
    client.post("/admin/logout", data={"csrf_token": csrf(client.get("/admin/").data)})
    again = app.test_client()
    assert sign_in(again, "t2@example.org").headers["Location"].endswith("/admin/second-factor")
    assert again.get("/admin/").headers["Location"].endswith("/admin/second-factor")
    page = again.get("/admin/second-factor")
    wrong = again.post("/admin/second-factor", data={"csrf_token": csrf(page.data), "code": "000000"})
    assert b"not right" in wrong.data
    ok = again.post("/admin/second-factor", data={"csrf_token": csrf(page.data), "code": codes[0]})
    assert ok.status_code == 302 and again.get("/admin/").status_code == 200
    third = app.test_client()
    sign_in(third, "t2@example.org")
    page = third.get("/admin/second-factor")
    reused = third.post("/admin/second-factor", data={"csrf_token": csrf(page.data), "code": codes[0]})
    assert b"not right" in reused.data


def test_signing_out_makes_a_copied_cookie_useless(app: Any, treasurer: Any) -> None:
    client, _ = treasurer
    stolen = client.get_cookie("tracker_admin")
    assert stolen is not None
    thief = app.test_client()
    thief.set_cookie("tracker_admin", stolen.value)
    assert thief.get("/admin/").status_code == 200
    client.post("/admin/logout", data={"csrf_token": csrf(client.get("/admin/").data)})
    assert thief.get("/admin/").status_code == 302


def test_disabling_a_user_ends_their_sessions(app: Any, treasurer: Any) -> None:
    from tracker.models import User
    from tracker.services import unit_of_work, users

    client, _ = treasurer
    with app.app_context(), unit_of_work() as s:
        users.set_active(s, s.scalar(sa.select(User).where(User.email == "tess@example.org")), False)
    assert client.get("/admin/").status_code == 302
    assert sign_in(app.test_client(), "tess@example.org").status_code == 200  # refused: the form again


def test_wrong_password_is_refused_then_rate_limited(app: Any) -> None:
    client = app.test_client()
    set_password(client, add_user(app, "slow@example.org", "organiser"))
    first = sign_in(client, "slow@example.org", "wrong password here")
    assert first.status_code == 200 and b"Wrong e-mail address or password" in first.data
    codes = [sign_in(client, "slow@example.org", "wrong password here").status_code for _ in range(6)]
    assert 429 in codes
    assert sign_in(app.test_client(), "slow@example.org").status_code == 429  # per account, any address


def test_every_admin_view_declares_its_roles_and_others_are_refused(app: Any) -> None:
    from tracker.web.admin.access import declared_roles

    admin_rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/admin")]
    assert len(admin_rules) >= 8
    for rule in admin_rules:
        assert declared_roles(app, rule.endpoint), f"{rule.rule} declares no role"
    client = app.test_client()
    set_password(client, add_user(app, "org@example.org", "organiser"))
    assert sign_in(client, "org@example.org").status_code == 302
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/publications").status_code == 403
    assert client.get("/admin/users").status_code == 403


def test_an_undeclared_admin_view_is_denied(app: Any) -> None:
    from flask import Blueprint

    extra = Blueprint("extra", __name__)
    extra.add_url_rule("/admin/forgotten", "forgotten", lambda: "secret")
    app.register_blueprint(extra)
    assert app.test_client().get("/admin/forgotten").status_code == 403


def test_posts_need_a_csrf_token(app: Any, treasurer: Any) -> None:
    client, _ = treasurer
    assert client.post("/admin/publications", data={}).status_code == 400
    assert client.post("/admin/logout", data={}).status_code == 400
    assert client.get("/admin/").status_code == 200  # the refused sign-out changed nothing
    assert app.test_client().post("/admin/login", data={"email": "tess@example.org", "password": PASSWORD}).status_code == 400


def test_publications_page_previews_and_cuts(app: Any, treasurer: Any) -> None:
    from datetime import UTC, datetime

    from tests.factories import Books
    from tracker.extensions import db
    from tracker.models import Publication

    client, _ = treasurer
    with app.app_context():
        books = Books(db.session)
        campaign = books.campaign("205", {"anna": 1})
        for i in range(6):
            books.donation("25", campaign=campaign, when=datetime(2025, 1, 10, tzinfo=UTC), donor=f"d{i}")
    page = client.get("/admin/publications")
    assert page.status_code == 200 and b"What publishing now would release" in page.data
    assert b"#1 \xc2\xb7 monthly \xc2\xb7 2025-01-01..2025-01-31" in page.data
    assert b"2 figures published." in page.data  # campaign:205 and prisoner:anna
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Publication)) == 0
    done = client.post("/admin/publications", data={"csrf_token": csrf(page.data)})
    assert done.status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Publication)) > 0


def test_admin_adds_a_user_and_gets_a_one_time_link(app: Any) -> None:
    client = app.test_client()
    set_password(client, add_user(app, "boss@example.org", "admin"))
    sign_in(client, "boss@example.org")
    enrol(client)
    page = client.get("/admin/users")
    added = client.post("/admin/users", data={"csrf_token": csrf(page.data), "email": "new@example.org", "role": "organiser"})
    link = re.search(rb"/admin/set-password/[A-Za-z0-9_-]+", added.data).group(0).decode()
    fresh = app.test_client()
    set_password(fresh, link)
    assert fresh.get(link).status_code == 404  # used up


def test_production_needs_shared_rate_limit_storage(tmp_path: Any, db_url: str) -> None:
    from tests.conftest import TEST_CONFIG
    from tracker import create_app
    from tracker.errors import ConfigError

    config = {k: v for k, v in TEST_CONFIG.items() if k != "TESTING"}
    with pytest.raises(ConfigError, match="REDIS_URL"):
        create_app({**config, "TRACKER_ENV": "production", "ENV": "production", "SQLALCHEMY_DATABASE_URI": db_url}, instance_path=tmp_path)


def test_the_audit_log_names_whoever_acted_in_each_request(app: Any, treasurer: Any) -> None:
    from tracker.extensions import db
    from tracker.models import AuditEvent

    client, _ = treasurer
    stranger = app.test_client()
    path = add_user(app, "late@example.org", "organiser")
    set_password(stranger, path)  # signed out: not the treasurer who acted before in this thread
    with app.app_context():
        actors = dict(db.session.execute(sa.select(AuditEvent.action, AuditEvent.actor).where(AuditEvent.action.in_(["user.totp", "user.password"])).order_by(AuditEvent.id)).tuples().all())
    assert actors["user.password"] == "web:signed-out"
    assert actors["user.totp"].startswith("user:")
