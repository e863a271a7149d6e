"""Solidarity events (benefit gigs, dinners) and who recorded them.

An event's takings are Donations with ``event_id`` set, each its own donor.

May import: SQLAlchemy, :mod:`tracker.dbtypes`.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tracker.dbtypes import utcnow
from tracker.extensions import db


class Event(db.Model):
    """A solidarity evening: public name, date and place; takings are donations."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    held_on: Mapped[date]
    place: Mapped[str] = mapped_column(sa.String(200), default="")
    campaign_id: Mapped[int | None] = mapped_column(sa.ForeignKey("campaigns.id"), index=True)
    public: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(sa.String(120), default="")
