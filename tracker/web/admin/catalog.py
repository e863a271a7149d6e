"""Campaigns and prisoners: list, create, edit; rules with a live "what would this match" test.

Treasurers do everything here. Organisers see the lists with public facts
only (tags, titles, names, public or not): no goals or progress (those are
live totals), no rules, no payment notes, and no edit pages. Admins, who
manage users, are not let in.

Every change goes through :mod:`tracker.services.campaigns` inside one unit
of work, which writes the audit log; its field errors are shown beside the
field they name, and nothing is stored when one is raised.

May import: Flask, Flask-WTF, services, models (read-only queries), :mod:`tracker.web.admin`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    Field,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from tracker import money
from tracker.errors import Conflict, MoneyError, NotFound, TrackerError
from tracker.extensions import db
from tracker.i18n import gettext
from tracker.importers.cells import mark_evidence
from tracker.models import (
    Campaign,
    CampaignPrisoner,
    Prisoner,
    Role,
    RuleKind,
    TagRule,
)
from tracker.records import Provider
from tracker.services import campaigns as catalog
from tracker.services import totals, unit_of_work
from tracker.tagging import Rule, RuleError
from tracker.web.admin.access import requires
from tracker.web.admin.catalog_preview import STATUS, Draft, draft_tagger, recent_preview, try_sample
from tracker.web.admin.money_pages import amount_from
from tracker.web.admin.views import bp

TEXT_FIELDS = ("note", "subject", "item_title", "description", "remittance")
PROVIDER_CHOICES = [SelectChoice(p.value, p.value) for p in Provider]
FIELD_CHOICES = [SelectChoice(f, f) for f in TEXT_FIELDS]
KIND_CHOICES = [
    SelectChoice(RuleKind.ALIAS.value, _l("Alias: a word or phrase")),
    SelectChoice(RuleKind.TAG.value, _l("Tag: another tag of this campaign")),
    SelectChoice(RuleKind.REGEX.value, _l("Regular expression")),
]


class Checkboxes(SelectMultipleField):  # type: ignore[misc]
    """A choice of several, as checkboxes (works without JavaScript)."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def _today() -> date:
    return datetime.now(UTC).date()


class CampaignDetails(FlaskForm):  # type: ignore[misc]
    """What a treasurer can change about a campaign."""

    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("Public description"), validators=[Optional(), Length(max=5000)])
    aliases = TextAreaField(_l("Aliases, one per line (other words that mean this campaign)"), validators=[Optional(), Length(max=5000)])
    starts_on = DateField(_l("First day"), validators=[Optional()])
    ends_on = DateField(_l("Last day"), validators=[Optional()])
    currency = StringField(_l("Goal currency"), validators=[Optional(), Length(min=3, max=3)])
    amount = StringField(_l("Goal amount"), validators=[Optional(), Length(max=32)])
    public = BooleanField(_l("Show it on the public pages"), default=True)


class NewCampaignForm(CampaignDetails):
    """A new campaign: its tag too (which never changes afterwards)."""

    tag = StringField(_l("Tag (what donors write, e.g. 205)"), validators=[DataRequired(), Length(max=64)])


class EditCampaignForm(CampaignDetails):
    """The edit page: details, a new rule, rules to remove, and a sample text to test."""

    rule_kind = SelectField(_l("Kind"), choices=KIND_CHOICES, default=RuleKind.ALIAS.value)
    pattern = StringField(_l("Pattern"), validators=[Optional(), Length(max=500)])
    priority = IntegerField(_l("Priority (orders this campaign's matches only)"), default=0, validators=[Optional(), NumberRange(-1000, 1000)])
    rule_from = DateField(_l("Applies from"), validators=[Optional()])
    rule_until = DateField(_l("Applies until"), validators=[Optional()])
    rule_providers = Checkboxes(_l("Only for these providers (none ticked: all)"), choices=PROVIDER_CHOICES)
    rule_fields = Checkboxes(_l("Only in these fields (none ticked: all)"), choices=FIELD_CHOICES)
    sample = TextAreaField(_l("A sample payment note"), validators=[Optional(), Length(max=2000)])
    sample_provider = SelectField(_l("As if paid through"), choices=PROVIDER_CHOICES, default=Provider.PAYPAL.value)
    sample_field = SelectField(_l("In the field"), choices=FIELD_CHOICES, default="note")
    sample_on = DateField(_l("On"), validators=[Optional()], default=_today)


class WeightForm(FlaskForm):  # type: ignore[misc]
    """A prisoner's new weight in a campaign from a date."""

    prisoner = SelectField(_l("Prisoner"), validators=[DataRequired()])
    weight = StringField(_l("New weight (0 ends the support)"), validators=[DataRequired(), Length(max=16)])
    since = DateField(_l("From"), validators=[DataRequired()], default=_today)


class PrisonerForm(FlaskForm):  # type: ignore[misc]
    """A prisoner's name, visibility and public description."""

    name = StringField(_l("Name as shown"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("Public description"), validators=[Optional(), Length(max=5000)])
    public = BooleanField(_l("Show on the public pages"), default=True)


class NewPrisonerForm(PrisonerForm):
    """A new prisoner: the slug too (which never changes afterwards)."""

    slug = StringField(_l("Slug (lower-case letters, digits and hyphens; used in addresses)"), validators=[DataRequired(), Length(max=80)])


# --- helpers ---------------------------------------------------------------------------


def parse_weight(text: str, *, allow_zero: bool = False) -> Decimal:
    """A weight with either decimal mark, at most 4 decimals, positive (or 0 where allowed)."""
    value = money.parse_amount(text, decimal_mark=mark_evidence(text) or ".")
    if value != value.quantize(Decimal("0.0001")):
        raise MoneyError(gettext("a weight has at most 4 decimals"))
    if value < 0 or (value == 0 and not allow_zero):
        raise MoneyError(gettext("a weight must be positive") if not allow_zero else gettext("a weight cannot be negative"))
    return value


def _goal(form: CampaignDetails) -> tuple[bool, tuple[str, Decimal] | None]:
    """(valid, goal): both goal fields blank mean no goal; one without the other is an error."""
    currency, amount = (form.currency.data or "").strip(), (form.amount.data or "").strip()
    if not currency and not amount:
        return True, None
    if not amount:
        form.amount.errors.append(gettext("give the goal's amount, or clear the currency too"))
        return False, None
    if not currency:
        form.currency.errors.append(gettext("give the goal's currency, or clear the amount too"))
        return False, None
    parsed = amount_from(SimpleNamespace(amount=form.amount, currency=form.currency))
    return parsed is not None, parsed


def _window_ok(form: CampaignDetails) -> bool:
    if form.starts_on.data and form.ends_on.data and form.ends_on.data < form.starts_on.data:
        form.ends_on.errors.append(gettext("the campaign ends before it starts"))
        return False
    return True


def _aliases(form: CampaignDetails) -> list[str]:
    return [line.strip() for line in (form.aliases.data or "").splitlines() if line.strip()]


def _place(form: FlaskForm, error: TrackerError, mapping: dict[str, str] | None = None) -> None:
    """Show a service error beside its field (or above the form)."""
    name = getattr(error, "field", None)
    name = (mapping or {}).get(name or "", name)
    message = getattr(error, "message", None) or str(error)
    target: Field | None = form._fields.get(name) if name else None
    if target is None:
        form.form_errors.append(message)
    else:
        target.errors.append(message)


def _campaign_or_404(campaign_id: int) -> Campaign:
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        abort(404)
    return campaign


def _weights(campaign_ids: list[int]) -> dict[int, list[tuple[Prisoner, CampaignPrisoner]]]:
    """Each campaign's weights in force today or later, by prisoner."""
    today = _today()
    out: dict[int, list[tuple[Prisoner, CampaignPrisoner]]] = {}
    rows = db.session.execute(
        sa.select(Prisoner, CampaignPrisoner)
        .join(CampaignPrisoner, CampaignPrisoner.prisoner_id == Prisoner.id)
        .where(CampaignPrisoner.campaign_id.in_(campaign_ids), sa.or_(CampaignPrisoner.valid_until.is_(None), CampaignPrisoner.valid_until > today))
        .order_by(Prisoner.slug, CampaignPrisoner.valid_from)
    )
    for prisoner, row in rows:
        out.setdefault(row.campaign_id, []).append((prisoner, row))
    return out


class Progress(SimpleNamespace):
    """A campaign's goal and what it raised in the goal's currency, for the goal_progress macro."""

    def progress(self) -> tuple[str, Decimal, Decimal, int] | None:
        """(currency, raised, goal, percent)."""
        if not self.currency:
            return None
        percent = int(self.raised * 100 / self.goal)
        return self.currency, self.raised, self.goal, percent


# --- campaigns ----------------------------------------------------------------------------


@bp.get("/campaigns")
@requires(Role.TREASURER, Role.ORGANISER)
def campaigns_page() -> Any:
    """Every campaign; treasurers also see goals with live progress and rule counts."""
    treasurer = current_user.role == Role.TREASURER.value
    rows = db.session.scalars(sa.select(Campaign).order_by(Campaign.tag)).all()
    ids = [c.id for c in rows]
    weights = _weights(ids)
    rules: dict[int, int] = {}
    progress: dict[int, Progress] = {}
    if treasurer:
        rules = dict(
            db.session.execute(
                sa.select(TagRule.campaign_id, sa.func.count()).where(TagRule.active).group_by(TagRule.campaign_id)
            ).tuples().all()
        )
        raised = totals.raised_by_campaign(db.session, ids)
        for c in rows:
            if c.goal_currency and c.goal_amount:
                got = raised.get(c.id, {}).get(c.goal_currency, money.ZERO)
                progress[c.id] = Progress(currency=c.goal_currency, raised=got, goal=c.goal_amount)
    db.session.rollback()
    return render_template(
        "admin/campaigns.html", campaigns=rows, weights=weights, rules=rules, progress=progress, treasurer=treasurer, today=_today()
    )


@bp.route("/campaigns/new", methods=["GET", "POST"])
@requires(Role.TREASURER)
def campaign_new() -> Any:
    """Create a campaign: tag, title, aliases, prisoners with weights, window, goal, visibility."""
    form = NewCampaignForm()
    prisoners = db.session.scalars(sa.select(Prisoner).order_by(Prisoner.slug)).all()
    weight_text = {p.slug: (request.form.get(f"weight-{p.slug}") or "").strip() for p in prisoners}
    weight_errors: dict[str, str] = {}
    if request.method == "POST":
        shares = []
        for slug, text in weight_text.items():
            if not text:
                continue
            try:
                shares.append(catalog.PrisonerShare(slug, parse_weight(text)))
            except MoneyError as error:
                weight_errors[slug] = str(error)
        valid = form.validate_on_submit()
        goal_ok, goal = _goal(form)
        if valid and goal_ok and _window_ok(form) and not weight_errors:
            try:
                with unit_of_work() as session:
                    campaign = catalog.create_campaign(
                        session, form.tag.data, form.title.data, aliases=_aliases(form), prisoners=shares,
                        starts_on=form.starts_on.data, ends_on=form.ends_on.data, goal=goal,
                        public=bool(form.public.data), description=(form.description.data or "").strip(),
                    )
                    campaign_id = campaign.id
            except (Conflict, NotFound) as error:
                _place(form, error, {"goal": "amount", "prisoners": "form"})
            else:
                flash(gettext("Campaign %(tag)s created.", tag=form.tag.data.strip()))
                return redirect(url_for("admin.campaign_edit", campaign_id=campaign_id))
    return render_template(
        "admin/campaign_new.html", form=form, prisoners=prisoners, weight_text=weight_text, weight_errors=weight_errors
    )


def _draft(form: EditCampaignForm, campaign: Campaign, *, check: bool) -> tuple[Draft | None, bool]:
    """The page's draft of the campaign's rules, and whether the form is valid.

    With ``check``, the aliases and the new rule are validated as saving
    would (field errors set); a new rule with a pattern becomes part of the draft.
    """
    ok = _window_ok(form)
    aliases = _aliases(form)
    try:
        aliases = catalog.checked_aliases(db.session, campaign, campaign.tag, aliases)
    except Conflict as error:
        _place(form, error)
        ok = False
    removed = frozenset(int(v) for v in request.form.getlist("remove_rule") if v.isdigit())
    rule = None
    pattern = (form.pattern.data or "").strip()
    if pattern:
        if form.rule_from.data and form.rule_until.data and form.rule_until.data < form.rule_from.data:
            form.rule_until.errors.append(gettext("the rule ends before it starts"))
            ok = False
        rule = Rule(
            None, campaign.tag, form.rule_kind.data, pattern,
            providers=frozenset(form.rule_providers.data) or None, fields=frozenset(form.rule_fields.data) or None,
            valid_from=form.rule_from.data, valid_until=form.rule_until.data, priority=form.priority.data or 0,
        )
    if not ok and check:
        return None, False
    return Draft(campaign, aliases, form.starts_on.data, form.ends_on.data, removed, rule), ok


def _render_edit(campaign: Campaign, form: EditCampaignForm, weight_form: WeightForm, **preview: Any) -> str:
    rules = db.session.scalars(
        sa.select(TagRule).where(TagRule.campaign_id == campaign.id, TagRule.active).order_by(TagRule.id)
    ).all()
    other_rules = [r for r in rules if not (r.kind == RuleKind.ALIAS.value and not r.providers and not r.fields)]
    history = db.session.execute(
        sa.select(Prisoner, CampaignPrisoner)
        .join(CampaignPrisoner, CampaignPrisoner.prisoner_id == Prisoner.id)
        .where(CampaignPrisoner.campaign_id == campaign.id)
        .order_by(Prisoner.slug, CampaignPrisoner.valid_from)
    ).all()
    removed = {int(v) for v in request.form.getlist("remove_rule") if v.isdigit()}
    page = render_template(
        "admin/campaign_edit.html", campaign=campaign, form=form, weight_form=weight_form, rules=other_rules,
        removed=removed, history=history, today=_today(), status=STATUS, **preview,
    )
    db.session.rollback()
    return page


def _weight_form(campaign: Campaign) -> WeightForm:
    form = WeightForm(prefix="w")
    form.prisoner.choices = [SelectChoice(p.slug, f"{p.name} ({p.slug})") for p in db.session.scalars(sa.select(Prisoner).order_by(Prisoner.slug))]
    return form


@bp.route("/campaigns/<int:campaign_id>", methods=["GET", "POST"])
@requires(Role.TREASURER)
def campaign_edit(campaign_id: int) -> Any:
    """Edit a campaign and its rules; "Test" shows what the edits would match before "Save"."""
    campaign = _campaign_or_404(campaign_id)
    weight_form = _weight_form(campaign)
    if request.method == "GET":
        form = EditCampaignForm(obj=campaign, formdata=None)
        form.aliases.data = "\n".join(catalog.aliases_of(db.session, campaign))
        form.currency.data = campaign.goal_currency or ""
        form.amount.data = money.to_string(campaign.goal_amount, campaign.goal_currency) if campaign.goal_amount and campaign.goal_currency else ""
        return _render_edit(campaign, form, weight_form)
    form = EditCampaignForm()
    if not form.validate_on_submit():
        return _render_edit(campaign, form, weight_form)
    if request.form.get("action") == "save":
        return _save(campaign, form, weight_form)
    return _test(campaign, form, weight_form)


def _test(campaign: Campaign, form: EditCampaignForm, weight_form: WeightForm) -> Any:
    draft, ok = _draft(form, campaign, check=False)
    if not ok or draft is None:
        return _render_edit(campaign, form, weight_form)
    try:
        tagger = draft_tagger(db.session, draft)
    except RuleError as error:
        form.pattern.errors.append(error.message)
        return _render_edit(campaign, form, weight_form)
    sample = None
    if (form.sample.data or "").strip():
        sample = try_sample(
            tagger, form.sample.data, field_name=form.sample_field.data, provider=form.sample_provider.data,
            on=form.sample_on.data or _today(),
        )
    before = request.form.get("before", "")
    rows, more = recent_preview(db.session, draft, tagger, before=int(before) if before.isdigit() else None)
    return _render_edit(campaign, form, weight_form, sample=sample, recent=rows, more=more, tested=True)


def _save(campaign: Campaign, form: EditCampaignForm, weight_form: WeightForm) -> Any:
    draft, ok = _draft(form, campaign, check=True)
    goal_ok, goal = _goal(form)
    if not ok or not goal_ok or draft is None:
        return _render_edit(campaign, form, weight_form)
    try:
        with unit_of_work() as session:
            row = session.get(Campaign, campaign.id)
            assert row is not None
            catalog.change_campaign(
                session, row, title=form.title.data, description=(form.description.data or "").strip(),
                starts_on=form.starts_on.data, ends_on=form.ends_on.data, goal=goal, public=bool(form.public.data),
                aliases=_aliases(form),
            )
            ours = set(session.scalars(sa.select(TagRule.id).where(TagRule.campaign_id == row.id, TagRule.active)))
            for rule_id in sorted(draft.removed & ours):
                catalog.deactivate_rule(session, rule_id)
            if draft.rule is not None:
                new = draft.rule
                catalog.create_rule(
                    session, row, new.kind, new.pattern, providers=sorted(new.providers or ()) or None,
                    fields=sorted(new.fields or ()) or None, valid_from=new.valid_from, valid_until=new.valid_until,
                    priority=new.priority,
                )
    except (Conflict, NotFound) as error:
        _place(form, error, {"goal": "amount", "tag": "pattern"})
        return _render_edit(campaign, form, weight_form)
    flash(gettext("Campaign %(tag)s saved.", tag=campaign.tag))
    return redirect(url_for("admin.campaign_edit", campaign_id=campaign.id))


@bp.post("/campaigns/<int:campaign_id>/weights")
@requires(Role.TREASURER)
def campaign_weight(campaign_id: int) -> Any:
    """Give a prisoner a new weight from a date; earlier periods are closed, never rewritten."""
    campaign = _campaign_or_404(campaign_id)
    weight_form = _weight_form(campaign)
    if weight_form.validate_on_submit():
        try:
            weight = parse_weight(weight_form.weight.data, allow_zero=True)
            catalog.change_weight(campaign.tag, weight_form.prisoner.data, weight, since=weight_form.since.data)
        except MoneyError as error:
            weight_form.weight.errors.append(str(error))
        except (Conflict, NotFound) as error:
            target = weight_form.weight if getattr(error, "field", None) == "weight" else weight_form.since
            target.errors.append(getattr(error, "message", None) or str(error))
        else:
            flash(gettext("From %(day)s, %(slug)s has weight %(weight)s. Donations already booked keep their split until they are re-allocated.",
                          day=weight_form.since.data.isoformat(), slug=weight_form.prisoner.data, weight=format(weight.normalize(), "f")))
            return redirect(url_for("admin.campaign_edit", campaign_id=campaign.id))
    form = EditCampaignForm(obj=campaign, formdata=None)
    form.aliases.data = "\n".join(catalog.aliases_of(db.session, campaign))
    form.currency.data = campaign.goal_currency or ""
    form.amount.data = money.to_string(campaign.goal_amount, campaign.goal_currency) if campaign.goal_amount and campaign.goal_currency else ""
    return _render_edit(campaign, form, weight_form)


# --- prisoners ------------------------------------------------------------------------------


@bp.get("/prisoners")
@requires(Role.TREASURER, Role.ORGANISER)
def prisoners_page() -> Any:
    """Every prisoner, public or not, with the campaigns that support them now."""
    prisoners = db.session.scalars(sa.select(Prisoner).order_by(Prisoner.slug)).all()
    today = _today()
    supported: dict[int, list[str]] = {}
    for prisoner_id, tag in db.session.execute(
        sa.select(CampaignPrisoner.prisoner_id, Campaign.tag)
        .join(Campaign, Campaign.id == CampaignPrisoner.campaign_id)
        .where(sa.or_(CampaignPrisoner.valid_until.is_(None), CampaignPrisoner.valid_until > today))
        .order_by(Campaign.tag)
        .distinct()
    ):
        supported.setdefault(prisoner_id, []).append(tag)
    db.session.rollback()
    return render_template("admin/prisoners.html", prisoners=prisoners, supported=supported, treasurer=current_user.role == Role.TREASURER.value)


@bp.route("/prisoners/new", methods=["GET", "POST"])
@requires(Role.TREASURER)
def prisoner_new() -> Any:
    """Add a prisoner and their fund."""
    form = NewPrisonerForm()
    if form.validate_on_submit():
        try:
            with unit_of_work() as session:
                catalog.create_prisoner(
                    session, form.slug.data.strip(), form.name.data, public=bool(form.public.data),
                    description=(form.description.data or "").strip(),
                )
        except Conflict as error:
            _place(form, error)
        else:
            flash(gettext("Prisoner %(slug)s added.", slug=form.slug.data.strip()))
            return redirect(url_for("admin.prisoners_page"))
    return render_template("admin/prisoner_edit.html", form=form, prisoner=None)


@bp.route("/prisoners/<int:prisoner_id>", methods=["GET", "POST"])
@requires(Role.TREASURER)
def prisoner_edit(prisoner_id: int) -> Any:
    """Change a prisoner's name, visibility and description (the slug stays)."""
    prisoner = db.session.get(Prisoner, prisoner_id)
    if prisoner is None:
        abort(404)
    form = PrisonerForm(obj=prisoner)
    if form.validate_on_submit():
        try:
            with unit_of_work() as session:
                row = session.get(Prisoner, prisoner_id)
                assert row is not None
                catalog.change_prisoner(session, row, name=form.name.data, public=bool(form.public.data), description=(form.description.data or "").strip())
        except Conflict as error:
            _place(form, error)
        else:
            flash(gettext("Prisoner %(slug)s saved.", slug=prisoner.slug))
            return redirect(url_for("admin.prisoners_page"))
    page = render_template("admin/prisoner_edit.html", form=form, prisoner=prisoner)
    db.session.rollback()
    return page
