"""Donations and statement lines: search, keyset pages, and one record opened whole.

Treasurers only (ARCHITECTURE.md "Who sees what"; RELIABILITY.md W2): the
lists show notes and the record pages show raw rows, so organisers and admins
get 403 on every one of these URLs. The filter form is a GET form (it changes
nothing): dates in the page's language or ISO, amounts with either decimal
mark; a value that cannot be used comes back as a message beside its field.

May import: Flask, Flask-WTF, Babel, services (search, record_detail),
:mod:`tracker.web.admin`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from babel.dates import ParseError, get_date_format, parse_date
from flask import abort, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from tracker import money
from tracker.errors import MoneyError, NotFound
from tracker.extensions import db
from tracker.i18n import gettext, ngettext
from tracker.importers.cells import mark_evidence
from tracker.models import Account, Campaign, Prisoner, Role
from tracker.services import record_detail, search
from tracker.web.admin.access import requires
from tracker.web.admin.views import bp

DONATION_STATUS_LABELS = {
    "review": _l("Waiting for review"),
    "campaign": _l("A campaign"),
    "general": _l("The general fund"),
    "voided": _l("Voided (batch undone)"),
}
DONATION_KIND_LABELS = {
    "import": _l("Imported"),
    "webhook": _l("Webhook"),
    "manual": _l("Entered by hand"),
    "event": _l("Event takings"),
}


class RecordFilterForm(FlaskForm):  # type: ignore[misc]
    """What to look for; every field may stay empty."""

    class Meta:
        csrf = False  # a GET search changes nothing

    text = StringField(_l("Note contains the words"), validators=[Optional(), Length(max=200)])
    txn_id = StringField(_l("Transaction id"), validators=[Optional(), Length(max=128)])
    amount = StringField(_l("Amount, exactly"), validators=[Optional(), Length(max=32)])
    amount_min = StringField(_l("Amount from"), validators=[Optional(), Length(max=32)])
    amount_max = StringField(_l("Amount up to"), validators=[Optional(), Length(max=32)])
    campaign = SelectField(_l("Campaign"), validators=[Optional()])
    prisoner = SelectField(_l("Prisoner"), validators=[Optional()])
    account = SelectField(_l("Account"), validators=[Optional()])
    currency = StringField(_l("Currency"), validators=[Optional(), Length(max=3)])
    date_from = StringField(_l("From day"), validators=[Optional(), Length(max=32)])
    date_to = StringField(_l("To day"), validators=[Optional(), Length(max=32)])
    status = SelectField(_l("Status"), validators=[Optional()])
    kind = SelectField(_l("Kind"), validators=[Optional()])


def _any() -> SelectChoice:
    return SelectChoice("", gettext("Any"))


def _form(scope: str) -> RecordFilterForm:
    form = RecordFilterForm(formdata=request.args)
    form.campaign.choices = [_any(), *(SelectChoice(t, f"{t} · {title}") for t, title in db.session.execute(sa.select(Campaign.tag, Campaign.title).order_by(Campaign.tag)))]
    form.prisoner.choices = [_any(), *(SelectChoice(s, name) for s, name in db.session.execute(sa.select(Prisoner.slug, Prisoner.name).order_by(Prisoner.name)))]
    form.account.choices = [_any(), *(SelectChoice(str(i), name) for i, name in db.session.execute(sa.select(Account.id, Account.name).order_by(Account.name)))]
    if scope == "donations":
        form.status.choices = [_any(), *(SelectChoice(k, str(v)) for k, v in DONATION_STATUS_LABELS.items())]
        form.kind.choices = [_any(), *(SelectChoice(k, str(v)) for k, v in DONATION_KIND_LABELS.items())]
    else:
        form.status.choices = [_any(), *(SelectChoice(s, s) for s in search.LINE_STATUSES)]
        form.kind.choices = [_any(), *(SelectChoice(k, k) for k in search.LINE_KINDS)]
    form.date_from.render_kw = form.date_to.render_kw = {"placeholder": date_hint()}
    return form


def date_hint() -> str:
    """The short date pattern of the page's language, e.g. "dd.MM.y"."""
    return str(get_date_format("short", locale=get_locale()).pattern)


def parse_day(text: str) -> date:
    """A day typed as ISO (2025-03-31) or in the page's language (31.03.2025, 3/31/25)."""
    value = text.strip()
    try:
        return date.fromisoformat(value)
    except ValueError:
        pass
    try:
        day = parse_date(value, locale=get_locale())
    except (ParseError, ValueError, IndexError, TypeError):
        raise ValueError(value) from None
    if not 1900 <= day.year <= 2200:
        raise ValueError(value)
    return day


def parse_search_amount(text: str) -> Decimal:
    """An amount with either decimal mark; its sign is ignored (lines match either sign)."""
    value = text.strip()
    amount = money.parse_amount(value, decimal_mark=mark_evidence(value) or ".")
    return abs(amount)


def _filters(form: RecordFilterForm) -> search.RecordFilter | None:
    """The filter, or None with messages set on the fields."""
    if not form.validate():
        return None
    values: dict[str, Any] = {}
    for name in ("amount", "amount_min", "amount_max"):
        text = form[name].data
        if text and text.strip():
            try:
                values[name] = parse_search_amount(text)
            except MoneyError:
                form[name].errors.append(gettext("Not an amount: write it like 12.50 or 12,50."))
    for name in ("date_from", "date_to"):
        text = form[name].data
        if text and text.strip():
            try:
                values[name] = parse_day(text)
            except ValueError:
                form[name].errors.append(gettext("Not a day: write it like %(example)s or 2025-03-31.", example=date_hint()))
    if form.currency.data and form.currency.data.strip():
        try:
            values["currency"] = money.normalise_currency(form.currency.data.strip())
        except MoneyError:
            form.currency.errors.append(gettext("Not a currency code such as EUR."))
    if form.account.data:
        if not form.account.data.isdigit():
            form.account.errors.append(gettext("Unknown account."))
        else:
            values["account_id"] = int(form.account.data)
    if any(form[f].errors for f in form._fields):
        return None
    clean = {name: (form[name].data or "").strip() or None for name in ("text", "txn_id", "campaign", "prisoner", "status", "kind")}
    return search.RecordFilter(**values, **clean)


def _page_args() -> tuple[int, str | None]:
    """The page size from the query string, or an error message."""
    text = request.args.get("size", "").strip()
    if not text:
        return search.PAGE_SIZE, None
    try:
        if not text.isdigit() or len(text) > 6:
            raise search.SearchError("size", ngettext(
                "A page shows from 1 to %(num)d row.",
                "A page shows from 1 to %(num)d rows.",
                search.MAX_PAGE_SIZE,
            ))
        return search.page_size(int(text)), None
    except search.SearchError as error:
        return search.PAGE_SIZE, str(error)


def _list(scope: str) -> Any:
    form = _form(scope)
    size, problem = _page_args()
    cursor = None
    token = request.args.get("cursor", "")
    if token and problem is None:
        try:
            cursor = search.decode_cursor(token, scope)
        except search.SearchError as error:
            problem = str(error)
    page = None
    f = _filters(form)
    if f is not None and problem is None:
        try:
            run = search.search_donations if scope == "donations" else search.search_lines
            page = run(db.session, f, cursor=cursor, size=size)
        except search.SearchError as error:
            field = getattr(form, error.field, None)
            if field is not None and error.field in form._fields:
                field.errors.append(str(error))
            else:
                problem = str(error)
    db.session.rollback()
    kept = {k: v for k, v in request.args.items() if k != "cursor" and v}
    links = {
        direction: url_for(request.endpoint or "", **kept, cursor=getattr(page, direction))
        for direction in ("next", "prev")
        if page is not None and getattr(page, direction)
    }
    invalid = problem is not None or any(form[name].errors for name in form._fields)
    # each row links to /admin/<scope>/<id>: the route built once, not once a row
    one = url_for("admin.donation_record", donation_id=1) if scope == "donations" else url_for("admin.line_record", line_id=1)
    body = render_template(
        "admin/records.html",
        scope=scope,
        form=form,
        page=page,
        links=links,
        record_base=one[: -len("1")],
        problem=problem,
        status_labels=DONATION_STATUS_LABELS,
        kind_labels=DONATION_KIND_LABELS,
    )
    return body, 400 if invalid else 200


@bp.get("/donations")
@requires(Role.TREASURER)
def donations_page() -> Any:
    """Search donations: filters, newest first, keyset pages."""
    return _list("donations")


@bp.get("/lines")
@requires(Role.TREASURER)
def lines_page() -> Any:
    """Search statement lines: filters, newest first, keyset pages."""
    return _list("lines")


@bp.get("/donations/<int:donation_id>")
@requires(Role.TREASURER)
def donation_record(donation_id: int) -> Any:
    """One donation: its line, raw row (sealed columns named only), entries, why it was tagged."""
    try:
        record = record_detail.donation_record(db.session, donation_id)
    except NotFound:
        abort(404)
    db.session.rollback()
    return render_template("admin/record.html", record=record, kind="donation", status_labels=DONATION_STATUS_LABELS)


@bp.get("/lines/<int:line_id>")
@requires(Role.TREASURER)
def line_record(line_id: int) -> Any:
    """One statement line: readable fields, raw row, versions, batch, entries, donations."""
    try:
        record = record_detail.line_record(db.session, line_id)
    except NotFound:
        abort(404)
    db.session.rollback()
    return render_template("admin/record.html", record=record, kind="line", status_labels=DONATION_STATUS_LABELS)
