"""The running donation figures, on SQLite and PostgreSQL.

The dashboard, the review queue and the campaigns page read them instead of
summing the ledger; every change of the books keeps them equal to what the
donations and postings say (``tracker check`` recomputes them), and the
migration that added them fills them with exactly that.
"""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from tracker.errors import InvariantError
from tracker.models import Account, Campaign, DonationTotal
from tracker.services import booking, donation_totals, review, totals, unit_of_work
from tracker.services.guard import ledger_writer

D = Decimal
WHEN = datetime(2025, 5, 1, tzinfo=UTC)
MIGRATION = Path(__file__).resolve().parents[2] / "migrations" / "versions" / "0011_donation_totals.py"


def figures(session) -> dict:
    """What the pages show: waiting, unclassified money, raised per campaign."""
    campaigns = {c.tag: c.id for c in session.scalars(sa.select(Campaign))}
    raised = totals.raised_by_campaign(session, list(campaigns.values()))
    out = {
        "waiting": totals.waiting_for_review(session),
        "unclassified": totals.unclassified(session)["net"],
        "raised": {tag: {cur: format(v.normalize(), "f") for cur, v in raised.get(i, {}).items()} for tag, i in campaigns.items()},
    }
    session.rollback()
    return out


def dispute_fee(donation, amount: str) -> None:
    with unit_of_work() as s:
        booking.book_dispute_fee(
            s, account=s.get(Account, donation.account_id), currency=donation.currency, amount=D(amount),
            occurred_at=WHEN, donation=donation,
        )


def test_figures_follow_gifts_through_fees_moves_and_refunds(books, session) -> None:
    books.campaign("205", {"anna": 1, "boris": 1})
    other = books.campaign("212", {"clara": 1})
    waiting = books.donation("30.00", fee="1.20")
    books.donation("10.00", currency="USD")
    books.donation("50.00", campaign=other)
    assert figures(session) == {
        "waiting": {"donations": 2, "gross": {"EUR": "30.00", "USD": "10.00"}},
        "unclassified": {},
        "raised": {"205": {}, "212": {"EUR": "50"}},
    }
    # a dispute fee stays in the review fund when its gift moves on: it becomes unclassified money
    dispute_fee(waiting, "2.50")
    assert figures(session)["unclassified"] == {}
    review.assign([waiting.id], campaign_tag="205")
    assert figures(session) == {
        "waiting": {"donations": 1, "gross": {"USD": "10.00"}},
        "unclassified": {"EUR": "-2.50"},
        "raised": {"205": {"EUR": "30"}, "212": {"EUR": "50"}},
    }
    assert books.check().ok
    books.refund(waiting, "12.00", fee_returned="0.40")
    assert figures(session)["raised"]["205"] == {"EUR": "18"}
    review.assign([waiting.id], campaign_tag="212")
    after = figures(session)
    assert after["raised"] == {"205": {"EUR": "0"}, "212": {"EUR": "68"}}
    assert after["waiting"] == {"donations": 1, "gross": {"USD": "10.00"}}
    report = books.check()
    assert report.ok, report.violations
    # fees: 1.20 less 0.40 returned, and the 2.50 dispute fee; that fee's posting is still in the review fund
    stored = donation_totals.stored(session)
    assert stored[("campaign", other.id, "EUR")] == donation_totals.Figures(2, D("80.00"), D("68.00"), D("3.30"), D("2.50"))
    session.rollback()


def test_the_check_finds_a_figure_that_drifted(books, session) -> None:
    campaign = books.campaign("205", {"anna": 1})
    books.donation("25.00", campaign=campaign)
    with ledger_writer():
        session.execute(
            sa.update(DonationTotal).where(DonationTotal.campaign_key == campaign.id).values(raised=D("24.00"))
        )
    session.commit()
    report = books.check()
    assert not report.ok
    assert any(v.rule == "donation-totals" and "raised 24" in v.message for v in report.violations)


def test_only_the_ledger_writes_them(books, session) -> None:
    books.donation("5.00")
    session.add(DonationTotal(destination="general", campaign_key=0, currency="EUR", donations=1, gross=D(1), raised=D(1), fees=D(0), review_held=D(0)))
    with pytest.raises(InvariantError):
        session.flush()
    session.rollback()
    with pytest.raises(InvariantError):
        session.execute(sa.delete(DonationTotal))
    session.rollback()


def test_the_migration_fills_them_as_the_books_say(books, session) -> None:
    """The backfill of migration 0011, run again over books with moves and refunds, gives the same rows."""
    books.campaign("205", {"anna": 1, "boris": 2})
    gift = books.donation("40.00", fee="1.00")
    dispute_fee(gift, "1.50")
    review.assign([gift.id], campaign_tag="205")
    books.refund(gift, "10.00")
    books.donation("7.00", general=True, currency="GBP")
    books.donation("3.00")
    before = donation_totals.stored(session)
    session.rollback()
    spec = importlib.util.spec_from_file_location("migration_0011", MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with ledger_writer():
        session.execute(sa.delete(DonationTotal))
    session.execute(sa.text(module.BACKFILL))
    session.commit()
    assert donation_totals.stored(session) == before
    session.rollback()
    assert books.check().ok
