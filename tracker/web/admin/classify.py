"""Treasurer pages: classify money waiting in the review fund; transfers between funds.

``/admin/classify`` lists the open review items (keyset pages; filters by
account, currency and kind), takes a choice for the ticked items, shows what
will be booked, and books it when confirmed; recent classifications can be
undone. ``/admin/transfers`` moves money between funds, with a public reason,
and lists recent transfers with undo. Forms check shape; the services check
the rules, and their refusals are shown beside the field they are about.

May import: Flask, Flask-WTF, services, models (read-only queries), :mod:`tracker.web.admin`.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from tracker.errors import MoneyError, NotFound, TrackerError
from tracker.extensions import db
from tracker.i18n import gettext, ngettext
from tracker.models import Account, Role
from tracker.services import classification, corrections, review, review_items
from tracker.services.classification import ClassifyAs
from tracker.web.admin.access import requires
from tracker.web.admin.money_pages import CATEGORY_CHOICES, amount_from
from tracker.web.admin.views import ActionForm, bp
from tracker.web.templating import fmt_money

PAGE = 50

AS_CHOICES = [
    SelectChoice(ClassifyAs.DISBURSEMENT.value, _l("A payment out of a fund (spending)")),
    SelectChoice(ClassifyAs.FEE.value, _l("A fee or bank charge")),
    SelectChoice(ClassifyAs.FUND.value, _l("Money for a fund (or an opening balance)")),
    SelectChoice(ClassifyAs.ACCOUNT.value, _l("A transfer between the group's own accounts")),
]

KIND_LABELS = {
    review_items.OPENING: _l("Opening balance"),
    "payment": _l("Payment"),
    "fee": _l("Fee"),
    "refund": _l("Refund"),
    "reversal": _l("Reversal"),
    "chargeback": _l("Chargeback"),
    "conversion": _l("Currency conversion"),
    "transfer": _l("Transfer"),
    "payout": _l("Withdrawal"),
    "hold": _l("Hold"),
    "release": _l("Release"),
    "adjustment": _l("Adjustment"),
    "other": _l("Other or unknown"),
}

#: a service refusal's field -> the form field it is shown beside
_FIELDS = {"as_": "choice", "fund": "fund", "category": "category", "account": "account", "public_description": "public_description"}


class ClassifyForm(FlaskForm):  # type: ignore[misc]
    """One choice for the ticked items."""

    choice = SelectField(_l("The chosen items are"), choices=AS_CHOICES, validators=[DataRequired()])
    fund = SelectField(_l("Fund"), validators=[Optional()])
    category = SelectField(_l("Category (spending)"), validators=[Optional()])
    public_description = StringField(_l("Public description (spending; published)"), validators=[Optional(), Length(max=500)])
    private_note = TextAreaField(_l("Private note (spending; treasurers only)"), validators=[Optional(), Length(max=2000)])
    account = SelectField(_l("The other account (transfer between accounts)"), validators=[Optional()])


def _choices(form: ClassifyForm) -> None:
    none = SelectChoice("", "—")
    form.fund.choices = [none, *(SelectChoice(k, label) for k, label in review_items.fund_choices(db.session))]
    form.category.choices = [none, *CATEGORY_CHOICES]
    form.account.choices = [none, *(SelectChoice(a.name, a.name) for a in db.session.scalars(sa.select(Account).order_by(Account.name)))]


def _shape(form: ClassifyForm) -> bool:
    """What each choice needs (the service checks the rest)."""
    needs = {
        ClassifyAs.DISBURSEMENT.value: (
            (form.fund, gettext("Choose the fund the payment was for.")),
            (form.category, gettext("Choose a category.")),
        ),
        ClassifyAs.FUND.value: ((form.fund, gettext("Choose the fund.")),),
        ClassifyAs.ACCOUNT.value: ((form.account, gettext("Choose the other account.")),),
    }.get(form.choice.data, ())
    ok = True
    for field, message in needs:
        if not field.data:
            field.errors.append(message)
            ok = False
    return ok


def _filters() -> dict[str, Any]:
    """The queue's filters from the query string, checked."""
    account = request.args.get("account", "")
    currency = request.args.get("currency", "").strip().upper()
    kind = request.args.get("kind", "")
    after = request.args.get("after", "")
    return {
        "account": int(account) if account.isdigit() else None,
        "currency": currency if len(currency) == 3 and currency.isalpha() else None,
        "kind": kind if kind in KIND_LABELS else None,
        "after": int(after) if after.isdigit() else None,
    }


def _query(filters: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """Query-string arguments for a link to the queue (empty filters left out)."""
    merged = {**filters, **changes}
    return {k: v for k, v in merged.items() if v not in (None, "")}


def _choice(form: ClassifyForm) -> classification.Choice:
    return classification.Choice(
        ClassifyAs(form.choice.data),
        fund=form.fund.data or None,
        category=form.category.data or None,
        public_description=(form.public_description.data or "").strip(),
        private_note=(form.private_note.data or "").strip() or None,
        account=form.account.data or None,
    )


def _refused(form: ClassifyForm, error: TrackerError) -> str | None:
    """Put a service refusal beside its field; return it when it is about the ticked items."""
    name = _FIELDS.get(getattr(error, "field", None) or "")
    if name:
        getattr(form, name).errors.append(str(error))
        return None
    return str(error)


@bp.route("/classify", methods=["GET", "POST"])
@requires(Role.TREASURER)
def classify_page() -> Any:
    """The review items: tick some, choose what they are, check what will be booked, confirm."""
    filters = _filters()
    form = ClassifyForm()
    _choices(form)
    chosen = [int(v) for v in request.form.getlist("item") if v.isdigit()]
    items_error = None
    plan = None
    if form.validate_on_submit():
        if not chosen:
            items_error = gettext("Tick at least one item.")
        elif _shape(form):
            try:
                if request.form.get("confirm") == "1":
                    done = classification.classify(chosen, _choice(form))
                    flash(ngettext(
                        "%(num)d item classified.", "%(num)d items classified.", len(done)
                    ))
                    return redirect(url_for("admin.classify_page", **_query(filters)))
                plan = classification.preview(db.session, chosen, _choice(form))
            except TrackerError as error:
                db.session.rollback()
                items_error = _refused(form, error)
    page = review_items.open_items(
        db.session, account_id=filters["account"], currency=filters["currency"], kind=filters["kind"],
        after=filters["after"], limit=PAGE,
    )
    context = {
        "form": form, "page": page, "plan": plan, "chosen": set(chosen), "items_error": items_error,
        "filters": filters, "query": _query(filters), "next_query": _query(filters, after=page.next_after),
        "first_query": _query(filters, after=None),
        # plain rows: the rollback below would expire ORM objects, and the page reload each one
        "accounts": db.session.execute(
            sa.select(Account.id, Account.name).order_by(Account.name)
        ).all(),
        "currencies": review_items.open_currencies(db.session),
        # translated once, not once per row
        "kinds": {k: str(label) for k, label in KIND_LABELS.items()},
        "recent": classification.recent(db.session, limit=20), "undo_form": ActionForm(),
        "as_labels": {c.value: c.label for c in AS_CHOICES},
        "choose_label": gettext("Choose item %(id)d"),  # translated once, filled in for each row
    }
    db.session.rollback()
    return render_template("admin/classify.html", **context)


@bp.post("/classify/<int:entry_id>/undo")
@requires(Role.TREASURER)
def classify_undo(entry_id: int) -> Any:
    """Undo a classification; the item waits again."""
    if ActionForm().validate_on_submit():
        try:
            classification.undo(entry_id)
        except NotFound:
            flash(gettext("There is no such classification."))
        except TrackerError as error:
            flash(str(error))
        else:
            flash(gettext("Classification undone: the item waits again."))
    return redirect(url_for("admin.classify_page"))


# --- transfers between funds ------------------------------------------------------------


class TransferForm(FlaskForm):  # type: ignore[misc]
    """Money moved from one fund to another."""

    source = SelectField(_l("From fund"), validators=[DataRequired()])
    target = SelectField(_l("To fund"), validators=[DataRequired()])
    currency = StringField(_l("Currency"), validators=[DataRequired(), Length(min=3, max=3)])
    amount = StringField(_l("Amount"), validators=[DataRequired(), Length(max=32)])
    reason = StringField(_l("Reason (public)"), validators=[DataRequired(), Length(max=500)])


@bp.route("/transfers", methods=["GET", "POST"])
@requires(Role.TREASURER)
def transfers_page() -> Any:
    """Move money between funds (a prisoner released, a fund closed), with a public reason."""
    form = TransferForm()
    funds = [SelectChoice(k, label) for k, label in review_items.fund_choices(db.session)]
    form.source.choices = funds
    form.target.choices = funds
    if form.validate_on_submit():
        parsed = amount_from(form)
        if form.source.data == form.target.data:
            form.target.errors.append(gettext("Choose two different funds."))
        elif not form.reason.data.strip():
            form.reason.errors.append(gettext("Say why the money moves."))
        elif parsed is not None:
            currency, amount = parsed
            try:
                review.transfer(form.source.data, form.target.data, amount, currency, reason=form.reason.data.strip())
            except (MoneyError, TrackerError) as error:
                db.session.rollback()
                form.amount.errors.append(str(error))
            else:
                flash(gettext("Transfer booked: %(amount)s from one fund to the other.", amount=fmt_money(amount, currency)))
                return redirect(url_for("admin.transfers_page"))
    transfers = corrections.recent_transfers(db.session, limit=30)
    db.session.rollback()
    return render_template("admin/transfers.html", form=form, transfers=transfers, undo_form=ActionForm())


@bp.post("/transfers/<int:entry_id>/undo")
@requires(Role.TREASURER)
def transfer_undo(entry_id: int) -> Any:
    """Undo a transfer between funds, if the receiving fund still holds the money."""
    if ActionForm().validate_on_submit():
        try:
            corrections.undo_transfer(entry_id)
        except NotFound:
            flash(gettext("There is no such transfer."))
        except TrackerError as error:
            flash(str(error))
        else:
            flash(gettext("Transfer undone."))
    return redirect(url_for("admin.transfers_page"))
