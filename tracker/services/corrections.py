"""Undoing a treasurer's entry by a correcting entry, and transfers between funds.

An undo never edits or deletes an entry: it writes a CORRECTION whose
postings negate the entry's and that names it in ``resolves_entry_id``
(so a review item the entry resolved is open again, see
:func:`tracker.services.open_items.open_clause`). Two guards hold for every
undo: it may not take from a fund more than the fund holds (as a transfer may
not), and it may not change figures a publication has already shown.

Also here, for the transfers page: the recent transfers between funds and
their undo (the transfer itself is :func:`tracker.services.review.transfer`).

May import: models, :mod:`tracker.money`, :mod:`tracker.i18n`, services
(ledger, review_items, audit).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker import money
from tracker.errors import Conflict, NotFound
from tracker.i18n import gettext as _
from tracker.models import (
    EntryKind,
    Fund,
    FundKind,
    JournalEntry,
    PostingRole,
    Publication,
    PublicationKind,
)
from tracker.services import audit, ledger, unit_of_work
from tracker.services.open_items import open_clause
from tracker.services.review_items import fund_label


def refuse_if_published(session: Session, day: date, kinds: Sequence[PublicationKind]) -> None:
    """Refuse an undo of money dated ``day`` once a publication of ``kinds`` covers that day."""
    covered = session.scalar(
        sa.select(
            sa.exists().where(
                Publication.kind.in_([k.value for k in kinds]),
                Publication.period_start <= day,
                Publication.period_end >= day,
            )
        )
    )
    if covered:
        raise Conflict(
            _(
                "The figures for %(day)s are already published; "
                "record a correction instead of undoing.",
                day=day.isoformat(),
            )
        )


def _refuse_overdraft(session: Session, legs: Sequence[ledger.Leg]) -> None:
    funds = {
        f.ledger_account_id: f
        for f in session.scalars(sa.select(Fund).where(Fund.kind != FundKind.REVIEW.value))
    }
    for leg in legs:
        fund = funds.get(leg.ledger_account_id)
        if fund is None or leg.amount <= 0:
            continue
        held = -ledger.balance_of(session, leg.ledger_account_id, leg.currency)
        if held < leg.amount:
            raise Conflict(
                _(
                    "%(fund)s holds %(held)s %(cur)s, less than the %(amount)s %(cur)s "
                    "the undo would take back; move money into it first.",
                    fund=fund_label(session, fund),
                    held=money.to_string(held, leg.currency),
                    cur=leg.currency,
                    amount=money.to_string(leg.amount, leg.currency),
                )
            )


def negate(session: Session, entry: JournalEntry, *, who: str, description: str) -> int:
    """Write the CORRECTION that undoes ``entry`` (flush only); refused if it overdraws a fund."""
    legs = [
        ledger.Leg(p.ledger_account_id, p.currency, -p.amount, PostingRole(p.role))
        for p in entry.postings
    ]
    _refuse_overdraft(session, legs)
    return ledger.write_entry(
        session,
        ledger.EntrySpec(
            kind=EntryKind.CORRECTION,
            occurred_at=entry.occurred_at,
            legs=legs,
            statement_line_id=entry.statement_line_id,
            resolves_entry_id=entry.id,
            created_by=who,
            description=description,
        ),
    )


def standing(session: Session, entry_id: int, kind: EntryKind, missing: str) -> JournalEntry:
    """The entry, locked while it is undone, if it is of ``kind`` and not undone yet.

    Raises:
        NotFound: no such entry of ``kind`` (with the message ``missing``).
        Conflict: it was undone already.
    """
    entry = session.scalar(
        sa.select(JournalEntry).where(JournalEntry.id == entry_id).with_for_update()
    )
    if entry is None or entry.kind != kind.value:
        raise NotFound(missing)
    if not session.scalar(
        sa.select(sa.literal(True)).where(JournalEntry.id == entry_id, open_clause())
    ):
        raise Conflict(_("Entry %(id)d was already undone.", id=entry_id))
    return entry


# --- transfers between funds -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TransferRow:
    """A transfer between funds, as the transfers page lists it."""

    entry_id: int
    occurred_at: datetime
    created_by: str
    source: str
    target: str
    currency: str
    amount: Decimal
    reason: str
    undone: bool


def recent_transfers(session: Session, *, limit: int = 30) -> list[TransferRow]:
    """The newest transfers between funds, saying which were undone."""
    entries = session.scalars(
        sa.select(JournalEntry)
        .where(JournalEntry.kind == EntryKind.FUND_TRANSFER.value)
        .order_by(JournalEntry.id.desc())
        .limit(limit)
    ).all()
    ids = [e.id for e in entries]
    live = set(
        session.scalars(sa.select(JournalEntry.id).where(JournalEntry.id.in_(ids), open_clause()))
    )
    labels = {f.ledger_account_id: fund_label(session, f) for f in session.scalars(sa.select(Fund))}
    rows = []
    for e in entries:
        out = next((p for p in e.postings if p.amount > 0), None)
        into = next((p for p in e.postings if p.amount < 0), None)
        if out is None or into is None:
            continue
        rows.append(
            TransferRow(
                entry_id=e.id,
                occurred_at=e.occurred_at,
                created_by=e.created_by,
                source=labels.get(out.ledger_account_id, "?"),
                target=labels.get(into.ledger_account_id, "?"),
                currency=out.currency,
                amount=out.amount,
                reason=e.description,
                undone=e.id not in live,
            )
        )
    return rows


def undo_transfer(entry_id: int) -> int:
    """Undo a transfer between funds (a correcting entry), if the receiving fund still holds it."""
    with unit_of_work() as session:
        entry = standing(
            session,
            entry_id,
            EntryKind.FUND_TRANSFER,
            _("There is no transfer %(id)d.", id=entry_id),
        )
        refuse_if_published(session, entry.occurred_at.date(), (PublicationKind.YEARLY,))
        correction = negate(
            session, entry, who=audit.actor(), description=f"undo of transfer {entry.id}"
        )
        audit.record(
            session,
            "fund.transfer.undo",
            "journal_entry",
            entry.id,
            before={"reason": entry.description},
            after={"correction": correction},
        )
        return correction
