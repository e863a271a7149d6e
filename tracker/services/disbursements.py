"""Money paid out of a fund: lawyers, parcels, commissary, travel.

May import: models, :mod:`tracker.money`, ledger and audit services.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal

from sqlalchemy.orm import Session

from tracker import money
from tracker.errors import Conflict
from tracker.models import Account, Disbursement, DisbursementCategory, Fund
from tracker.services import audit, booking


def create_disbursement(
    session: Session,
    *,
    fund: Fund,
    account: Account,
    currency: str,
    amount: Decimal,
    category: DisbursementCategory | str,
    public_description: str,
    paid_on: date,
    private_note: str | None = None,
    statement_line_id: int | None = None,
) -> Disbursement:
    """Record a payment out of ``fund`` from ``account`` and book it (flush only)."""
    cur = money.normalise_currency(currency)
    value = money.quantize(amount, cur)
    if value <= 0:
        raise Conflict("a disbursement must be positive")
    who = audit.actor()
    item = Disbursement(
        fund_id=fund.id,
        account_id=account.id,
        currency=cur,
        amount=value,
        category=DisbursementCategory(category).value,
        public_description=public_description.strip(),
        private_note=private_note,
        paid_on=paid_on,
        statement_line_id=statement_line_id,
        created_by=who,
    )
    session.add(item)
    session.flush()
    booking.book_disbursement(
        session,
        fund=fund,
        account=account,
        currency=cur,
        amount=value,
        occurred_at=datetime.combine(paid_on, time(12, 0), UTC),
        disbursement_id=item.id,
        statement_line_id=statement_line_id,
        created_by=who,
        description=item.public_description,
    )
    audit.record(
        session,
        "disbursement.add",
        "disbursement",
        item.id,
        after={
            "fund": fund.name,
            "amount": value,
            "currency": cur,
            "category": item.category,
            "public_description": item.public_description,
            "private_note": audit.private(private_note),
        },
    )
    return item
