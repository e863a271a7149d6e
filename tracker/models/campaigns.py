"""Prisoners, campaigns, their weights over time, and the rules that tag money.

A Campaign is a tag ("205") with a title, an optional window and goal; its
prisoners carry weights with effective dates (CampaignPrisoner). TagRules say
how text maps to a campaign; TagChoices are a treasurer's manual decisions,
keyed to a statement line's dedup key so they survive re-import.

May import: SQLAlchemy, :mod:`tracker.dbtypes`.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.dbtypes import Weight, currency_check, enum_check, utcnow
from tracker.extensions import db


class Prisoner(db.Model):
    """A person the group supports; public or not."""

    __tablename__ = "prisoners"
    __table_args__ = (sa.CheckConstraint("slug != ''", name="slug_not_empty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    public: Mapped[bool] = mapped_column(default=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        """Show the slug."""
        return f"<Prisoner {self.slug}>"


class Campaign(db.Model):
    """A tag with a title, aliases (as TagRules), window, goal and prisoners."""

    __tablename__ = "campaigns"
    __table_args__ = (
        sa.CheckConstraint("tag != ''", name="tag_not_empty"),
        sa.CheckConstraint(
            "(goal_currency IS NULL) = (goal_amount IS NULL)", name="goal_complete"
        ),
        sa.CheckConstraint("goal_amount IS NULL OR goal_amount > 0", name="goal_positive"),
        sa.CheckConstraint(
            "ends_on IS NULL OR starts_on IS NULL OR ends_on >= starts_on", name="window_order"
        ),
        currency_check("goal_currency", "goal_currency"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tag: Mapped[str] = mapped_column(sa.String(64), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]
    goal_currency: Mapped[str | None] = mapped_column(sa.String(3))
    goal_amount: Mapped[Decimal | None]
    public: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    weights: Mapped[list[CampaignPrisoner]] = relationship(
        back_populates="campaign", order_by="CampaignPrisoner.id"
    )

    def __repr__(self) -> str:
        """Show the tag."""
        return f"<Campaign {self.tag}>"


class CampaignPrisoner(db.Model):
    """A prisoner's weight in a campaign from ``valid_from`` until ``valid_until`` (exclusive).

    ``valid_from`` NULL means since the campaign began.
    """

    __tablename__ = "campaign_prisoners"
    __table_args__ = (
        sa.CheckConstraint("weight > 0", name="weight_positive"),
        sa.CheckConstraint(
            "valid_until IS NULL OR valid_until > valid_from", name="validity_order"
        ),
        sa.Index("ix_campaign_prisoners_campaign", "campaign_id", "valid_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id"))
    prisoner_id: Mapped[int] = mapped_column(sa.ForeignKey("prisoners.id"))
    weight: Mapped[Decimal] = mapped_column(Weight())
    valid_from: Mapped[date | None]
    valid_until: Mapped[date | None]

    campaign: Mapped[Campaign] = relationship(back_populates="weights")
    prisoner: Mapped[Prisoner] = relationship()

    def in_force(self, on: date) -> bool:
        """Whether this weight applies to money received on ``on``."""
        started = self.valid_from is None or self.valid_from <= on
        return started and (self.valid_until is None or on < self.valid_until)


class RuleKind(enum.StrEnum):
    """How a TagRule's pattern is read."""

    TAG = "tag"
    ALIAS = "alias"
    REGEX = "regex"


class TagRule(db.Model):
    """How text maps to a campaign, limited to providers, fields and dates."""

    __tablename__ = "tag_rules"
    __table_args__ = (
        enum_check("kind", RuleKind, "kind"),
        sa.CheckConstraint("pattern != ''", name="pattern_not_empty"),
        sa.CheckConstraint(
            "valid_until IS NULL OR valid_from IS NULL OR valid_until >= valid_from",
            name="window_order",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(8))
    pattern: Mapped[str] = mapped_column(sa.String(500))
    providers: Mapped[list[str] | None] = mapped_column(sa.JSON)
    fields: Mapped[list[str] | None] = mapped_column(sa.JSON)
    valid_from: Mapped[date | None]
    valid_until: Mapped[date | None]
    priority: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    campaign: Mapped[Campaign] = relationship()


class TagChoice(db.Model):
    """A treasurer's manual campaign choice for a statement line (NULL = general fund)."""

    __tablename__ = "tag_choices"
    __table_args__ = (sa.UniqueConstraint("account_id", "dedup_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"))
    dedup_key: Mapped[str] = mapped_column(sa.String(64))
    campaign_id: Mapped[int | None] = mapped_column(sa.ForeignKey("campaigns.id"))
    chosen_by: Mapped[str] = mapped_column(sa.String(120))
    chosen_at: Mapped[datetime] = mapped_column(default=utcnow)
    detail: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)


class AllocationNote(db.Model):
    """A public note on a re-allocation of a campaign's donations (shown on public pages)."""

    __tablename__ = "allocation_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id"), index=True)
    public_note: Mapped[str] = mapped_column(sa.Text)
    donations: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(sa.String(120), default="")
