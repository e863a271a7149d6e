"""V1: no public byte (body or header, any route, errors included) carries donor identity."""

from __future__ import annotations

from typing import Any

from tests.web import public_seed


def public_urls(app: Any) -> list[str]:
    """Every public GET route, with real and made-up arguments (so errors are scanned too)."""
    from tracker.extensions import db
    from tracker.services import published

    figures = published.figures(db.session)
    values = {
        "lang": ["en", "ru"],
        "slug": [f.slug for f in figures.prisoners] + ["hidden", "nobody"],
        "tag": [*figures.campaigns, "999"],
        "seq": [r.seq for r in figures.releases] + [9999],
        "name": ["totals", "prisoner", "campaign", "publications"],
        "filename": ["css/site.css"],
    }
    urls = ["/", "/no/such/page", "/en/no-such-page", "/open-data/nothing.json"]
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.startswith("/admin"):
            continue
        combos: list[dict[str, Any]] = [{}]
        for arg in rule.arguments:
            combos = [{**c, arg: v} for c in combos for v in values[arg]]
        with app.test_request_context():
            from flask import url_for

            urls += [url_for(rule.endpoint, **c) for c in combos]
    return sorted(set(urls))


def test_no_public_response_contains_donor_identity(published: Any) -> None:
    client = published.test_client()
    urls = public_urls(published)
    assert len(urls) > 30
    forbidden = {v for s in public_seed.secrets() for v in public_seed.variants(s)}
    seen_figures = False
    for url in urls:
        for headers in ({}, {"Accept-Language": "ru"}):
            response = client.get(url, headers=headers)
            text = response.get_data(as_text=True) + "\n" + "\n".join(f"{k}: {v}" for k, v in response.headers.items())
            response.close()
            folded = text.casefold()
            leaks = [s for s in forbidden if s in text or s.casefold() in folded]
            assert not leaks, f"{url} leaks {leaks[:3]}"
            assert "Set-Cookie" not in response.headers, url
            assert "cookie" not in response.headers.get("Vary", "").lower(), url
            seen_figures |= url == "/en/campaign/205" and response.status_code == 200 and "€" in text
    assert seen_figures, "the campaign page shows published figures"


def test_private_prisoner_is_not_public(published: Any) -> None:
    client = published.test_client()
    assert client.get("/en/prisoner/hidden").status_code == 404
    assert client.get("/prisoner/hidden.json").status_code == 404
    for url in ("/en/", "/open-data/totals.json", "/en/campaign/205"):
        assert "Hidden Person" not in client.get(url).get_data(as_text=True)
