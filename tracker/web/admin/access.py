"""Who may open which admin page: one declaration per view, denied when missing.

Every view under ``/admin`` declares its roles with :func:`requires` (or
:data:`ANYONE` for the sign-in pages). :func:`install` checks, before the view
runs, that the declaration exists (a view without one is refused, and a test
walks the URL map for it), that someone is signed in with a live server-side
session, that the second factor was passed where required, and that the role
fits. Admin responses are ``Cache-Control: no-store``. Someone not signed in
(or disabled, or whose session ended) is sent to the sign-in page from a GET
and gets 401 for any other method; a signed-in user without the role gets 403.

The session cookie (:class:`AdminOnlySessions`) is HttpOnly, ``SameSite=Lax``,
``Path=/`` and has no ``Domain``. Over HTTPS (the request came over TLS, as
ProxyFix reports it behind a proxy, or ``SESSION_COOKIE_SECURE`` is on, which
it is outside development and tests) it is also ``Secure`` and named
``__Host-tracker_admin``: browsers accept that name only from a secure origin,
for exactly this host and path ``/``, so neither a sibling subdomain nor a
plain-HTTP man in the middle can plant or overwrite it. The name is chosen per
request, not once in config, so the same deployment cannot hand out a
prefixed cookie over HTTP (browsers would drop it) or an unprefixed one over
HTTPS.

Sign-in state lives in Flask-Login: the "user id" it keeps in the signed
session cookie is the server-side session's random token (Flask-Login's
alternative-token pattern), so ending the session on the server ends the
cookie's power.

May import: Flask, Flask-Login, Flask-Limiter, services (users).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, abort, current_app, g, has_request_context, redirect, request, url_for
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


COOKIE_NAME = "tracker_admin"
#: the name over HTTPS (RFC 6265bis "__Host-" prefix)
SECURE_COOKIE_NAME = "__Host-" + COOKIE_NAME


def _secure(app: Flask) -> bool:
    return bool(app.config.get("SESSION_COOKIE_SECURE")) or (has_request_context() and request.is_secure)


class AdminOnlySessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, written only on responses under /admin;
    ``__Host-`` name and ``Secure`` over HTTPS, ``Path=/``, no ``Domain``."""

    def get_cookie_name(self, app: Flask) -> str:
        """``__Host-tracker_admin`` over HTTPS, ``tracker_admin`` otherwise."""
        return SECURE_COOKIE_NAME if _secure(app) else COOKIE_NAME

    def get_cookie_secure(self, app: Flask) -> bool:
        """Secure whenever the request is (or the deployment says it always is)."""
        return _secure(app)

    def get_cookie_path(self, app: Flask) -> str:
        """Always ``/`` (the ``__Host-`` prefix requires it)."""
        return "/"

    def get_cookie_domain(self, app: Flask) -> str | None:
        """Never a ``Domain``: the cookie belongs to this host only."""
        return None

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


def _to_sign_in() -> Response:
    """Not signed in: the sign-in page (coming back here after) for a GET; 401 otherwise,
    since a form posted without a session cannot be replayed after signing in."""
    if request.method in ("GET", "HEAD"):
        return redirect(url_for("admin.login", next=request.path))
    abort(401)


def install(app: Flask) -> None:
    """Bind Flask-Login and the limiter; guard every admin request."""
    # the only cookie: signed, HttpOnly, SameSite=Lax, Path=/, no Domain; Secure and
    # "__Host-" over HTTPS (AdminOnlySessions); public responses never carry one
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_NAME"] = COOKIE_NAME
    app.config["SESSION_COOKIE_PATH"] = "/"
    app.config["SESSION_COOKIE_DOMAIN"] = None
    app.config["REMEMBER_COOKIE_PATH"] = "/admin"
    app.session_interface = AdminOnlySessions()
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # the session's own expiry bounds it
    # Flask-WTF's HTTPS-only Referer check would refuse every form: the pages send
    # "Referrer-Policy: no-referrer", so browsers send no Referer (and Origin "null").
    # The token bound to the session, the SameSite=Lax "__Host-" cookie and the
    # form-action CSP carry the CSRF defence instead.
    app.config.setdefault("WTF_CSRF_SSL_STRICT", False)
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
        return _to_sign_in()

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
            return _to_sign_in()
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
