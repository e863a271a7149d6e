"""Cash donations, events recorded by organisers, takings booked by treasurers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from tests.admin.test_access import add_user, app, csrf, set_password, sign_in, treasurer  # noqa: F401 - fixtures


def _setup(app: Any) -> tuple[int, int]:
    from tests.factories import Books
    from tracker.extensions import db

    with app.app_context():
        books = Books(db.session)
        campaign = books.campaign("205", {"anna": 1}, title="Penza case")
        account = books.account("Cash box", "cash")
        return campaign.id, account.id


def test_cash_donation_is_booked_to_the_campaign(app: Any, treasurer: Any) -> None:
    from tracker.extensions import db
    from tracker.models import Donation
    from tracker.services.checks import check_ledger

    client, _ = treasurer
    campaign_id, account_id = _setup(app)
    page = client.get("/admin/cash")
    data = {"csrf_token": csrf(page.data), "account": str(account_id), "received_on": "2025-03-04", "currency": "EUR", "campaign": "205"}
    assert b'class="error"' in client.post("/admin/cash", data={**data, "amount": "-5"}).data
    assert client.post("/admin/cash", data={**data, "amount": "40,00"}).status_code == 302
    with app.app_context():
        gift = db.session.scalar(sa.select(Donation))
        assert (gift.gross, gift.campaign_id, gift.origin) == (Decimal("40.00"), campaign_id, "manual")
        assert check_ledger(db.session).ok


def test_organiser_records_an_event_and_the_treasurer_its_takings(app: Any, treasurer: Any) -> None:
    from tracker.extensions import db
    from tracker.models import Donation, Event

    client, _ = treasurer
    _campaign_id, account_id = _setup(app)
    organiser = app.test_client()
    set_password(organiser, add_user(app, "org@example.org", "organiser"))
    sign_in(organiser, "org@example.org")
    page = organiser.get("/admin/events")
    added = organiser.post("/admin/events", data={"csrf_token": csrf(page.data), "name": "Benefit gig", "held_on": "2025-03-08", "place": "Social centre", "campaign": "205", "public": "y"})
    assert added.status_code == 302
    with app.app_context():
        event_id = db.session.scalar(sa.select(Event.id))
    assert organiser.get(f"/admin/events/{event_id}/takings").status_code == 403  # money is the treasurer's
    page = client.get(f"/admin/events/{event_id}/takings")
    booked = client.post(f"/admin/events/{event_id}/takings", data={"csrf_token": csrf(page.data), "account": str(account_id), "currency": "EUR", "amount": "312.40"})
    assert booked.status_code == 302
    with app.app_context():
        takings = db.session.scalar(sa.select(Donation))
        assert (takings.origin, takings.event_id, takings.gross) == ("event", event_id, Decimal("312.40"))
