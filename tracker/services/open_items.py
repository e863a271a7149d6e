"""Which review items are open, and the table that lists them (``open_review_items``).

A *review item* is an entry whose money waits in the review fund for a
treasurer: an entry of kind UNCLASSIFIED or OPENING_BALANCE, or a
REFUND/CHARGEBACK without a donation (:func:`waiting_clause`). It is *open*
while nothing resolves it: an entry that names it in ``resolves_entry_id``
takes it off the queue, unless that entry was itself undone (named by another),
which puts the item back (:func:`open_clause`).

The definition is two nested NOT EXISTS over every item ever booked, so the
classification queue does not read it page by page: the ledger's writer keeps
:class:`~tracker.models.OpenReviewItem` rows in step (:func:`sync`, called by
:func:`tracker.services.ledger.write_entries` for the entries it writes) and
``tracker check`` compares the table with the definition (:func:`differences`).
An entry can change which items are open in three ways only, all through its
own row: it is an item; it resolves an item; it undoes an entry that resolved
one. :func:`sync` re-reads exactly those items through the definition.

May import: models, SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from tracker.models import EntryKind, Fund, FundKind, JournalEntry, OpenReviewItem, Posting

#: Entry kinds whose money waits in the review fund by themselves.
ITEM_KINDS = (EntryKind.UNCLASSIFIED.value, EntryKind.OPENING_BALANCE.value)
#: Entry kinds whose money waits there only without a donation (money back never taken in).
ORPHAN_KINDS = (EntryKind.REFUND.value, EntryKind.CHARGEBACK.value)

#: Entry ids per statement when the table is brought in step.
CHUNK = 5000

#: The resolvers of an entry, and the undoing of a resolver, in :func:`open_clause`: made
#: once (an alias copies every column of the table, a few milliseconds a page) and each
#: used only in its own EXISTS.
_RESOLVER, _UNDO = aliased(JournalEntry, name="resolver"), aliased(JournalEntry, name="resolver_undo")


def _literals(values: Sequence[str]) -> list[Any]:
    return [sa.literal(v, literal_execute=True) for v in values]


def waiting_clause(entry: Any = JournalEntry) -> Any:
    """Entries whose money waits in the review fund for a treasurer (open or not).

    Written exactly as the partial index ``ix_journal_entries_waiting`` states
    it, with the kinds as literals: an engine reads a partial index only for a
    query whose condition implies the index's (SQLite: contains it term by
    term), and the first term lets SQLite seek that index by kind instead of
    walking every refund or every entry without a donation.
    """
    return sa.and_(
        entry.kind.in_(_literals(ITEM_KINDS + ORPHAN_KINDS)),
        sa.or_(entry.kind.in_(_literals(ITEM_KINDS)), entry.donation_id.is_(None)),
    )


def open_clause(entry: Any = JournalEntry) -> Any:
    """``entry`` has no live resolver: none, or only resolvers that were themselves undone."""
    return ~sa.exists().where(
        _RESOLVER.resolves_entry_id == entry.id,
        ~sa.exists().where(_UNDO.resolves_entry_id == _RESOLVER.id),
    )


def _review_ledger_id(session: Session) -> int | None:
    return session.scalar(sa.select(Fund.ledger_account_id).where(Fund.kind == FundKind.REVIEW.value))


def _open_rows(session: Session, *where: Any) -> list[dict[str, Any]]:
    """The open items among the entries ``where`` selects, as table rows (by the definition)."""
    review_la = _review_ledger_id(session)
    currency = (
        sa.select(sa.func.min(Posting.currency))
        .where(Posting.entry_id == JournalEntry.id, Posting.ledger_account_id + 0 == review_la)
        .scalar_subquery()
    )
    rows = session.execute(
        sa.select(JournalEntry.id, JournalEntry.occurred_at, currency).where(waiting_clause(), open_clause(), *where)
    )
    return [{"entry_id": i, "occurred_at": at, "currency": cur} for i, at, cur in rows]


def sync(session: Session, written: Iterable[tuple[int, str, int | None]]) -> None:
    """Bring the table in step after entries were written: (id, kind, resolves_entry_id) each.

    Called by the ledger's writer, inside it. Re-reads through the definition
    every item an entry is (a waiting kind), resolves, or re-opens by undoing
    its resolver; in chunks of :data:`CHUNK` ids (undoing a batch writes an
    entry for each of its entries, and engines cap a statement's parameters).
    """
    affected: set[int] = set()
    targets: set[int] = set()
    for entry_id, kind, resolves in written:
        if kind in ITEM_KINDS or kind in ORPHAN_KINDS:
            affected.add(entry_id)
        if resolves is not None:
            targets.add(resolves)
    affected |= targets
    for chunk in _chunks(sorted(targets)):
        # an entry that resolves a resolver undoes it: that resolver's item may be open again
        undone = sa.select(JournalEntry.resolves_entry_id).where(
            JournalEntry.id.in_(chunk), JournalEntry.resolves_entry_id.is_not(None)
        )
        affected |= {r for r in session.scalars(undone) if r is not None}
    table = OpenReviewItem.__table__
    for chunk in _chunks(sorted(affected)):
        session.execute(table.delete().where(table.c.entry_id.in_(chunk)))
        rows = _open_rows(session, JournalEntry.id.in_(chunk))
        if rows:
            session.execute(table.insert(), rows)


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    return (ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK))


def differences(session: Session, limit: int = 50) -> list[str]:
    """Where the table and the definition disagree (``tracker check``), at most ``limit``."""
    expected = {r["entry_id"]: r for r in _open_rows(session)}
    stored = {
        r.entry_id: r
        for r in session.execute(sa.select(OpenReviewItem.entry_id, OpenReviewItem.occurred_at, OpenReviewItem.currency))
    }
    found = []
    for entry_id in sorted(set(expected) | set(stored)):
        want, got = expected.get(entry_id), stored.get(entry_id)
        if want is None:
            found.append(f"entry {entry_id} is listed as an open review item but is not one")
        elif got is None:
            found.append(f"open review item {entry_id} is missing from the queue's table")
        elif (got.occurred_at, got.currency) != (want["occurred_at"], want["currency"]):
            found.append(f"open review item {entry_id} is listed with another time or currency")
        if len(found) >= limit:
            break
    return found
