"""Users, passwords, second factors and server-side sessions.

- Passwords: argon2id through argon2-cffi at 64 MiB, 3 passes, 1 lane, above
  OWASP's minimum (19 MiB, 2 passes, 1 lane); never stored or logged in clear.
  Hashes made with other parameters are upgraded at the next sign-in.
  The policy follows OWASP's authentication cheat sheet and NIST SP 800-63B:
  at least 8 characters for someone with a second factor (admins and
  treasurers must have one), 15 otherwise; up to 1024; any characters,
  spaces included, and no composition rules; the 3,000 most common passwords
  (the ranked list bundled with the ``zxcvbn`` package), the user's own
  address and passwords of fewer than four distinct characters are refused.
  A password is used exactly as typed: no trimming, no case folding, no
  Unicode normalisation (only the check against common passwords ignores
  case).
- Second factor: TOTP (pyotp, 30 s, one step of clock drift either way). The
  last accepted time step is kept per user and only a later step is accepted,
  so a code cannot be used twice. Enrolment shows a secret derived from the
  session (nothing is written until a code confirms it), so opening the page
  never changes or disables a working second factor. Ten one-time recovery
  codes, stored as argon2 hashes.
- Sessions: the cookie carries a random token; the table keeps its SHA-256, the
  user, whether the second factor was passed, and when it was last seen. Idle
  and absolute expiry, signing out, signing out everywhere and disabling a
  user all end sessions on the server, so a copied cookie stops working.
  The session is replaced by a new one (a new token) when the second factor is
  passed and when the password changes.
- Set-password links: random, one-time, expiring; only their SHA-256 is kept.
  A link sets the password only: the second factor is still asked at sign-in.

May import: models, services (audit), argon2, pyotp, zxcvbn (its word lists).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
import re
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pyotp
import sqlalchemy as sa
from argon2 import Parameters, PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.orm import Session

from tracker.errors import Conflict, InputError
from tracker.i18n import gettext as _
from tracker.i18n import ngettext
from tracker.models import PasswordToken, RecoveryCode, Role, User, UserSession
from tracker.services import audit

T = TypeVar("T")

#: argon2id, 64 MiB, 3 passes, 1 lane (OWASP's floor: 19 MiB, 2 passes, 1 lane)
PASSWORD_PARAMETERS = Parameters(
    type=Type.ID, version=19, salt_len=16, hash_len=32, time_cost=3, memory_cost=65536, parallelism=1
)
HASHER = PasswordHasher.from_parameters(PASSWORD_PARAMETERS)
#: recovery codes are random, not chosen by people: OWASP's floor is plenty, and a
#: second-factor attempt may have to check all ten
RECOVERY_HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
IDLE = timedelta(minutes=30)
ABSOLUTE = timedelta(hours=12)
LINK_LIFETIME = timedelta(hours=48)
#: minimum length without a second factor (OWASP / NIST SP 800-63B-4)
MIN_PASSWORD = 15
#: minimum length for someone who signs in with a second factor too
MIN_PASSWORD_WITH_SECOND_FACTOR = 8
MAX_PASSWORD = 1024
#: how many of the most common passwords are refused
COMMON_PASSWORDS = 3000
RECOVERY_CODE = re.compile(r"[0-9a-f]{6}-[0-9a-f]{6}")
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


@functools.cache
def common_passwords() -> frozenset[str]:
    """The most common passwords, case-folded: the head of the frequency-ranked list
    that zxcvbn ships (maintained there, not copied here)."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(p.casefold() for p in FREQUENCY_LISTS["passwords"][:COMMON_PASSWORDS])


def password_minimum(user: User, *, required_for_roles: bool = True) -> int:
    """The shortest password this user may choose (shorter with a second factor)."""
    if needs_second_factor(user, required_for_roles=required_for_roles):
        return MIN_PASSWORD_WITH_SECOND_FACTOR
    return MIN_PASSWORD


def check_password_strength(password: str, *, minimum: int = MIN_PASSWORD, email: str = "") -> None:
    """Refuse short, very long, common or guessable passwords (no composition rules)."""

    def refuse(message: str) -> InputError:
        return InputError("password", 0, "password", message)

    if len(password) < minimum:
        raise refuse(ngettext(
            "A password needs at least %(num)d character.",
            "A password needs at least %(num)d characters.",
            minimum,
        ))
    if len(password) > MAX_PASSWORD:
        raise refuse(ngettext(
            "A password may have at most %(num)d character.",
            "A password may have at most %(num)d characters.",
            MAX_PASSWORD,
        ))
    folded = password.casefold()
    if folded in common_passwords():
        raise refuse(_("This is one of the most common passwords. Choose another: a few unrelated words work well."))
    if len(set(password)) < 4:
        raise refuse(_("This password is too easy to guess."))
    address = email.casefold()
    if address and (folded == address or folded == address.split("@", 1)[0] or folded == "tracker"):
        raise refuse(_("This password is too close to your e-mail address."))


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


def set_password(
    session: Session, user: User, password: str, *, token: str | None = None, required_for_roles: bool = True
) -> None:
    """Hash and store a new password; use up the link; end all the user's sessions."""
    check_password_strength(password, minimum=password_minimum(user, required_for_roles=required_for_roles), email=user.email)
    user.password_hash = _hash(password)
    if token is not None:
        session.execute(sa.update(PasswordToken).where(PasswordToken.token_hash == _sha(token)).values(used_at=_now()))
    end_sessions(session, user.id)
    audit.record(session, "user.password", "user", user.id)


class _HashingThread:
    """Runs password hashes one at a time per process, in one thread at the lowest CPU priority.

    argon2 at 64 MiB takes a core for a moment. A burst of sign-ins queues
    here instead of taking every thread of a worker, and, where the system
    lets a thread lower its own priority (Linux: a thread's nice value), the
    hash runs only on CPU time the pages leave over, so the public pages keep
    their latency under a sign-in flood (RELIABILITY.md X5). argon2-cffi lets
    go of the GIL while it hashes, so the other threads run meanwhile.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._pid = 0

    @staticmethod
    def _lower_priority() -> None:
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        except (AttributeError, OSError):  # not Linux, or not allowed: the queue still bounds it
            pass

    def run(self, work: Callable[..., T], *args: Any) -> T:
        """``work(*args)`` in the hashing thread; its result or its exception."""
        with self._lock:
            if self._pool is None or self._pid != os.getpid():  # a forked worker starts its own
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="password-hash", initializer=self._lower_priority)
                self._pid = os.getpid()
            pool = self._pool
        return pool.submit(work, *args).result()


_HASHING = _HashingThread()


def _verify(stored: str, password: str) -> bool:
    return bool(_HASHING.run(HASHER.verify, stored, password))


def _hash(password: str) -> str:
    return str(_HASHING.run(HASHER.hash, password))


def verify_password(session: Session, email: str, password: str) -> User | None:
    """The active user with these credentials, or None (same work either way)."""
    try:
        address = normalise_email(email)
    except InputError:
        address = ""
    user = session.scalar(sa.select(User).where(User.email == address)) if address else None
    stored = user.password_hash if user is not None and user.password_hash else _dummy_hash()
    try:
        _verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if user is None or not user.active or not user.password_hash:
        return None
    if HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = _hash(password)
    return user


def change_password(
    session: Session, signed: Signed, current: str, new: str, *, required_for_roles: bool = True
) -> Signed:
    """A signed-in user changes their own password: every session ends, including
    this one, which is replaced by a new session (a new token) for this browser."""
    user = signed.user
    try:
        _verify(user.password_hash or _dummy_hash(), current)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        raise InputError("password", 0, "current", _("This is not your current password.")) from None
    set_password(session, user, new, required_for_roles=required_for_roles)
    return open_session(session, user, second_factor_done=signed.session.second_factor_done)


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against when the address is unknown, so both paths cost the same
    (made on first use: argon2 at 64 MiB is not start-up work)."""
    return _hash(secrets.token_urlsafe(16))


# --- second factor ---------------------------------------------------------------------


def needs_second_factor(user: User, *, required_for_roles: bool = True) -> bool:
    """Whether signing in asks for a TOTP code (enrolled users always)."""
    return user.totp_enabled_at is not None or (required_for_roles and user.role in SECOND_FACTOR_ROLES)


def totp_uri(user: User, secret: str) -> str:
    """The otpauth:// URI of a secret, for an authenticator app (a neutral issuer
    name: a seized phone should not name the group)."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name="tracker")


def pending_totp_secret(key: bytes, user: User, row: UserSession) -> str:
    """The secret offered for enrolment: derived from the server key, the user, this
    session and the current secret, so it is stable while the page is reloaded,
    different after each enrolment, and nothing is stored before it is confirmed."""
    message = "\0".join(("totp-enrol", str(user.id), row.token_hash, user.totp_secret or "")).encode("utf-8")
    return base64.b32encode(hmac.new(key, message, hashlib.sha256).digest()[:20]).decode("ascii")


def _totp_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step (current, or one either side) whose code this is, or None."""
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    found = None
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


def _claim_step(session: Session, user: User, step: int) -> bool:
    """Record ``step`` as the last one used, unless it (or a later one) already was;
    one conditional UPDATE, so two requests racing with the same code cannot both win."""
    result = session.execute(
        sa.update(User)
        .where(User.id == user.id, sa.or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    session.refresh(user, ["totp_last_step"])
    return True


def confirm_totp(session: Session, user: User, secret: str, code: str) -> list[str] | None:
    """Turn on the second factor with ``secret`` if ``code`` is right for it; return
    fresh recovery codes (earlier ones stop working)."""
    step = _totp_step(secret, code.strip(), _now())
    if step is None:
        return None
    user.totp_secret = secret
    user.totp_enabled_at = _now()
    user.totp_last_step = step
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(10)]
    session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    session.add_all(RecoveryCode(user_id=user.id, code_hash=RECOVERY_HASHER.hash(c)) for c in codes)
    audit.record(session, "user.totp", "user", user.id)
    session.flush()
    return codes


def check_second_factor(session: Session, user: User, code: str) -> bool:
    """A TOTP code not used before, or an unused recovery code (which is then used up)."""
    code = code.strip()
    if user.totp_secret and user.totp_enabled_at:
        step = _totp_step(user.totp_secret, code, _now())
        if step is not None:
            return _claim_step(session, user, step)
    if not RECOVERY_CODE.fullmatch(code.lower()):
        return False
    for row in session.scalars(sa.select(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))):
        try:
            RECOVERY_HASHER.verify(row.code_hash, code.lower())
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            continue
        used = session.execute(
            sa.update(RecoveryCode)
            .where(RecoveryCode.id == row.id, RecoveryCode.used_at.is_(None))
            .values(used_at=_now())
            .execution_options(synchronize_session=False)
        )
        if not used.rowcount:  # type: ignore[attr-defined]
            return False
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


def complete_second_factor(session: Session, signed: Signed) -> Signed:
    """The second factor was passed: replace the half-signed-in session by a new one,
    so a token seen before this point is worth nothing afterwards."""
    signed.session.revoked_at = _now()
    return open_session(session, signed.user, second_factor_done=True)


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
