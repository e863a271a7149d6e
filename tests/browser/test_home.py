"""The public home page in a real browser, desktop and phone."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def test_home_page_renders_in_chromium(browser: Any, live_server: str, books: Any, screenshot_dir: Path, engine_name: str) -> None:
    books.prisoner("ivan", "Ivan K.")
    books.campaign("205", {"ivan": 1}, title="Penza case")
    for name, viewport in (("desktop", {"width": 1280, "height": 800}), ("phone", {"width": 390, "height": 844})):
        page = browser.new_page(viewport=viewport)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        response = page.goto(live_server + "/")
        assert response is not None and response.status == 200
        assert page.locator("h1").count() == 1
        assert page.get_by_text("Penza case").is_visible()
        page.screenshot(path=str(screenshot_dir / f"home-{name}-{engine_name}.png"), full_page=True)
        assert not errors
        page.close()
