"""Storing statement lines: raw rows, the upsert on (account, dedup key), versions.

The storage half of applying a staged export (:mod:`tracker.services.applying`
decides what the stored lines mean for the books). Everything here runs
inside the caller's transaction and only flushes.

May import: models, services (ledger, bulk), staging.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.i18n import gettext as _
from tracker.models import RawRow, StatementLine
from tracker.services import bulk, ledger
from tracker.services.staging import StagedLine

_RAW = RawRow.__table__
_LINES = StatementLine.__table__


def insert_raw(session: Session, batch_id: int, chunk: Sequence[StagedLine]) -> dict[int, int]:
    """Keep every row of the chunk (sealed) with its batch; return line number -> raw row id."""
    ids = ledger.reserve_ids(session, _RAW, len(chunk))
    rows = [
        {"id": raw_id, "batch_id": batch_id, "line_no": s.line_no, "readable": s.readable, "sealed": s.sealed}
        for raw_id, s in zip(ids, chunk, strict=True)
    ]
    bulk.insert_rows(session, _RAW, rows)
    return {s.line_no: raw_id for raw_id, s in zip(ids, chunk, strict=True)}


def upsert_lines(
    session: Session, account_id: int, batch_id: int, chunk: Sequence[StagedLine], raw_ids: dict[int, int]
) -> dict[str, int]:
    """Insert the lines not stored yet; return dedup key -> id of those this batch inserted.

    Keys already present are skipped by ``ON CONFLICT DO NOTHING``; the
    ids are drawn beforehand, so reading the keys back tells which rows
    are ours without RETURNING (which SQLite cannot batch).
    """
    keys = sorted({s.dedup_key for s in chunk})  # one lock order for racing imports
    present = set(
        session.scalars(sa.select(_LINES.c.dedup_key).where(_LINES.c.account_id == account_id, _LINES.c.dedup_key.in_(keys)))
    )
    first: dict[str, StagedLine] = {}
    for s in chunk:
        if s.dedup_key not in present and s.dedup_key not in first:
            first[s.dedup_key] = s
    if not first:
        return {}
    ids = dict(zip(sorted(first), ledger.reserve_ids(session, _LINES, len(first)), strict=True))
    rows = [
        {
            "id": ids[key],
            "account_id": account_id,
            "dedup_key": key,
            "batch_id": batch_id,
            "last_batch_id": batch_id,
            "version": 1,
            "line_no": s.line_no,
            "kind": s.kind,
            "status": s.status,
            "affects_balance": s.affects_balance,
            "occurred_at": s.occurred_at,
            "currency": s.currency,
            "gross": s.gross,
            "fee": s.fee,
            "net": s.net,
            "balance": s.balance,
            "txn_key": s.txn_key,
            "ref_key": s.ref_key,
            "donor_key": s.donor_key,
            "provider_type": s.provider_type,
            "texts": s.texts or None,
            "tag_metadata": s.metadata or None,
            "raw_row_id": raw_ids[s.line_no],
        }
        for key, s in sorted(first.items())
    ]
    bulk.insert_rows(session, _LINES, rows, on_conflict_do_nothing=["account_id", "dedup_key"])
    stored = session.execute(
        sa.select(_LINES.c.dedup_key, _LINES.c.id).where(_LINES.c.account_id == account_id, _LINES.c.dedup_key.in_(list(first)))
    ).tuples().all()
    return {key: line_id for key, line_id in stored if ids[key] == line_id}


def existing(session: Session, account_id: int, staged: Sequence[StagedLine]) -> dict[str, StatementLine]:
    """The stored lines with the staged lines' keys (locked on PostgreSQL), by dedup key."""
    if not staged:
        return {}
    query = sa.select(StatementLine).where(
        StatementLine.account_id == account_id,
        StatementLine.dedup_key.in_([s.dedup_key for s in staged]),
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return {row.dedup_key: row for row in session.scalars(query)}


def version_row(batch_id: int, line_id: int, version: int, s: StagedLine, raw_id: int) -> dict[str, Any]:
    """One statement line version, as a row for bulk insert."""
    return {
        "line_id": line_id,
        "version": version,
        "batch_id": batch_id,
        "kind": s.kind,
        "status": s.status,
        "currency": s.currency,
        "gross": s.gross,
        "fee": s.fee,
        "net": s.net,
        "balance": s.balance,
        "raw_row_id": raw_id,
    }


def currency_changes(
    session: Session, account_id: int, batch_id: int, fresh: Sequence[StagedLine]
) -> list[tuple[StagedLine, str, str]]:
    """New lines whose provider id and kind were imported before in another currency (L4).

    Returns (line, column, message) for each, for the caller to reject.
    """
    by_txn = {s.txn_key: s for s in fresh if s.txn_key}
    if not by_txn:
        return []
    rows = session.execute(
        sa.select(StatementLine.txn_key, StatementLine.kind, StatementLine.currency, StatementLine.gross).where(
            StatementLine.account_id == account_id,
            StatementLine.txn_key.in_(list(by_txn)),
            StatementLine.last_batch_id != batch_id,
            StatementLine.undone_at.is_(None),
        )
    ).all()
    message = _("this transaction was imported before in another currency; the import refuses to overwrite it")
    return [
        (by_txn[txn_key], "Currency", message)
        for txn_key, kind, currency, gross in rows
        if kind == by_txn[txn_key].kind and currency != by_txn[txn_key].currency and (gross > 0) == (by_txn[txn_key].gross > 0)
    ]
