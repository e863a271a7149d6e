"""Who may open which admin page: one declaration per view, denied when missing.

Every view under ``/admin`` declares its roles with :func:`requires` (or
:data:`ANYONE` for the sign-in pages). :func:`install` checks, before the view
runs, that the declaration exists (a view without one is refused, and a test
walks the URL map for it), that someone is signed in with a live server-side
session, that the second factor was passed where required, and that the role
fits. Admin responses are ``Cache-Control: no-store``.

Sign-in state lives in Flask-Login: the "user id" it keeps in the signed
session cookie is the server-side session's random token (Flask-Login's
alternative-token pattern), so ending the session on the server ends the
cookie's power.

May import: Flask, Flask-Login, Flask-Limiter, services (users).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, abort, current_app, g, redirect, request, url_for
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager, UserMixin, current_user

from tracker.errors import ConfigError
from tracker.extensions import db
from tracker.models import Role
from tracker.services import audit, users

F = TypeVar("F", bound=Callable[..., Any])

#: the sign-in pages themselves
ANYONE = "anyone"

login_manager = LoginManager()
# no storage_uri here: it would win over RATELIMIT_STORAGE_URI (REDIS_URL), and each worker
# would count in its own memory (tests/web/test_brute_force.py)
limiter = Limiter(key_func=get_remote_address, default_limits=[])


class SignedIn(UserMixin):  # type: ignore[misc]
    """The signed-in user for Flask-Login; its id is the session token."""

    def __init__(self, token: str, signed: users.Signed) -> None:
        self.token = token
        self.user = signed.user
        self.row = signed.session

    def get_id(self) -> str:
        """The server-side session token (rotated at every sign-in)."""
        return self.token

    @property
    def role(self) -> str:
        """The user's role."""
        return self.user.role


class AdminOnlySessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, written only on responses under /admin."""

    def save_session(self, app: Flask, session: Any, response: Response) -> None:
        """Nothing (no cookie, no ``Vary: Cookie``) on a public URL, whatever touched the session."""
        if request.path.startswith("/admin"):
            super().save_session(app, session, response)


def requires(*roles: Role | str) -> Callable[[F], F]:
    """Declare the roles that may open a view (``ANYONE`` for sign-in pages)."""

    def mark(view: F) -> F:
        view.required_roles = frozenset(r.value if isinstance(r, Role) else r for r in roles)  # type: ignore[attr-defined]
        return view

    return mark


def declared_roles(app: Flask, endpoint: str) -> frozenset[str] | None:
    """What a view declared, or None."""
    view = app.view_functions.get(endpoint)
    return getattr(view, "required_roles", None)


def second_factor_required(user: Any) -> bool:
    """Whether this user must pass TOTP (admins and treasurers, unless relaxed by config)."""
    return users.needs_second_factor(user, required_for_roles=current_app.config.get("REQUIRE_SECOND_FACTOR", True))


def install(app: Flask) -> None:
    """Bind Flask-Login and the limiter; guard every admin request."""
    # the only cookie: signed, HttpOnly, SameSite=Lax, scoped to /admin (Secure is set by
    # Talisman outside development); public responses never carry one
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_NAME"] = "tracker_admin"
    app.config["SESSION_COOKIE_PATH"] = "/admin"
    app.config["REMEMBER_COOKIE_PATH"] = "/admin"
    app.session_interface = AdminOnlySessions()
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # the session's own expiry bounds it
    redis_url = app.config.get("REDIS_URL")
    if redis_url:
        app.config["RATELIMIT_STORAGE_URI"] = redis_url
    elif app.config.get("TRACKER_ENV") not in ("development", "test"):
        raise ConfigError(
            "REDIS_URL is required outside development: sign-in rate limits must be shared by all workers, "
            "and per-process memory would let each worker allow its own attempts"
        )
    else:
        app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    login_manager.init_app(app)
    # not "strong": it ties a session to the address, and treasurers on Tor change address
    # all the time; sessions are tracked and expire on the server instead
    login_manager.session_protection = None
    limiter.init_app(app)

    @login_manager.user_loader
    def _load(token: str) -> SignedIn | None:
        signed = users.resolve(db.session, token)
        if signed is None:
            return None
        db.session.commit()  # the last-seen time
        return SignedIn(token, signed)

    @login_manager.unauthorized_handler
    def _unauthorized() -> Response:
        return redirect(url_for("admin.login", next=request.path))

    @app.before_request
    def _guard() -> Response | None:
        if not request.path.startswith("/admin") or request.endpoint is None:
            return None
        # who the audit log names for this request only (threads serve many users)
        who = f"user:{current_user.user.id}" if current_user.is_authenticated else "web:signed-out"
        g.tracker_actor_token = audit.current_actor.set(who)
        roles = declared_roles(app, request.endpoint)
        if roles is None:
            abort(403)  # a view that declares no role is for nobody
        if ANYONE in roles:
            return None
        if not current_user.is_authenticated:
            return redirect(url_for("admin.login", next=request.path))
        g.user = current_user.user
        if second_factor_required(current_user.user) and not current_user.row.second_factor_done:
            return redirect(url_for("admin.second_factor"))
        if current_user.role not in roles:
            abort(403)
        return None

    @app.teardown_request
    def _forget_actor(_exc: BaseException | None) -> None:
        token = g.pop("tracker_actor_token", None)
        if token is not None:
            audit.current_actor.reset(token)

    @app.after_request
    def _no_store(response: Response) -> Response:
        if request.path.startswith("/admin"):
            response.headers["Cache-Control"] = "no-store"
        return response
