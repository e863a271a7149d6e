"""Manual entries: cash donations, solidarity events and their takings.

Organisers record events; treasurers record the money (cash gifts, takings).
Each cash gift counts as its own donor in publications; takings appear as
the event's own figure, never inside donor cells.

May import: Flask, Flask-WTF, services, models (read-only queries), :mod:`tracker.web.admin`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from tracker.errors import TrackerError
from tracker.extensions import db
from tracker.i18n import gettext
from tracker.models import Account, Campaign, Destination, DonationOrigin, Event, Role
from tracker.services import audit, unit_of_work
from tracker.services.donations import NewDonation, create_donation
from tracker.web.admin.access import requires
from tracker.web.admin.money_pages import amount_from
from tracker.web.admin.views import bp


def _campaign_choices(with_review: bool) -> list[SelectChoice]:
    choices = [SelectChoice(c.tag, f"{c.tag} · {c.title}") for c in db.session.scalars(sa.select(Campaign).order_by(Campaign.tag))]
    choices.append(SelectChoice("general", gettext("The general fund")))
    if with_review:
        choices.append(SelectChoice("review", gettext("Not decided yet (review)")))
    return choices


class CashForm(FlaskForm):  # type: ignore[misc]
    """A cash (or other manual) donation."""

    account = SelectField(_l("Received into account"), validators=[DataRequired()])
    received_on = DateField(_l("Received on"), validators=[DataRequired()], default=date.today)
    currency = StringField(_l("Currency"), validators=[DataRequired(), Length(min=3, max=3)])
    amount = StringField(_l("Amount"), validators=[DataRequired(), Length(max=32)])
    campaign = SelectField(_l("For"))


@bp.route("/cash", methods=["GET", "POST"])
@requires(Role.TREASURER)
def cash_page() -> Any:
    """Record a cash donation; it counts as its own donor."""
    form = CashForm()
    form.account.choices = [SelectChoice(str(a.id), a.name) for a in db.session.scalars(sa.select(Account).order_by(Account.name))]
    form.campaign.choices = _campaign_choices(with_review=True)
    if form.validate_on_submit() and (parsed := amount_from(form)) is not None:
        currency, amount = parsed
        try:
            with unit_of_work() as session:
                campaign = session.scalar(sa.select(Campaign).where(Campaign.tag == form.campaign.data))
                destination = Destination.CAMPAIGN if campaign else Destination(form.campaign.data if form.campaign.data in ("general", "review") else "general")
                gift = create_donation(
                    session,
                    NewDonation(
                        account=session.get(Account, int(form.account.data)),
                        received_at=datetime.combine(form.received_on.data, time(12), UTC),
                        currency=currency,
                        gross=amount,
                        destination=destination,
                        campaign_id=campaign.id if campaign else None,
                        origin=DonationOrigin.MANUAL,
                    ),
                )
                audit.record(session, "donation.manual", "donation", gift.id, after={"currency": currency, "gross": str(amount)})
        except TrackerError as error:
            form.amount.errors.append(str(error))
        else:
            flash(gettext("Cash donation recorded."))
            return redirect(url_for("admin.cash_page"))
    return render_template("admin/cash.html", form=form)


class EventForm(FlaskForm):  # type: ignore[misc]
    """A solidarity event."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    held_on = DateField(_l("Date"), validators=[DataRequired()])
    place = StringField(_l("Place"), validators=[Optional(), Length(max=200)])
    campaign = SelectField(_l("For"))
    public = BooleanField(_l("Show it on the public pages"), default=True)


class TakingsForm(FlaskForm):  # type: ignore[misc]
    """Money an event took."""

    account = SelectField(_l("Received into account"), validators=[DataRequired()])
    currency = StringField(_l("Currency"), validators=[DataRequired(), Length(min=3, max=3)])
    amount = StringField(_l("Amount"), validators=[DataRequired(), Length(max=32)])


@bp.route("/events", methods=["GET", "POST"])
@requires(Role.ORGANISER, Role.TREASURER)
def events_page() -> Any:
    """Organisers record events; everyone here sees the list."""
    form = EventForm()
    form.campaign.choices = _campaign_choices(with_review=False)
    if form.validate_on_submit():
        with unit_of_work() as session:
            campaign = session.scalar(sa.select(Campaign).where(Campaign.tag == form.campaign.data))
            event = Event(
                name=form.name.data.strip(), held_on=form.held_on.data, place=(form.place.data or "").strip(),
                campaign_id=campaign.id if campaign else None, public=bool(form.public.data), created_by=audit.actor(),
            )
            session.add(event)
            session.flush()
            audit.record(session, "event.add", "event", event.id, after={"name": event.name, "held_on": event.held_on.isoformat()})
        flash(gettext("Event recorded."))
        return redirect(url_for("admin.events_page"))
    events = db.session.scalars(sa.select(Event).order_by(Event.held_on.desc(), Event.id.desc()).limit(200)).all()
    tags = dict(db.session.execute(sa.select(Campaign.id, Campaign.tag)).tuples().all())
    db.session.rollback()
    return render_template("admin/events.html", form=form, events=events, tags=tags)


@bp.route("/events/<int:event_id>/takings", methods=["GET", "POST"])
@requires(Role.TREASURER)
def takings_page(event_id: int) -> Any:
    """The treasurer books what the event took (its campaign's funds, or the general fund)."""
    event = db.session.get(Event, event_id)
    if event is None:
        abort(404)
    form = TakingsForm()
    form.account.choices = [SelectChoice(str(a.id), a.name) for a in db.session.scalars(sa.select(Account).order_by(Account.name))]
    if form.validate_on_submit() and (parsed := amount_from(form)) is not None:
        currency, amount = parsed
        with unit_of_work() as session:
            gift = create_donation(
                session,
                NewDonation(
                    account=session.get(Account, int(form.account.data)),
                    received_at=datetime.combine(event.held_on, time(23), UTC),
                    currency=currency,
                    gross=amount,
                    destination=Destination.CAMPAIGN if event.campaign_id else Destination.GENERAL,
                    campaign_id=event.campaign_id,
                    origin=DonationOrigin.EVENT,
                    event_id=event.id,
                ),
            )
            audit.record(session, "event.takings", "event", event.id, after={"donation": gift.id, "currency": currency, "gross": str(amount)})
        flash(gettext("Takings recorded."))
        return redirect(url_for("admin.events_page"))
    return render_template("admin/takings.html", form=form, event=event)
