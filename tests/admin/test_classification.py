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
