"""Public pages (the plain listing until publications exist)."""

from __future__ import annotations


def test_home_lists_public_funds_and_no_figures(app, books) -> None:
    books.prisoner("ivan", "Ivan K.")
    books.prisoner("hidden", "Hidden Person", public=False)
    campaign = books.campaign("205", {"ivan": 1}, title="Penza case")
    books.donation("1234.56", campaign=campaign, donor="donor-key-1")
    response = app.test_client().get("/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Ivan K." in page and "Penza case" in page
    assert "Hidden Person" not in page
    assert "1234" not in page and "1,234" not in page
    assert "Set-Cookie" not in response.headers
