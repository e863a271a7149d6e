"""Treasurer pages for the monthly routine: spending, the audit log, the books export.

Registered on the admin blueprint; every view declares its role.

May import: Flask, Flask-WTF, services, models (read-only queries), :mod:`tracker.web.admin`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from tracker import money
from tracker.errors import MoneyError, TrackerError
from tracker.extensions import db
from tracker.i18n import gettext
from tracker.importers.cells import mark_evidence
from tracker.models import (
    Account,
    AuditEvent,
    Campaign,
    DisbursementCategory,
    Fund,
    FundKind,
    Prisoner,
    Role,
)
from tracker.services import audit, unit_of_work
from tracker.services.disbursements import create_disbursement
from tracker.web.admin.access import requires
from tracker.web.admin.views import bp
from tracker.web.templating import CATEGORIES

CATEGORY_CHOICES = [SelectChoice(name, label) for name, label in CATEGORIES.items()]


# --- spending ---------------------------------------------------------------------------


class DisbursementForm(FlaskForm):  # type: ignore[misc]
    """Money paid out of a fund."""

    fund = SelectField(_l("Fund"), validators=[DataRequired()])
    account = SelectField(_l("Paid from account"), validators=[DataRequired()])
    currency = StringField(_l("Currency"), validators=[DataRequired(), Length(min=3, max=3)])
    amount = StringField(_l("Amount"), validators=[DataRequired(), Length(max=32)])
    category = SelectField(_l("Category"), choices=CATEGORY_CHOICES)
    public_description = StringField(_l("Public description"), validators=[Length(max=500)])
    private_note = TextAreaField(_l("Private note (treasurers only)"), validators=[Optional(), Length(max=2000)])
    paid_on = DateField(_l("Paid on"), validators=[DataRequired()], default=date.today)


def amount_from(form: Any) -> tuple[str, Decimal] | None:
    """(currency, amount) from a form's currency and amount fields, either decimal mark
    ("12,50", "12.50"; "1,234" stays a thousands group); None with the field's error set."""
    text = form.amount.data or ""
    try:
        currency = money.normalise_currency(form.currency.data)
        amount = money.parse_amount(text, decimal_mark=mark_evidence(text) or ".", currency=currency)
    except MoneyError as error:
        form.amount.errors.append(str(error))
        return None
    if amount <= 0:
        form.amount.errors.append(gettext("the amount must be positive"))
        return None
    return currency, amount


def _fund_choices() -> list[SelectChoice]:
    rows = db.session.execute(
        sa.select(Fund.id, Fund.kind, Fund.name, Prisoner.name, Campaign.tag)
        .outerjoin(Prisoner, Prisoner.id == Fund.prisoner_id)
        .outerjoin(Campaign, Campaign.id == Fund.campaign_id)
        .where(Fund.kind != FundKind.REVIEW.value)
        .order_by(Fund.kind, Fund.name)
    ).all()
    return [SelectChoice(str(fid), prisoner or (f"{tag} · {name}" if tag else name)) for fid, _kind, name, prisoner, tag in rows]


@bp.route("/spending", methods=["GET", "POST"])
@requires(Role.TREASURER)
def spending_page() -> Any:
    """Record a disbursement (lawyer, parcels...) with its public description."""
    form = DisbursementForm()
    form.fund.choices = _fund_choices()
    form.account.choices = [SelectChoice(str(a.id), a.name) for a in db.session.scalars(sa.select(Account).order_by(Account.name))]
    if form.validate_on_submit() and (parsed := amount_from(form)) is not None:
        currency, amount = parsed
        try:
            with unit_of_work() as session:
                create_disbursement(
                    session,
                    fund=session.get(Fund, int(form.fund.data)),
                    account=session.get(Account, int(form.account.data)),
                    currency=currency,
                    amount=amount,
                    category=DisbursementCategory(form.category.data),
                    public_description=form.public_description.data or "",
                    paid_on=form.paid_on.data,
                    private_note=form.private_note.data or None,
                )
        except TrackerError as error:
            form.amount.errors.append(str(error))
        else:
            flash(gettext("Payment recorded."))
            return redirect(url_for("admin.spending_page"))
    return render_template("admin/spending.html", form=form)


# --- audit log --------------------------------------------------------------------------

PAGE = 100


@bp.get("/audit")
@requires(Role.TREASURER, Role.ADMIN)
def audit_page() -> Any:
    """Who did what when, newest first; filter by action and actor; pages by id (keyset)."""
    query = sa.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(PAGE + 1)
    action = request.args.get("action", "").strip()[:64]
    actor = request.args.get("actor", "").strip()[:120]
    before = request.args.get("before", "")
    if action:
        query = query.where(AuditEvent.action.startswith(action, autoescape=True))
    if actor:
        query = query.where(AuditEvent.actor == actor)
    if before.isdigit():
        query = query.where(AuditEvent.id < int(before))
    rows = db.session.scalars(query).all()
    more = rows[PAGE].id if len(rows) > PAGE else None
    events = rows[:PAGE]
    db.session.rollback()
    return render_template("admin/audit.html", events=events, more=more, action=action, actor=actor)


# --- books export -----------------------------------------------------------------------


class ExportForm(FlaskForm):  # type: ignore[misc]
    """A period and a format."""

    start = DateField(_l("First day"), validators=[DataRequired()])
    end = DateField(_l("Last day"), validators=[DataRequired()])
    fmt = SelectField(
        _l("Format"),
        choices=[
            SelectChoice("xlsx", "XLSX"),
            SelectChoice("csv", "CSV (zip)"),
            SelectChoice("beancount", _l("Ledger for beancount")),
            SelectChoice("hledger", _l("Ledger for hledger")),
        ],
    )
    with_notes = SelectField(_l("Private notes"), choices=[SelectChoice("no", _l("Leave out")), SelectChoice("yes", _l("Include"))])


@bp.route("/export", methods=["GET", "POST"])
@requires(Role.TREASURER)
def export_page() -> Any:
    """Download the books of a period for the group's accountant."""
    from flask import Response

    from tracker.services import books_export, ledger_formats
    from tracker.web.http import content_disposition

    form = ExportForm()
    if form.validate_on_submit():
        if form.end.data < form.start.data:
            form.end.errors.append(gettext("the last day is before the first"))
        elif form.fmt.data in ledger_formats.FORMATS:
            if form.with_notes.data == "yes":
                form.with_notes.errors.append(gettext("Private notes are never written to ledger files."))
            else:
                return _ledger_download(form.fmt.data, form.start.data, form.end.data)
        else:
            items = books_export.tables(db.session, form.start.data, form.end.data, with_notes=form.with_notes.data == "yes")
            xlsx = form.fmt.data == "xlsx"
            data = books_export.to_xlsx(items) if xlsx else books_export.to_csv_zip(items)
            db.session.rollback()
            with unit_of_work() as session:
                audit.record(session, "books.export", "period", f"{form.start.data}..{form.end.data}", after={"format": form.fmt.data, "notes": form.with_notes.data == "yes"})
            name = f"books-{form.start.data}-{form.end.data}.{'xlsx' if xlsx else 'zip'}"
            mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" if xlsx else "application/zip"
            return Response(data, mimetype=mimetype, headers={"Content-Disposition": content_disposition(name)})
    return render_template("admin/export.html", form=form)


def _ledger_download(fmt: str, start: date, end: date) -> Any:
    """The period's ledger as a beancount file or hledger journal, streamed (audited first)."""
    from flask import Response, stream_with_context

    from tracker.services import ledger_formats
    from tracker.web.http import content_disposition

    db.session.rollback()
    with unit_of_work() as session:
        audit.record(session, "books.export", "period", f"{start}..{end}", after={"format": fmt, "notes": False})
    _writer, suffix, mimetype = ledger_formats.FORMATS[fmt]
    chunks = (chunk.encode("utf-8") for chunk in ledger_formats.export(db.session, fmt, start, end))
    return Response(
        stream_with_context(chunks),
        mimetype=mimetype,
        headers={"Content-Disposition": content_disposition(f"tracker-{start}-{end}.{suffix}")},
    )
