"""Sessions, passwords and the second factor (RELIABILITY.md W4, W6, W7), on both engines.

W4: a copied cookie stops working after signing out, after the user is
disabled and after a password change; the session is replaced at sign-in and
again when the second factor is passed (fixation); idle (30 min) and absolute
(12 h) expiry, by moving the clock the service reads; cookie flags over HTTP
and HTTPS. W6: the password policy and its storage. W7: the second factor is
required, a code works once, and a set-password link does not get around it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest
import sqlalchemy as sa

from tests.admin.test_access import PASSWORD, add_user, app, csrf, enrol, set_password, sign_in  # noqa: F401 - app is a fixture

COOKIE = "tracker_admin"


def _user(app: Any, email: str) -> Any:
    from tracker.extensions import db
    from tracker.models import User

    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        db.session.expunge(user)
        return user


def _organiser(app: Any, email: str = "olga@example.org") -> Any:
    client = app.test_client()
    set_password(client, add_user(app, email, "organiser"))
    assert sign_in(client, email).status_code == 302
    assert client.get("/admin/").status_code == 200
    return client


def _copy(app: Any, client: Any, name: str = COOKIE) -> Any:
    """Another browser holding a copy of ``client``'s cookie."""
    cookie = client.get_cookie(name)
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie(name, cookie.value)
    return thief


def _signed_out(response: Any) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/admin/login")


# --- W4 sessions ------------------------------------------------------------------------


def test_a_copied_cookie_stops_working_after_signing_out(app: Any) -> None:
    client = _organiser(app)
    thief = _copy(app, client)
    assert thief.get("/admin/").status_code == 200
    client.post("/admin/logout", data={"csrf_token": csrf(client.get("/admin/").data)})
    assert _signed_out(thief.get("/admin/"))
    assert thief.post("/admin/logout-everywhere", data={}).status_code in (400, 401)


def test_a_disabled_user_is_signed_out_everywhere_and_cannot_sign_in(app: Any) -> None:
    victim = _organiser(app, "gone@example.org")
    thief = _copy(app, victim)
    boss = app.test_client()
    set_password(boss, add_user(app, "boss@example.org", "admin"))
    sign_in(boss, "boss@example.org")
    enrol(boss)
    page = boss.get("/admin/users")
    user_id = _user(app, "gone@example.org").id
    assert boss.post(f"/admin/users/{user_id}/active", data={"csrf_token": csrf(page.data)}).status_code == 302
    assert _signed_out(victim.get("/admin/")) and _signed_out(thief.get("/admin/"))
    assert sign_in(app.test_client(), "gone@example.org").status_code == 200  # the form again


def test_changing_ones_password_ends_the_other_sessions_only(app: Any) -> None:
    here = _organiser(app)
    there = app.test_client()
    sign_in(there, "olga@example.org")
    before = _copy(app, here)  # this browser's cookie before the change
    page = here.get("/admin/password")
    assert page.status_code == 200 and b"Current password" in page.data
    new = "a quite different passphrase"
    wrong = here.post("/admin/password", data={"csrf_token": csrf(page.data), "current": "not it at all", "password": new, "repeat": new})
    assert wrong.status_code == 200 and b'id="current-error"' in wrong.data
    assert there.get("/admin/").status_code == 200  # a refused change ends nothing
    done = here.post("/admin/password", data={"csrf_token": csrf(page.data), "current": PASSWORD, "password": new, "repeat": new})
    assert done.status_code == 302
    assert here.get("/admin/").status_code == 200  # still signed in, with a new session
    assert _signed_out(there.get("/admin/"))
    assert _signed_out(before.get("/admin/"))  # the old token of this browser too
    assert sign_in(app.test_client(), "olga@example.org").status_code == 200  # old password refused
    assert sign_in(app.test_client(), "olga@example.org", new).status_code == 302


def test_a_set_password_link_ends_every_session(app: Any) -> None:
    from tracker.services import unit_of_work, users

    client = _organiser(app)
    with app.app_context(), unit_of_work() as s:
        token = users.password_link(s, s.get(users.User, _user(app, "olga@example.org").id))
    fresh = app.test_client()
    page = fresh.get(f"/admin/set-password/{token}")
    new = "another long passphrase here"
    assert fresh.post(f"/admin/set-password/{token}", data={"csrf_token": csrf(page.data), "password": new, "repeat": new}).status_code == 302
    assert _signed_out(client.get("/admin/"))


def test_the_session_is_replaced_at_sign_in_and_after_the_second_factor(app: Any) -> None:
    client = app.test_client()
    set_password(client, add_user(app, "tess@example.org", "treasurer"))
    client.get("/admin/login")
    planted = client.get_cookie(COOKIE).value  # what a fixation attacker would have set
    attacker = app.test_client()
    attacker.set_cookie(COOKIE, planted)
    sign_in(client, "tess@example.org")
    half = client.get_cookie(COOKIE).value
    assert half != planted
    assert _signed_out(attacker.get("/admin/"))
    _secret, _codes = enrol(client)
    full = client.get_cookie(COOKIE).value
    assert full != half
    assert client.get("/admin/").status_code == 200
    copied_half = app.test_client()
    copied_half.set_cookie(COOKIE, half)
    assert _signed_out(copied_half.get("/admin/"))  # the half-signed-in session ended


def test_idle_and_absolute_expiry(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from tracker.services import users

    start = datetime.now(UTC)
    now = [start]
    monkeypatch.setattr(users, "_now", lambda: now[0])
    client = _organiser(app)
    now[0] = start + timedelta(minutes=29)
    assert client.get("/admin/").status_code == 200  # active: last seen moves on
    now[0] += timedelta(minutes=29)
    assert client.get("/admin/").status_code == 200
    now[0] += timedelta(minutes=31)
    assert _signed_out(client.get("/admin/"))  # idle for more than 30 minutes

    start = datetime.now(UTC)
    now[0] = start
    client = _organiser(app, "busy@example.org")
    while now[0] < start + timedelta(hours=11, minutes=50):
        now[0] += timedelta(minutes=20)
        assert client.get("/admin/").status_code == 200, now[0] - start
    now[0] = start + timedelta(hours=12, minutes=1)
    assert _signed_out(client.get("/admin/"))  # never idle, but 12 hours old


def _set_cookie(response: Any) -> str:
    headers = [h for h in response.headers.getlist("Set-Cookie") if "tracker_admin=" in h]
    assert len(headers) == 1, response.headers.getlist("Set-Cookie")
    return headers[0]


def test_cookie_flags_over_http(app: Any) -> None:
    client = app.test_client()
    set_password(client, add_user(app, "olga@example.org", "organiser"))
    response = sign_in(client, "olga@example.org")
    header = _set_cookie(response)
    flags = {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}
    assert header.startswith(COOKIE + "=")
    assert {"httponly", "path"} <= flags and "domain" not in flags and "secure" not in flags
    assert "; Path=/;" in header + ";" and "SameSite=Lax" in header
    assert "Set-Cookie" not in client.get("/en/").headers


def test_cookie_flags_over_https(app: Any) -> None:
    client = app.test_client()
    path = add_user(app, "olga@example.org", "organiser")
    secure = app.test_client()
    secure.environ_base["wsgi.url_scheme"] = "https"
    page = secure.get(path, base_url="https://localhost")
    secure.post(path, base_url="https://localhost", data={"csrf_token": csrf(page.data), "password": PASSWORD, "repeat": PASSWORD})
    page = secure.get("/admin/login", base_url="https://localhost")
    response = secure.post(
        "/admin/login", base_url="https://localhost", data={"csrf_token": csrf(page.data), "email": "olga@example.org", "password": PASSWORD}
    )
    assert response.status_code == 302
    header = _set_cookie(response)
    parts = [p.strip() for p in header.split(";")]
    assert parts[0].startswith("__Host-tracker_admin=")
    assert "Secure" in parts and "HttpOnly" in parts and "Path=/" in parts and "SameSite=Lax" in parts
    assert not any(p.lower().startswith("domain") for p in parts)
    assert secure.get("/admin/", base_url="https://localhost").status_code == 200  # read back under that name
    assert _signed_out(client.get("/admin/"))  # and plain HTTP knows nothing of it


def test_production_cookies_are_secure_even_if_the_proxy_forgets_to_say_https(db_url: str, tmp_path: Any) -> None:
    from tests.conftest import make_app

    production = make_app(db_url, tmp_path, SESSION_COOKIE_SECURE=True)
    client = production.test_client()
    header = _set_cookie(client.get("/admin/login"))
    assert header.startswith("__Host-tracker_admin=") and "Secure" in header and "Path=/;" in header


# --- W6 passwords -----------------------------------------------------------------------


def _link(app: Any, email: str, role: str) -> tuple[Any, str]:
    client = app.test_client()
    return client, add_user(app, email, role)


def _try_password(client: Any, path: str, password: str) -> Any:
    page = client.get(path)
    return client.post(path, data={"csrf_token": csrf(page.data), "password": password, "repeat": password})


def test_long_passwords_with_spaces_and_any_characters_are_kept_exactly_as_typed(app: Any) -> None:
    password = "  Ünïcödé passphrase with spaces,   tabs\tand emoji 🔐 that runs past sixty-four characters  "
    assert len(password) > 64
    client, path = _link(app, "long@example.org", "organiser")
    assert _try_password(client, path, password).status_code == 302
    assert sign_in(app.test_client(), "long@example.org", password).status_code == 302
    for altered in (password.strip(), password.lower(), password.replace("Ü", "U\u0308")):
        assert sign_in(app.test_client(), "long@example.org", altered).status_code == 200


def test_the_most_common_passwords_are_refused_beside_the_field(app: Any) -> None:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    from tracker.errors import InputError
    from tracker.services import users

    top = FREQUENCY_LISTS["passwords"][: users.COMMON_PASSWORDS]
    long_enough = [p for p in top if len(p) >= users.MIN_PASSWORD_WITH_SECOND_FACTOR]
    assert len(long_enough) > 500
    for password in long_enough:
        with pytest.raises(InputError, match="most common"):
            users.check_password_strength(password, minimum=users.MIN_PASSWORD_WITH_SECOND_FACTOR)
        with pytest.raises(InputError, match="most common"):
            users.check_password_strength(password.upper(), minimum=users.MIN_PASSWORD_WITH_SECOND_FACTOR)
    beyond = FREQUENCY_LISTS["passwords"][5000:]
    kept = next(p for p in beyond if len(p) >= 8 and len(set(p)) >= 4)
    users.check_password_strength(kept, minimum=8)  # past the cut: allowed
    client, path = _link(app, "tess@example.org", "treasurer")
    refused = _try_password(client, path, "baseball1" if "baseball1" in top else long_enough[0])
    assert refused.status_code == 200
    assert re.search(rb'<span class="error" id="password-error">[^<]*most common', refused.data)


def test_minimum_length_follows_the_second_factor_and_there_are_no_composition_rules(app: Any) -> None:
    organiser, org_path = _link(app, "olga@example.org", "organiser")
    short = _try_password(organiser, org_path, "qzmxnwbecrvtyu")  # 14, no second factor
    assert short.status_code == 200 and b"at least 15 characters" in short.data
    assert _try_password(organiser, org_path, "qzmxnwbecrvtyuk").status_code == 302  # 15 lower-case letters
    treasurer, tr_path = _link(app, "tess@example.org", "treasurer")
    assert b"at least 8 characters" in _try_password(treasurer, tr_path, "q7z!x9w").data  # 7
    assert _try_password(treasurer, tr_path, "81736452").status_code == 302  # 8 digits, nothing else
    boss, boss_path = _link(app, "boss@example.org", "admin")
    assert b"too close to your e-mail" in _try_password(boss, boss_path, "boss@example.org").data
    assert b"too easy" in _try_password(boss, boss_path, "abababababababab").data


def _parameters(encoded: str) -> dict[str, int]:
    match = re.fullmatch(r"\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[^$]+\$[^$]+", encoded)
    assert match, encoded
    return {"m": int(match.group(1)), "t": int(match.group(2)), "p": int(match.group(3))}


def test_passwords_are_stored_as_argon2id_at_or_above_owasp(app: Any) -> None:
    client, path = _link(app, "olga@example.org", "organiser")
    assert _try_password(client, path, PASSWORD).status_code == 302
    stored = _user(app, "olga@example.org").password_hash
    assert PASSWORD not in stored
    params = _parameters(stored)
    assert params["m"] >= 19456 and params["t"] >= 2 and params["p"] == 1


def test_an_old_hash_is_upgraded_at_the_next_sign_in(app: Any) -> None:
    from argon2 import PasswordHasher

    from tracker.models import User
    from tracker.services import unit_of_work, users

    client, path = _link(app, "olga@example.org", "organiser")
    _try_password(client, path, PASSWORD)
    weaker = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
    with app.app_context(), unit_of_work() as s:
        s.scalar(sa.select(User).where(User.email == "olga@example.org")).password_hash = weaker.hash(PASSWORD)
    assert _parameters(_user(app, "olga@example.org").password_hash) == {"m": 19456, "t": 2, "p": 1}
    assert sign_in(app.test_client(), "olga@example.org").status_code == 302
    upgraded = _user(app, "olga@example.org").password_hash
    current = users.PASSWORD_PARAMETERS
    assert _parameters(upgraded) == {"m": current.memory_cost, "t": current.time_cost, "p": current.parallelism}
    assert sign_in(app.test_client(), "olga@example.org").status_code == 302  # and it still works


# --- W7 second factor ---------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "treasurer"])
def test_admins_and_treasurers_cannot_get_in_without_a_second_factor(app: Any, role: str) -> None:
    client = app.test_client()
    set_password(client, add_user(app, f"{role}@example.org", role))
    assert sign_in(client, f"{role}@example.org").headers["Location"].startswith("/admin/second-factor/setup")
    for page in ("/admin/", "/admin/users", "/admin/publications", "/admin/password"):
        response = client.get(page)
        assert response.status_code == 302 and "/admin/second-factor" in response.headers["Location"], page


def test_a_totp_code_works_once(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from tracker.services import users

    now = [datetime.now(UTC)]
    monkeypatch.setattr(users, "_now", lambda: now[0])
    client = app.test_client()
    set_password(client, add_user(app, "tess@example.org", "treasurer"))
    sign_in(client, "tess@example.org")
    page = client.get("/admin/second-factor/setup")
    secret = re.search(rb'id="totp-secret">([A-Z2-7]+)<', page.data).group(1).decode()
    totp = pyotp.TOTP(secret)
    enrol_code = totp.at(now[0])
    assert client.post("/admin/second-factor/setup", data={"csrf_token": csrf(page.data), "code": enrol_code}).status_code == 200

    def half_signed_in() -> Any:
        browser = app.test_client()
        assert sign_in(browser, "tess@example.org").headers["Location"].startswith("/admin/second-factor")
        return browser

    def second_step(browser: Any, code: str) -> int:
        step = browser.get("/admin/second-factor")
        response = browser.post("/admin/second-factor", data={"csrf_token": csrf(step.data), "code": code})
        if response.status_code == 200:
            assert b"already used" in response.data
        return int(response.status_code)

    first = half_signed_in()
    assert second_step(first, enrol_code) == 200  # the enrolment code, again, within its 30 s
    now[0] += timedelta(seconds=30)
    fresh = totp.at(now[0])
    assert second_step(first, fresh) == 302
    second = half_signed_in()
    assert second_step(second, fresh) == 200  # replayed at once, from another browser
    now[0] += timedelta(seconds=20)
    assert second_step(second, fresh) == 200  # and still inside the drift window
    assert second_step(second, totp.at(now[0] - timedelta(seconds=60))) == 200  # older than the last used
    now[0] += timedelta(seconds=30)
    assert second_step(second, totp.at(now[0])) == 302  # the next one works


def test_a_set_password_link_does_not_get_around_the_second_factor(app: Any) -> None:
    from tracker.services import unit_of_work, users

    client = app.test_client()
    set_password(client, add_user(app, "tess@example.org", "treasurer"))
    sign_in(client, "tess@example.org")
    enrol(client)
    enabled = _user(app, "tess@example.org").totp_enabled_at
    with app.app_context(), unit_of_work() as s:
        token = users.password_link(s, s.get(users.User, _user(app, "tess@example.org").id))
    browser = app.test_client()
    page = browser.get(f"/admin/set-password/{token}")
    new = "reset passphrase for tess"
    done = browser.post(f"/admin/set-password/{token}", data={"csrf_token": csrf(page.data), "password": new, "repeat": new})
    assert done.headers["Location"] == "/admin/login"
    assert _signed_out(browser.get("/admin/"))
    assert sign_in(browser, "tess@example.org", new).headers["Location"].startswith("/admin/second-factor")
    assert browser.get("/admin/").headers["Location"].startswith("/admin/second-factor")
    assert browser.get("/admin/second-factor/setup").headers["Location"].startswith("/admin/second-factor")
    assert _user(app, "tess@example.org").totp_enabled_at == enabled


def test_opening_the_enrolment_page_keeps_a_working_second_factor(app: Any) -> None:
    client = app.test_client()
    set_password(client, add_user(app, "tess@example.org", "treasurer"))
    sign_in(client, "tess@example.org")
    secret, _codes = enrol(client)
    for _ in range(2):
        again = client.get("/admin/second-factor/setup")
        assert again.status_code == 200
    offered = re.search(rb'id="totp-secret">([A-Z2-7]+)<', again.data).group(1).decode()
    assert offered != secret
    user = _user(app, "tess@example.org")
    assert user.totp_secret == secret and user.totp_enabled_at is not None


def test_the_enrolment_page_shows_an_inline_svg_qr_code_of_the_uri(app: Any) -> None:
    import segno

    from tracker.web.admin.views import _qr_svg

    client = app.test_client()
    set_password(client, add_user(app, "tess@example.org", "treasurer"))
    sign_in(client, "tess@example.org")
    page = client.get("/admin/second-factor/setup")
    html = page.data.decode()
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', html).group(1)
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    svg = re.search(r'<svg[^>]*class="qr".*?</svg>', html, re.S)
    assert svg, "an inline SVG QR code"
    uri = pyotp.TOTP(secret).provisioning_uri(name="tess@example.org", issuer_name="tracker")
    with app.test_request_context():
        assert svg.group(0) == str(_qr_svg(uri))
    expected_paths = re.findall(r' d="([^"]+)"', segno.make(uri, error="m").svg_inline(scale=4))
    assert expected_paths[-1] in svg.group(0)
    assert "<img" not in html and "style=" not in svg.group(0) and "<script" not in svg.group(0)
    assert "data:" not in html
    assert client.get("/admin/second-factor/setup").data.decode().count(secret) >= 1  # the same key on reload
