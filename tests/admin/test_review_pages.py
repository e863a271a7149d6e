"""The review queue (highlighted matches, keyset pages) and re-tagging with its preview."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tests.admin.test_access import app, csrf, treasurer  # noqa: F401 - fixtures
from tests.importers.paypal_factory import build, transactions


def _import(app: Any, tmp_path: Path, count: int) -> None:
    """Import a generated export before any campaign exists: every gift waits for review."""
    from tracker.extensions import db
    from tracker.services.importing import import_file

    txs = transactions("en", count=count, seed=3, start=datetime(2025, 3, 13, tzinfo=UTC))
    data, _ = build("en_activity_2018", txs)
    path = tmp_path / "export.csv"
    path.write_bytes(data)
    with app.app_context():
        result = import_file(path)
        assert result.status == "committed", result.errors
        db.session.remove()


def _campaign(app: Any, tag: str, aliases: tuple[str, ...] = ()) -> None:
    from tests.factories import Books
    from tracker.extensions import db

    with app.app_context():
        Books(db.session).campaign(tag, {"anna": 1}, title=f"Case {tag}", aliases=list(aliases))
        db.session.remove()


def _places(app: Any) -> dict[int, tuple[str, int | None]]:
    from tracker.extensions import db
    from tracker.models import Donation

    with app.app_context():
        rows = db.session.execute(sa.select(Donation.id, Donation.destination, Donation.campaign_id)).all()
        db.session.remove()
    return {i: (d, c) for i, d, c in rows}


def _in_campaign(app: Any, tag: str) -> int:
    from tracker.extensions import db
    from tracker.models import Campaign, Donation

    with app.app_context():
        n = db.session.scalar(
            sa.select(sa.func.count()).select_from(Donation).join(Campaign, Campaign.id == Donation.campaign_id)
            .where(Campaign.tag == tag, Donation.voided_at.is_(None))
        )
        db.session.remove()
    return int(n or 0)


def _waiting(app: Any) -> set[int]:
    from tracker.extensions import db
    from tracker.models import Donation

    with app.app_context():
        ids = set(db.session.scalars(sa.select(Donation.id).where(Donation.destination == "review", Donation.voided_at.is_(None))))
        db.session.remove()
    return ids


def test_review_pages_by_keyset_and_highlights_matches(app: Any, treasurer: Any, tmp_path: Path) -> None:
    client, _secret = treasurer
    # Notes naming both campaigns wait for a treasurer's choice.
    _campaign(app, "205")
    _campaign(app, "207", ("solidarity", "München", "café", "lines", "for"))
    _import(app, tmp_path, 320)
    waiting = _waiting(app)
    assert len(waiting) > 50
    seen: list[int] = []
    page = client.get("/admin/review")
    assert page.status_code == 200
    assert re.search(rb"<mark[^>]*>205</mark>", page.data), page.data.decode()[page.data.find(b"<tbody"):][:3000]
    assert b"<mark" in page.data and b"<script" not in page.data.split(b"</head>")[1]
    while True:
        seen += [int(i) for i in re.findall(rb'name="donation" value="(\d+)"', page.data)]
        link = re.search(rb'href="(/admin/review\?after=[^"]+)" rel="next"', page.data)
        if not link:
            break
        page = client.get(link.group(1).decode().replace("&amp;", "&"))
        assert page.status_code == 200
    assert len(seen) == len(set(seen)) and set(seen) == waiting
    tampered = client.get("/admin/review?after=abc.def", follow_redirects=True)
    assert b"damaged or out of date" in tampered.data


def test_retag_applies_exactly_the_preview(app: Any, treasurer: Any, tmp_path: Path) -> None:
    client, _secret = treasurer
    _import(app, tmp_path, 60)
    _campaign(app, "205")
    page = client.get("/admin/retag")
    total = int(re.search(rb"(\d+) donations? would move", page.data).group(1))
    assert total > 0 and _in_campaign(app, "205") == 0
    digest = re.search(rb'name="plan" value="([0-9a-f]+)"', page.data).group(1).decode()
    # The rules change after the preview: the old confirmation applies nothing.
    _campaign(app, "Grüße")
    refused = client.post("/admin/retag", data={"csrf_token": csrf(page.data), "plan": digest}, follow_redirects=True)
    assert b"changed since the preview" in refused.data
    assert _in_campaign(app, "205") == 0
    page = client.get("/admin/retag")
    total = int(re.search(rb"(\d+) donations? would move", page.data).group(1))
    digest = re.search(rb'name="plan" value="([0-9a-f]+)"', page.data).group(1).decode()
    places = _places(app)
    done = client.post("/admin/retag", data={"csrf_token": csrf(page.data), "plan": digest}, follow_redirects=True)
    assert (f"{total} donation re-tagged." if total == 1 else f"{total} donations re-tagged.").encode() in done.data
    after = _places(app)
    assert sum(1 for i in places if places[i] != after[i]) == total
    assert b"Nothing to re-tag" in client.get("/admin/retag").data
