"""What a campaign's rules would match, as edited but not yet saved.

The campaign edit page compiles every active rule with the campaign's own
rules replaced by the draft (its aliases, its window, rules ticked for
removal, a new rule), then shows what that draft does to a sample text and
to the most recent donations, beside what those donations are tagged to now.
Nothing here writes; the texts shown are payment notes, so only treasurers
reach it (the views say so).

May import: models (read-only queries), :mod:`tracker.tagging`, services (tagging, campaigns).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker import money
from tracker.i18n import N_, gettext
from tracker.models import (
    Account,
    Campaign,
    Destination,
    Donation,
    RuleKind,
    StatementLine,
    TagRule,
)
from tracker.records import TagOutcome, TagResult, TagSource
from tracker.services.tagging import rules_from_rows
from tracker.tagging import Finding, Rule, Tagger, compile_rules
from tracker.tagging.tagger import METADATA_KEYS

#: how far back the preview looks, how many donations it shows, how many it reads per page
RECENT_DAYS = 90
SHOWN = 50
SCANNED = 1000
#: a long note is cut to this many characters around its first match
EXCERPT = 240


#: what a finding's status means, in words
STATUS = {
    "match": N_("matches"),
    "lookalike": N_("a lookalike, sent to review"),
    "outside_window": N_("outside the rule's dates"),
    "other_provider": N_("the rule does not read this provider"),
    "other_field": N_("the rule does not read this field"),
}


@dataclass(frozen=True, slots=True)
class Draft:
    """A campaign's rules as edited on the page."""

    campaign: Campaign
    aliases: list[str]
    starts_on: date | None
    ends_on: date | None
    removed: frozenset[int] = frozenset()
    rule: Rule | None = None


@dataclass(frozen=True, slots=True)
class Segment:
    """A piece of text; ``findings`` set when it is highlighted."""

    text: str
    findings: tuple[Finding, ...] = ()

    @property
    def title(self) -> str:
        """What the highlight means, for a tooltip: campaign, pattern and status of each finding."""
        return "; ".join(f"{f.campaign} · {f.kind} '{f.pattern}' · {gettext(STATUS[f.status])}" for f in self.findings)

    @property
    def matched(self) -> bool:
        """Whether any finding here is a real match (not a lookalike or out of its window)."""
        return any(f.status == "match" for f in self.findings)


@dataclass
class PreviewRow:
    """One recent donation: what it is tagged to now and what the draft would make of it."""

    donation_id: int
    received_on: date
    account: str
    currency: str
    gross: str
    now: str
    would: str
    change: str  # joins, leaves, same, manual, changes
    reason: str
    texts: list[tuple[str, list[Segment]]] = field(default_factory=list)


def draft_tagger(session: Session, draft: Draft) -> Tagger:
    """Every active rule, with the campaign's own replaced by the draft, compiled.

    Raises:
        RuleError: when the draft does not compile.
    """
    campaign = draft.campaign
    rows = session.scalars(sa.select(TagRule).where(TagRule.active).order_by(TagRule.id)).all()
    tags = dict(session.execute(sa.select(Campaign.id, Campaign.tag)).tuples().all())
    old_window = (campaign.starts_on, campaign.ends_on)
    alias_ids: dict[str, int] = {}
    rules: list[Rule] = []
    for row in rows:
        ours = row.campaign_id == campaign.id
        if ours and row.kind == RuleKind.ALIAS.value and not row.providers and not row.fields:
            alias_ids.setdefault(row.pattern, row.id)
            continue  # the aliases box replaces these
        if row.id in draft.removed:
            continue
        (rule,) = rules_from_rows([row], tags)
        if ours and row.kind != RuleKind.REGEX.value and (row.valid_from, row.valid_until) == old_window:
            rule = replace(rule, valid_from=draft.starts_on, valid_until=draft.ends_on)
        rules.append(rule)
    for alias in draft.aliases:
        rules.append(Rule(alias_ids.get(alias), campaign.tag, RuleKind.ALIAS.value, alias, valid_from=draft.starts_on, valid_until=draft.ends_on))
    if draft.rule is not None:
        rules.append(draft.rule)
    return compile_rules(rules)


def highlight(text: str, findings: list[Finding] | tuple[Finding, ...], *, limit: int | None = None) -> list[Segment]:
    """Cut ``text`` into plain and highlighted segments (overlapping findings merged).

    With ``limit``, a longer text is cut to about that many characters around
    its first finding, an ellipsis marking each cut.
    """
    spans = sorted((f.start, f.end, f) for f in findings if 0 <= f.start < f.end <= len(text))
    lo, hi = 0, len(text)
    if limit is not None and len(text) > limit:
        first = spans[0][0] if spans else 0
        lo = max(0, min(first - limit // 3, len(text) - limit))
        hi = lo + limit
    merged: list[tuple[int, int, list[Finding]]] = []
    for start, end, finding in spans:
        if end <= lo or start >= hi:
            continue
        if merged and start < merged[-1][1]:
            last = merged[-1]
            merged[-1] = (last[0], max(last[1], end), [*last[2], finding])
        else:
            merged.append((start, end, [finding]))
    segments: list[Segment] = [Segment("…")] if lo > 0 else []
    pos = lo
    for first, last, found in merged:
        start, end = max(first, lo), min(last, hi)
        if start > pos:
            segments.append(Segment(text[pos:start]))
        segments.append(Segment(text[start:end], tuple(found)))
        pos = end
    if pos < hi:
        segments.append(Segment(text[pos:hi]))
    if hi < len(text):
        segments.append(Segment("…"))
    return segments


@dataclass(frozen=True, slots=True)
class SampleResult:
    """What the draft makes of a sample text."""

    segments: list[Segment]
    findings: tuple[Finding, ...]
    result: TagResult


def try_sample(tagger: Tagger, text: str, *, field_name: str, provider: str, on: date) -> SampleResult:
    """Tag one sample text with the draft, as if it came from ``provider`` in ``field_name`` on ``on``."""
    texts = [(field_name, text)]
    findings = tagger.explain(texts, provider=provider, on=on)
    return SampleResult(highlight(text, findings), findings, tagger.tag(texts, provider=provider, on=on))


def _label(destination: str, campaign_id: int | None, tags: dict[int, str]) -> str:
    if destination == Destination.CAMPAIGN.value and campaign_id is not None:
        return tags.get(campaign_id, str(campaign_id))
    return destination


def _would(result: TagResult) -> str:
    if result.outcome is TagOutcome.CAMPAIGN and result.campaign:
        return result.campaign
    return Destination.GENERAL.value if result.outcome is TagOutcome.GENERAL else Destination.REVIEW.value


def recent_preview(
    session: Session, draft: Draft, tagger: Tagger, *, before: int | None = None, now: datetime | None = None
) -> tuple[list[PreviewRow], int | None]:
    """The most recent donations (newest first, by id) that the draft or the saved rules tie to the campaign.

    Reads at most :data:`SCANNED` donations of the last :data:`RECENT_DAYS`
    days with ids below ``before``, and keeps at most :data:`SHOWN`: those
    the draft would give the campaign or name as a candidate, and those the
    campaign holds now. Returns the rows and the ``before`` of the next page
    (``None`` when nothing older is left).
    """
    campaign = draft.campaign
    since = (now or datetime.now(UTC)) - timedelta(days=RECENT_DAYS)
    query = (
        sa.select(Donation, StatementLine.texts, StatementLine.tag_metadata, Account.kind, Account.name)
        .join(StatementLine, StatementLine.id == Donation.statement_line_id)
        .join(Account, Account.id == Donation.account_id)
        .where(Donation.voided_at.is_(None), Donation.received_at >= since)
        .order_by(Donation.id.desc())
        .limit(SCANNED)
    )
    if before is not None:
        query = query.where(Donation.id < before)
    tags = dict(session.execute(sa.select(Campaign.id, Campaign.tag)).tuples().all())
    rows: list[PreviewRow] = []
    scanned = 0
    last_id: int | None = None
    for donation, texts, metadata, provider, account in session.execute(query):
        scanned += 1
        last_id = donation.id
        pairs = [(str(f), str(t)) for f, t in (texts or [])]
        meta = [(str(k), str(v)) for k, v in (metadata or [])]
        on = donation.received_at.date()
        result = tagger.tag(pairs, meta, provider=provider, on=on)
        holds = donation.destination == Destination.CAMPAIGN.value and donation.campaign_id == campaign.id
        named = result.campaign == campaign.tag or campaign.tag in result.candidates
        if not (holds or named):
            continue
        findings = tagger.explain(pairs, meta, provider=provider, on=on)
        rows.append(_row(donation, account=account, tags=tags, result=result, campaign=campaign, findings=findings, pairs=pairs, meta=meta))
        if len(rows) == SHOWN:
            break
    more = last_id if (len(rows) == SHOWN or scanned == SCANNED) else None
    return rows, more


def _row(
    donation: Donation,
    *,
    account: str,
    tags: dict[int, str],
    result: TagResult,
    campaign: Campaign,
    findings: tuple[Finding, ...],
    pairs: list[tuple[str, str]],
    meta: list[tuple[str, str]],
) -> PreviewRow:
    now = _label(donation.destination, donation.campaign_id, tags)
    manual = donation.tag_source == TagSource.MANUAL.value
    would = now if manual else _would(result)
    if manual:
        change = "manual"
    elif would == now:
        change = "same"
    elif would == campaign.tag:
        change = "joins"
    elif now == campaign.tag:
        change = "leaves"
    else:
        change = "changes"
    shown: list[tuple[str, list[Segment]]] = []
    for name, text in pairs:
        shown.append((name, highlight(text, [f for f in findings if f.field == name], limit=EXCERPT)))
    for key, value in meta:
        name = f"metadata:{key.strip().casefold()}"
        if key.strip().casefold() in METADATA_KEYS:
            shown.append((name, highlight(value, [f for f in findings if f.field == name], limit=EXCERPT)))
    return PreviewRow(
        donation.id,
        donation.received_at.date(),
        account,
        donation.currency,
        money.to_string(money.quantize(donation.gross, donation.currency), donation.currency),
        now,
        would,
        change,
        result.reason,
        shown,
    )

