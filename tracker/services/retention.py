"""The retention purge: payment notes go once review is over and time has passed.

ARCHITECTURE.md rule 10: notes stay readable to treasurers for tagging and
review, and a retention setting (``retention_days``) purges them after it. A
statement line is purged when

- its review is over: no live donation of it waits in the review queue and no
  review item of it (unclassified money, an opening balance) is unresolved;
- both its payment and the import that brought it are older than the
  retention.

Purging clears the line's ``texts`` and ``tag_metadata`` (the full-text index
follows: an expression index on PostgreSQL, triggers on SQLite), blanks the
note columns of every raw row of the line (each version's too) and sets their
``purged_at``, blanks private text in audit payloads about the line and its
donations, and clears old private notes of manual donations. Raw rows that no
line points to (duplicates, rejected rows) lose their note columns once their
batch is older than the retention. One audit event records the counts only.

What the books need stays: amounts, dates, keys, tagging decisions (a purged
donation keeps its campaign; re-tagging leaves it alone), so publication and
``tracker check`` are unaffected.

Work goes in chunks of line ids; nothing loads a whole table.

May import: models, services (settings, audit), :mod:`tracker.models.note_search`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, aliased

from tracker.dbtypes import utcnow
from tracker.extensions import db
from tracker.models import (
    AuditEvent,
    BatchStatus,
    Destination,
    Donation,
    ImportBatch,
    JournalEntry,
    RawRow,
    StatementLine,
    StatementLineVersion,
)
from tracker.models.ledger import REVIEW_ITEM_KINDS
from tracker.models.note_search import AUDIT_PURGE_PERMIT, DONATION_NOTES_FTS, LINE_NOTES_FTS
from tracker.services import audit, settings, unit_of_work

CHUNK = 500
#: Canonical fields whose columns hold a payer's words (importers' text fields).
NOTE_FIELDS = frozenset({"note", "subject", "item_title", "message", "memo", "remittance", "description_free"})
#: Audit payload keys that hold private text (or its hash).
PRIVATE_KEYS = frozenset({"texts", "text", "note", "notes", "private_note", "tag_metadata", "metadata", "memo", "subject", "item_title"})
PURGED = "[purged]"
LINE_OBJECTS = ("statement_line", "line")
DONATION_OBJECTS = ("donation",)


@dataclass(frozen=True, slots=True)
class PurgeReport:
    """What a purge removed (or, dry, would remove)."""

    cutoff: str
    retention_days: int
    lines: int = 0
    raw_rows: int = 0
    donation_notes: int = 0
    audit_events: int = 0
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)


def purge(*, dry_run: bool = False, now: datetime | None = None) -> PurgeReport:
    """Purge reviewed notes older than the retention; one unit of work, audited.

    With ``dry_run`` the same work runs and is rolled back, so the counts are
    exactly what a real run would remove.
    """
    if dry_run:
        session = db.session()
        session.rollback()
        session.connection(execution_options={"tracker_write": True})
        try:
            return _purge(session, now or utcnow(), dry_run=True)
        finally:
            session.rollback()
    with unit_of_work() as session:
        report = _purge(session, now or utcnow(), dry_run=False)
        audit.record(session, "retention.purge", "retention", None, after=report.as_dict())
    _compact()
    return report


def _purge(session: Session, now: datetime, *, dry_run: bool) -> PurgeReport:
    days = int(settings.get(session, "retention_days"))
    cutoff = now - timedelta(days=days)
    scrubber = _AuditScrubber(session)
    lines = raw_rows = 0
    after_id = 0
    while True:
        chunk = _candidate_lines(session, cutoff, after_id)
        if not chunk:
            break
        after_id = chunk[-1][0]
        raw_rows += _purge_lines(session, chunk, now)
        lines += len(chunk)
        ids = [line_id for line_id, _texts in chunk]
        scrubber.scrub(LINE_OBJECTS, ids)
        scrubber.scrub(DONATION_OBJECTS, session.scalars(sa.select(Donation.id).where(Donation.statement_line_id.in_(ids))))
    raw_rows += _purge_unlinked_raw_rows(session, cutoff, now)
    notes = _purge_donation_notes(session, cutoff, scrubber)
    scrubber.close()
    return PurgeReport(
        cutoff=cutoff.isoformat(timespec="seconds"),
        retention_days=days,
        lines=lines,
        raw_rows=raw_rows,
        donation_notes=notes,
        audit_events=scrubber.changed,
        dry_run=dry_run,
    )


# --- which lines ------------------------------------------------------------------------


def _review_over() -> Any:
    """A condition on StatementLine: nothing of it waits for a treasurer."""
    waiting_gift = sa.exists().where(
        Donation.statement_line_id == StatementLine.id,
        Donation.voided_at.is_(None),
        Donation.destination == Destination.REVIEW.value,
    )
    item, resolver = aliased(JournalEntry), aliased(JournalEntry)
    open_item = sa.exists().where(
        item.statement_line_id == StatementLine.id,
        item.kind.in_([k.value for k in REVIEW_ITEM_KINDS]),
        ~sa.exists().where(resolver.resolves_entry_id == item.id),
    )
    return sa.and_(~waiting_gift, ~open_item)


def _candidate_lines(session: Session, cutoff: datetime, after_id: int) -> list[tuple[int, Any]]:
    raw = aliased(RawRow)
    not_purged_yet = sa.or_(
        StatementLine.texts.is_not(None),
        StatementLine.tag_metadata.is_not(None),
        sa.exists().where(raw.id == StatementLine.raw_row_id, raw.purged_at.is_(None)),
    )
    query = (
        sa.select(StatementLine.id, StatementLine.texts)
        .join(ImportBatch, ImportBatch.id == StatementLine.batch_id)
        .where(
            StatementLine.id > after_id,
            StatementLine.occurred_at < cutoff,
            ImportBatch.created_at < cutoff,
            not_purged_yet,
            _review_over(),
        )
        .order_by(StatementLine.id)
        .limit(CHUNK)
    )
    return [(line_id, texts) for line_id, texts in session.execute(query).tuples()]


# --- raw rows ---------------------------------------------------------------------------


class _NoteColumns:
    """Per batch: the header names (as written) of the columns that hold notes."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.cache: dict[int, frozenset[str]] = {}

    def of(self, batch_id: int) -> frozenset[str]:
        if batch_id not in self.cache:
            assumptions = self.session.scalar(sa.select(ImportBatch.assumptions).where(ImportBatch.id == batch_id)) or {}
            columns = assumptions.get("columns") or {}
            self.cache[batch_id] = frozenset(str(h) for f, h in columns.items() if f in NOTE_FIELDS)
        return self.cache[batch_id]


def _text_values(texts: Any) -> set[str]:
    return {str(t[1]) for t in (texts or []) if isinstance(t, (list, tuple)) and len(t) == 2 and t[1]}


def _purge_lines(session: Session, chunk: Sequence[tuple[int, Any]], now: datetime) -> int:
    """Clear the chunk's texts and its raw rows' note columns; the number of raw rows purged."""
    ids = [line_id for line_id, _texts in chunk]
    values = {line_id: _text_values(texts) for line_id, texts in chunk}
    links = session.execute(
        sa.select(StatementLineVersion.line_id, StatementLineVersion.raw_row_id).where(
            StatementLineVersion.line_id.in_(ids), StatementLineVersion.raw_row_id.is_not(None)
        )
    ).tuples().all()
    links += session.execute(
        sa.select(StatementLine.id, StatementLine.raw_row_id).where(StatementLine.id.in_(ids), StatementLine.raw_row_id.is_not(None))
    ).tuples().all()
    owner: dict[int, set[str]] = {}
    for line_id, raw_id in links:
        owner.setdefault(raw_id, set()).update(values[line_id])
    columns = _NoteColumns(session)
    updates = []
    if owner:
        rows = session.execute(
            sa.select(RawRow.id, RawRow.batch_id, RawRow.readable).where(RawRow.id.in_(list(owner)), RawRow.purged_at.is_(None))
        ).tuples()
        for raw_id, batch_id, readable in rows:
            notes = columns.of(batch_id)
            kept = {k: v for k, v in (readable or {}).items() if k not in notes and not (v and str(v) in owner[raw_id])}
            updates.append({"rid": raw_id, "readable": kept, "purged_at": now})
    if updates:
        table = RawRow.__table__
        session.execute(
            table.update().where(table.c.id == sa.bindparam("rid")).values(readable=sa.bindparam("readable"), purged_at=sa.bindparam("purged_at")),
            updates,
        )
    session.execute(
        sa.update(StatementLine.__table__).where(StatementLine.__table__.c.id.in_(ids)).values(texts=sa.null(), tag_metadata=sa.null())
    )
    return len(updates)


def _purge_unlinked_raw_rows(session: Session, cutoff: datetime, now: datetime) -> int:
    """Raw rows no line points to (duplicates, rejected rows) of batches past the retention."""
    batches = session.execute(
        sa.select(ImportBatch.id, ImportBatch.assumptions).where(
            ImportBatch.created_at < cutoff,
            ImportBatch.status != BatchStatus.STAGED.value,
            sa.exists().where(RawRow.batch_id == ImportBatch.id, RawRow.purged_at.is_(None)),
        ).order_by(ImportBatch.id)
    ).tuples().all()
    postgres = session.get_bind().dialect.name == "postgresql"
    done = 0
    for batch_id, assumptions in batches:
        notes = sorted({str(h) for f, h in ((assumptions or {}).get("columns") or {}).items() if f in NOTE_FIELDS})
        linked = sa.union(
            sa.select(StatementLineVersion.raw_row_id).where(StatementLineVersion.batch_id == batch_id, StatementLineVersion.raw_row_id.is_not(None)),
            sa.select(StatementLine.raw_row_id).where(StatementLine.last_batch_id == batch_id, StatementLine.raw_row_id.is_not(None)),
        )
        if not notes:
            readable: Any = RawRow.readable
        elif postgres:
            without = sa.cast(sa.cast(RawRow.readable, sa.Text), postgresql.JSONB).op("-")(
                sa.cast(sa.literal(notes, postgresql.ARRAY(sa.Text)), postgresql.ARRAY(sa.Text))
            )
            readable = sa.cast(sa.cast(without, sa.Text), sa.JSON)
        else:
            paths = ['$."' + name.replace('"', '\\"') + '"' for name in notes]
            readable = sa.func.json_remove(RawRow.readable, *paths)
        result = session.execute(
            sa.update(RawRow)
            .where(RawRow.batch_id == batch_id, RawRow.purged_at.is_(None), RawRow.id.not_in(linked))
            .values(readable=readable, purged_at=now)
            .execution_options(synchronize_session=False)
        )
        done += result.rowcount or 0
    return done


# --- manual donations' notes --------------------------------------------------------------


def _purge_donation_notes(session: Session, cutoff: datetime, scrubber: _AuditScrubber) -> int:
    done = 0
    after_id = 0
    while True:
        ids = list(
            session.scalars(
                sa.select(Donation.id)
                .where(
                    Donation.id > after_id,
                    Donation.note.is_not(None),
                    Donation.received_at < cutoff,
                    Donation.created_at < cutoff,
                    sa.or_(Donation.destination != Destination.REVIEW.value, Donation.voided_at.is_not(None)),
                )
                .order_by(Donation.id)
                .limit(CHUNK)
            )
        )
        if not ids:
            return done
        after_id = ids[-1]
        session.execute(sa.update(Donation.__table__).where(Donation.__table__.c.id.in_(ids)).values(note=None))
        scrubber.scrub(DONATION_OBJECTS, ids)
        done += len(ids)


# --- audit payloads -----------------------------------------------------------------------


def scrub_payload(value: Any) -> Any:
    """A payload with private text (and hashes of it) replaced by a marker."""
    if isinstance(value, dict):
        return {k: (PURGED if k in PRIVATE_KEYS and v not in (None, "", [], {}) else scrub_payload(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_payload(v) for v in value]
    if isinstance(value, str) and value.startswith("sha256:"):
        return PURGED
    return value


class _AuditScrubber:
    """Blanks private text in audit payloads about purged objects, under the purge permit."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.changed = 0
        self.permitted = False

    def scrub(self, object_types: Sequence[str], ids: Iterable[int]) -> None:
        keys = [str(i) for i in ids]
        if not keys:
            return
        events = self.session.execute(
            sa.select(AuditEvent.id, AuditEvent.before, AuditEvent.after).where(
                AuditEvent.object_type.in_(object_types), AuditEvent.object_id.in_(keys)
            )
        ).tuples().all()
        updates = []
        for event_id, before, after in events:
            clean_before, clean_after = scrub_payload(before), scrub_payload(after)
            if clean_before != before or clean_after != after:
                updates.append({"eid": event_id, "before": clean_before, "after": clean_after})
        if not updates:
            return
        if not self.permitted:
            self.session.execute(sa.text(f"INSERT INTO {AUDIT_PURGE_PERMIT} (id) VALUES (1)"))  # nosec B608 - the table name is a module constant, never input (expires 2027-05-31)
            self.permitted = True
        table = AuditEvent.__table__
        self.session.execute(
            table.update().where(table.c.id == sa.bindparam("eid")).values(before=sa.bindparam("before"), after=sa.bindparam("after")),
            updates,
        )
        self.changed += len(updates)

    def close(self) -> None:
        """Give the permit back (it never outlives the purge's transaction)."""
        if self.permitted:
            self.session.execute(sa.text(f"DELETE FROM {AUDIT_PURGE_PERMIT}"))  # nosec B608 - the table name is a module constant, never input (expires 2027-05-31)
            self.permitted = False


def _compact() -> None:
    """SQLite: merge the full-text index so purged words leave its pages too."""
    session = db.session()
    if session.get_bind().dialect.name != "sqlite":
        return
    with unit_of_work() as work:
        for table in (LINE_NOTES_FTS, DONATION_NOTES_FTS):
            work.execute(sa.text(f"INSERT INTO {table}({table}) VALUES ('optimize')"))  # nosec B608 - the table name is a module constant, never input (expires 2027-05-31)
