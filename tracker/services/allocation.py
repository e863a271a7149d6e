"""Moving a donation's money to other funds: review, re-tagging, re-allocation.

Booked postings are never edited. Moving a donation writes a ``reallocation``
entry that takes what is left of it (its gross and fee, less what was
returned) off its current funds and books it on the new ones, split exactly
as a new donation would be (rule 2). The entry becomes the donation's
allocation basis, so later refunds follow the new funds (rule 3).

May import: models, :mod:`tracker.money`, ledger, campaigns and audit services.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from tracker.dbtypes import utcnow
from tracker.errors import Conflict
from tracker.models import Destination, Donation, EntryKind, PostingRole
from tracker.records import TagSource
from tracker.services import donation_totals, ledger
from tracker.services.campaigns import WeightBook


@dataclass(frozen=True, slots=True)
class Move:
    """Where a donation's remaining money goes, and why."""

    destination: Destination
    campaign_id: int | None
    source: TagSource
    detail: dict[str, Any]
    weights: dict[int, Decimal] | None = None  # default: in force on the donation's date


def outstanding(session: Session, donation: Donation) -> tuple[ledger.Basis, dict[int, Decimal], dict[int, Decimal]]:
    """The current basis and, per fund, the gross and fee of it not yet returned."""
    basis = ledger.basis_of(session, donation)
    done = ledger.returned_so_far(session, basis, donation.currency)
    back_gross, back_fee = basis.return_parts((ledger.ZERO, ledger.ZERO), done, donation.currency)
    gross = {k: basis.gross[k] - back_gross.get(k, ledger.ZERO) for k in basis.gross}
    fee = {k: basis.fee[k] - back_fee.get(k, ledger.ZERO) for k in basis.fee}
    return basis, gross, fee


def reallocate(
    session: Session,
    donation: Donation,
    move: Move,
    *,
    book: WeightBook | None = None,
    occurred_at: datetime | None = None,
    description: str = "",
    created_by: str = "",
) -> int | None:
    """Move what is left of ``donation`` to ``move``'s funds; set its destination (flush only).

    Returns the reallocation entry's id, or None when nothing had to move
    (same funds and weights, or nothing left).
    """
    if (move.destination is Destination.CAMPAIGN) != (move.campaign_id is not None):
        raise Conflict("a campaign destination names its campaign, and only it does")
    weights = move.weights
    if weights is None:
        weights, _why = (book or WeightBook(session)).weights(move.destination, move.campaign_id, donation.received_at.date())
    basis, gross_left, fee_left = outstanding(session, donation)
    before = donation_totals.place(donation.destination, donation.campaign_id)
    donation.destination = move.destination.value
    donation.campaign_id = move.campaign_id
    donation_totals.move(session, donation, before)
    donation.tag_source = move.source.value
    donation.tag_detail = move.detail
    total_gross = sum(gross_left.values(), ledger.ZERO)
    total_fee = sum(fee_left.values(), ledger.ZERO)
    same = _same_weights(basis.weights, weights)
    if same or (total_gross == 0 and total_fee == 0):
        session.flush()
        return None
    cur = donation.currency
    new_gross, new_fee = ledger.allocation_shares(total_gross, total_fee, weights, cur)
    legs: list[ledger.Leg] = []
    for la in sorted(gross_left):
        legs.append(ledger.Leg(la, cur, gross_left[la], PostingRole.GROSS))
        legs.append(ledger.Leg(la, cur, -fee_left.get(la, ledger.ZERO), PostingRole.FEE))
    for la in sorted(weights):
        legs.append(ledger.Leg(la, cur, -new_gross[la], PostingRole.GROSS))
        legs.append(ledger.Leg(la, cur, new_fee[la], PostingRole.FEE))
    entry_id = ledger.write_entry(
        session,
        ledger.EntrySpec(
            kind=EntryKind.REALLOCATION,
            occurred_at=occurred_at or utcnow(),
            legs=legs,
            donation_id=donation.id,
            statement_line_id=donation.statement_line_id,
            created_by=created_by,
            description=description[:500],
            shares=ledger.shares_record(weights, new_gross, new_fee, moved_from=basis.entry_id),
        ),
    )
    donation.allocation_entry_id = entry_id
    session.flush()
    return entry_id


def _same_weights(old: Mapping[int, Decimal], new: Mapping[int, Decimal]) -> bool:
    if set(old) != set(new):
        return False
    keys = sorted(old)
    first = keys[0]
    # proportional weights split identically
    return all(old[k] * new[first] == new[k] * old[first] for k in keys)
