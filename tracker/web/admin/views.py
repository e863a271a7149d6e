"""Admin pages: sign-in and second factor, the dashboard, publications, users.

Each view declares its roles with :func:`tracker.web.admin.access.requires`.
Forms are Flask-WTF (CSRF on every POST); services do the work.

May import: Flask, Flask-Login, Flask-WTF, services, :mod:`tracker.web.admin`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import segno
import sqlalchemy as sa

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length

from tracker.errors import InputError, TrackerError
from tracker.extensions import db
from tracker.i18n import gettext, ngettext
from tracker.models import Role, User
from tracker.services import audit, publishing, users
from tracker.services.dashboard import dashboard as dashboard_figures
from tracker.web.admin.access import ANYONE, SignedIn, limiter, requires, second_factor_required

bp = Blueprint("admin", __name__, url_prefix="/admin")

ROLE_CHOICES = [
    SelectChoice(Role.TREASURER.value, _l("Treasurer")),
    SelectChoice(Role.ORGANISER.value, _l("Organiser")),
    SelectChoice(Role.ADMIN.value, _l("Admin")),
]


class LoginForm(FlaskForm):  # type: ignore[misc]
    """E-mail and password."""

    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])


class CodeForm(FlaskForm):  # type: ignore[misc]
    """A TOTP or recovery code."""

    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)])


class PasswordForm(FlaskForm):  # type: ignore[misc]
    """A new password, twice (length and strength are the service's rules: any
    characters, spaces included, exactly as typed)."""

    password = PasswordField(_l("New password"), validators=[InputRequired()])
    repeat = PasswordField(_l("Repeat it"), validators=[InputRequired(), EqualTo("password", message=_l("The two passwords differ."))])


class ChangePasswordForm(PasswordForm):
    """The current password, then a new one twice."""

    current = PasswordField(_l("Current password"), validators=[InputRequired()])


class UserForm(FlaskForm):  # type: ignore[misc]
    """A new user."""

    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)


class ActionForm(FlaskForm):  # type: ignore[misc]
    """A button that changes something (CSRF only)."""


def _account_key() -> str:
    return "account:" + (request.form.get("email") or "").strip().lower()[:254]


def _safe_next(target: str | None) -> str:
    """Where to go after signing in: ``target`` only if it is a plain path on this
    site under ``/admin`` (no scheme, host, backslash, control character, dot
    segment or encoded slash that a browser could turn into another place)."""
    fallback = url_for("admin.dashboard")
    if not target or len(target) > 2000:
        return fallback
    if "\\" in target or any(ord(c) <= 32 or ord(c) == 127 for c in target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or parts.fragment or not target.startswith("/admin"):
        return fallback
    path = parts.path
    if path != "/admin" and not path.startswith("/admin/"):
        return fallback
    if any(encoded in path.lower() for encoded in ("%2f", "%5c", "%2e", "%25")):
        return fallback  # encoded separators, dots or double encoding: no admin page needs them
    if any(segment in (".", "..") for segment in path.split("/")):
        return fallback
    return target


def _next_arg() -> dict[str, str]:
    """The ``next`` argument to carry through the sign-in steps, if it is safe."""
    target = request.args.get("next")
    return {"next": target} if target and _safe_next(target) == target else {}


def _qr_svg(uri: str) -> Markup:
    """An inline SVG QR code of ``uri``, made on the server: segno writes only paths
    and attributes (the URI becomes modules, never text), so it is safe markup and
    needs no image source or inline style under the CSP."""
    code = segno.make(uri, error="m")
    return Markup(code.svg_inline(scale=4, dark="#000", light="#fff", svgclass="qr", lineclass=None, title=gettext("QR code for your authenticator app")))


@bp.route("/login", methods=["GET", "POST"])
@requires(ANYONE)
@limiter.limit("10 per minute", methods=["POST"])
@limiter.limit("5 per 15 minutes", key_func=_account_key, methods=["POST"])
def login() -> Any:
    """Sign in: password, then (where required) the second factor."""
    form = LoginForm()
    if form.validate_on_submit():
        user = users.verify_password(db.session, form.email.data, form.password.data)
        if user is None:
            db.session.rollback()
            form.password.errors.append(gettext("Wrong e-mail address or password."))
        else:
            needs = second_factor_required(user)
            signed = users.open_session(db.session, user, second_factor_done=not needs)
            audit.current_actor.set(f"user:{user.id}")  # known only now, mid-request
            audit.record(db.session, "user.sign_in", "user", user.id)
            db.session.commit()
            session.clear()  # a new session (and CSRF token) at sign-in
            login_user(SignedIn(signed.token or "", signed))
            if needs:
                step = "admin.second_factor" if user.totp_enabled_at else "admin.totp_setup"
                return redirect(url_for(step, **_next_arg()))
            return redirect(_safe_next(request.args.get("next")))
    return render_template("admin/login.html", form=form)


def _second_factor_passed() -> None:
    """Replace the half-signed-in session with a full one (a new token in the cookie)."""
    signed = users.complete_second_factor(db.session, users.Signed(current_user.user, current_user.row))
    db.session.commit()
    session.clear()
    login_user(SignedIn(signed.token or "", signed))


@bp.route("/second-factor", methods=["GET", "POST"])
@requires(ANYONE)
@limiter.limit("10 per minute", methods=["POST"])
def second_factor() -> Any:
    """The TOTP (or recovery) code after the password."""
    if not current_user.is_authenticated:
        return redirect(url_for("admin.login"))
    if current_user.user.totp_enabled_at is None:
        return redirect(url_for("admin.totp_setup", **_next_arg()))
    if current_user.row.second_factor_done:
        return redirect(_safe_next(request.args.get("next")))
    form = CodeForm()
    if form.validate_on_submit():
        if users.check_second_factor(db.session, current_user.user, form.code.data):
            _second_factor_passed()
            return redirect(_safe_next(request.args.get("next")))
        db.session.commit()
        form.code.errors.append(gettext("This code is not right, or was already used. Codes change every 30 seconds."))
    return render_template("admin/second_factor.html", form=form)


@bp.route("/second-factor/setup", methods=["GET", "POST"])
@requires(ANYONE)
@limiter.limit("10 per minute", methods=["POST"])
def totp_setup() -> Any:
    """Enrol an authenticator app (a QR code and the key as text); show the recovery
    codes once. Opening the page writes nothing: the offered key is stored only when
    a code from it is confirmed, so a working second factor stays until then."""
    if not current_user.is_authenticated:
        return redirect(url_for("admin.login"))
    if current_user.user.totp_enabled_at is not None and not current_user.row.second_factor_done:
        return redirect(url_for("admin.second_factor", **_next_arg()))
    secret = users.pending_totp_secret(current_app.secret_key.encode("utf-8"), current_user.user, current_user.row)
    form = CodeForm()
    if form.validate_on_submit():
        codes = users.confirm_totp(db.session, current_user.user, secret, form.code.data)
        if codes is not None:
            if current_user.row.second_factor_done:
                db.session.commit()
            else:
                _second_factor_passed()
            return render_template("admin/recovery_codes.html", codes=codes, next=_safe_next(request.args.get("next")))
        db.session.rollback()
        form.code.errors.append(gettext("This code is not right. Codes change every 30 seconds."))
    uri = users.totp_uri(current_user.user, secret)
    db.session.rollback()
    return render_template("admin/totp_setup.html", form=form, secret=secret, uri=uri, qr=_qr_svg(uri))


@bp.post("/logout")
@requires(ANYONE)
def logout() -> Response:
    """Sign out this browser (the server forgets the session)."""
    if current_user.is_authenticated:
        users.close_session(db.session, current_user.token)
        db.session.commit()
    logout_user()
    session.clear()
    return redirect(url_for("admin.login"))


@bp.post("/logout-everywhere")
@requires(Role.ADMIN, Role.TREASURER, Role.ORGANISER)
def logout_everywhere() -> Response:
    """End every session of the signed-in user, on every device."""
    users.end_sessions(db.session, current_user.user.id)
    db.session.commit()
    logout_user()
    session.clear()
    return redirect(url_for("admin.login"))


def _password_error(form: PasswordForm, error: TrackerError) -> None:
    """Put a service's refusal beside the field it is about."""
    field = getattr(form, error.position.column, None) if isinstance(error, InputError) else None
    (field if field is not None else form.password).errors.append(getattr(error, "message", str(error)))


@bp.route("/password", methods=["GET", "POST"])
@requires(Role.ADMIN, Role.TREASURER, Role.ORGANISER)
@limiter.limit("10 per minute", methods=["POST"])
def change_password() -> Any:
    """Change one's own password; every other session (other devices) ends."""
    form = ChangePasswordForm()
    required = current_app.config.get("REQUIRE_SECOND_FACTOR", True)
    minimum = users.password_minimum(current_user.user, required_for_roles=required)
    if form.validate_on_submit():
        try:
            signed = users.change_password(
                db.session, users.Signed(current_user.user, current_user.row), form.current.data, form.password.data, required_for_roles=required
            )
        except TrackerError as error:
            db.session.rollback()
            _password_error(form, error)
        else:
            db.session.commit()
            session.clear()
            login_user(SignedIn(signed.token or "", signed))
            flash(gettext("Password changed. You were signed out on every other device."))
            return redirect(url_for("admin.dashboard"))
    return render_template("admin/set_password.html", form=form, email=current_user.user.email, minimum=minimum, change=True)


@bp.route("/set-password/<token>", methods=["GET", "POST"])
@requires(ANYONE)
@limiter.limit("10 per minute", methods=["POST"])
def set_password(token: str) -> Any:
    """Choose a password through a one-time link (the second factor is still asked
    at sign-in: the link sets a password, it does not sign anyone in)."""
    user = users.user_for_link(db.session, token)
    if user is None:
        abort(404)
    required = current_app.config.get("REQUIRE_SECOND_FACTOR", True)
    minimum = users.password_minimum(user, required_for_roles=required)
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            users.set_password(db.session, user, form.password.data, token=token, required_for_roles=required)
        except TrackerError as error:
            db.session.rollback()
            _password_error(form, error)
        else:
            db.session.commit()
            if current_user.is_authenticated:
                logout_user()  # whoever was signed in here: this browser is now the link's user's
            session.clear()
            flash(gettext("Password set. You can sign in now."))
            return redirect(url_for("admin.login"))
    email = user.email
    db.session.rollback()
    return render_template("admin/set_password.html", form=form, email=email, minimum=minimum, change=False)


@bp.get("/")
@requires(Role.TREASURER, Role.ORGANISER, Role.ADMIN)
def dashboard() -> Any:
    """Treasurers: balances and what waits. Others: their pages."""
    if current_user.role != Role.TREASURER.value:
        return render_template("admin/home.html")
    figures = dashboard_figures(db.session)
    db.session.rollback()
    return render_template("admin/dashboard.html", d=figures, form=ActionForm())


@bp.route("/publications", methods=["GET", "POST"])
@requires(Role.TREASURER)
def publications() -> Any:
    """The next release's preview and privacy check; cut it; the chain."""
    form = ActionForm()
    group = current_app.config["GROUP_NAME"]
    if form.validate_on_submit():
        reports = publishing.publish(force=request.form.get("force") == "1", group=group)
        flash(ngettext("%(num)d publication cut.", "%(num)d publications cut.", len(reports)))
        return redirect(url_for("admin.publications"))
    force = request.args.get("force") == "1"
    reports = publishing.preview(db.session, force=force, group=group)
    problems = publishing.verify_chain(db.session)
    chain = publishing.chain_length(db.session)
    db.session.rollback()
    return render_template("admin/publications.html", reports=reports, problems=problems, chain=chain, form=form, force=force)


@bp.route("/users", methods=["GET", "POST"])
@requires(Role.ADMIN)
def users_page() -> Any:
    """Add users (a one-time link to set the password), disable and enable them."""
    form = UserForm()
    link = None
    if form.validate_on_submit():
        try:
            _user, token = users.add_user(db.session, form.email.data, form.role.data)
        except TrackerError as error:
            db.session.rollback()
            form.email.errors.append(getattr(error, "message", str(error)))
        else:
            db.session.commit()
            link = url_for("admin.set_password", token=token, _external=True)
    rows = db.session.scalars(sa.select(User).order_by(User.email)).all()
    return render_template("admin/users.html", form=form, rows=rows, link=link, action=ActionForm())


@bp.post("/users/<int:user_id>/active")
@requires(Role.ADMIN)
def user_active(user_id: int) -> Response:
    """Disable (ending every session) or enable a user."""
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    if user.id == current_user.user.id:
        abort(400)
    users.set_active(db.session, user, not user.active)
    db.session.commit()
    return redirect(url_for("admin.users_page"))

