"""One template per money event, exactly as ARCHITECTURE.md "The ledger" tabulates.

Signs: debit positive, credit negative; asset accounts debit-normal, funds
credit-normal. Each template builds an :class:`~tracker.services.ledger.EntrySpec`
(or writes it through :func:`~tracker.services.ledger.write_entry`, the one
writer). Templates only flush; the calling service owns the transaction.

May import: models, :mod:`tracker.money`, :mod:`tracker.services.ledger`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker import money
from tracker.errors import Conflict, MoneyError
from tracker.models import (
    Account,
    Balance,
    Donation,
    EntryKind,
    Fund,
    JournalEntry,
    LedgerAccount,
    LedgerKind,
    Posting,
    PostingRole,
)
from tracker.services.ledger import (
    DEFERRED,
    ZERO,
    Basis,
    EntrySpec,
    Leg,
    str_map,
    allocation_shares,
    basis_of,
    general_fund,
    returned_so_far,
    review_fund,
    shares_record,
    write_entry,
)


def donation_entry(
    *,
    donation_id: int,
    received_at: datetime,
    currency: str,
    gross: Decimal,
    fee: Decimal,
    asset_ledger_id: int,
    weights: Mapping[int, Decimal],
    basis_note: str = "",
    statement_line_id: int | None = None,
    batch_id: int | None = None,
    created_by: str = "",
) -> EntrySpec:
    """Dr asset G; Cr fund_i G_i; Dr fund_i F_i; Cr asset F."""
    gross_parts, fee_parts = allocation_shares(gross, fee, weights, currency)
    legs = [
        Leg(asset_ledger_id, currency, gross, PostingRole.GROSS),
        Leg(asset_ledger_id, currency, -fee, PostingRole.FEE),
    ]
    for fund_la in sorted(weights):
        legs.append(Leg(fund_la, currency, -gross_parts[fund_la], PostingRole.GROSS))
        legs.append(Leg(fund_la, currency, fee_parts[fund_la], PostingRole.FEE))
    return EntrySpec(
        kind=EntryKind.DONATION,
        occurred_at=received_at,
        legs=legs,
        donation_id=donation_id,
        statement_line_id=statement_line_id,
        batch_id=batch_id,
        created_by=created_by,
        shares=shares_record(weights, gross_parts, fee_parts, note=basis_note),
    )


def return_entry(
    donation: Donation,
    basis: Basis,
    *,
    kind: EntryKind,
    asset_ledger_id: int,
    gross_returned: Decimal,
    fee_returned: Decimal,
    before: tuple[Decimal, Decimal],
    occurred_at: datetime,
    statement_line_id: int | None = None,
    batch_id: int | None = None,
    created_by: str = "",
    description: str = "",
) -> EntrySpec:
    """A refund, reversal or chargeback of ``donation`` (rule 3).

    ``gross_returned`` is the money that left (positive; negative when a
    chargeback is won back), ``fee_returned`` the part of the fee the provider
    gave back. Each fund's part is the split of the total returned so far
    minus the split of what was returned before, in the basis's shares.
    """
    cur = donation.currency
    done_gross, done_fee = before
    after_gross, after_fee = done_gross + gross_returned, done_fee + fee_returned
    if after_gross < 0 or after_gross > basis.total_gross:
        raise Conflict(
            f"donation {donation.id}: returning {gross_returned} {cur} would make the total "
            f"returned {after_gross} of {basis.total_gross} given"
        )
    if after_fee < 0 or after_fee > basis.total_fee:
        raise Conflict(
            f"donation {donation.id}: fee given back would total {after_fee} "
            f"of {basis.total_fee} charged"
        )
    gross_parts, fee_parts = basis.return_parts((done_gross, done_fee), (after_gross, after_fee), cur)
    legs = [
        Leg(asset_ledger_id, cur, -gross_returned, PostingRole.REFUND),
        Leg(asset_ledger_id, cur, fee_returned, PostingRole.FEE),
    ]
    for fund_la in sorted(set(gross_parts) | set(fee_parts)):
        legs.append(Leg(fund_la, cur, gross_parts.get(fund_la, ZERO), PostingRole.REFUND))
        legs.append(Leg(fund_la, cur, -fee_parts.get(fund_la, ZERO), PostingRole.FEE))
    return EntrySpec(
        kind=kind,
        occurred_at=occurred_at,
        legs=legs,
        donation_id=donation.id,
        statement_line_id=statement_line_id,
        batch_id=batch_id,
        basis_entry_id=basis.entry_id,
        created_by=created_by,
        description=description,
        shares={
            "returned": {"before": str(done_gross), "after": str(after_gross)},
            "fee_returned": {"before": str(done_fee), "after": str(after_fee)},
        },
    )


def book_return(
    session: Session,
    donation: Donation,
    *,
    gross_returned: Decimal,
    fee_returned: Decimal = ZERO,
    occurred_at: datetime,
    kind: EntryKind = EntryKind.REFUND,
    statement_line_id: int | None = None,
    batch_id: int | None = None,
    created_by: str = "",
) -> int:
    """Book a refund, reversal or chargeback against a donation; flush only."""
    if kind not in (EntryKind.REFUND, EntryKind.CHARGEBACK):
        raise ValueError(f"{kind} is not a refund kind")
    basis = basis_of(session, donation)
    account = session.get(Account, donation.account_id)
    assert account is not None
    before = returned_so_far(session, basis, donation.currency)
    spec = return_entry(
        donation,
        basis,
        kind=kind,
        asset_ledger_id=account.asset_ledger_id,
        gross_returned=gross_returned,
        fee_returned=fee_returned,
        before=before,
        occurred_at=occurred_at,
        statement_line_id=statement_line_id,
        batch_id=batch_id,
        created_by=created_by,
    )
    return write_entry(session, spec)


def dispute_fee_entry(
    *,
    asset_ledger_id: int,
    currency: str,
    amount: Decimal,
    occurred_at: datetime,
    basis: Basis | None,
    general_ledger_id: int,
    donation_id: int | None = None,
    statement_line_id: int | None = None,
    batch_id: int | None = None,
    created_by: str = "",
) -> EntrySpec:
    """A chargeback or dispute fee: charged to the donation's funds in its shares,
    or to the general fund when it refers to no donation."""
    if amount <= 0:
        raise MoneyError("a fee must be positive")
    if basis is not None:
        parts = money.split(amount, basis.gross_weights(), currency)
    else:
        parts = {general_ledger_id: amount}
    legs = [Leg(asset_ledger_id, currency, -amount, PostingRole.FEE)]
    legs += [Leg(la, currency, part, PostingRole.FEE) for la, part in sorted(parts.items())]
    return EntrySpec(
        kind=EntryKind.FEE,
        occurred_at=occurred_at,
        legs=legs,
        donation_id=donation_id,
        statement_line_id=statement_line_id,
        batch_id=batch_id,
        basis_entry_id=basis.entry_id if basis is not None else None,
        created_by=created_by,
    )


def book_dispute_fee(
    session: Session,
    *,
    account: Account,
    currency: str,
    amount: Decimal,
    occurred_at: datetime,
    donation: Donation | None = None,
    statement_line_id: int | None = None,
    batch_id: int | None = None,
    created_by: str = "",
) -> int:
    """Write :func:`dispute_fee_entry` (flush only)."""
    return write_entry(
        session,
        dispute_fee_entry(
            asset_ledger_id=account.asset_ledger_id,
            currency=currency,
            amount=amount,
            occurred_at=occurred_at,
            basis=basis_of(session, donation) if donation is not None else None,
            general_ledger_id=general_fund(session).ledger_account_id,
            donation_id=donation.id if donation is not None else None,
            statement_line_id=statement_line_id,
            batch_id=batch_id,
            created_by=created_by,
        ),
    )


def return_first_entry(
    *,
    asset_ledger_id: int,
    review_ledger_id: int,
    currency: str,
    gross_returned: Decimal,
    fee_returned: Decimal,
    occurred_at: datetime,
    kind: EntryKind = EntryKind.REFUND,
    statement_line_id: int | None = None,
    batch_id: int | None = None,
    created_by: str = "",
) -> EntrySpec:
    """A refund whose donation has not arrived yet: Dr review fund; Cr asset."""
    legs = [
        Leg(asset_ledger_id, currency, -gross_returned, PostingRole.REFUND),
        Leg(asset_ledger_id, currency, fee_returned, PostingRole.FEE),
        Leg(review_ledger_id, currency, gross_returned, PostingRole.REFUND),
        Leg(review_ledger_id, currency, -fee_returned, PostingRole.FEE),
    ]
    return EntrySpec(
        kind=kind,
        occurred_at=occurred_at,
        legs=legs,
        statement_line_id=statement_line_id,
        batch_id=batch_id,
        created_by=created_by,
        description="refund waiting for its donation",
    )


def book_return_first(
    session: Session,
    *,
    account: Account,
    currency: str,
    gross_returned: Decimal,
    fee_returned: Decimal,
    occurred_at: datetime,
    kind: EntryKind = EntryKind.REFUND,
    statement_line_id: int | None = None,
    batch_id: int | None = None,
    created_by: str = "",
) -> int:
    """Write :func:`return_first_entry` (flush only)."""
    return write_entry(
        session,
        return_first_entry(
            asset_ledger_id=account.asset_ledger_id,
            review_ledger_id=review_fund(session).ledger_account_id,
            currency=currency,
            gross_returned=gross_returned,
            fee_returned=fee_returned,
            occurred_at=occurred_at,
            kind=kind,
            statement_line_id=statement_line_id,
            batch_id=batch_id,
            created_by=created_by,
        ),
    )


def link_return(
    session: Session,
    donation: Donation,
    first_entry: JournalEntry,
    *,
    batch_id: int | None = None,
    created_by: str = "",
) -> int:
    """Move a refund that arrived first from the review fund onto its donation.

    The review fund's side is undone as a transfer; the donation's funds take
    the refund in its shares, counted with any other refunds (rule 3).
    """
    review = review_fund(session).ledger_account_id
    cur = donation.currency
    review_legs = [p for p in first_entry.postings if p.ledger_account_id == review]
    gross_returned = money.total(p.amount for p in review_legs if p.role == PostingRole.REFUND)
    fee_returned = -money.total(p.amount for p in review_legs if p.role == PostingRole.FEE)
    basis = basis_of(session, donation)
    before = returned_so_far(session, basis, cur)
    spec = return_entry(
        donation,
        basis,
        kind=EntryKind.REVIEW_LINK,
        asset_ledger_id=review,
        gross_returned=gross_returned,
        fee_returned=fee_returned,
        before=before,
        occurred_at=first_entry.occurred_at,
        statement_line_id=first_entry.statement_line_id,
        batch_id=batch_id,
        created_by=created_by,
        description="refund linked to its donation",
    )
    # The template's two asset legs come first; here they are the review
    # fund's side, re-roled as a transfer so the refund is counted once.
    spec.legs = [
        Leg(leg.ledger_account_id, leg.currency, leg.amount, PostingRole.TRANSFER)
        for leg in spec.legs[:2]
    ] + spec.legs[2:]
    spec.resolves_entry_id = first_entry.id
    return write_entry(session, spec)


def book_disbursement(
    session: Session,
    *,
    fund: Fund,
    account: Account,
    currency: str,
    amount: Decimal,
    occurred_at: datetime,
    disbursement_id: int | None = None,
    statement_line_id: int | None = None,
    created_by: str = "",
    description: str = "",
) -> int:
    """Dr fund X A; Cr asset A."""
    if amount <= 0:
        raise MoneyError("a disbursement must be positive")
    return write_entry(
        session,
        EntrySpec(
            kind=EntryKind.DISBURSEMENT,
            occurred_at=occurred_at,
            legs=[
                Leg(fund.ledger_account_id, currency, amount, PostingRole.SPEND),
                Leg(account.asset_ledger_id, currency, -amount, PostingRole.SPEND),
            ],
            disbursement_id=disbursement_id,
            statement_line_id=statement_line_id,
            created_by=created_by,
            description=description,
        ),
    )


def book_fund_transfer(
    session: Session,
    *,
    from_fund: Fund,
    to_fund: Fund,
    currency: str,
    amount: Decimal,
    occurred_at: datetime,
    reason: str,
    created_by: str = "",
) -> int:
    """Dr fund X; Cr fund Y, with a reason."""
    if amount <= 0:
        raise MoneyError("a transfer must be positive")
    if from_fund.id == to_fund.id:
        raise Conflict("a transfer needs two different funds")
    if not reason.strip():
        raise Conflict("a transfer between funds needs a reason")
    return write_entry(
        session,
        EntrySpec(
            kind=EntryKind.FUND_TRANSFER,
            occurred_at=occurred_at,
            legs=[
                Leg(from_fund.ledger_account_id, currency, amount, PostingRole.TRANSFER),
                Leg(to_fund.ledger_account_id, currency, -amount, PostingRole.TRANSFER),
            ],
            created_by=created_by,
            description=reason.strip(),
        ),
    )


def account_transfer_entry(
    *,
    from_ledger_id: int,
    to_ledger_id: int,
    currency: str,
    amount: Decimal,
    occurred_at: datetime,
    statement_line_id: int | None = None,
    batch_id: int | None = None,
    created_by: str = "",
    description: str = "",
) -> EntrySpec:
    """Dr asset to; Cr asset from (either side may be an in-transit account)."""
    if amount <= 0:
        raise MoneyError("a transfer must be positive")
    return EntrySpec(
        kind=EntryKind.ACCOUNT_TRANSFER,
        occurred_at=occurred_at,
        legs=[
            Leg(to_ledger_id, currency, amount, PostingRole.TRANSFER),
            Leg(from_ledger_id, currency, -amount, PostingRole.TRANSFER),
        ],
        statement_line_id=statement_line_id,
        batch_id=batch_id,
        created_by=created_by,
        description=description,
    )


def book_account_transfer(session: Session, **options: Any) -> int:
    """Write :func:`account_transfer_entry` (flush only)."""
    return write_entry(session, account_transfer_entry(**options))


def fund_holdings(session: Session, currency: str, as_of: datetime | None = None) -> dict[int, Decimal]:
    """What each fund holds in ``currency`` (positive amounts only).

    The balances now, less the postings of entries that happened after
    ``as_of``: a conversion booked late still splits by the balances of its
    own time, and booking in time order reads only a few recent postings.
    """
    rows = session.execute(
        sa.select(Balance.ledger_account_id, Balance.amount)
        .join(LedgerAccount, LedgerAccount.id == Balance.ledger_account_id)
        .where(LedgerAccount.kind == LedgerKind.FUND.value, Balance.currency == currency)
    ).all()
    held = {la: amount for la, amount in rows}
    pending = session.info.get(DEFERRED) or {}
    if pending:
        funds = set(session.scalars(sa.select(LedgerAccount.id).where(LedgerAccount.kind == LedgerKind.FUND.value)))
        for (la, cur), amount in pending.items():
            if cur == currency and la in funds:
                held[la] = held.get(la, ZERO) + amount
    if as_of is not None:
        later = session.execute(
            sa.select(Posting.ledger_account_id, sa.func.sum(Posting.amount))
            .join(LedgerAccount, LedgerAccount.id == Posting.ledger_account_id)
            .join(JournalEntry, JournalEntry.id == Posting.entry_id)
            .where(
                LedgerAccount.kind == LedgerKind.FUND.value,
                Posting.currency == currency,
                JournalEntry.occurred_at > as_of,
            )
            .group_by(Posting.ledger_account_id)
        ).all()
        for la, amount in later:
            held[la] = held.get(la, ZERO) - amount
    return {la: -amount for la, amount in held.items() if amount < 0}


def book_conversion(
    session: Session,
    *,
    account: Account,
    sold_currency: str,
    sold: Decimal,
    bought_currency: str,
    bought: Decimal,
    occurred_at: datetime,
    donation: Donation | None = None,
    weights: Mapping[int, Decimal] | None = None,
    statement_line_id: int | None = None,
    batch_id: int | None = None,
    created_by: str = "",
) -> int:
    """Convert ``sold`` of one currency into ``bought`` of another.

    C1: Cr asset a; Dr fund_i a_i. C2: Dr asset b; Cr fund_i b_i. The shares
    are the donation's net shares when the conversion is of a linked
    donation's money; otherwise the weights given (a treasurer's choice); by
    default the funds holding the sold currency, pro rata to their balances.
    With nothing to go on, the review fund carries both sides.
    """
    if sold <= 0 or bought <= 0:
        raise MoneyError("both sides of a conversion must be positive")
    if sold_currency == bought_currency:
        raise Conflict("a conversion needs two different currencies")
    shares: dict[int, Decimal]
    basis_id = None
    if donation is not None:
        basis = basis_of(session, donation)
        shares = {k: basis.gross[k] - basis.fee[k] for k in basis.weights}
        shares = {k: v for k, v in shares.items() if v > 0} or basis.gross_weights()
        basis_id = basis.entry_id
    elif weights:
        shares = dict(weights)
    else:
        shares = fund_holdings(session, sold_currency, as_of=occurred_at) or {
            review_fund(session).ledger_account_id: Decimal(1)
        }
    sold_parts = money.split(sold, shares, sold_currency)
    bought_parts = money.split(bought, shares, bought_currency)
    legs = [
        Leg(account.asset_ledger_id, sold_currency, -sold, PostingRole.TRANSFER),
        Leg(account.asset_ledger_id, bought_currency, bought, PostingRole.TRANSFER),
    ]
    for la in sorted(shares):
        legs.append(Leg(la, sold_currency, sold_parts[la], PostingRole.TRANSFER))
        legs.append(Leg(la, bought_currency, -bought_parts[la], PostingRole.TRANSFER))
    return write_entry(
        session,
        EntrySpec(
            kind=EntryKind.CONVERSION,
            occurred_at=occurred_at,
            legs=legs,
            donation_id=donation.id if donation else None,
            statement_line_id=statement_line_id,
            batch_id=batch_id,
            basis_entry_id=basis_id,
            created_by=created_by,
            shares={"weights": str_map(shares)},
        ),
    )


def to_review_entry(
    *,
    kind: EntryKind,
    asset_ledger_id: int,
    review_ledger_id: int,
    currency: str,
    amount: Decimal,
    occurred_at: datetime,
    statement_line_id: int | None = None,
    batch_id: int | None = None,
    created_by: str = "",
    description: str = "",
) -> EntrySpec:
    """Money a treasurer must classify: asset +amount, review fund -amount.

    Used for opening balances, pending money in, outgoing payments, fee-only
    lines and unknown kinds (``amount`` is the signed change to the asset).
    """
    if kind not in (EntryKind.OPENING_BALANCE, EntryKind.UNCLASSIFIED):
        raise ValueError(f"{kind} is not a review item kind")
    return EntrySpec(
        kind=kind,
        occurred_at=occurred_at,
        legs=[
            Leg(asset_ledger_id, currency, amount, PostingRole.TRANSFER),
            Leg(review_ledger_id, currency, -amount, PostingRole.TRANSFER),
        ],
        statement_line_id=statement_line_id,
        batch_id=batch_id,
        created_by=created_by,
        description=description,
    )


def book_to_review(session: Session, **options: Any) -> int:
    """Write :func:`to_review_entry` (flush only)."""
    return write_entry(
        session, to_review_entry(review_ledger_id=review_fund(session).ledger_account_id, **options)
    )
