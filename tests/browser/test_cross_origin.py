"""W3 in a real browser: a page on another origin (127.0.0.2) posts to the admin area.

A signed-in treasurer visits a hostile page that submits forms to state-changing
admin routes. The browser does not send the SameSite=Lax session cookie on a
cross-site POST, and without the session's CSRF token the request would be
refused anyway: nothing changes, and the treasurer stays signed in.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
import sqlalchemy as sa

from tests.browser.conftest import expect_visible

PASSWORD = "correct horse battery staple"


@pytest.fixture
def hostile_site(live_server: str) -> Iterator[str]:
    """A page on 127.0.0.2 whose forms post to the live server and submit themselves."""
    target = live_server
    page = f"""<!doctype html><html><body>
<form id="a" method="post" action="{target}/admin/spending">
  <input name="fund" value="general"><input name="account" value="1"><input name="currency" value="EUR">
  <input name="amount" value="999"><input name="paid_on" value="2025-03-01"><input name="public_description" value="stolen">
</form>
<form id="b" method="post" action="{target}/admin/logout-everywhere"></form>
<script>document.getElementById("a").submit();</script>
</body></html>""".encode()
    second = f"""<!doctype html><html><body><form id="b" method="post" action="{target}/admin/logout-everywhere"></form>
<script>document.getElementById("b").submit();</script></body></html>""".encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            body = second if self.path.startswith("/second") else page
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.2", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.2:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_a_cross_origin_page_cannot_act_for_a_signed_in_treasurer(browser: Any, app: Any, live_server: str, hostile_site: str, screenshot_dir: Path, engine_name: str) -> None:
    from tests.factories import Books
    from tracker.extensions import db
    from tracker.models import Disbursement, UserSession
    from tracker.services import unit_of_work, users

    Books(db.session).account()
    with unit_of_work() as s:
        user, token = users.add_user(s, "tess@example.org", "treasurer")
        users.set_password(s, user, PASSWORD, token=token)
    db.session.remove()
    context = browser.new_context()
    page = context.new_page()
    page.goto(live_server + "/admin/login")
    page.get_by_label("E-mail").fill("tess@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    secret = page.locator("#totp-secret").inner_text()
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on").click()
    page.get_by_role("link", name="Continue").click()
    expect_visible(page.get_by_role("heading", name="Dashboard"))
    revoked = sa.select(sa.func.count()).select_from(UserSession).where(UserSession.revoked_at.is_not(None))
    ended_before = db.session.scalar(revoked)
    db.session.remove()

    for path in ("/", "/second"):
        attack = context.new_page()
        with attack.expect_navigation():
            attack.goto(hostile_site + path)
        attack.wait_for_load_state()
        assert attack.url.startswith(live_server), attack.url
        landed = attack.content()
        assert "Dashboard" not in landed or "Sign in" in landed
        attack.screenshot(path=str(screenshot_dir / f"admin-cross-origin-{path.strip('/') or 'spending'}-{engine_name}.png"))
        attack.close()

    assert db.session.scalar(sa.select(sa.func.count()).select_from(Disbursement)) == 0
    assert db.session.scalar(revoked) == ended_before, "no session was ended"
    db.session.remove()
    page.reload()
    expect_visible(page.get_by_role("heading", name="Dashboard"), "still signed in")
    context.close()
