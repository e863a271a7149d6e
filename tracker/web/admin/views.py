"""Admin pages: sign-in and second factor, the dashboard, publications, users.

Each view declares its roles with :func:`tracker.web.admin.access.requires`.
Forms are Flask-WTF (CSRF on every POST); services do the work.

May import: Flask, Flask-Login, Flask-WTF, services, :mod:`tracker.web.admin`.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length

from tracker.errors import TrackerError
from tracker.extensions import db
from tracker.i18n import gettext
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
    """A new password, twice."""

    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=users.MIN_PASSWORD, max=1024)])
    repeat = PasswordField(_l("Repeat it"), validators=[DataRequired(), EqualTo("password", message=_l("The two passwords differ."))])


class UserForm(FlaskForm):  # type: ignore[misc]
    """A new user."""

    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)


class ActionForm(FlaskForm):  # type: ignore[misc]
    """A button that changes something (CSRF only)."""


def _account_key() -> str:
    return "account:" + (request.form.get("email") or "").strip().lower()[:254]


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/admin") and not target.startswith("//"):
        return target
    return url_for("admin.dashboard")


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
            session.clear()  # a new session id at sign-in
            login_user(SignedIn(signed.token or "", signed))
            if needs:
                return redirect(url_for("admin.second_factor" if user.totp_enabled_at else "admin.totp_setup"))
            return redirect(_safe_next(request.args.get("next")))
    return render_template("admin/login.html", form=form)


@bp.route("/second-factor", methods=["GET", "POST"])
@requires(ANYONE)
@limiter.limit("10 per minute", methods=["POST"])
def second_factor() -> Any:
    """The TOTP (or recovery) code after the password."""
    if not current_user.is_authenticated:
        return redirect(url_for("admin.login"))
    if current_user.user.totp_enabled_at is None:
        return redirect(url_for("admin.totp_setup"))
    form = CodeForm()
    if form.validate_on_submit():
        if users.check_second_factor(db.session, current_user.user, form.code.data):
            current_user.row.second_factor_done = True
            db.session.commit()
            return redirect(url_for("admin.dashboard"))
        db.session.commit()
        form.code.errors.append(gettext("This code is not right. Codes change every 30 seconds."))
    return render_template("admin/second_factor.html", form=form)


@bp.route("/second-factor/setup", methods=["GET", "POST"])
@requires(ANYONE)
def totp_setup() -> Any:
    """Enrol an authenticator app; show the recovery codes once."""
    if not current_user.is_authenticated:
        return redirect(url_for("admin.login"))
    if current_user.user.totp_enabled_at is not None and not current_user.row.second_factor_done:
        return redirect(url_for("admin.second_factor"))
    form = CodeForm()
    if form.validate_on_submit():
        codes = users.confirm_totp(db.session, current_user.user, form.code.data)
        if codes is not None:
            current_user.row.second_factor_done = True
            db.session.commit()
            return render_template("admin/recovery_codes.html", codes=codes)
        form.code.errors.append(gettext("This code is not right. Codes change every 30 seconds."))
    uri = users.start_totp(db.session, current_user.user) if request.method == "GET" or not current_user.user.totp_secret else None
    db.session.commit()
    return render_template("admin/totp_setup.html", form=form, secret=current_user.user.totp_secret, uri=uri)


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


@bp.route("/set-password/<token>", methods=["GET", "POST"])
@requires(ANYONE)
@limiter.limit("10 per minute", methods=["POST"])
def set_password(token: str) -> Any:
    """Choose a password through a one-time link."""
    user = users.user_for_link(db.session, token)
    if user is None:
        abort(404)
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            users.set_password(db.session, user, form.password.data, token=token)
        except TrackerError as error:
            db.session.rollback()
            form.password.errors.append(getattr(error, "message", str(error)))
        else:
            db.session.commit()
            flash(gettext("Password set. You can sign in now."))
            return redirect(url_for("admin.login"))
    return render_template("admin/set_password.html", form=form, email=user.email)


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
        flash(gettext("%(count)d publications cut.", count=len(reports)))
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

