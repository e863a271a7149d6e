"""Classifying money in the review fund, and transfers between funds: service and pages.

Review items come from a real import: a PayPal export with an outgoing
payment, an unknown kind, pending money, a USD payment out and an opening
balance (the file starts after money was already in the account).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.admin.test_access import add_user, app, csrf, set_password, sign_in, treasurer  # noqa: F401 - fixtures
from tests.importers.paypal_factory import Tx, render

WHEN = datetime(2025, 3, 3, 12, tzinfo=UTC)
#: what each review item is, by a word the tests use
LINES = {
    "earlier": Tx(WHEN - timedelta(days=30), "donation", "EUR", Decimal("100.00"), txn_id="E0", from_email="early@example.org"),
    "outgoing": Tx(WHEN, "website", "EUR", Decimal("-50.00"), txn_id="O1", to_email="lawyer@example.org", note="invoice 17"),
    "outgoing2": Tx(WHEN + timedelta(hours=1), "website", "EUR", Decimal("-12.35"), txn_id="O2", to_email="shop@example.org"),
    "unknown": Tx(WHEN + timedelta(hours=2), "unknown", "EUR", Decimal("7.10"), txn_id="U1"),
    "pending": Tx(WHEN + timedelta(hours=3), "donation", "EUR", Decimal("40.00"), status="pending", txn_id="P1", from_email="p@example.org"),
    "usd": Tx(WHEN + timedelta(hours=4), "website", "USD", Decimal("-20.00"), txn_id="D1", to_email="post@example.org"),
    "donor": Tx(WHEN + timedelta(hours=5), "donation", "EUR", Decimal("30.00"), txn_id="G1", from_email="giver@example.org", name="Vera Donorova"),
}


def export_bytes() -> bytes:
    """The export without its first line: the account held 100 EUR before it (an opening balance)."""
    pieces = [text for text, _ in render("en_activity_2018", list(LINES.values()))]
    return (pieces[0] + "".join(pieces[2:])).encode()


def seed(tmp_path: Path) -> dict[str, int]:
    """Import the export (inside an app context); the open review items by name."""
    from tests.factories import Books
    from tracker.extensions import db
    from tracker.services.importing import import_file
    from tracker.services.review_items import open_items

    books = Books(db.session)
    books.campaign("205", {"anna": 1}, title="Penza case")
    books.account("Bank", "bank")
    books.account("Cash box", "cash")
    path = tmp_path / "paypal.csv"
    path.write_bytes(export_bytes())
    result = import_file(path, account_name="PayPal")
    assert result.status == "committed", [str(e) for e in result.errors]
    items = open_items(db.session).items
    db.session.rollback()
    by_amount = {(i.kind, i.currency, i.amount): i.item_id for i in items}
    return {
        "opening": by_amount[("opening_balance", "EUR", Decimal("100.00"))],
        "outgoing": by_amount[("payment", "EUR", Decimal("-50.00"))],
        "outgoing2": by_amount[("payment", "EUR", Decimal("-12.35"))],
        "unknown": by_amount[("other", "EUR", Decimal("7.10"))],
        "pending": by_amount[("payment", "EUR", Decimal("40.00"))],
        "usd": by_amount[("payment", "USD", Decimal("-20.00"))],
    }


def balance(key: str, currency: str = "EUR") -> Decimal:
    """What a fund holds (positive), by its key."""
    from tracker.extensions import db
    from tracker.services import ledger
    from tracker.services.campaigns import fund_by_key

    value = -ledger.balance_of(db.session, fund_by_key(db.session, key).ledger_account_id, currency)
    db.session.rollback()
    return value


def check_ok() -> None:
    """``tracker check``'s own service finds nothing wrong."""
    from tracker.extensions import db
    from tracker.services.checks import check_ledger

    report = check_ledger(db.session)
    db.session.rollback()
    assert report.ok, "\n".join(map(str, report.violations))


def waiting() -> dict[str, Any]:
    from tracker.extensions import db
    from tracker.services.totals import totals

    figures = totals(db.session)["unclassified"]
    db.session.rollback()
    return dict(figures)


@pytest.fixture
def items(app: Any, tmp_path: Path) -> dict[str, int]:  # noqa: F811 - the app fixture
    with app.app_context():
        return seed(tmp_path)


# --- the service ------------------------------------------------------------------------------


def test_the_queue_lists_every_review_item_with_readable_texts_and_no_identity(app: Any, items: dict[str, int]) -> None:  # noqa: F811
    from tracker.extensions import db
    from tracker.services.review_items import open_items

    with app.app_context():
        page = open_items(db.session)
        assert sorted(i.item_id for i in page.items) == sorted(items.values()) and page.next_after is None
        outgoing = next(i for i in page.items if i.item_id == items["outgoing"])
        assert outgoing.account == "PayPal" and outgoing.reason == "outgoing payment" and outgoing.status == "completed"
        assert ("note", "invoice 17") in outgoing.texts
        dumped = repr([i.as_dict() for i in page.items])
        for secret in ("lawyer@example.org", "early@example.org", "p@example.org", "O1", "P1"):
            assert secret not in dumped
        assert waiting() == {"lines": 6, "net": {"EUR": "84.75", "USD": "-20.00"}}
        first = open_items(db.session, limit=4)
        rest = open_items(db.session, limit=4, after=first.next_after)
        assert len(first.items) == 4 and rest.next_after is None
        assert [i.item_id for i in first.items + rest.items] == [i.item_id for i in page.items]
        assert [i.item_id for i in open_items(db.session, currency="USD").items] == [items["usd"]]
        assert [i.item_id for i in open_items(db.session, kind="opening_balance").items] == [items["opening"]]
        assert {i.item_id for i in open_items(db.session, kind="other").items} == {items["unknown"]}
        db.session.rollback()


def test_a_disbursement_is_booked_published_and_undone(app: Any, items: dict[str, int]) -> None:  # noqa: F811
    from tracker.extensions import db
    from tracker.models import AuditEvent, Disbursement, JournalEntry
    from tracker.services import classification as c

    with app.app_context():
        choice = c.Choice(c.ClassifyAs.DISBURSEMENT, fund="anna", category="lawyer", public_description="Appeal hearing", private_note="invoice 17")
        plan = c.preview(db.session, [items["outgoing"]], choice)
        assert plan.currency == "EUR" and plan.total == Decimal("-50.00") and plan.target == "Anna"
        [done] = c.classify([items["outgoing"]], choice)
        row = db.session.get(Disbursement, done.disbursement_id)
        assert (row.amount, row.currency, row.category, row.paid_on.isoformat()) == (Decimal("50.00"), "EUR", "lawyer", "2025-03-03")
        entry = db.session.get(JournalEntry, done.entry_id)
        assert entry.kind == "classification" and entry.resolves_entry_id == items["outgoing"]
        assert sorted(p.amount for p in entry.postings) == [Decimal("-50.00"), Decimal("50.00")]
        assert balance("anna") == Decimal("-50.00")
        assert waiting() == {"lines": 5, "net": {"EUR": "134.75", "USD": "-20.00"}}
        check_ok()
        log = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "classification.add")).one()
        assert log.after["private_note"].startswith("sha256:") and "invoice" not in repr(log.after)
        db.session.rollback()
        with pytest.raises(c.FieldConflict):
            c.classify([items["outgoing"]], choice)  # already classified

        c.undo(done.entry_id)
        assert db.session.get(Disbursement, done.disbursement_id) is None
        assert balance("anna") == Decimal("0.00")
        assert waiting() == {"lines": 6, "net": {"EUR": "84.75", "USD": "-20.00"}}
        check_ok()
        with pytest.raises(Exception, match="already undone"):
            c.undo(done.entry_id)
        again = c.classify([items["outgoing"]], choice)  # back in the queue, classified again
        assert len(again) == 1 and balance("anna") == Decimal("-50.00")
        check_ok()


def test_fee_fund_and_account_choices(app: Any, items: dict[str, int]) -> None:  # noqa: F811
    from tracker.extensions import db
    from tracker.models import Account
    from tracker.services import classification as c, ledger

    with app.app_context():
        c.classify([items["outgoing2"]], c.Choice(c.ClassifyAs.FEE))
        assert balance("general") == Decimal("17.65")  # the 30 EUR gift less the fee
        c.classify([items["opening"]], c.Choice(c.ClassifyAs.FUND, fund="campaign:205"))
        c.classify([items["unknown"]], c.Choice(c.ClassifyAs.FUND, fund="anna"))
        assert balance("anna") == Decimal("7.10")
        c.classify([items["usd"]], c.Choice(c.ClassifyAs.ACCOUNT, account="Bank"))
        bank = db.session.scalar(sa.select(Account).where(Account.name == "Bank"))
        assert ledger.balance_of(db.session, bank.transit_ledger_id, "USD") == Decimal("20.00")
        db.session.rollback()
        assert waiting()["lines"] == 2  # the 50 EUR payment and the pending money
        check_ok()
        with pytest.raises(c.FieldConflict) as refused:
            c.classify([items["outgoing"]], c.Choice(c.ClassifyAs.ACCOUNT, account="PayPal"))
        assert refused.value.field == "account"
        [to_cash] = c.classify([items["outgoing"]], c.Choice(c.ClassifyAs.ACCOUNT, account="Cash box"))
        cash = db.session.scalar(sa.select(Account).where(Account.name == "Cash box"))
        assert ledger.balance_of(db.session, cash.asset_ledger_id, "EUR") == Decimal("50.00")
        db.session.rollback()
        with pytest.raises(c.FieldConflict) as incoming:
            c.classify([items["pending"]], c.Choice(c.ClassifyAs.FEE))
        assert incoming.value.field == "as_"
        check_ok()
        assert to_cash.disbursement_id is None


def test_bulk_is_one_unit_of_work_and_refuses_mixed_currencies(app: Any, items: dict[str, int]) -> None:  # noqa: F811
    from tracker.extensions import db
    from tracker.models import Disbursement
    from tracker.services import classification as c

    with app.app_context():
        choice = c.Choice(c.ClassifyAs.DISBURSEMENT, fund="general", category="parcels", public_description="Parcels")
        with pytest.raises(c.FieldConflict, match="different currencies") as mixed:
            c.classify([items["outgoing"], items["usd"]], choice)
        assert mixed.value.field == "items"
        with pytest.raises(c.FieldConflict, match="brought money in"):
            c.classify([items["outgoing"], items["pending"]], choice)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Disbursement)) == 0
        assert waiting()["lines"] == 6
        done = c.classify([items["outgoing"], items["outgoing2"]], choice)
        assert len(done) == 2 and balance("general") == Decimal("-32.35")
        assert waiting()["lines"] == 4
        check_ok()


def _plans(statements: list[tuple[str, Any]]) -> list[str]:
    """How the engine runs each statement (PostgreSQL kept off sequential scans)."""
    from tracker.extensions import db

    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        explain, column = "EXPLAIN QUERY PLAN ", -1
    else:
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        explain, column = "EXPLAIN ", 0
    return [
        " ".join(str(row[column]) for row in connection.exec_driver_sql(explain + sql, params))
        for sql, params in statements
    ]


def test_the_queue_reads_its_own_table_of_open_items(app: Any, items: dict[str, int]) -> None:  # noqa: F811
    """Pages, filters and currencies read the table of open items (kept by the ledger's writer),
    never every review item ever booked nor the review fund's postings: on a big ledger those
    are the largest sets there are. ``tracker check`` finds the table in step throughout."""
    from tracker.extensions import db
    from tracker.models import Account
    from tracker.services import classification as c
    from tracker.services.checks import check_ledger
    from tracker.services.review_items import open_currencies, open_items

    with app.app_context():
        paypal = db.session.scalar(sa.select(Account.id).where(Account.name == "PayPal"))
        statements: list[tuple[str, Any]] = []

        def seen(_conn: Any, _cursor: Any, sql: str, params: Any, *_rest: Any) -> None:
            if "FROM open_review_items" in sql:
                statements.append((sql, params))

        sa.event.listen(db.engine, "before_cursor_execute", seen)
        try:
            first = open_items(db.session, limit=2)
            rest = open_items(db.session, after=first.next_after, currency="USD", account_id=paypal)
            assert [i.item_id for i in rest.items] == [items["usd"]]
            assert open_items(db.session, kind="payment").items
            assert open_currencies(db.session) == ["EUR", "USD"]
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", seen)
        assert len(statements) == 4
        for plan in _plans(statements):
            assert "ix_open_review_items" in plan or "pk_open_review_items" in plan, plan
            assert "ix_postings_ledger_currency" not in plan, plan
            assert "SCAN journal_entries" not in plan and "Seq Scan on journal_entries" not in plan, plan
        db.session.rollback()
        assert check_ledger(db.session).violations == []
        done = c.classify([items["usd"]], c.Choice(c.ClassifyAs.ACCOUNT, account="Bank"))
        assert open_currencies(db.session) == ["EUR"]
        assert check_ledger(db.session).violations == []
        db.session.rollback()
        c.undo(done[0].entry_id)
        assert open_currencies(db.session) == ["EUR", "USD"]
        assert check_ledger(db.session).violations == []
        db.session.rollback()


# --- the pages --------------------------------------------------------------------------------


def _ticks(page: bytes) -> int:
    return page.count(b'type="checkbox" name="item"')


def test_the_page_lists_filters_pages_previews_then_books(app: Any, treasurer: Any, items: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    from tracker.extensions import db
    from tracker.models import Disbursement

    client, _ = treasurer
    page = client.get("/admin/classify")
    assert page.status_code == 200 and _ticks(page.data) == 6
    assert b"invoice 17" in page.data and b"lawyer@example.org" not in page.data
    assert _ticks(client.get("/admin/classify?currency=USD").data) == 1
    assert _ticks(client.get("/admin/classify?kind=opening_balance").data) == 1
    monkeypatch.setattr("tracker.web.admin.classify.PAGE", 4)
    first = client.get("/admin/classify")
    assert _ticks(first.data) == 4 and b'rel="next"' in first.data
    link = first.data.split(b'rel="next"')[0].rsplit(b'href="', 1)[1].split(b'"')[0].decode().replace("&amp;", "&")
    second = client.get(link)
    assert _ticks(second.data) == 2 and b'rel="next"' not in second.data
    monkeypatch.setattr("tracker.web.admin.classify.PAGE", 50)

    choice = {"csrf_token": csrf(page.data), "item": [str(items["outgoing"]), str(items["outgoing2"])], "choice": "disbursement",
              "fund": "anna", "category": "lawyer", "public_description": "Appeal hearing", "private_note": "invoices 17, 18"}
    preview = client.post("/admin/classify", data=choice)
    assert preview.status_code == 200 and b'id="confirm"' in preview.data
    assert b"Appeal hearing" in preview.data and preview.data.count(b'type="hidden" name="item"') == 2
    with app.app_context():
        assert waiting()["lines"] == 6  # a preview writes nothing
    booked = client.post("/admin/classify", data={**choice, "csrf_token": csrf(preview.data), "confirm": "1"})
    assert booked.status_code == 302
    with app.app_context():
        rows = db.session.scalars(sa.select(Disbursement).order_by(Disbursement.id)).all()
        assert [(r.amount, r.category, r.public_description, r.private_note) for r in rows] == [
            (Decimal("50.00"), "lawyer", "Appeal hearing", "invoices 17, 18"), (Decimal("12.35"), "lawyer", "Appeal hearing", "invoices 17, 18")]
        assert waiting()["lines"] == 4 and balance("anna") == Decimal("-62.35")
        check_ok()
    after = client.get("/admin/classify")
    assert _ticks(after.data) == 4 and after.data.count(b"/undo") == 2
    assert b"classification.add" in client.get("/admin/audit?action=classification").data


def test_the_form_says_what_is_wrong_beside_the_field(app: Any, treasurer: Any, items: dict[str, int]) -> None:  # noqa: F811
    client, _ = treasurer
    token = csrf(client.get("/admin/classify").data)
    base = {"csrf_token": token, "item": [str(items["outgoing"])]}
    no_fund = client.post("/admin/classify", data={**base, "choice": "disbursement", "category": "lawyer"})
    assert no_fund.status_code == 200 and b'id="fund-error"' in no_fund.data and b'id="confirm"' not in no_fund.data
    no_account = client.post("/admin/classify", data={**base, "choice": "account"})
    assert b'id="account-error"' in no_account.data
    same = client.post("/admin/classify", data={**base, "choice": "account", "account": "PayPal"})
    assert b'id="account-error"' in same.data and b"already in PayPal" in same.data
    mixed = client.post("/admin/classify", data={**base, "item": [str(items["outgoing"]), str(items["usd"])], "choice": "fee"})
    assert b'id="items-error"' in mixed.data and b"different currencies" in mixed.data
    assert b'id="items-error"' in client.post("/admin/classify", data={"csrf_token": token, "choice": "fee"}).data
    incoming = client.post("/admin/classify", data={**base, "item": [str(items["pending"])], "choice": "fee", "confirm": "1"})
    assert b'id="choice-error"' in incoming.data and b"brought money in" in incoming.data
    with app.app_context():
        assert waiting()["lines"] == 6


def test_undo_from_the_page_puts_the_item_back(app: Any, treasurer: Any, items: dict[str, int]) -> None:  # noqa: F811
    from tracker.services import classification as c

    client, _ = treasurer
    with app.app_context():
        [done] = c.classify([items["opening"]], c.Choice(c.ClassifyAs.FUND, fund="anna"))
    page = client.get("/admin/classify")
    assert _ticks(page.data) == 5
    assert client.post(f"/admin/classify/{done.entry_id}/undo", data={"csrf_token": csrf(page.data)}).status_code == 302
    assert _ticks(client.get("/admin/classify").data) == 6
    again = client.post(f"/admin/classify/{done.entry_id}/undo", data={"csrf_token": csrf(page.data)}, follow_redirects=True)
    assert b"already undone" in again.data
    with app.app_context():
        assert balance("anna") == Decimal("0.00") and waiting()["lines"] == 6
        check_ok()
    assert b"classification.undo" in client.get("/admin/audit?action=classification").data


def test_state_changes_need_a_csrf_token(app: Any, treasurer: Any, items: dict[str, int]) -> None:  # noqa: F811
    from tracker.services import classification as c

    client, _ = treasurer
    with app.app_context():
        [done] = c.classify([items["outgoing2"]], c.Choice(c.ClassifyAs.FEE))
    form = {"item": [str(items["outgoing"])], "choice": "fee", "confirm": "1"}
    assert client.post("/admin/classify", data=form).status_code == 400
    assert client.post("/admin/classify", data={**form, "csrf_token": "forged"}).status_code == 400
    assert client.post(f"/admin/classify/{done.entry_id}/undo", data={}).status_code == 400
    assert client.post("/admin/transfers", data={"source": "general", "target": "anna", "currency": "EUR", "amount": "1", "reason": "x"}).status_code == 400
    with app.app_context():
        assert waiting()["lines"] == 5 and balance("general") == Decimal("17.65") and balance("anna") == Decimal("0.00")


def test_organisers_are_refused(app: Any, items: dict[str, int]) -> None:  # noqa: F811
    client = app.test_client()
    set_password(client, add_user(app, "org@example.org", "organiser"))
    sign_in(client, "org@example.org")
    token = csrf(client.get("/admin/events").data)
    for url in ("/admin/classify", "/admin/transfers"):
        assert client.get(url).status_code == 403, url
    assert client.post("/admin/classify", data={"csrf_token": token, "item": [str(items["outgoing"])], "choice": "fee", "confirm": "1"}).status_code == 403
    assert client.post("/admin/classify/1/undo", data={"csrf_token": token}).status_code == 403
    assert client.post("/admin/transfers/1/undo", data={"csrf_token": token}).status_code == 403
    with app.app_context():
        assert waiting()["lines"] == 6


def test_transfers_between_funds_with_either_decimal_mark_and_undo(app: Any, treasurer: Any, items: dict[str, int]) -> None:  # noqa: F811
    client, _ = treasurer
    page = client.get("/admin/transfers")
    assert page.status_code == 200 and b"No transfers yet." in page.data
    form = {"csrf_token": csrf(page.data), "source": "general", "target": "anna", "currency": "eur", "reason": "Anna's parcels this month"}
    same = client.post("/admin/transfers", data={**form, "target": "general", "amount": "1"})
    assert b'id="target-error"' in same.data
    bad = client.post("/admin/transfers", data={**form, "amount": "12,5x"})
    assert bad.status_code == 200 and b'id="amount-error"' in bad.data
    too_much = client.post("/admin/transfers", data={**form, "amount": "31,00"})
    assert b'id="amount-error"' in too_much.data  # the general fund holds 30 EUR
    assert client.post("/admin/transfers", data={**form, "amount": "12,50"}).status_code == 302
    assert client.post("/admin/transfers", data={**form, "amount": "2.25"}).status_code == 302
    with app.app_context():
        assert balance("anna") == Decimal("14.75") and balance("general") == Decimal("15.25")
        check_ok()
    listing = client.get("/admin/transfers")
    assert b"Anna&#39;s parcels this month" in listing.data and listing.data.count(b"/undo") == 2
    first = int(listing.data.split(b"/admin/transfers/")[-1].split(b"/undo")[0])  # the oldest is listed last
    assert client.post(f"/admin/transfers/{first}/undo", data={"csrf_token": csrf(listing.data)}).status_code == 302
    with app.app_context():
        assert balance("anna") == Decimal("2.25") and balance("general") == Decimal("27.75")
        check_ok()
    after = client.get("/admin/transfers")
    assert b"undone" in after.data and after.data.count(b"/undo") == 1
    assert b"fund.transfer.undo" in client.get("/admin/audit?action=fund.").data
