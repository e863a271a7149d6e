"""Public pages in Debian's Chromium: English and Russian, desktop and phone, with and without JavaScript."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import expect_visible

VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
PAGES = {"home": "/{lang}/", "prisoner": "/{lang}/prisoner/anna", "campaign": "/{lang}/campaign/205"}


@pytest.fixture
def site(published: Any, live_server: str) -> str:
    return live_server


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_public_pages_render(browser: Any, site: str, screenshot_dir: Path, engine_name: str, lang: str) -> None:
    for viewport_name, viewport in VIEWPORTS.items():
        context = browser.new_context(viewport=viewport, locale=lang)
        page = context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
        for name, path in PAGES.items():
            response = page.goto(site + path.format(lang=lang))
            assert response is not None and response.status == 200
            assert page.locator("h1").count() == 1
            assert page.locator("html").get_attribute("lang") == lang
            # nothing wider than the screen on a phone
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, f"{name} {viewport_name} overflows by {overflow}px"
            if name != "home":
                assert page.locator("figure.chart svg").count() == 1
                assert page.locator("figure.chart table").count() == 1
            if viewport_name == "desktop" or engine_name == "sqlite":
                page.screenshot(path=str(screenshot_dir / f"{name}-{lang}-{viewport_name}-{engine_name}.png"), full_page=True)
        if lang == "en":
            badge = page.goto(site + "/badge/campaign/205.svg")
            assert badge is not None and badge.status == 200
            page.goto(site + "/en/campaign/205")
            width = page.evaluate("() => { const i = document.querySelector('.embed img'); return i.complete ? i.naturalWidth : 0; }")
            assert width > 50, "the badge renders as an image"
        assert not problems, problems
        context.close()


def test_pages_work_without_javascript(browser: Any, site: str) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(site + "/en/")
    page.get_by_role("link", name="Penza case").first.click()
    assert page.url.endswith("/en/campaign/205")
    page.get_by_text("The same figures as a table").first.click()
    expect_visible(page.locator("figure.chart table"))
    page.get_by_role("link", name="Русский").click()
    assert page.url.endswith("/ru/campaign/205")
    context.close()
