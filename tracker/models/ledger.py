"""The double-entry ledger: ledger accounts, funds, entries, postings, balances.

Signs: debit positive, credit negative. Asset accounts are debit-normal, funds
credit-normal (a fund holding 10 EUR sums to -10). Every JournalEntry's
postings sum to zero per currency. Rows here are written only by
:mod:`tracker.services.ledger`; the schema forbids editing or deleting
postings and entries (triggers in the migration), so corrections are new
entries.

Also the money records that entries book: Donation and Disbursement.

May import: SQLAlchemy, :mod:`tracker.dbtypes`.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.dbtypes import currency_check, currency_column, enum_check, utcnow
from tracker.extensions import db


class LedgerKind(enum.StrEnum):
    """What a ledger account is: an asset (an Account's money), in transit, or a fund."""

    ASSET = "asset"
    TRANSIT = "transit"
    FUND = "fund"


class LedgerAccount(db.Model):
    """Something a posting can move money on."""

    __tablename__ = "ledger_accounts"
    __table_args__ = (enum_check("kind", LedgerKind, "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(8))
    code: Mapped[str] = mapped_column(sa.String(120), unique=True)

    def __repr__(self) -> str:
        """Show the code."""
        return f"<LedgerAccount {self.code}>"


class FundKind(enum.StrEnum):
    """One fund per prisoner, a pool per campaign without prisoners, general, review."""

    PRISONER = "prisoner"
    CAMPAIGN = "campaign"
    GENERAL = "general"
    REVIEW = "review"


class Fund(db.Model):
    """A pot of money: credit-normal in the ledger."""

    __tablename__ = "funds"
    __table_args__ = (
        enum_check("kind", FundKind, "kind"),
        sa.CheckConstraint(
            "(kind = 'prisoner') = (prisoner_id IS NOT NULL)", name="prisoner_fund_has_prisoner"
        ),
        sa.CheckConstraint(
            "(kind = 'campaign') = (campaign_id IS NOT NULL)", name="pool_fund_has_campaign"
        ),
        sa.Index(
            "uq_funds_singleton",
            "kind",
            unique=True,
            sqlite_where=sa.text("kind IN ('general', 'review')"),
            postgresql_where=sa.text("kind IN ('general', 'review')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    name: Mapped[str] = mapped_column(sa.String(200))
    prisoner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("prisoners.id"), unique=True)
    campaign_id: Mapped[int | None] = mapped_column(sa.ForeignKey("campaigns.id"), unique=True)
    ledger_account_id: Mapped[int] = mapped_column(
        sa.ForeignKey("ledger_accounts.id"), unique=True
    )

    ledger_account: Mapped[LedgerAccount] = relationship()

    def __repr__(self) -> str:
        """Show kind and name."""
        return f"<Fund {self.kind} {self.name}>"


class EntryKind(enum.StrEnum):
    """One template per event (ARCHITECTURE.md "The ledger")."""

    DONATION = "donation"
    REFUND = "refund"
    CHARGEBACK = "chargeback"
    FEE = "fee"
    DISBURSEMENT = "disbursement"
    FUND_TRANSFER = "fund_transfer"
    ACCOUNT_TRANSFER = "account_transfer"
    CONVERSION = "conversion"
    OPENING_BALANCE = "opening_balance"
    UNCLASSIFIED = "unclassified"
    REVIEW_LINK = "review_link"
    CLASSIFICATION = "classification"
    REALLOCATION = "reallocation"
    CORRECTION = "correction"


#: Entry kinds whose money waits in the review fund for a treasurer.
REVIEW_ITEM_KINDS = (EntryKind.UNCLASSIFIED, EntryKind.OPENING_BALANCE)


class PostingRole(enum.StrEnum):
    """Why a posting moves money; per fund, the roles add up to its balance.

    For a fund: raised = -(gross + refund), fees = fee, spent = spend,
    transfers = -transfer, and raised - fees - spent + transfers = -balance.
    """

    GROSS = "gross"
    FEE = "fee"
    REFUND = "refund"
    SPEND = "spend"
    TRANSFER = "transfer"


class JournalEntry(db.Model):
    """One money event; its postings sum to zero per currency."""

    __tablename__ = "journal_entries"
    __table_args__ = (
        enum_check("kind", EntryKind, "kind"),
        sa.Index("ix_journal_entries_donation", "donation_id"),
        sa.Index("ix_journal_entries_line", "statement_line_id"),
        sa.Index("ix_journal_entries_kind_time", "kind", "occurred_at"),
        sa.Index("ix_journal_entries_occurred_at", "occurred_at"),
        # review items (tracker.services.open_items.waiting_clause, word for word)
        sa.Index(
            "ix_journal_entries_waiting",
            "kind",
            "occurred_at",
            "id",
            sqlite_where=sa.text(
                "kind IN ('unclassified', 'opening_balance', 'refund', 'chargeback')"
                " AND (kind IN ('unclassified', 'opening_balance') OR donation_id IS NULL)"
            ),
            postgresql_where=sa.text(
                "kind IN ('unclassified', 'opening_balance', 'refund', 'chargeback')"
                " AND (kind IN ('unclassified', 'opening_balance') OR donation_id IS NULL)"
            ),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(24))
    occurred_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(sa.String(120), default="")
    description: Mapped[str] = mapped_column(sa.String(500), default="")
    donation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("donations.id", use_alter=True)
    )
    statement_line_id: Mapped[int | None] = mapped_column(sa.ForeignKey("statement_lines.id"))
    disbursement_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("disbursements.id")
    )
    batch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("import_batches.id"), index=True)
    #: The allocating entry (donation or reallocation) whose shares this entry follows.
    basis_entry_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("journal_entries.id"), index=True
    )
    #: The review item (an entry whose money waits in the review fund) this entry clears.
    resolves_entry_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("journal_entries.id"), index=True
    )
    #: For allocating entries: the funds, weights and per-fund gross and fee booked.
    shares: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)

    postings: Mapped[list[Posting]] = relationship(
        back_populates="entry", order_by="Posting.id", viewonly=True
    )


class Posting(db.Model):
    """A signed amount in one currency on one ledger account."""

    __tablename__ = "postings"
    __table_args__ = (
        currency_check(),
        enum_check("role", PostingRole, "role"),
        sa.CheckConstraint("amount != 0", name="amount_not_zero"),
        sa.Index("ix_postings_ledger_currency", "ledger_account_id", "currency"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(sa.ForeignKey("journal_entries.id"), index=True)
    ledger_account_id: Mapped[int] = mapped_column(sa.ForeignKey("ledger_accounts.id"))
    currency: Mapped[str] = currency_column()
    amount: Mapped[Decimal]
    role: Mapped[str] = mapped_column(sa.String(16))

    entry: Mapped[JournalEntry] = relationship(back_populates="postings", viewonly=True)


class Balance(db.Model):
    """The running sum of postings per (ledger account, currency)."""

    __tablename__ = "balances"
    __table_args__ = (currency_check(),)

    ledger_account_id: Mapped[int] = mapped_column(
        sa.ForeignKey("ledger_accounts.id"), primary_key=True
    )
    currency: Mapped[str] = mapped_column(sa.String(3), primary_key=True)
    amount: Mapped[Decimal]


class Destination(enum.StrEnum):
    """Where a donation's money went."""

    CAMPAIGN = "campaign"
    GENERAL = "general"
    REVIEW = "review"


class OpenReviewItem(db.Model):
    """A review item nothing resolves yet: the classification queue, one row per open item.

    Kept by :mod:`tracker.services.ledger` in the same transaction as the
    entries (like :class:`Balance`), from the definition in
    :mod:`tracker.services.open_items`, so the queue's pages and counts read
    the open items only, never every item ever classified; ``tracker check``
    recomputes it. ``currency`` is that of the item's review-fund posting.
    """

    __tablename__ = "open_review_items"
    __table_args__ = (
        currency_check(),
        sa.Index("ix_open_review_items_time", "occurred_at", "entry_id"),
        sa.Index("ix_open_review_items_currency", "currency"),
    )

    entry_id: Mapped[int] = mapped_column(sa.ForeignKey("journal_entries.id"), primary_key=True, autoincrement=False)
    occurred_at: Mapped[datetime]
    currency: Mapped[str | None] = mapped_column(sa.String(3))


class DonationTotal(db.Model):
    """Running figures of the donations of one destination, campaign and currency.

    Kept by :mod:`tracker.services.ledger` in the same transaction as the
    postings (like :class:`Balance`), so the live figures a page shows never
    sum the whole ledger; ``tracker check`` recomputes them from the postings.

    - ``donations`` and ``gross``: how many live (not voided) donations, and
      their gross as imported;
    - ``raised``: what their fund postings say was raised, net of refunds
      (minus the sum of the funds' gross and refund postings of every entry
      tied to the donations, wherever the money went);
    - ``fees``: the providers' fees on those funds (fee postings);
    - ``review_held``: the sum of the review fund's postings (any role) in
      those entries, so the review fund's money that no waiting donation
      holds is its balance less this figure of the review queue.

    ``campaign_key`` is the campaign's id, or 0 for the general fund and the
    review queue (a key column, so the row can be upserted on both engines).
    """

    __tablename__ = "donation_totals"
    __table_args__ = (currency_check(), enum_check("destination", Destination, "destination"))

    destination: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    campaign_key: Mapped[int] = mapped_column(primary_key=True)
    currency: Mapped[str] = mapped_column(sa.String(3), primary_key=True)
    donations: Mapped[int] = mapped_column(sa.BigInteger)
    gross: Mapped[Decimal]
    raised: Mapped[Decimal]
    fees: Mapped[Decimal]
    review_held: Mapped[Decimal]


class DonationOrigin(enum.StrEnum):
    """How a donation entered the books."""

    IMPORT = "import"
    WEBHOOK = "webhook"
    MANUAL = "manual"
    EVENT = "event"


class Donation(db.Model):
    """Money received for the cause: a counted payment or a manual/event entry."""

    __tablename__ = "donations"
    __table_args__ = (
        currency_check(),
        enum_check("destination", Destination, "destination"),
        enum_check("origin", DonationOrigin, "origin"),
        sa.CheckConstraint("gross > 0", name="gross_positive"),
        sa.CheckConstraint("fee >= 0", name="fee_not_negative"),
        sa.CheckConstraint(
            "(destination = 'campaign') = (campaign_id IS NOT NULL)",
            name="campaign_iff_destination",
        ),
        sa.Index("ix_donations_campaign_time", "campaign_id", "received_at"),
        # the review queue pages by (received_at, id) within one destination
        sa.Index("ix_donations_destination_time", "destination", "received_at", "id"),
        sa.Index("ix_donations_received_at", "received_at"),
        # every donation of a line, voided ones too (records search by transaction id or note)
        sa.Index("ix_donations_statement_line", "statement_line_id"),
        sa.Index(
            "uq_donations_live_line",
            "statement_line_id",
            unique=True,
            sqlite_where=sa.text("voided_at IS NULL"),
            postgresql_where=sa.text("voided_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_line_id: Mapped[int | None] = mapped_column(sa.ForeignKey("statement_lines.id"))
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"))
    event_id: Mapped[int | None] = mapped_column(sa.ForeignKey("events.id"), index=True)
    origin: Mapped[str] = mapped_column(sa.String(16))
    received_at: Mapped[datetime]
    currency: Mapped[str] = currency_column()
    gross: Mapped[Decimal]
    fee: Mapped[Decimal]
    #: Keyed hash that counts distinct donors; manual entries get a key of their own.
    donor_key: Mapped[str] = mapped_column(sa.String(64), index=True)
    destination: Mapped[str] = mapped_column(sa.String(16))
    campaign_id: Mapped[int | None] = mapped_column(sa.ForeignKey("campaigns.id"))
    tag_source: Mapped[str] = mapped_column(sa.String(16), default="none")
    tag_detail: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    #: The entry whose shares the donation's money currently follows.
    allocation_entry_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("journal_entries.id", use_alter=True)
    )
    #: A private note for treasurers (cash entries); purged by retention.
    note: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(sa.String(120), default="")
    #: Set when the batch that brought the donation was undone (its money reversed).
    voided_at: Mapped[datetime | None]

    @property
    def net(self) -> Decimal:
        """What reached the account: gross less the provider's fee."""
        return self.gross - self.fee


class DisbursementCategory(enum.StrEnum):
    """What money paid out of a fund was for."""

    LAWYER = "lawyer"
    PARCELS = "parcels"
    COMMISSARY = "commissary"
    TRAVEL = "travel"
    MEDICAL = "medical"
    FAMILY = "family"
    FINES = "fines"
    OTHER = "other"


class Disbursement(db.Model):
    """Money paid out of a fund, with a public description and a private note."""

    __tablename__ = "disbursements"
    __table_args__ = (
        currency_check(),
        enum_check("category", DisbursementCategory, "category"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.Index("ix_disbursements_fund_date", "fund_id", "paid_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    fund_id: Mapped[int] = mapped_column(sa.ForeignKey("funds.id"))
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"))
    currency: Mapped[str] = currency_column()
    amount: Mapped[Decimal]
    category: Mapped[str] = mapped_column(sa.String(16))
    public_description: Mapped[str] = mapped_column(sa.String(500), default="")
    private_note: Mapped[str | None] = mapped_column(sa.Text)
    paid_on: Mapped[date]
    statement_line_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("statement_lines.id"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(sa.String(120), default="")

    fund: Mapped[Fund] = relationship()
