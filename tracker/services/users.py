"""Users, passwords, second factors and server-side sessions.

- Passwords: argon2id through argon2-cffi with its RFC 9106 low-memory
  profile (64 MiB, 3 passes, 4 lanes), above OWASP's minimum
  (19 MiB, 2 passes); never stored or logged in clear. Hashes made with older
  parameters are upgraded at the next sign-in.
- Second factor: TOTP (pyotp, 30 s, one step of clock drift), plus ten
  one-time recovery codes stored as argon2 hashes.
- Sessions: the cookie carries a random token; the table keeps its SHA-256, the
  user, whether the second factor was passed, and when it was last seen. Idle
  and absolute expiry, signing out, signing out everywhere and disabling a
  user all end sessions on the server, so a copied cookie stops working.
- Set-password links: random, one-time, expiring; only their SHA-256 is kept.

May import: models, services (audit), argon2, pyotp.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pyotp
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.profiles import RFC_9106_LOW_MEMORY
from sqlalchemy.orm import Session

from tracker.errors import Conflict, InputError
from tracker.i18n import gettext as _
from tracker.models import PasswordToken, RecoveryCode, Role, User, UserSession
from tracker.services import audit

HASHER = PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)
IDLE = timedelta(minutes=30)
ABSOLUTE = timedelta(hours=12)
LINK_LIFETIME = timedelta(hours=48)
MIN_PASSWORD = 12
#: roles that must use a second factor (unless the setting relaxes it)
SECOND_FACTOR_ROLES = frozenset({Role.ADMIN.value, Role.TREASURER.value})


def _now() -> datetime:
    return datetime.now(UTC)


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def normalise_email(email: str) -> str:
    """Lower-case, trimmed; a clear error for something that is not an address."""
    value = email.strip().lower()
    if "@" not in value or value.startswith("@") or value.endswith("@") or len(value) > 254 or any(c.isspace() for c in value):
        raise InputError("email", 0, "email", _("not an e-mail address"))
    return value


def check_password_strength(password: str) -> None:
    """At least twelve characters, not only one repeated character."""
    if len(password) < MIN_PASSWORD:
        raise InputError("password", 0, "password", _("a password needs at least %(n)d characters", n=MIN_PASSWORD))
    if len(set(password)) < 4:
        raise InputError("password", 0, "password", _("this password is too easy to guess"))


def add_user(session: Session, email: str, role: str, *, name: str = "") -> tuple[User, str]:
    """Create a user without a password; return it and a one-time set-password token."""
    role = Role(role).value
    address = normalise_email(email)
    if session.scalar(sa.select(User.id).where(User.email == address)) is not None:
        raise Conflict(_("a user with this e-mail address already exists"))
    user = User(email=address, role=role, name=name[:200], active=True)
    session.add(user)
    session.flush()
    token = password_link(session, user)
    audit.record(session, "user.add", "user", user.id, after={"role": role})
    return user, token


def password_link(session: Session, user: User) -> str:
    """A fresh one-time token to set the password (earlier unused ones stop working)."""
    session.execute(
        sa.update(PasswordToken).where(PasswordToken.user_id == user.id, PasswordToken.used_at.is_(None)).values(used_at=_now())
    )
    token = secrets.token_urlsafe(32)
    session.add(PasswordToken(user_id=user.id, token_hash=_sha(token), expires_at=_now() + LINK_LIFETIME))
    session.flush()
    return token


def user_for_link(session: Session, token: str) -> User | None:
    """The user a set-password token is for, if it is unused and not expired."""
    row = session.scalar(sa.select(PasswordToken).where(PasswordToken.token_hash == _sha(token)))
    if row is None or row.used_at is not None or row.expires_at <= _now():
        return None
    return session.get(User, row.user_id)


def set_password(session: Session, user: User, password: str, *, token: str | None = None) -> None:
    """Hash and store a new password; use up the link; end the user's other sessions."""
    check_password_strength(password)
    user.password_hash = HASHER.hash(password)
    if token is not None:
        session.execute(sa.update(PasswordToken).where(PasswordToken.token_hash == _sha(token)).values(used_at=_now()))
    end_sessions(session, user.id)
    audit.record(session, "user.password", "user", user.id)


def verify_password(session: Session, email: str, password: str) -> User | None:
    """The active user with these credentials, or None (same work either way)."""
    try:
        address = normalise_email(email)
    except InputError:
        address = ""
    user = session.scalar(sa.select(User).where(User.email == address)) if address else None
    stored = user.password_hash if user is not None and user.password_hash else _dummy_hash()
    try:
        HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if user is None or not user.active or not user.password_hash:
        return None
    if HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = HASHER.hash(password)
    return user


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against when the address is unknown, so both paths cost the same
    (made on first use: argon2 at 64 MiB is not start-up work)."""
    return HASHER.hash(secrets.token_urlsafe(16))


# --- second factor ---------------------------------------------------------------------


def needs_second_factor(user: User, *, required_for_roles: bool = True) -> bool:
    """Whether signing in asks for a TOTP code (enrolled users always)."""
    return user.totp_enabled_at is not None or (required_for_roles and user.role in SECOND_FACTOR_ROLES)


def start_totp(session: Session, user: User) -> str:
    """A new secret (not yet active) and its otpauth:// URI for an authenticator app."""
    user.totp_secret = pyotp.random_base32()
    user.totp_enabled_at = None
    session.flush()
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.email, issuer_name="tracker")


def confirm_totp(session: Session, user: User, code: str) -> list[str] | None:
    """Activate the second factor if ``code`` is right; return fresh recovery codes."""
    if not user.totp_secret or not pyotp.TOTP(user.totp_secret).verify(code.strip(), valid_window=1):
        return None
    user.totp_enabled_at = _now()
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(10)]
    session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    session.add_all(RecoveryCode(user_id=user.id, code_hash=HASHER.hash(c)) for c in codes)
    audit.record(session, "user.totp", "user", user.id)
    session.flush()
    return codes


def check_second_factor(session: Session, user: User, code: str) -> bool:
    """A current TOTP code, or an unused recovery code (which is then used up)."""
    code = code.strip()
    if user.totp_secret and user.totp_enabled_at and pyotp.TOTP(user.totp_secret).verify(code, valid_window=1):
        return True
    for row in session.scalars(sa.select(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))):
        try:
            HASHER.verify(row.code_hash, code)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            continue
        row.used_at = _now()
        audit.record(session, "user.recovery_code", "user", user.id)
        return True
    return False


# --- sessions --------------------------------------------------------------------------


@dataclass(frozen=True)
class Signed:
    """A session as the web layer sees it."""

    user: User
    session: UserSession
    #: the cookie's token, known only when the session was just opened
    token: str | None = None


def open_session(session: Session, user: User, *, second_factor_done: bool) -> Signed:
    """A new server-side session, with the token for the cookie."""
    token = secrets.token_urlsafe(32)
    row = UserSession(token_hash=_sha(token), user_id=user.id, second_factor_done=second_factor_done)
    session.add(row)
    session.flush()
    return Signed(user, row, token)


def resolve(session: Session, token: str | None) -> Signed | None:
    """The live session for a cookie token (touching its last-seen time), or None."""
    if not token:
        return None
    row = session.scalar(sa.select(UserSession).where(UserSession.token_hash == _sha(token)))
    if row is None or row.revoked_at is not None:
        return None
    now = _now()
    if now - row.last_seen_at > IDLE or now - row.created_at > ABSOLUTE:
        row.revoked_at = now
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    if now - row.last_seen_at > timedelta(minutes=1):
        row.last_seen_at = now
    return Signed(user, row)


def close_session(session: Session, token: str | None) -> None:
    """Sign out this browser."""
    if token:
        session.execute(sa.update(UserSession).where(UserSession.token_hash == _sha(token)).values(revoked_at=_now()))


def end_sessions(session: Session, user_id: int) -> int:
    """Sign a user out everywhere; returns how many sessions ended."""
    result = session.execute(
        sa.update(UserSession).where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None)).values(revoked_at=_now())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def set_active(session: Session, user: User, active: bool) -> None:
    """Enable or disable a user; disabling ends every session at once."""
    user.active = active
    if not active:
        end_sessions(session, user.id)
    audit.record(session, "user.enable" if active else "user.disable", "user", user.id)


def change_role(session: Session, user: User, role: str) -> None:
    """Give a user another role (their sessions end, so the new role applies at once)."""
    before = user.role
    user.role = Role(role).value
    end_sessions(session, user.id)
    audit.record(session, "user.role", "user", user.id, before={"role": before}, after={"role": user.role})
