"""The treasurer's monthly routine and an organiser's visit, in Chromium.

A treasurer signs in with a second factor, imports a PayPal export through
the wizard (its preview and import run as background jobs), reviews two
donations, records a cash donation and a disbursement, cuts a publication and
sees the public totals change. An organiser records an event and never sees
a donor's name, e-mail, note or transaction id. Along the way every admin
page without URL parameters is opened and photographed (tests/browser/output/),
and imported notes and the uploaded file's name carry script injections
(RELIABILITY.md P6): no dialog may fire and no injected node may appear.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyotp

from tests.browser.conftest import expect_visible
from tests.importers.paypal_factory import Tx, build
from tests.web import public_seed

PASSWORD = "correct horse battery staple"
XSS_NOTE = '205 solidarity <script>alert("note")</script>"><img src=x onerror=alert(1)>'
XSS_FILE = '<img src=x onerror=alert(2)>.csv'


def march_export(tmp: Path) -> Path:
    """March 2025: twelve distinct donors for 205, two notes naming 205 and 207 (they wait for review)."""
    start = datetime(2025, 3, 14, 10, 11, 12, tzinfo=UTC)
    txs = []
    for n in range(14):
        s = public_seed.donor_secrets(n % public_seed.DONORS)
        note = XSS_NOTE if n >= 12 else s["note"]
        txs.append(Tx(start + timedelta(hours=7 * n), "donation", "EUR", Decimal("30.00") + n, Decimal("1.17"),
                      name=s["name"], from_email=s["email"], txn_id=f"MARCH{n:04d}{s['txn']}", note=note))
    path = tmp / XSS_FILE
    path.write_bytes(build("en_activity_2018", txs)[0])
    return path


def run_jobs() -> int:
    from tracker.extensions import db
    from tracker.services import jobs

    ran = jobs.work(burst=True)
    db.session.remove()
    return ran


def shot(page: Any, folder: Path, name: str, engine: str) -> None:
    page.screenshot(path=str(folder / f"admin-{name}-{engine}.png"), full_page=True)


def sign_in(page: Any, base: str, email: str) -> None:
    page.goto(base + "/admin/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_monthly_routine_in_the_browser(browser: Any, published: Any, live_server: str, screenshot_dir: Path, engine_name: str, tmp_path: Path) -> None:
    from tests.factories import Books
    from tracker.extensions import db
    from tracker.services import unit_of_work, users

    Books(db.session).campaign("207", {"boris": 1}, title="Second case", aliases=["solidarity"])
    with unit_of_work() as s:
        for email, role in (("tess@example.org", "treasurer"), ("olga@example.org", "organiser")):
            user, token = users.add_user(s, email, role)
            users.set_password(s, user, PASSWORD, token=token)
    db.session.remove()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    base = live_server

    before = page.request.get(base + "/en/campaign/205").text()  # the page cache would answer a goto

    # Sign in with a second factor.
    sign_in(page, base, "tess@example.org")
    secret = page.locator("#totp-secret").inner_text()
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on").click()
    page.get_by_role("link", name="Continue").click()
    expect_visible(page.get_by_role("heading", name="Dashboard"))

    # Import: upload, preview in the background, import.
    page.get_by_role("link", name="Imports").first.click()
    page.locator('input[type="file"]').set_input_files(str(march_export(tmp_path)))
    page.get_by_role("button", name="Upload and preview").click()
    expect_visible(page.get_by_text("received and sealed"))
    shot(page, screenshot_dir, "imports-waiting", engine_name)
    assert run_jobs() == 1
    page.locator("table a").first.click()
    page.wait_for_selector("text=This is a preview")
    shot(page, screenshot_dir, "import-preview", engine_name)
    page.get_by_role("button", name="Import this file").click()
    assert run_jobs() == 1
    page.reload()
    assert "Imported as batch" in page.content(), page.locator("main").inner_text()
    page.get_by_role("link", name="See the batch").click()
    shot(page, screenshot_dir, "batch", engine_name)

    # Review two donations (their notes name both 205 and 207).
    page.get_by_role("link", name="Review", exact=True).first.click()
    boxes = page.locator('input[name="donation"]')
    assert boxes.count() == 2
    assert page.locator("mark").count() >= 2
    shot(page, screenshot_dir, "review", engine_name)
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.get_by_label("Assign the chosen donations to").select_option("205")
    page.get_by_role("button", name="Assign").click()
    expect_visible(page.get_by_text("2 donations assigned"))

    # A cash donation and a disbursement.
    page.get_by_role("link", name="Cash").first.click()
    page.get_by_label("Currency").fill("EUR")
    page.get_by_label("Amount").fill("40,00")
    page.get_by_label("Received on").fill("2025-03-20")
    page.get_by_label("For").select_option("205")
    page.get_by_role("button", name="Save").click()
    assert not page.locator(".error").count(), page.content()
    page.get_by_role("link", name="Spending").first.click()
    page.get_by_label("Currency").fill("EUR")
    page.get_by_label("Amount").fill("25.50")
    page.get_by_label("Paid on").fill("2025-03-25")
    page.get_by_label("Public description").fill("Parcel to the detention centre")
    page.get_by_role("button", name="Save").click()
    assert not page.locator(".error").count(), page.content()

    # Publish, and the public campaign page changes.
    page.get_by_role("link", name="Publications").first.click()
    shot(page, screenshot_dir, "publications-preview", engine_name)
    page.get_by_role("button", name=re.compile("Publish|Cut")).first.click()
    expect_visible(page.get_by_text(re.compile(r"\d+ publications? cut\.")))
    assert not page.get_by_text("0 publications cut").count(), page.locator("main").inner_text()
    after = page.request.get(base + "/en/campaign/205").text()
    assert "February 28, 2025" in before and "February 28, 2025" not in after
    page.goto(base + "/en/campaign/205")
    page.reload()
    shot(page, screenshot_dir, "public-campaign-after-publishing", engine_name)

    # Every admin page without parameters, photographed; no injected script ran.
    from flask import current_app

    rules = sorted(
        r.rule for r in current_app.url_map.iter_rules()
        if r.rule.startswith("/admin") and "GET" in (r.methods or ()) and not r.arguments
        and not r.rule.endswith(".json") and r.endpoint not in ("admin.logout", "admin.export_download")
    )
    for rule in rules:
        response = page.goto(base + rule)
        assert response is not None and response.status < 500, rule
        name = rule.strip("/").replace("/", "-") or "home"
        shot(page, screenshot_dir, f"page-{name}", engine_name)
        assert page.locator("img[src=x]").count() == 0, rule
    assert not problems, problems
    context.close()

    # The organiser: published figures and events, never a donor.
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    sign_in(page, base, "olga@example.org")
    seen = [page.content()]
    page.get_by_role("link", name="Events").first.click()
    page.get_by_label("Name").fill("Benefit gig")
    page.get_by_label("Date").fill("2025-03-29")
    page.get_by_label("Place").fill("Social centre")
    page.get_by_role("button", name="Save").click()
    expect_visible(page.get_by_role("rowheader", name="Benefit gig"))
    shot(page, screenshot_dir, "organiser-events", engine_name)
    seen.append(page.content())
    for rule in rules:
        response = page.goto(base + rule)
        if response is not None and response.status == 200:
            seen.append(page.content())
    text = "\n".join(seen)
    for secret_text in public_seed.secrets():
        for form in public_seed.variants(secret_text):
            assert form not in text, f"an organiser saw {secret_text!r}"
    assert not problems, problems
    context.close()
