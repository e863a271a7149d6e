"""The books for the group's own accountant: donations, postings, disbursements of a period.

CSV (one file per table, zipped) or XLSX (one sheet per table, openpyxl's
write-only mode, so memory stays flat). Donor keys, notes and counterparties
are left out; private notes on disbursements only when asked. Text cells
that a spreadsheet would run as a formula (starting with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return) get a leading apostrophe; amounts
stay numbers (exact decimal strings in CSV, numeric cells in XLSX).

May import: models, :mod:`tracker.money`, openpyxl.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from tracker import money
from tracker.models import Account, Campaign, Disbursement, Donation, Fund, JournalEntry, LedgerAccount, Posting

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BATCH = 5000


def neutralise(value: Any) -> Any:
    """A text cell that cannot run as a formula; numbers, dates and None unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


@dataclass(frozen=True)
class Table:
    """One exported table: its name, header and rows (streamed)."""

    name: str
    header: list[str]
    rows: Iterator[list[Any]]


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    return datetime.combine(start, time(0), UTC), datetime.combine(end + timedelta(days=1), time(0), UTC)


def _stream(session: Session, query: Any) -> Iterator[Any]:
    yield from session.execute(query.execution_options(yield_per=BATCH))


def donations(session: Session, start: date, end: date) -> Table:
    """Every donation received in the period (no donor key, no note)."""
    lo, hi = _bounds(start, end)
    query = (
        sa.select(Donation, Account.name, Campaign.tag)
        .join(Account, Account.id == Donation.account_id)
        .outerjoin(Campaign, Campaign.id == Donation.campaign_id)
        .where(Donation.received_at >= lo, Donation.received_at < hi)
        .order_by(Donation.received_at, Donation.id)
    )

    def rows() -> Iterator[list[Any]]:
        for d, account, tag in _stream(session, query):
            net = d.gross - d.fee
            yield [d.id, d.received_at.date(), account, d.origin, d.currency,
                   money.quantize(d.gross, d.currency), money.quantize(d.fee, d.currency), money.quantize(net, d.currency),
                   d.destination, tag or "", "yes" if d.voided_at else ""]

    return Table("donations", ["id", "received_on", "account", "origin", "currency", "gross", "fee", "net", "destination", "campaign", "voided"], rows())


def postings(session: Session, start: date, end: date) -> Table:
    """Every posting of the period's entries, with the ledger account's code."""
    lo, hi = _bounds(start, end)
    ledger = aliased(LedgerAccount)
    query = (
        sa.select(JournalEntry.id, JournalEntry.occurred_at, JournalEntry.kind, ledger.code, Posting.role, Posting.currency, Posting.amount)
        .join(Posting, Posting.entry_id == JournalEntry.id)
        .join(ledger, ledger.id == Posting.ledger_account_id)
        .where(JournalEntry.occurred_at >= lo, JournalEntry.occurred_at < hi)
        .order_by(JournalEntry.occurred_at, JournalEntry.id, Posting.id)
    )

    def rows() -> Iterator[list[Any]]:
        for entry_id, at, kind, code, role, currency, amount in _stream(session, query):
            yield [entry_id, at.date(), kind, code, role, currency, money.quantize(amount, currency)]

    return Table("postings", ["entry", "date", "kind", "ledger_account", "role", "currency", "amount"], rows())


def disbursements(session: Session, start: date, end: date, *, with_notes: bool = False) -> Table:
    """Money paid out in the period; private notes only when asked."""
    query = (
        sa.select(Disbursement, Fund.name, Account.name)
        .join(Fund, Fund.id == Disbursement.fund_id)
        .join(Account, Account.id == Disbursement.account_id)
        .where(Disbursement.paid_on >= start, Disbursement.paid_on <= end)
        .order_by(Disbursement.paid_on, Disbursement.id)
    )

    def rows() -> Iterator[list[Any]]:
        for d, fund, account in _stream(session, query):
            row = [d.id, d.paid_on, fund, account, d.currency, money.quantize(d.amount, d.currency), d.category, d.public_description]
            yield [*row, d.private_note or ""] if with_notes else row

    header = ["id", "paid_on", "fund", "account", "currency", "amount", "category", "public_description"]
    return Table("disbursements", [*header, "private_note"] if with_notes else header, rows())


def tables(session: Session, start: date, end: date, *, with_notes: bool = False) -> list[Table]:
    """The three tables of the period."""
    return [donations(session, start, end), postings(session, start, end), disbursements(session, start, end, with_notes=with_notes)]


def _csv_cell(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    return neutralise(value)


def to_csv_zip(items: list[Table]) -> bytes:
    """A zip holding one UTF-8 CSV per table."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for table in items:
            text = io.StringIO()
            writer = csv.writer(text, lineterminator="\r\n")
            writer.writerow(table.header)
            for row in table.rows:
                writer.writerow([_csv_cell(v) for v in row])
            archive.writestr(f"{table.name}.csv", text.getvalue().encode("utf-8"))
    return out.getvalue()


def to_xlsx(items: list[Table]) -> bytes:
    """One workbook, a sheet per table; amounts as numbers with two decimals shown."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    for table in items:
        sheet = book.create_sheet(table.name)
        sheet.append(table.header)
        for row in table.rows:
            cells = []
            for value in row:
                if isinstance(value, Decimal):
                    cell = WriteOnlyCell(sheet, value=value)
                    cell.number_format = "0.00##"
                    cells.append(cell)
                else:
                    cells.append(neutralise(value))
            sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
