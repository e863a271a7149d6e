"""Publications and yearly statements: the only source of public figures.

Each is frozen canonical JSON (RFC 8785) with its SHA-256 and the previous
one's, forming a chain anyone can verify (ARCHITECTURE.md rule 8).

May import: SQLAlchemy, :mod:`tracker.dbtypes`.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tracker.dbtypes import enum_check, utcnow
from tracker.extensions import db


class PublicationKind(enum.StrEnum):
    """A monthly release of cells, or the yearly statement."""

    MONTHLY = "monthly"
    YEARLY = "yearly"


class Publication(db.Model):
    """A frozen, privacy-checked release of public figures; never revised."""

    __tablename__ = "publications"
    __table_args__ = (
        enum_check("kind", PublicationKind, "kind"),
        sa.CheckConstraint("period_end >= period_start", name="period_order"),
        sa.CheckConstraint("seq >= 1", name="seq_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(unique=True)
    kind: Mapped[str] = mapped_column(sa.String(8))
    period_start: Mapped[date]
    period_end: Mapped[date]
    cut_at: Mapped[datetime] = mapped_column(default=utcnow)
    body: Mapped[str] = mapped_column(sa.Text)
    sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prev_sha256: Mapped[str | None] = mapped_column(sa.String(64), unique=True)


class PublicationCell(db.Model):
    """A published sum of gifts (one fund or campaign, one currency, one release)."""

    __tablename__ = "publication_cells"
    __table_args__ = (
        sa.UniqueConstraint("publication_id", "key", "currency"),
        sa.CheckConstraint("donors >= 1", name="donors_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    publication_id: Mapped[int] = mapped_column(sa.ForeignKey("publications.id"), index=True)
    #: "prisoner:SLUG", "campaign:TAG", "pool:TAG", "general", "other"; yearly cells end in "@year".
    key: Mapped[str] = mapped_column(sa.String(160))
    currency: Mapped[str] = mapped_column(sa.String(3))
    value: Mapped[Decimal]
    donors: Mapped[int]


class PublishedDonation(db.Model):
    """Which donations a published cell sums (for the atom rule, and to audit it)."""

    __tablename__ = "published_donations"
    __table_args__ = (sa.Index("ix_published_donations_donation", "donation_id"),)

    cell_id: Mapped[int] = mapped_column(sa.ForeignKey("publication_cells.id"), primary_key=True)
    donation_id: Mapped[int] = mapped_column(sa.ForeignKey("donations.id"), primary_key=True)


class Setting(db.Model):
    """A group-wide setting (K, publication units, base currency, retention...)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value: Mapped[object] = mapped_column(sa.JSON)
