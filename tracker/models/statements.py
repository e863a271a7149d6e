"""Where money sits and what the providers say about it.

Account (a PayPal, Stripe or bank account, or the cash box), ImportBatch (one
imported file or sync), StatementLine (one normalised provider row, unique per
account and dedup key), its append-only versions, and RawRow (every row as read,
identity sealed: ARCHITECTURE.md rule 10).

May import: SQLAlchemy, :mod:`tracker.dbtypes`, :mod:`tracker.records`.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.dbtypes import currency_check, currency_column, enum_check, utcnow
from tracker.extensions import db
from tracker.records import LineKind, LineStatus, Provider


class Account(db.Model):
    """A place where money sits: balances per currency live in the ledger."""

    __tablename__ = "accounts"
    __table_args__ = (enum_check("kind", Provider, "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    asset_ledger_id: Mapped[int] = mapped_column(sa.ForeignKey("ledger_accounts.id"), unique=True)
    transit_ledger_id: Mapped[int] = mapped_column(
        sa.ForeignKey("ledger_accounts.id"), unique=True
    )
    #: Reading assumptions a file cannot decide (encoding, date order, zone).
    settings: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        """Show the account's name and kind."""
        return f"<Account {self.name} ({self.kind})>"


class BatchStatus(enum.StrEnum):
    """Life of an import batch."""

    STAGED = "staged"
    COMMITTED = "committed"
    REJECTED = "rejected"
    UNDONE = "undone"


class ImportBatch(db.Model):
    """One imported file or sync: who, when, what, and what it assumed."""

    __tablename__ = "import_batches"
    __table_args__ = (
        enum_check("status", BatchStatus, "status"),
        sa.Index(
            "uq_import_batches_committed_file",
            "account_id",
            "sha256",
            unique=True,
            sqlite_where=sa.text("status = 'committed'"),
            postgresql_where=sa.text("status = 'committed'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(255))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    format: Mapped[str] = mapped_column(sa.String(32))
    status: Mapped[str] = mapped_column(sa.String(16), default=BatchStatus.STAGED.value)
    assumptions: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    count_new: Mapped[int] = mapped_column(default=0)
    count_updated: Mapped[int] = mapped_column(default=0)
    count_duplicate: Mapped[int] = mapped_column(default=0)
    count_rejected: Mapped[int] = mapped_column(default=0)
    balance_check: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    #: What the import noticed: unknown types, status transitions, accounts created.
    summary: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    #: The batch's data key, sealed to the group's public key (envelope encryption).
    sealed_key: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    created_by: Mapped[str] = mapped_column(sa.String(120), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    committed_at: Mapped[datetime | None]
    undone_at: Mapped[datetime | None]

    account: Mapped[Account] = relationship()


class StatementLine(db.Model):
    """One provider row, normalised; identity only as keyed hashes.

    Amounts: ``gross`` signed (money in positive), ``fee`` what the provider
    kept, ``net = gross - fee`` the change to the provider balance.
    """

    __tablename__ = "statement_lines"
    __table_args__ = (
        sa.UniqueConstraint("account_id", "dedup_key"),
        enum_check("kind", LineKind, "kind"),
        enum_check("status", LineStatus, "status"),
        currency_check(),
        sa.CheckConstraint("net = gross - fee", name="net_is_gross_less_fee"),
        sa.CheckConstraint(
            "kind NOT IN ('refund', 'reversal') OR gross <= 0", name="refund_sign"
        ),
        sa.CheckConstraint("version >= 1", name="version_positive"),
        sa.Index("ix_statement_lines_account_time", "account_id", "occurred_at"),
        # keyset pages over all lines, newest first (records search)
        sa.Index("ix_statement_lines_occurred_at", "occurred_at", "id"),
        # the same pages of one kind (payouts, refunds: a few in a hundred lines)
        sa.Index("ix_statement_lines_kind_time", "kind", "occurred_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"))
    dedup_key: Mapped[str] = mapped_column(sa.String(64))
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("import_batches.id"), index=True)
    last_batch_id: Mapped[int] = mapped_column(sa.ForeignKey("import_batches.id"), index=True)
    version: Mapped[int] = mapped_column(default=1)
    line_no: Mapped[int]
    kind: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(24))
    affects_balance: Mapped[bool] = mapped_column(default=True)
    occurred_at: Mapped[datetime]
    currency: Mapped[str] = currency_column()
    gross: Mapped[Decimal]
    fee: Mapped[Decimal]
    net: Mapped[Decimal]
    balance: Mapped[Decimal | None]
    txn_key: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    ref_key: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    donor_key: Mapped[str | None] = mapped_column(sa.String(64))
    provider_type: Mapped[str] = mapped_column(sa.String(120), default="")
    #: (field, text) pairs tagging searches; readable to treasurers; purged by retention.
    texts: Mapped[list[Any] | None] = mapped_column(sa.JSON)
    tag_metadata: Mapped[list[Any] | None] = mapped_column(sa.JSON)
    raw_row_id: Mapped[int | None] = mapped_column(sa.ForeignKey("raw_rows.id"))
    #: Set when the batch that brought the line was undone; a re-import revives it.
    undone_at: Mapped[datetime | None]

    account: Mapped[Account] = relationship()


class StatementLineVersion(db.Model):
    """An append-only earlier or current state of a statement line."""

    __tablename__ = "statement_line_versions"
    __table_args__ = (
        sa.UniqueConstraint("line_id", "version"),
        currency_check(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(sa.ForeignKey("statement_lines.id"))
    version: Mapped[int]
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("import_batches.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(24))
    currency: Mapped[str] = currency_column()
    gross: Mapped[Decimal]
    fee: Mapped[Decimal]
    net: Mapped[Decimal]
    balance: Mapped[Decimal | None]
    raw_row_id: Mapped[int | None] = mapped_column(sa.ForeignKey("raw_rows.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RawRow(db.Model):
    """A row exactly as read: declared-readable columns in clear, the rest sealed."""

    __tablename__ = "raw_rows"
    __table_args__ = (sa.UniqueConstraint("batch_id", "line_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("import_batches.id"))
    line_no: Mapped[int]
    readable: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    #: nonce + ciphertext of the whole row under the batch's data key.
    sealed: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    purged_at: Mapped[datetime | None]
