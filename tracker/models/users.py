"""People who sign in: admins, treasurers and organisers.

May import: SQLAlchemy, :mod:`tracker.dbtypes`.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tracker.extensions import db
from tracker.dbtypes import enum_check, utcnow


class Role(enum.StrEnum):
    """What a user may do (ARCHITECTURE.md "Who sees what")."""

    ADMIN = "admin"
    TREASURER = "treasurer"
    ORGANISER = "organiser"


class User(db.Model):
    """A person with a sign-in; e-mail stored lower-case and unique."""

    __tablename__ = "users"
    __table_args__ = (
        enum_check("role", Role, "role"),
        sa.CheckConstraint("email = lower(email)", name="email_lower"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    role: Mapped[str] = mapped_column(sa.String(16))
    active: Mapped[bool] = mapped_column(default=True)
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    totp_secret: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
