"""Prisoners, campaigns and how a campaign's money splits over funds.

A campaign with prisoners splits each donation over its prisoners' funds by
the weights in force on the donation's date; a campaign without prisoners in
force keeps it in its own pool fund.

May import: models, :mod:`tracker.money`, ledger and audit services.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker import money
from tracker.errors import Conflict, MoneyError, NotFound
from tracker.i18n import gettext as _
from tracker.models import (
    Campaign,
    CampaignPrisoner,
    Destination,
    Fund,
    FundKind,
    LedgerKind,
    Prisoner,
    RuleKind,
    TagRule,
)
from tracker.services import audit, unit_of_work
from tracker.services.ledger import general_fund, new_ledger_account, review_fund
from tracker.tagging import Rule, RuleError
from tracker.tagging.rules import pattern_keys

_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
_TAG_RE = re.compile(r"^[^\s\x00-\x1f]{1,64}$")


class FieldConflict(Conflict):
    """A Conflict about one input, so a form can show the message beside that field.

    ``field`` names the input: tag, title, aliases, ends_on, goal, prisoners,
    pattern, slug, name or weight.
    """

    def __init__(self, message: str, field: str) -> None:
        """Create the error; ``message`` is already translated."""
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True, slots=True)
class PrisonerShare:
    """A prisoner's slug and weight, as given on the command line (SLUG[:WEIGHT])."""

    slug: str
    weight: Decimal = Decimal(1)

    @classmethod
    def parse(cls, text: str) -> PrisonerShare:
        """Read ``slug`` or ``slug:weight`` (weight a positive decimal)."""
        slug, sep, weight = text.partition(":")
        if not sep:
            return cls(slug.strip())
        try:
            value = money.parse_amount(weight)
        except MoneyError as exc:
            raise Conflict(f"weight of {slug!r}: {exc}") from None
        if value <= 0 or value != value.quantize(Decimal("0.0001")):
            raise Conflict(f"weight of {slug!r} must be positive with at most 4 decimals")
        return cls(slug.strip(), value)


def create_prisoner(
    session: Session, slug: str, name: str, *, public: bool = True, description: str = ""
) -> Prisoner:
    """Create a prisoner and their fund (flush only)."""
    if not _SLUG_RE.match(slug):
        raise FieldConflict(_("a slug is lower-case letters, digits and hyphens (at most 80)"), "slug")
    if not name.strip():
        raise FieldConflict(_("a prisoner needs a name"), "name")
    if session.scalar(sa.select(Prisoner.id).where(Prisoner.slug == slug)) is not None:
        raise FieldConflict(_("a prisoner with slug %(slug)s already exists", slug=repr(slug)), "slug")
    prisoner = Prisoner(slug=slug, name=name.strip(), public=public, description=description)
    session.add(prisoner)
    session.flush()
    la = new_ledger_account(session, LedgerKind.FUND, f"fund:prisoner:{slug}")
    session.add(
        Fund(kind=FundKind.PRISONER.value, name=prisoner.name, prisoner_id=prisoner.id, ledger_account_id=la.id)
    )
    session.flush()
    audit.record(
        session, "prisoner.add", "prisoner", prisoner.id, after={"slug": slug, "public": public}
    )
    return prisoner


def add_prisoner(slug: str, name: str, *, public: bool = True) -> Prisoner:
    """Create a prisoner (one unit of work)."""
    with unit_of_work() as session:
        return create_prisoner(session, slug, name, public=public)


def get_prisoner(session: Session, slug: str) -> Prisoner:
    """The prisoner with this slug, or :class:`NotFound`."""
    prisoner = session.scalar(sa.select(Prisoner).where(Prisoner.slug == slug))
    if prisoner is None:
        raise NotFound(f"no prisoner with slug {slug!r}")
    return prisoner


def _pattern_key(campaign: str, kind: str, pattern: str, field: str) -> str:
    """The normalised key of a tag or alias, or a :class:`FieldConflict` saying what is wrong."""
    try:
        return pattern_keys(Rule(None, campaign, kind, pattern)).key
    except RuleError as exc:
        raise FieldConflict(exc.message, field) from None


def _check_names(session: Session, campaign_id: int | None, names: Sequence[tuple[str, str, str]]) -> None:
    """Refuse a tag or alias that another campaign's active tag or alias already means.

    ``names`` are (kind, pattern, field); two campaigns answering to one word
    would send every gift that says it to review.
    """
    taken: dict[str, str] = {}
    rows = session.execute(
        sa.select(TagRule.kind, TagRule.pattern, Campaign.tag)
        .join(Campaign, Campaign.id == TagRule.campaign_id)
        .where(TagRule.active, TagRule.kind != RuleKind.REGEX.value, Campaign.id != (campaign_id or 0))
    )
    for kind, pattern, tag in rows:
        try:
            taken.setdefault(pattern_keys(Rule(None, tag, kind, pattern)).key, tag)
        except RuleError:  # pragma: no cover - stored rules were checked when saved
            continue
    for kind, pattern, field in names:
        other = taken.get(_pattern_key("?", kind, pattern, field))
        if other is not None:
            raise FieldConflict(_("%(name)s already means campaign %(tag)s", name=repr(pattern), tag=other), field)


def create_campaign(
    session: Session,
    tag: str,
    title: str,
    *,
    aliases: Sequence[str] = (),
    prisoners: Sequence[PrisonerShare] = (),
    starts_on: date | None = None,
    ends_on: date | None = None,
    goal: tuple[str, Decimal] | None = None,
    public: bool = True,
    description: str = "",
) -> Campaign:
    """Create a campaign, its tag and alias rules, and its prisoners' weights (flush only).

    Raises:
        FieldConflict: naming the input that is wrong (tag, title, aliases, ends_on, goal, prisoners).
    """
    tag = tag.strip()
    if not _TAG_RE.match(tag):
        raise FieldConflict(_("a tag is 1 to 64 characters without spaces"), "tag")
    if not title.strip():
        raise FieldConflict(_("a campaign needs a title"), "title")
    if starts_on and ends_on and ends_on < starts_on:
        raise FieldConflict(_("the campaign ends before it starts"), "ends_on")
    if session.scalar(sa.select(Campaign.id).where(Campaign.tag == tag)) is not None:
        raise FieldConflict(_("a campaign tagged %(tag)s already exists", tag=repr(tag)), "tag")
    alias_list = _distinct_aliases(tag, aliases)
    names = [(RuleKind.TAG.value, tag, "tag")] + [(RuleKind.ALIAS.value, a, "aliases") for a in alias_list]
    _check_names(session, None, names)
    goal_currency, goal_amount = _goal(goal) if goal is not None else (None, None)
    campaign = Campaign(
        tag=tag, title=title.strip(), description=description, starts_on=starts_on, ends_on=ends_on,
        goal_currency=goal_currency, goal_amount=goal_amount, public=public,
    )
    session.add(campaign)
    session.flush()
    patterns = [(RuleKind.TAG, tag)] + [(RuleKind.ALIAS, a) for a in alias_list]
    for kind, pattern in patterns:
        session.add(TagRule(campaign_id=campaign.id, kind=kind.value, pattern=pattern, valid_from=starts_on, valid_until=ends_on))
    seen: set[str] = set()
    for share in prisoners:
        if share.slug in seen:
            raise FieldConflict(_("prisoner %(slug)s is listed twice", slug=repr(share.slug)), "prisoners")
        if share.weight <= 0:
            raise FieldConflict(_("the weight of %(slug)s must be positive", slug=share.slug), "prisoners")
        seen.add(share.slug)
        prisoner = get_prisoner(session, share.slug)
        session.add(CampaignPrisoner(campaign_id=campaign.id, prisoner_id=prisoner.id, weight=share.weight, valid_from=None))
    session.flush()
    audit.record(session, "campaign.add", "campaign", campaign.id, after={
        "tag": tag, "aliases": alias_list, "prisoners": {s.slug: str(s.weight) for s in prisoners},
        "starts_on": starts_on.isoformat() if starts_on else None, "ends_on": ends_on.isoformat() if ends_on else None,
        "public": public,
    })
    return campaign


def _distinct_aliases(tag: str, aliases: Sequence[str]) -> list[str]:
    """Aliases stripped, checked, and without repeats (by normalised key, the tag's own included)."""
    keys = {_pattern_key(tag, RuleKind.TAG.value, tag, "tag")}
    kept = []
    for alias in (a.strip() for a in aliases):
        if alias and (key := _pattern_key(tag, RuleKind.ALIAS.value, alias, "aliases")) not in keys:
            keys.add(key)
            kept.append(alias)
    return kept


def checked_aliases(session: Session, campaign: Campaign | None, tag: str, aliases: Sequence[str]) -> list[str]:
    """Aliases as :func:`change_campaign` would store them, or the :class:`FieldConflict` it would raise."""
    kept = _distinct_aliases(tag, aliases)
    _check_names(session, campaign.id if campaign else None, [(RuleKind.ALIAS.value, a, "aliases") for a in kept])
    return kept


def _goal(goal: tuple[str, Decimal]) -> tuple[str, Decimal]:
    """A goal's currency and amount, exact and positive."""
    try:
        currency = money.normalise_currency(goal[0])
        amount = money.quantize(goal[1], currency)
    except MoneyError as exc:
        raise FieldConflict(str(exc), "goal") from None
    if amount <= 0:
        raise FieldConflict(_("a goal must be positive"), "goal")
    return currency, amount


def add_campaign(tag: str, title: str, **options: object) -> Campaign:
    """Create a campaign (one unit of work); options as :func:`create_campaign`."""
    with unit_of_work() as session:
        return create_campaign(session, tag, title, **options)  # type: ignore[arg-type]


def add_weight(
    session: Session,
    campaign: Campaign,
    prisoner: Prisoner,
    weight: Decimal,
    *,
    since: date | None = None,
    until: date | None = None,
) -> CampaignPrisoner:
    """Give a prisoner a weight in a campaign for a period (flush only).

    Periods of one prisoner in one campaign never overlap, so exactly one
    weight (or none) is in force on any date.
    """
    if weight <= 0:
        raise Conflict("a weight must be positive")
    if since and until and until <= since:
        raise Conflict("a weight's period ends before it starts")
    lo, hi = since or date.min, until or date.max
    for other in session.scalars(
        sa.select(CampaignPrisoner).where(
            CampaignPrisoner.campaign_id == campaign.id, CampaignPrisoner.prisoner_id == prisoner.id
        )
    ):
        other_lo, other_hi = other.valid_from or date.min, other.valid_until or date.max
        if lo < other_hi and other_lo < hi:
            raise Conflict(
                f"{prisoner.slug} already has a weight in {campaign.tag} for part of that period"
            )
    row = CampaignPrisoner(
        campaign_id=campaign.id, prisoner_id=prisoner.id, weight=weight, valid_from=since, valid_until=until
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        "campaign.weight",
        "campaign",
        campaign.id,
        after={
            "prisoner": prisoner.slug,
            "weight": weight,
            "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None,
        },
    )
    return row


def get_campaign(session: Session, tag: str) -> Campaign:
    """The campaign with this tag, or :class:`NotFound`."""
    campaign = session.scalar(sa.select(Campaign).where(Campaign.tag == tag))
    if campaign is None:
        raise NotFound(f"no campaign tagged {tag!r}")
    return campaign


def pool_fund(session: Session, campaign: Campaign) -> Fund:
    """The campaign's own pool fund, created on first use."""
    fund = session.scalar(sa.select(Fund).where(Fund.campaign_id == campaign.id))
    if fund is None:
        la = new_ledger_account(session, LedgerKind.FUND, f"fund:campaign:{campaign.tag}")
        fund = Fund(
            kind=FundKind.CAMPAIGN.value,
            name=campaign.title,
            campaign_id=campaign.id,
            ledger_account_id=la.id,
        )
        session.add(fund)
        session.flush()
    return fund


class WeightBook:
    """Every campaign's weights over time, loaded once, for booking many donations.

    ``weights(destination, campaign_id, on)`` answers from memory; pool funds
    are created on first use (flush only).
    """

    def __init__(self, session: Session) -> None:
        """Load weights, prisoner funds and the singleton funds."""
        self._session = session
        self._rows: dict[int, list[tuple[CampaignPrisoner, int]]] = {}
        for cp, la in session.execute(
            sa.select(CampaignPrisoner, Fund.ledger_account_id).join(
                Fund, Fund.prisoner_id == CampaignPrisoner.prisoner_id
            )
        ):
            self._rows.setdefault(cp.campaign_id, []).append((cp, la))
        self._pools: dict[int, int] = {}
        self._general = general_fund(session).ledger_account_id
        self._review = review_fund(session).ledger_account_id

    def _pool(self, campaign_id: int) -> int:
        if campaign_id not in self._pools:
            campaign = self._session.get(Campaign, campaign_id)
            if campaign is None:
                raise NotFound(f"no campaign with id {campaign_id}")
            self._pools[campaign_id] = pool_fund(self._session, campaign).ledger_account_id
        return self._pools[campaign_id]

    def weights(
        self, destination: Destination, campaign_id: int | None, on: date
    ) -> tuple[dict[int, Decimal], str]:
        """Fund ledger account id -> weight, and a note saying why."""
        if destination is Destination.GENERAL:
            return {self._general: Decimal(1)}, "general fund"
        if destination is Destination.REVIEW:
            return {self._review: Decimal(1)}, "waiting for review"
        if campaign_id is None:
            raise Conflict("a campaign donation needs its campaign")
        weights = {la: cp.weight for cp, la in self._rows.get(campaign_id, []) if cp.in_force(on)}
        if weights:
            return weights, f"campaign weights in force on {on.isoformat()}"
        return {self._pool(campaign_id): Decimal(1)}, "campaign pool (no prisoners in force)"


def weights_in_force(session: Session, campaign: Campaign, on: date) -> dict[int, Decimal]:
    """Fund ledger account id -> weight for money received on ``on``."""
    return WeightBook(session).weights(Destination.CAMPAIGN, campaign.id, on)[0]


def fund_by_key(session: Session, key: str) -> Fund:
    """A fund by its key: ``general``, ``review``, ``campaign:TAG`` or a prisoner's slug."""
    if key == "general":
        return general_fund(session)
    if key == "review":
        return review_fund(session)
    if key.startswith("campaign:"):
        return pool_fund(session, get_campaign(session, key.removeprefix("campaign:")))
    prisoner = get_prisoner(session, key)
    fund = session.scalar(sa.select(Fund).where(Fund.prisoner_id == prisoner.id))
    if fund is None:  # pragma: no cover - created with the prisoner
        raise NotFound(f"prisoner {key} has no fund")
    return fund


def change_weight(tag: str, slug: str, weight: Decimal, *, since: date) -> None:
    """From ``since`` on, ``slug`` has ``weight`` in campaign ``tag`` (0: no longer supported).

    The period in force on ``since`` ends there and a new one begins; money
    already booked keeps its split until an explicit re-allocation.
    """
    if weight < 0:
        raise Conflict("a weight cannot be negative")
    with unit_of_work() as session:
        campaign = get_campaign(session, tag)
        prisoner = get_prisoner(session, slug)
        rows = session.scalars(
            sa.select(CampaignPrisoner).where(
                CampaignPrisoner.campaign_id == campaign.id, CampaignPrisoner.prisoner_id == prisoner.id
            )
        ).all()
        ended = False
        for row in rows:
            if row.valid_from is not None and row.valid_from >= since:
                raise Conflict(f"{slug} already has a weight in {tag} from {row.valid_from}; changes go forward in time")
            if row.in_force(since):
                row.valid_until, ended = since, True
        session.flush()
        if weight > 0:
            add_weight(session, campaign, prisoner, weight, since=since)
        elif not ended:
            raise FieldConflict(_("%(slug)s has no weight in %(tag)s on %(day)s to end", slug=slug, tag=tag, day=since.isoformat()), "weight")
        else:
            audit.record(session, "campaign.weight", "campaign", campaign.id, after={"prisoner": slug, "weight": "0", "since": since.isoformat()})


def _plain_aliases(session: Session, campaign: Campaign) -> list[TagRule]:
    """The campaign's active alias rules that read every provider and field (its "aliases")."""
    rules = session.scalars(
        sa.select(TagRule)
        .where(TagRule.campaign_id == campaign.id, TagRule.active, TagRule.kind == RuleKind.ALIAS.value)
        .order_by(TagRule.id)
    )
    return [r for r in rules if not r.providers and not r.fields]


def aliases_of(session: Session, campaign: Campaign) -> list[str]:
    """The campaign's aliases, oldest first."""
    return [r.pattern for r in _plain_aliases(session, campaign)]


def change_campaign(session: Session, campaign: Campaign, **changes: object) -> None:
    """Change a campaign's title, description, window, goal, visibility or aliases (flush only, audited).

    Rules that followed the campaign's window (tag and alias rules created
    with it) follow the new one; rules given a window of their own keep it.
    Aliases that are dropped are deactivated, never deleted.

    Raises:
        FieldConflict: naming the change that is wrong.
    """
    allowed = {"title", "description", "starts_on", "ends_on", "goal", "public", "aliases"}
    unknown = set(changes) - allowed
    if unknown:
        raise Conflict(f"cannot change {', '.join(sorted(unknown))}")
    fields = ("title", "description", "starts_on", "ends_on", "goal_amount", "goal_currency", "public")
    before: dict[str, object] = {k: str(getattr(campaign, k)) for k in fields}
    before["aliases"] = aliases_of(session, campaign)
    old_window = (campaign.starts_on, campaign.ends_on)
    for key, value in changes.items():
        if key == "goal":
            goal = _goal(value) if value is not None else (None, None)  # type: ignore[arg-type]
            campaign.goal_currency, campaign.goal_amount = goal
        elif key == "title":
            if not str(value).strip():
                raise FieldConflict(_("a campaign needs a title"), "title")
            campaign.title = str(value).strip()
        elif key != "aliases":
            setattr(campaign, key, value)
    if campaign.starts_on and campaign.ends_on and campaign.ends_on < campaign.starts_on:
        raise FieldConflict(_("the campaign ends before it starts"), "ends_on")
    if "aliases" in changes:
        _set_aliases(session, campaign, changes["aliases"])  # type: ignore[arg-type]
    if (campaign.starts_on, campaign.ends_on) != old_window:
        ours = sa.select(TagRule).where(TagRule.campaign_id == campaign.id, TagRule.active, TagRule.kind != RuleKind.REGEX.value)
        for rule in session.scalars(ours):
            if (rule.valid_from, rule.valid_until) == old_window:
                rule.valid_from, rule.valid_until = campaign.starts_on, campaign.ends_on
    session.flush()
    after: dict[str, object] = {k: str(getattr(campaign, k)) for k in fields}
    after["aliases"] = aliases_of(session, campaign)
    if after != before:
        audit.record(session, "campaign.edit", "campaign", campaign.id, before=before, after=after)


def _set_aliases(session: Session, campaign: Campaign, aliases: Sequence[str]) -> None:
    wanted = checked_aliases(session, campaign, campaign.tag, aliases)
    for rule in _plain_aliases(session, campaign):
        if rule.pattern in wanted:
            wanted.remove(rule.pattern)
        else:
            rule.active = False
    for alias in wanted:
        session.add(
            TagRule(
                campaign_id=campaign.id, kind=RuleKind.ALIAS.value, pattern=alias,
                valid_from=campaign.starts_on, valid_until=campaign.ends_on,
            )
        )


def edit_campaign(tag: str, **changes: object) -> Campaign:
    """Change a campaign (one unit of work); changes as :func:`change_campaign`."""
    with unit_of_work() as session:
        campaign = get_campaign(session, tag)
        change_campaign(session, campaign, **changes)
        return campaign


def create_rule(
    session: Session,
    campaign: Campaign,
    kind: str,
    pattern: str,
    *,
    providers: list[str] | None = None,
    fields: list[str] | None = None,
    valid_from: date | None = None,
    valid_until: date | None = None,
    priority: int = 0,
) -> TagRule:
    """Add a tagging rule after compiling it with every other active rule (flush only, audited).

    Raises:
        FieldConflict: ``pattern`` when the rule does not compile or its word
            already means another campaign.
    """
    from tracker.services.tagging import rules_from_rows
    from tracker.tagging import check_regex, compile_rules

    kind = RuleKind(kind).value
    rule = TagRule(
        campaign_id=campaign.id, kind=kind, pattern=pattern.strip(), providers=providers or None,
        fields=fields or None, valid_from=valid_from, valid_until=valid_until, priority=priority, active=True,
    )
    try:
        if kind == RuleKind.REGEX.value:
            check_regex(rule.pattern)
        tags = dict(session.execute(sa.select(Campaign.id, Campaign.tag)).tuples().all())
        active = [r for r in session.scalars(sa.select(TagRule)) if r.active]
        compile_rules(rules_from_rows([*active, rule], tags))
    except RuleError as exc:
        raise FieldConflict(exc.message, "pattern") from None
    if kind != RuleKind.REGEX.value:
        _check_names(session, campaign.id, [(kind, rule.pattern, "pattern")])
    session.add(rule)
    session.flush()
    audit.record(session, "rule.add", "tag_rule", rule.id, after={"campaign": campaign.tag, "kind": kind, "pattern": rule.pattern, "providers": providers, "fields": fields, "priority": priority})
    return rule


def add_rule(tag: str, kind: str, pattern: str, **options: Any) -> TagRule:
    """Add a tagging rule (one unit of work); options as :func:`create_rule`."""
    with unit_of_work() as session:
        return create_rule(session, get_campaign(session, tag), kind, pattern, **options)


def deactivate_rule(session: Session, rule_id: int) -> TagRule:
    """Deactivate a rule (flush only, audited).

    The rule is kept for the record, and donations already tagged keep their campaign.
    """
    rule = session.get(TagRule, rule_id)
    if rule is None or not rule.active:
        raise NotFound(f"no active rule {rule_id}")
    rule.active = False
    session.flush()
    audit.record(session, "rule.remove", "tag_rule", rule_id, before={"pattern": rule.pattern, "kind": rule.kind})
    return rule


def remove_rule(rule_id: int) -> None:
    """Deactivate a rule (one unit of work)."""
    with unit_of_work() as session:
        deactivate_rule(session, rule_id)


def change_prisoner(session: Session, prisoner: Prisoner, *, name: str, public: bool, description: str | None = None) -> None:
    """Change a prisoner's name, visibility or description (flush only, audited).

    The slug stays: published releases, public addresses and the fund's
    ledger account are named by it.
    """
    if not name.strip():
        raise FieldConflict(_("a prisoner needs a name"), "name")
    before = {"name": prisoner.name, "public": prisoner.public, "description": audit.private(prisoner.description)}
    prisoner.name, prisoner.public = name.strip(), public
    if description is not None:
        prisoner.description = description
    fund = session.scalar(sa.select(Fund).where(Fund.prisoner_id == prisoner.id))
    if fund is not None:
        fund.name = prisoner.name
    session.flush()
    after = {"name": prisoner.name, "public": prisoner.public, "description": audit.private(prisoner.description)}
    if after != before:
        audit.record(session, "prisoner.edit", "prisoner", prisoner.id, before=before, after=after)
