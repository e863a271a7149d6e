"""People who sign in: admins, treasurers and organisers.

May import: SQLAlchemy, :mod:`tracker.dbtypes`.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tracker.dbtypes import enum_check, utcnow
from tracker.extensions import db


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
    #: set once the user confirmed a TOTP code for ``totp_secret``
    totp_enabled_at: Mapped[datetime | None]
    #: the last TOTP time step accepted: only a later one is accepted (no replay)
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)


class UserSession(db.Model):
    """A signed-in browser, tracked on the server so signing out anywhere ends it.

    The cookie holds a random token; only its SHA-256 is stored.
    """

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    #: the password was checked but the second factor not yet
    second_factor_done: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class RecoveryCode(db.Model):
    """A one-time code that replaces the second factor once (argon2 hash only)."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(255))
    used_at: Mapped[datetime | None]


class PasswordToken(db.Model):
    """A one-time, expiring link to set a password (SHA-256 of the token only)."""

    __tablename__ = "password_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
