"""Donations: creating and booking them (one or many at once) and refunds.

:func:`insert_donations` is the bulk path imports use: donations are inserted
with one statement, their entries written with one call to the entry writer,
and their allocation entries set with one executemany, so booking costs a few
statements per batch, not per donation.

May import: models, :mod:`tracker.money`, ledger, campaigns and audit services.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from tracker import money
from tracker.errors import Conflict
from tracker.models import Account, Destination, Donation, DonationOrigin, EntryKind
from tracker.dbtypes import utcnow
from tracker.records import TagSource
from tracker.services import booking, bulk, donation_totals, ledger
from tracker.services.campaigns import WeightBook


_DONATIONS = Donation.__table__


def own_donor_key() -> str:
    """A donor key for a cash or manual entry: its own donor, linked to nobody."""
    return "own:" + secrets.token_hex(28)


@dataclass(slots=True)
class NewDonation:
    """A donation to insert and book."""

    account: Account
    received_at: datetime
    currency: str
    gross: Decimal
    fee: Decimal = money.ZERO
    destination: Destination = Destination.GENERAL
    campaign_id: int | None = None
    donor_key: str | None = None
    origin: DonationOrigin = DonationOrigin.MANUAL
    tag_source: TagSource = TagSource.NONE
    tag_detail: dict[str, Any] | None = None
    statement_line_id: int | None = None
    event_id: int | None = None
    note: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def checked(self) -> NewDonation:
        """Quantise the amounts and check the donation's own rules."""
        if self.received_at.tzinfo is None or self.received_at.utcoffset() is None:
            raise ValueError("naive datetime refused: received_at must be timezone-aware")
        self.currency = money.normalise_currency(self.currency)
        self.gross = money.quantize(self.gross, self.currency)
        self.fee = money.quantize(self.fee, self.currency)
        if self.gross <= 0:
            raise Conflict("a donation's gross must be positive")
        if self.fee < 0:
            raise Conflict("a donation's fee cannot be negative")
        if (self.destination is Destination.CAMPAIGN) != (self.campaign_id is not None):
            raise Conflict("a campaign donation names its campaign, and only it does")
        return self


def insert_donations(
    session: Session,
    items: Sequence[NewDonation],
    *,
    batch_id: int | None = None,
    created_by: str = "",
    weights: WeightBook | None = None,
) -> list[int]:
    """Insert and book donations by the weights in force on their dates (flush only)."""
    if not items:
        return []
    book = weights or WeightBook(session)
    checked = [item.checked() for item in items]
    now = utcnow()
    rows = [
        {
            "statement_line_id": d.statement_line_id,
            "account_id": d.account.id,
            "event_id": d.event_id,
            "origin": d.origin.value,
            "received_at": d.received_at,
            "currency": d.currency,
            "gross": d.gross,
            "fee": d.fee,
            "donor_key": d.donor_key or own_donor_key(),
            "destination": d.destination.value,
            "campaign_id": d.campaign_id,
            "tag_source": d.tag_source.value,
            "tag_detail": d.tag_detail,
            "note": d.note,
            "created_by": created_by,
            "created_at": now,
        }
        for d in checked
    ]
    session.flush()
    ids = ledger.reserve_ids(session, _DONATIONS, len(rows))
    for donation_id, row in zip(ids, rows, strict=True):
        row["id"] = donation_id
    bulk.insert_rows(session, _DONATIONS, rows)
    specs = []
    for donation_id, d in zip(ids, checked, strict=True):
        fund_weights, why = book.weights(d.destination, d.campaign_id, d.received_at.date())
        specs.append(
            booking.donation_entry(
                donation_id=donation_id,
                received_at=d.received_at,
                currency=d.currency,
                gross=d.gross,
                fee=d.fee,
                asset_ledger_id=d.account.asset_ledger_id,
                weights=fund_weights,
                basis_note=why,
                statement_line_id=d.statement_line_id,
                batch_id=batch_id,
                created_by=created_by,
            )
        )
    places = {i: donation_totals.place(d.destination.value, d.campaign_id) for i, d in zip(ids, checked, strict=True)}
    entry_ids = ledger.write_entries(session, specs, donation_places=places)
    donation_totals.added(session, ((places[i], d.currency, d.gross) for i, d in zip(ids, checked, strict=True)))
    bulk.update_rows(
        session, _DONATIONS, "id",
        [{"allocation_entry_id": e, "id": d} for d, e in zip(ids, entry_ids, strict=True)],
    )
    return ids


def create_donation(session: Session, item: NewDonation, **options: Any) -> Donation:
    """Insert and book one donation; return it as an ORM object (flush only)."""
    (donation_id,) = insert_donations(session, [item], **options)
    donation = session.get(Donation, donation_id, populate_existing=True)
    assert donation is not None
    return donation


def refund(
    session: Session,
    donation: Donation,
    *,
    amount: Decimal,
    fee_returned: Decimal = money.ZERO,
    occurred_at: datetime,
    chargeback: bool = False,
    statement_line_id: int | None = None,
    batch_id: int | None = None,
    created_by: str = "",
) -> int:
    """Return ``amount`` of a donation to its donor in the donation's shares (flush only)."""
    cur = donation.currency
    return booking.book_return(
        session,
        donation,
        gross_returned=money.quantize(amount, cur),
        fee_returned=money.quantize(fee_returned, cur),
        occurred_at=occurred_at,
        kind=EntryKind.CHARGEBACK if chargeback else EntryKind.REFUND,
        statement_line_id=statement_line_id,
        batch_id=batch_id,
        created_by=created_by,
    )
