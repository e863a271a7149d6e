"""The ledger's templates and its guard rails, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from tracker.errors import Conflict, InvariantError, MoneyError, UnbalancedEntry
from tracker.models import Balance, EntryKind, JournalEntry, Posting, PostingRole
from tracker.services import booking, ledger, unit_of_work
from tracker.services.totals import fund_figures, totals

D = Decimal
WHEN = datetime(2025, 5, 1, tzinfo=UTC)


def balance(session, fund) -> Decimal:
    return ledger.balance_of(session, fund.ledger_account_id, "EUR")


def test_donation_splits_gross_and_fee_in_the_same_shares(books, session) -> None:
    campaign = books.campaign("205", {"a": 1, "b": 1, "c": 1})
    donation = books.donation("10.00", fee="0.64", campaign=campaign)
    funds = [books.fund_of(s) for s in "abc"]
    holdings = sorted(-balance(session, f) for f in funds)
    assert sum(holdings) == D("9.36")
    assert holdings == [D("3.12"), D("3.12"), D("3.12")]
    figures = fund_figures(session, [f.ledger_account_id for f in funds])
    raised = sorted(figures[f.ledger_account_id].raised["EUR"] for f in funds)
    assert raised == [D("3.33"), D("3.33"), D("3.34")]
    for f in funds:
        fig = figures[f.ledger_account_id]
        assert fig.raised["EUR"] - fig.fees["EUR"] == -balance(session, f)
    account = books.account()
    assert ledger.balance_of(session, account.asset_ledger_id, "EUR") == D("9.36")
    assert donation.allocation_entry_id is not None
    assert books.check().ok


def test_full_refund_returns_every_fund_to_zero(books, session) -> None:
    campaign = books.campaign("205", {"a": 1, "b": 1, "c": 1})
    donation = books.donation("10.00", fee="0.64", campaign=campaign)
    books.refund(donation, "3.00", fee_returned="0.10")
    books.refund(donation, "4.00", fee_returned="0.10")
    assert books.check().ok
    books.refund(donation, "3.00", fee_returned="0.09")
    for slug in "abc":
        fund = books.fund_of(slug)
        fig = fund_figures(session, [fund.ledger_account_id])[fund.ledger_account_id]
        assert fig.raised["EUR"] == 0
    # The provider kept 0.35 of its fee: charged to the funds in their shares.
    assert sum(balance(session, books.fund_of(s)) for s in "abc") == D("0.35")
    assert books.check().ok
    with pytest.raises(Conflict):
        books.refund(donation, "0.01")
    assert books.check().ok


def test_chargeback_and_dispute_fee_follow_the_donation(books, session) -> None:
    campaign = books.campaign("212", {"lev": 1})
    donation = books.donation("50.00", fee="1.80", campaign=campaign)
    account = books.account()
    with unit_of_work() as s:
        from tracker.services.donations import refund

        refund(s, donation, amount=D("50.00"), occurred_at=WHEN, chargeback=True)
        booking.book_dispute_fee(s, account=account, currency="EUR", amount=D("15.00"), occurred_at=WHEN, donation=donation)
    data = totals(session)
    row = next(c for c in data["campaigns"] if c["tag"] == "212")
    assert row == {"tag": "212", "title": "Campaign 212", "donations": 1, "gross": {"EUR": "0.00"}, "fee": {"EUR": "16.80"}, "net": {"EUR": "-16.80"}}
    assert books.check().ok


def test_refund_before_its_donation_waits_in_review_then_links(books, session) -> None:
    account = books.account()
    with unit_of_work() as s:
        first = booking.book_return_first(s, account=account, currency="EUR", gross_returned=D("20.00"), fee_returned=D("0.50"), occurred_at=WHEN)
    data = totals(session)
    assert data["unclassified"] == {"lines": 1, "net": {"EUR": "-19.50"}}
    campaign = books.campaign("205", {"a": 1, "b": 3})
    donation = books.donation("20.00", fee="0.93", campaign=campaign)
    with unit_of_work() as s:
        entry = s.get(JournalEntry, first)
        booking.link_return(s, s.merge(donation), entry)
    data = totals(session)
    assert data["unclassified"] == {"lines": 0, "net": {}}
    row = next(c for c in data["campaigns"] if c["tag"] == "205")
    assert row["gross"] == {"EUR": "0.00"} and row["fee"] == {"EUR": "0.43"}
    review = ledger.review_fund(session)
    assert ledger.balance_of(session, review.ledger_account_id, "EUR") == 0
    assert books.check().ok


def test_disbursement_transfers_and_conversions(books, session) -> None:
    from tracker.services.disbursements import create_disbursement

    campaign = books.campaign("205", {"a": 1, "b": 1})
    paypal = books.account()
    bank = books.account("Bank", "bank")
    books.donation("100.00", fee="3.25", campaign=campaign)
    usd = books.donation("40.00", fee="1.65", currency="USD", campaign=campaign)
    books.donation("30.00", general=True)
    a, b = books.fund_of("a"), books.fund_of("b")
    with unit_of_work() as s:
        create_disbursement(s, fund=a, account=paypal, currency="EUR", amount=D("20.00"), category="lawyer", public_description="Lawyer", paid_on=WHEN.date())
        booking.book_fund_transfer(s, from_fund=ledger.general_fund(s), to_fund=b, currency="EUR", amount=D("10.00"), occurred_at=WHEN, reason="top-up")
        booking.book_account_transfer(s, from_ledger_id=paypal.asset_ledger_id, to_ledger_id=paypal.transit_ledger_id, currency="EUR", amount=D("50.00"), occurred_at=WHEN)
        booking.book_account_transfer(s, from_ledger_id=paypal.transit_ledger_id, to_ledger_id=bank.asset_ledger_id, currency="EUR", amount=D("50.00"), occurred_at=WHEN)
        booking.book_conversion(s, account=paypal, sold_currency="USD", sold=D("38.35"), bought_currency="EUR", bought=D("35.28"), occurred_at=WHEN, donation=s.merge(usd))
    assert books.check().ok
    assert ledger.balance_of(session, paypal.transit_ledger_id, "EUR") == 0
    assert ledger.balance_of(session, bank.asset_ledger_id, "EUR") == D("50.00")
    assert ledger.balance_of(session, paypal.asset_ledger_id, "USD") == 0
    figs = fund_figures(session, [a.ledger_account_id, b.ledger_account_id])
    fa, fb = figs[a.ledger_account_id], figs[b.ledger_account_id]
    assert fa.spent == {"EUR": D("20.00")}
    assert fb.transfers["EUR"] == D("10.00") + D("17.64")
    assert fa.balance["USD"] == 0 and fb.balance["USD"] == 0
    for fig, fund in ((fa, a), (fb, b)):
        assert fig.balance["EUR"] == -balance(session, fund)
    with unit_of_work() as s:
        # Not a linked donation: split over the funds holding EUR, pro rata.
        booking.book_conversion(s, account=paypal, sold_currency="EUR", sold=D("10.00"), bought_currency="GBP", bought=D("8.50"), occurred_at=WHEN)
    assert books.check().ok


def test_unbalanced_entry_is_refused_before_anything_is_written(books, session) -> None:
    account = books.account()
    review = ledger.review_fund(session)
    before = session.scalar(sa.select(sa.func.count()).select_from(Posting))
    session.rollback()
    with pytest.raises(UnbalancedEntry), unit_of_work() as s:
        ledger.write_entries(
            s,
            [
                ledger.EntrySpec(EntryKind.UNCLASSIFIED, WHEN, [ledger.Leg(account.asset_ledger_id, "EUR", D("1.00"), PostingRole.TRANSFER), ledger.Leg(review.ledger_account_id, "EUR", D("-1.00"), PostingRole.TRANSFER)]),
                ledger.EntrySpec(EntryKind.UNCLASSIFIED, WHEN, [ledger.Leg(account.asset_ledger_id, "EUR", D("1.00"), PostingRole.TRANSFER), ledger.Leg(review.ledger_account_id, "EUR", D("-0.99"), PostingRole.TRANSFER)]),
            ],
        )
    assert session.scalar(sa.select(sa.func.count()).select_from(Posting)) == before
    with pytest.raises(MoneyError), unit_of_work() as s:
        ledger.write_entry(s, ledger.EntrySpec(EntryKind.UNCLASSIFIED, WHEN, [ledger.Leg(account.asset_ledger_id, "EUR", D("0.001"), PostingRole.TRANSFER), ledger.Leg(review.ledger_account_id, "EUR", D("-0.001"), PostingRole.TRANSFER)]))
    with pytest.raises(MoneyError), unit_of_work() as s:
        ledger.write_entry(s, ledger.EntrySpec(EntryKind.UNCLASSIFIED, WHEN, [ledger.Leg(account.asset_ledger_id, "EUR", 0.5, PostingRole.TRANSFER), ledger.Leg(review.ledger_account_id, "EUR", -0.5, PostingRole.TRANSFER)]))  # type: ignore[arg-type]


def test_only_the_entry_writer_writes_postings(books, session) -> None:
    account = books.account()
    session.rollback()
    with pytest.raises(InvariantError), unit_of_work() as s:
        s.add(Posting(entry_id=1, ledger_account_id=account.asset_ledger_id, currency="EUR", amount=D("1"), role="transfer"))
        s.flush()
    with pytest.raises(InvariantError), unit_of_work() as s:
        s.execute(sa.update(Balance).values(amount=D("5")))


def test_postings_and_entries_are_append_only_in_the_schema(books, session) -> None:
    books.donation("5.00", general=True)
    session.rollback()
    for statement in ("UPDATE postings SET amount = amount + 1", "DELETE FROM postings", "UPDATE journal_entries SET kind = 'fee'", "DELETE FROM audit_events"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            session.execute(sa.text(statement))
        session.rollback()
    assert books.check().ok


def test_check_names_an_unbalanced_entry_inserted_behind_its_back(books, session) -> None:
    donation = books.donation("5.00", general=True)
    review = ledger.review_fund(session)
    session.rollback()
    session.execute(
        sa.text(
            "INSERT INTO postings (entry_id, ledger_account_id, currency, amount, role) "
            "VALUES (:entry, :la, 'EUR', 100, 'transfer')"
        ),
        {"entry": donation.allocation_entry_id, "la": review.ledger_account_id},
    )
    session.commit()
    report = books.check()
    assert not report.ok
    text = "\n".join(str(v) for v in report.violations)
    assert f"entry {donation.allocation_entry_id} sums to +0.01 EUR" in text
    assert "balance table" in text


def test_weights_change_on_their_effective_date(books, session) -> None:
    from datetime import date

    from tracker.services.campaigns import add_weight, get_prisoner

    campaign = books.campaign("205", {"a": 1})
    books.prisoner("b")
    with unit_of_work() as s:
        add_weight(s, s.merge(campaign), get_prisoner(s, "b"), D(1), since=date(2025, 6, 1))
        with pytest.raises(Conflict):
            add_weight(s, s.merge(campaign), get_prisoner(s, "b"), D(2), since=date(2025, 7, 1))
    books.donation("10.00", campaign=campaign, when=datetime(2025, 5, 31, tzinfo=UTC))
    books.donation("10.00", campaign=campaign, when=datetime(2025, 6, 1, tzinfo=UTC))
    assert -balance(session, books.fund_of("a")) == D("15.00")
    assert -balance(session, books.fund_of("b")) == D("5.00")
    assert books.check().ok


def test_assigning_a_wholly_refunded_gift_moves_nothing_and_checks_out(books: Any, session: Any) -> None:
    """Found by the stateful test: a gift refunded in full, then settled under another campaign."""
    from tracker.models import Destination, Donation
    from tracker.records import TagSource
    from tracker.services import unit_of_work
    from tracker.services.allocation import Move, reallocate

    first = books.campaign("205", {"anna": 1})
    other = books.campaign("206", {"boris": 1})
    gift = books.donation("30", fee="1", campaign=first, donor="d1")
    books.refund(gift, "30", fee_returned="1")
    with unit_of_work() as s:
        moved = reallocate(s, s.get(Donation, gift.id), Move(Destination.CAMPAIGN, other.id, TagSource.MANUAL, {}))
    assert moved is None
    report = books.check()
    assert report.ok, report.violations
