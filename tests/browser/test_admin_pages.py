"""Signing in and the treasurer's pages in Chromium, with screenshots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyotp

from tests.browser.conftest import expect_visible


def test_treasurer_signs_in_with_totp_and_publishes(browser: Any, published: Any, live_server: str, screenshot_dir: Path, engine_name: str) -> None:
    from tracker.services import unit_of_work, users

    with unit_of_work() as s:
        user, token = users.add_user(s, "tess@example.org", "treasurer")
        users.set_password(s, user, "correct horse battery staple", token=token)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.goto(live_server + "/admin/")
    assert page.url.endswith("/admin/login?next=/admin/")
    page.get_by_label("E-mail").fill("tess@example.org")
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Sign in").click()
    assert "/admin/second-factor/setup" in page.url
    secret = page.locator("#totp-secret").inner_text()
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on").click()
    assert page.locator("ul.codes li").count() == 10
    page.get_by_role("link", name="Continue").click()
    expect_visible(page.get_by_role("heading", name="Dashboard"))
    page.screenshot(path=str(screenshot_dir / f"admin-dashboard-{engine_name}.png"), full_page=True)
    page.get_by_role("link", name="Publications").first.click()
    expect_visible(page.get_by_role("heading", name="Publications"))
    page.screenshot(path=str(screenshot_dir / f"admin-publications-{engine_name}.png"), full_page=True)
    page.get_by_role("button", name="Sign out").click()
    assert "/admin/login" in page.url
    assert not problems, problems
    context.close()
