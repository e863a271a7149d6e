"""The treasurer's review queue, spending form and audit log."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from tests.admin.test_access import add_user, app, csrf, set_password, sign_in, treasurer  # noqa: F401 - fixtures


def _books(app: Any) -> Any:
    from tests.factories import Books
    from tracker.extensions import db

    return Books(db.session)


def test_review_queue_assigns_in_bulk_and_is_audited(app: Any, treasurer: Any) -> None:
    from tracker.extensions import db
    from tracker.models import Donation

    client, _ = treasurer
    with app.app_context():
        books = _books(app)
        books.campaign("205", {"anna": 1}, title="Penza case")
        waiting = [books.donation("15", donor=f"w{i}").id for i in range(3)]
    page = client.get("/admin/review")
    assert page.status_code == 200 and page.data.count(b'name="donation"') == 3
    done = client.post("/admin/review", data={"csrf_token": csrf(page.data), "donation": [str(i) for i in waiting[:2]], "campaign": "205"})
    assert done.status_code == 302
    with app.app_context():
        destinations = dict(db.session.execute(sa.select(Donation.id, Donation.destination).where(Donation.id.in_(waiting))).tuples().all())
    assert [destinations[i] for i in waiting] == ["campaign", "campaign", "review"]
    log = client.get("/admin/audit?action=review.")
    assert log.status_code == 200 and log.data.count(b"review.assign") == 2


def test_spending_form_records_a_disbursement_with_either_decimal_mark(app: Any, treasurer: Any) -> None:
    from tracker.extensions import db
    from tracker.models import Disbursement

    client, _ = treasurer
    with app.app_context():
        books = _books(app)
        books.campaign("205", {"anna": 1})
        books.donation("100", general=True, donor="x")
        account = books.account()
        fund_id = books.fund_of("anna").id
        account_id = account.id
    page = client.get("/admin/spending")
    form = {"csrf_token": csrf(page.data), "fund": str(fund_id), "account": str(account_id), "currency": "eur", "category": "lawyer",
            "public_description": "Lawyer's fee, appeal hearing", "private_note": "invoice 17", "paid_on": "2025-03-05"}
    bad = client.post("/admin/spending", data={**form, "amount": "12,5x"})
    assert bad.status_code == 200 and b'class="error"' in bad.data
    ok = client.post("/admin/spending", data={**form, "amount": "12,50"})
    assert ok.status_code == 302
    with app.app_context():
        row = db.session.scalar(sa.select(Disbursement))
        assert row.amount == Decimal("12.50") and row.currency == "EUR" and row.category == "lawyer"
        from tracker.services.checks import check_ledger

        assert check_ledger(db.session).ok


def test_organisers_cannot_open_treasurer_pages(app: Any) -> None:
    client = app.test_client()
    set_password(client, add_user(app, "o@example.org", "organiser"))
    sign_in(client, "o@example.org")
    for url in ("/admin/review", "/admin/spending", "/admin/audit"):
        assert client.get(url).status_code == 403, url


def test_export_page_downloads_the_books_and_is_audited(app: Any, treasurer: Any) -> None:
    import io

    import openpyxl

    client, _ = treasurer
    with app.app_context():
        _books(app).donation("12", general=True, donor="z")
    page = client.get("/admin/export")
    response = client.post("/admin/export", data={"csrf_token": csrf(page.data), "start": "2025-01-01", "end": "2025-12-31", "fmt": "xlsx", "with_notes": "no"})
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    assert openpyxl.load_workbook(io.BytesIO(response.data)).sheetnames == ["donations", "postings", "disbursements"]
    assert response.headers["Cache-Control"] == "no-store"
    assert b"books.export" in client.get("/admin/audit").data
