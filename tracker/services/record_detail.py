"""One donation or statement line, as a treasurer opens it from the search.

Gathers what the record page shows: the line's readable fields and note
texts, the raw row with its sealed columns named but never opened (their
values need the treasurer's private key, on their own machine), the line's
versions, its batch, the journal entries with their postings, and why the
donation has its campaign (rule, alias, metadata or a manual choice, and the
token that matched). Read-only; nothing here is for organisers.

May import: models, :mod:`tracker.money`, services (retention's note fields).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker import money
from tracker.errors import NotFound
from tracker.models import (
    Account,
    Campaign,
    Donation,
    Fund,
    ImportBatch,
    JournalEntry,
    LedgerAccount,
    Posting,
    RawRow,
    StatementLine,
    StatementLineVersion,
    TagRule,
)
from tracker.services.retention import NOTE_FIELDS

MAX_ENTRIES = 200
MAX_VERSIONS = 100


def _amount(value: Any, currency: str) -> str | None:
    return None if value is None else money.to_string(money.quantize(value, currency), currency)


def _batch(session: Session, batch_id: int | None) -> dict[str, Any] | None:
    batch = session.get(ImportBatch, batch_id) if batch_id else None
    if batch is None:
        return None
    return {
        "id": batch.id,
        "filename": batch.filename,
        "format": batch.format,
        "status": batch.status,
        "created_at": batch.created_at,
        "created_by": batch.created_by,
        "counts": {"new": batch.count_new, "updated": batch.count_updated, "duplicate": batch.count_duplicate, "rejected": batch.count_rejected},
    }


def _raw_row(session: Session, raw_id: int | None) -> dict[str, Any] | None:
    """The raw row: readable columns with values, sealed ones by name only."""
    raw = session.get(RawRow, raw_id) if raw_id else None
    if raw is None:
        return None
    batch = session.get(ImportBatch, raw.batch_id)
    columns: dict[str, str] = dict(((batch.assumptions if batch else None) or {}).get("columns") or {})
    readable = dict(raw.readable or {})
    purged = sorted(h for f, h in columns.items() if raw.purged_at is not None and f in NOTE_FIELDS and h not in readable)
    sealed = sorted({h for h in columns.values() if h not in readable and h not in purged})
    return {
        "id": raw.id,
        "batch_id": raw.batch_id,
        "line_no": raw.line_no,
        "readable": readable,
        "sealed_columns": sealed,
        "has_sealed_copy": raw.sealed is not None,
        "purged_columns": purged,
        "purged_at": raw.purged_at,
    }


def _entries(session: Session, condition: Any) -> list[dict[str, Any]]:
    entries = session.scalars(sa.select(JournalEntry).where(condition).order_by(JournalEntry.id).limit(MAX_ENTRIES)).all()
    if not entries:
        return []
    postings = session.execute(
        sa.select(Posting, LedgerAccount.code, LedgerAccount.kind, Fund.name)
        .join(LedgerAccount, LedgerAccount.id == Posting.ledger_account_id)
        .outerjoin(Fund, Fund.ledger_account_id == LedgerAccount.id)
        .where(Posting.entry_id.in_([e.id for e in entries]))
        .order_by(Posting.id)
    ).all()
    by_entry: dict[int, list[dict[str, Any]]] = {}
    for posting, code, kind, fund in postings:
        by_entry.setdefault(posting.entry_id, []).append(
            {"account": fund or code, "kind": kind, "currency": posting.currency, "amount": _amount(posting.amount, posting.currency), "role": posting.role}
        )
    return [
        {
            "id": e.id,
            "kind": e.kind,
            "occurred_at": e.occurred_at,
            "created_at": e.created_at,
            "created_by": e.created_by,
            "description": e.description,
            "donation_id": e.donation_id,
            "postings": by_entry.get(e.id, []),
        }
        for e in entries
    ]


def _why(session: Session, donation: Donation) -> dict[str, Any]:
    """Why the donation has its campaign: the source, the reason and what matched."""
    detail = donation.tag_detail or {}
    rules = {
        rule.id: rule
        for rule in session.scalars(
            sa.select(TagRule).where(TagRule.id.in_([m.get("rule_id") for m in detail.get("matches") or [] if isinstance(m.get("rule_id"), int)]))
        )
    }
    matches = []
    for m in detail.get("matches") or []:
        rule = rules.get(m.get("rule_id")) if isinstance(m.get("rule_id"), int) else None
        matches.append(
            {
                "campaign": m.get("campaign"),
                "kind": m.get("kind"),
                "field": m.get("field"),
                "text": m.get("text"),
                "rule_id": m.get("rule_id"),
                "pattern": rule.pattern if rule else None,
            }
        )
    return {
        "source": donation.tag_source,
        "outcome": detail.get("outcome"),
        "reason": detail.get("reason") or "",
        "candidates": list(detail.get("candidates") or []),
        "matches": matches,
        "by": detail.get("by"),
    }


def _donation(session: Session, donation: Donation) -> dict[str, Any]:
    account = session.get(Account, donation.account_id)
    campaign = session.get(Campaign, donation.campaign_id) if donation.campaign_id else None
    return {
        "id": donation.id,
        "received_at": donation.received_at,
        "account": account.name if account else "",
        "origin": donation.origin,
        "currency": donation.currency,
        "gross": _amount(donation.gross, donation.currency),
        "fee": _amount(donation.fee, donation.currency),
        "net": _amount(donation.net, donation.currency),
        "destination": donation.destination,
        "campaign": {"tag": campaign.tag, "title": campaign.title} if campaign else None,
        "voided_at": donation.voided_at,
        "note": donation.note,
        "created_by": donation.created_by,
        "line_id": donation.statement_line_id,
        "why": _why(session, donation),
    }


def _line(session: Session, line: StatementLine) -> dict[str, Any]:
    account = session.get(Account, line.account_id)
    versions = session.scalars(
        sa.select(StatementLineVersion).where(StatementLineVersion.line_id == line.id).order_by(StatementLineVersion.version).limit(MAX_VERSIONS)
    ).all()
    cur = line.currency
    return {
        "id": line.id,
        "account": account.name if account else "",
        "occurred_at": line.occurred_at,
        "kind": line.kind,
        "status": line.status,
        "affects_balance": line.affects_balance,
        "currency": cur,
        "gross": _amount(line.gross, cur),
        "fee": _amount(line.fee, cur),
        "net": _amount(line.net, cur),
        "balance": _amount(line.balance, cur),
        "provider_type": line.provider_type,
        "version": line.version,
        "line_no": line.line_no,
        "texts": [list(t) for t in (line.texts or [])],
        "metadata": [list(m) for m in (line.tag_metadata or [])],
        "has_txn_id": line.txn_key is not None,
        "has_reference": line.ref_key is not None,
        "undone_at": line.undone_at,
        "raw": _raw_row(session, line.raw_row_id),
        "batch": _batch(session, line.batch_id),
        "last_batch": _batch(session, line.last_batch_id) if line.last_batch_id != line.batch_id else None,
        "versions": [
            {
                "version": v.version,
                "batch_id": v.batch_id,
                "kind": v.kind,
                "status": v.status,
                "gross": _amount(v.gross, v.currency),
                "fee": _amount(v.fee, v.currency),
                "net": _amount(v.net, v.currency),
                "balance": _amount(v.balance, v.currency),
                "currency": v.currency,
                "created_at": v.created_at,
                "raw_row_id": v.raw_row_id,
            }
            for v in versions
        ],
    }


def line_record(session: Session, line_id: int) -> dict[str, Any]:
    """A statement line with its raw row, versions, batch, entries and donations."""
    line = session.get(StatementLine, line_id)
    if line is None:
        raise NotFound(f"no statement line {line_id}")
    gifts = session.scalars(sa.select(Donation).where(Donation.statement_line_id == line.id).order_by(Donation.id)).all()
    condition = sa.or_(JournalEntry.statement_line_id == line.id, JournalEntry.donation_id.in_([g.id for g in gifts]))
    return {
        "line": _line(session, line),
        "donations": [_donation(session, g) for g in gifts],
        "entries": _entries(session, condition),
    }


def donation_record(session: Session, donation_id: int) -> dict[str, Any]:
    """A donation with its statement line (if imported), entries and tagging reason."""
    donation = session.get(Donation, donation_id)
    if donation is None:
        raise NotFound(f"no donation {donation_id}")
    line = session.get(StatementLine, donation.statement_line_id) if donation.statement_line_id else None
    condition = JournalEntry.donation_id == donation.id
    if donation.allocation_entry_id:
        condition = sa.or_(condition, JournalEntry.id == donation.allocation_entry_id)
    return {
        "donation": _donation(session, donation),
        "line": _line(session, line) if line else None,
        "entries": _entries(session, condition),
    }
