"""Import batches after the fact: listing them and undoing one as a whole.

Undo never edits the ledger: every entry the batch wrote gets a correcting
entry that negates it, newest first; the batch's donations are voided, the
lines it brought are marked undone (a re-import revives them), and lines it
changed go back to their previous version. A batch that a later change builds
on (a later batch changed its lines, or any later entry refunds, converts,
links or re-allocates its donations or clears its review items) cannot be
undone; the refusal names what depends on it, so the treasurer can undo that
first. Raw rows stay with their batch: nothing is lost.

May import: models, ledger and audit services.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from tracker.dbtypes import utcnow
from tracker.errors import Conflict, NotFound
from tracker.models import (
    BatchStatus,
    Donation,
    EntryKind,
    ImportBatch,
    JournalEntry,
    PostingRole,
    StatementLine,
    StatementLineVersion,
)
from tracker.services import audit, donation_totals, ledger, unit_of_work


@dataclass(frozen=True, slots=True)
class UndoResult:
    """What undoing a batch did."""

    batch_id: int
    entries_reversed: int
    donations_voided: int
    lines_undone: int
    lines_restored: int

    def as_dict(self) -> dict[str, int]:
        """JSON-ready counts."""
        return {
            "batch_id": self.batch_id,
            "entries_reversed": self.entries_reversed,
            "donations_voided": self.donations_voided,
            "lines_undone": self.lines_undone,
            "lines_restored": self.lines_restored,
        }


def list_batches(session: Session, limit: int = 50) -> list[ImportBatch]:
    """The newest batches first."""
    return list(session.scalars(sa.select(ImportBatch).order_by(ImportBatch.id.desc()).limit(limit)))


def dependents(session: Session, batch_id: int) -> list[str]:
    """Why a batch cannot be undone: later changes that build on it (empty if none)."""
    reasons: list[str] = []
    own_lines = sa.select(StatementLineVersion.line_id).where(StatementLineVersion.batch_id == batch_id)
    later = session.scalars(
        sa.select(StatementLineVersion.batch_id)
        .join(ImportBatch, ImportBatch.id == StatementLineVersion.batch_id)
        .where(
            StatementLineVersion.line_id.in_(own_lines),
            StatementLineVersion.batch_id > batch_id,
            ImportBatch.status == BatchStatus.COMMITTED.value,
        )
        .distinct()
    ).all()
    reasons += [f"batch {b} changed lines this batch brought" for b in sorted(later)]
    own_entries = sa.select(JournalEntry.id).where(JournalEntry.batch_id == batch_id)
    own_donations = sa.select(JournalEntry.donation_id).where(
        JournalEntry.batch_id == batch_id, JournalEntry.kind == EntryKind.DONATION.value
    )
    undone = aliased(JournalEntry)
    rows = session.execute(
        sa.select(JournalEntry.id, JournalEntry.batch_id, JournalEntry.kind)
        .where(
            sa.or_(JournalEntry.batch_id.is_(None), JournalEntry.batch_id != batch_id),
            sa.or_(
                JournalEntry.donation_id.in_(own_donations),
                JournalEntry.basis_entry_id.in_(own_entries),
                JournalEntry.resolves_entry_id.in_(own_entries),
            ),
            # corrections written by an earlier undo of a later batch do not count
            ~sa.exists().where(undone.resolves_entry_id == JournalEntry.id),
            # re-allocations only moved the batch's donations between funds:
            # undo reverses them too (the hand-made choice itself stays)
            JournalEntry.kind.not_in([EntryKind.CORRECTION.value, EntryKind.REALLOCATION.value]),
        )
        .order_by(JournalEntry.id)
    ).all()
    for entry_id, other_batch, kind in rows[:10]:
        where = f"batch {other_batch}" if other_batch else "a manual change"
        reasons.append(f"entry {entry_id} ({kind}, {where}) builds on it")
    return reasons


def undo_batch(batch_id: int) -> UndoResult:
    """Undo a committed batch as a whole (one unit of work), or refuse with the reason."""
    with unit_of_work() as session:
        batch = session.get(ImportBatch, batch_id)
        if batch is None:
            raise NotFound(f"no batch {batch_id}")
        if batch.status != BatchStatus.COMMITTED.value:
            raise Conflict(f"batch {batch_id} is {batch.status}; only a committed batch can be undone")
        reasons = dependents(session, batch_id)
        if reasons:
            raise Conflict(f"batch {batch_id} cannot be undone: " + "; ".join(reasons) + ". Undo those first.")
        who = audit.actor()
        own_donations = sa.select(JournalEntry.donation_id).where(
            JournalEntry.batch_id == batch_id, JournalEntry.kind == EntryKind.DONATION.value
        )
        undone_already = aliased(JournalEntry)
        entries = list(
            session.scalars(
                sa.select(JournalEntry)
                .where(
                    sa.or_(
                        JournalEntry.batch_id == batch_id,
                        sa.and_(
                            JournalEntry.kind == EntryKind.REALLOCATION.value,
                            JournalEntry.donation_id.in_(own_donations),
                            ~sa.exists().where(undone_already.resolves_entry_id == JournalEntry.id),
                        ),
                    )
                )
                .order_by(JournalEntry.id.desc())
            )
        )
        specs = [
            ledger.EntrySpec(
                kind=EntryKind.CORRECTION,
                occurred_at=entry.occurred_at,
                legs=[ledger.Leg(p.ledger_account_id, p.currency, -p.amount, PostingRole(p.role)) for p in entry.postings],
                statement_line_id=entry.statement_line_id,
                donation_id=entry.donation_id,
                basis_entry_id=entry.basis_entry_id if entry.kind in _RETURNS else None,
                resolves_entry_id=entry.id,
                created_by=who,
                description=f"undo of batch {batch_id}",
            )
            for entry in entries
        ]
        ledger.write_entries(session, specs)
        now = utcnow()
        of_batch = Donation.id.in_(
            sa.select(JournalEntry.donation_id).where(JournalEntry.batch_id == batch_id, JournalEntry.kind == EntryKind.DONATION.value)
        )
        donation_totals.voided(session, of_batch)
        voided = session.execute(sa.update(Donation).where(of_batch).values(voided_at=now)).rowcount
        undone = session.execute(
            sa.update(StatementLine)
            .where(StatementLine.batch_id == batch_id, StatementLine.version == 1, StatementLine.undone_at.is_(None))
            .values(undone_at=now)
        ).rowcount
        restored = _restore_changed_lines(session, batch_id)
        revived = session.scalars(
            sa.select(StatementLine).where(StatementLine.last_batch_id == batch_id, StatementLine.version > 1)
        ).all()
        for line in revived:
            if _was_revived_by(session, line.id, batch_id):
                line.undone_at = now
                undone += 1
        batch.status = BatchStatus.UNDONE.value
        batch.undone_at = now
        session.flush()
        result = UndoResult(batch_id, len(specs), voided or 0, undone or 0, restored)
        audit.record(session, "import.undo", "import_batch", batch_id, after=result.as_dict())
        return result


_RETURNS = (EntryKind.REFUND.value, EntryKind.CHARGEBACK.value, EntryKind.REVIEW_LINK.value)


def _was_revived_by(session: Session, line_id: int, batch_id: int) -> bool:
    """A line the batch revived after an undo: its previous version's batch is undone."""
    previous = session.execute(
        sa.select(ImportBatch.status)
        .join(StatementLineVersion, StatementLineVersion.batch_id == ImportBatch.id)
        .where(StatementLineVersion.line_id == line_id, StatementLineVersion.batch_id != batch_id)
        .order_by(StatementLineVersion.version.desc())
        .limit(1)
    ).scalar()
    return previous == BatchStatus.UNDONE.value


def _restore_changed_lines(session: Session, batch_id: int) -> int:
    """Lines the batch changed (a status transition) go back to their previous version."""
    restored = 0
    changed = session.scalars(
        sa.select(StatementLine).where(StatementLine.last_batch_id == batch_id, StatementLine.version > 1)
    ).all()
    for line in changed:
        previous = _previous_version(session, line.id, batch_id)
        if previous is None or _was_revived_by(session, line.id, batch_id):
            continue
        line.status = previous.status
        line.balance = previous.balance
        line.raw_row_id = previous.raw_row_id
        line.last_batch_id = previous.batch_id
        restored += 1
    return restored


def _previous_version(session: Session, line_id: int, batch_id: int) -> Any:
    return session.scalar(
        sa.select(StatementLineVersion)
        .where(StatementLineVersion.line_id == line_id, StatementLineVersion.batch_id != batch_id)
        .order_by(StatementLineVersion.version.desc())
        .limit(1)
    )
