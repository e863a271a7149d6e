"""The tagging decision: hits of the compiled rules -> campaign | review | general.

The evaluation order and the tie rule are in the package docstring
(:mod:`tracker.tagging`); this module carries them out.

May import: the standard library, tracker.i18n, tracker.records, and the
sibling modules tokens, lookalikes, rules and matcher.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from tracker.i18n import gettext as _
from tracker.records import TagOutcome, TagResult, TagSource
from tracker.tagging.lookalikes import Oddity
from tracker.tagging.matcher import Entry, Hit, Matcher, campaign_order
from tracker.tagging.rules import Rule
from tracker.tagging.tokens import shown

MAX_MATCHES = 50  # matches kept in a result; a 1 MB note of tags stays small
MAX_REASONS = 5
METADATA_KEYS = ("campaign", "tag")
_GENERAL = TagResult(TagOutcome.GENERAL)


@dataclass(frozen=True, slots=True)
class Finding:
    """One line of :meth:`Tagger.explain`: a rule that matched or nearly did.

    ``status`` is ``match``, ``lookalike``, ``outside_window``,
    ``other_provider`` or ``other_field``.
    """

    campaign: str
    rule_id: int | None
    kind: str
    pattern: str
    field: str
    start: int
    end: int
    text: str
    status: str
    reason: str = ""


def compile_rules(rules: Iterable[Rule]) -> Tagger:
    """Compile rules once into a :class:`Tagger`.

    Raises:
        RuleError: naming the first rule (in the order given) that is invalid.
    """
    return Tagger(rules)


class Tagger:
    """The compiled rules and the decision: call :meth:`tag` for each donation.

    Tagging does not get slower as rules are added (see :class:`Matcher`). A
    Tagger is immutable and may be shared between threads.
    """

    def __init__(self, rules: Iterable[Rule]) -> None:
        """Validate and compile ``rules`` (see :func:`compile_rules`)."""
        self._matcher = Matcher(rules)

    @property
    def rules(self) -> tuple[Rule, ...]:
        """The compiled rules, in canonical order."""
        return self._matcher.rules

    # -- metadata ---------------------------------------------------------

    def _metadata(
        self, metadata: Iterable[tuple[str, str]], provider: str, on: date
    ) -> tuple[bool, list[Hit], list[str], set[str]]:
        """Explicit metadata: (present, decisive hits, reasons, candidates)."""
        present = False
        hits: list[Hit] = []
        reasons: list[str] = []
        candidates: set[str] = set()
        for key, value in metadata:
            if key.strip().casefold() not in METADATA_KEYS or not value.strip():
                continue
            present = True
            found = self._matcher.lookup(value)
            if found.odd and found.near:
                candidates.add(found.near.campaign)
                reasons.append(_lookalike_reason(found.text, found.near, found.odd))
                continue
            campaigns = sorted({e.campaign for e in found.entries}, key=campaign_order)
            if not campaigns:
                reasons.append(_("metadata '%(key)s' names no campaign", key=key.strip()))
                continue
            candidates.update(campaigns)
            if len(campaigns) > 1:
                reasons.append(
                    _(
                        "metadata '%(key)s' names several campaigns: %(campaigns)s",
                        key=key.strip(),
                        campaigns=", ".join(campaigns),
                    )
                )
                continue
            usable = [e for e in found.entries if not e.covers(provider, None) and e.in_window(on)]
            if not usable:
                reasons.append(
                    _(
                        "metadata '%(key)s' names campaign %(campaign)s, but its rules do not"
                        " apply to %(provider)s on %(date)s",
                        key=key.strip(),
                        campaign=campaigns[0],
                        provider=provider,
                        date=on.isoformat(),
                    )
                )
                continue
            start, end = found.start, found.start + len(found.text)
            field = f"metadata:{key.strip().casefold()}"
            hits.append(Hit(usable[0], -1, field, start, end, found.text, None))
        named = sorted({h.entry.rule.campaign for h in hits}, key=campaign_order)
        if len(named) > 1:
            reasons.append(
                _("metadata names different campaigns: %(campaigns)s", campaigns=", ".join(named))
            )
        return present, hits, reasons, candidates

    # -- the decision -----------------------------------------------------

    def tag(
        self,
        texts: Sequence[tuple[str, str]],
        metadata: Sequence[tuple[str, str]] = (),
        *,
        provider: str,
        on: date,
    ) -> TagResult:
        """Decide which campaign a donation is for.

        Args:
            texts: (field, text) pairs, e.g. ``("note", "for 205")``.
            metadata: (key, value) pairs; keys ``campaign`` and ``tag`` are
                explicit and decide over free text.
            provider: the statement line's provider, e.g. ``"paypal"``.
            on: the donation's date (a datetime is reduced to its own date).

        Returns:
            ``campaign`` with the campaign's tag and the matches (best first),
            ``review`` with the candidates and the reason, or ``general``.
        """
        provider = str(provider).lower()
        if isinstance(on, datetime):
            on = on.date()
        if not metadata:
            return self._decide(self._matcher.scan(texts), provider, on)
        present, meta_hits, meta_reasons, meta_candidates = self._metadata(metadata, provider, on)
        if present and not meta_reasons:
            campaign = meta_hits[0].entry.rule.campaign
            return TagResult(
                TagOutcome.CAMPAIGN,
                campaign,
                TagSource.METADATA,
                tuple(h.as_match() for h in meta_hits[:MAX_MATCHES]),
                (campaign,),
            )
        result = self._decide(self._matcher.scan(texts), provider, on)
        if not present:
            return result
        # Metadata that does not decide sends to review; what the free text
        # says is kept beside it to help the treasurer.
        candidates = meta_candidates | set(result.candidates)
        if result.campaign:
            candidates.add(result.campaign)
        reasons = [*meta_reasons, result.reason] if result.reason else meta_reasons
        matches = tuple(h.as_match() for h in meta_hits) + result.matches
        return TagResult(
            TagOutcome.REVIEW,
            matches=matches[:MAX_MATCHES],
            candidates=tuple(sorted(candidates, key=campaign_order)),
            reason="; ".join(reasons),
        )

    def _decide(self, hits: list[Hit], provider: str, on: date) -> TagResult:
        if not hits:
            return _GENERAL
        valid: dict[str, list[Hit]] = {}
        stale: dict[str, list[Hit]] = {}
        odd: list[Hit] = []
        for hit in hits:
            entry = hit.entry
            if hit.odd is None and entry.plain:
                valid.setdefault(entry.campaign, []).append(hit)
            # A rule limited to some providers or fields does not see others:
            # such a hit is no evidence at all.
            elif entry.covers(provider, hit.field):
                continue
            elif hit.odd:
                odd.append(hit)
            elif entry.in_window(on):
                valid.setdefault(entry.campaign, []).append(hit)
            else:
                stale.setdefault(entry.campaign, []).append(hit)
        stale = {c: h for c, h in stale.items() if c not in valid}
        reasons = _review_reasons(odd, valid, stale, on)
        if reasons:
            evidence = sorted(
                [
                    *odd,
                    *(h for hs in valid.values() for h in hs),
                    *(h for hs in stale.values() for h in hs),
                ],
                key=Hit.position,
            )
            candidates = set(valid) | set(stale) | {h.entry.rule.campaign for h in odd}
            return TagResult(
                TagOutcome.REVIEW,
                matches=tuple(h.as_match() for h in evidence[:MAX_MATCHES]),
                candidates=tuple(sorted(candidates, key=campaign_order)),
                reason="; ".join(reasons),
            )
        if not valid:
            return _GENERAL
        ((campaign, found),) = valid.items()
        # Priority orders the matches of the one campaign: the best is first.
        found.sort(key=lambda h: (-h.entry.rule.priority, h.position()))
        return TagResult(
            TagOutcome.CAMPAIGN,
            campaign,
            TagSource.RULE,
            tuple(h.as_match() for h in found[:MAX_MATCHES]),
            (campaign,),
        )

    def explain(
        self,
        texts: Sequence[tuple[str, str]],
        metadata: Sequence[tuple[str, str]] = (),
        *,
        provider: str | None = None,
        on: date | None = None,
    ) -> tuple[Finding, ...]:
        """Every rule that matches or nearly matches, for a "what would match" preview.

        Args:
            texts: (field, text) pairs as for :meth:`tag`.
            metadata: (key, value) pairs as for :meth:`tag`.
            provider: judge provider limits for this provider (``None``: ignore them).
            on: judge date windows on this date (``None``: ignore them).

        Returns:
            Findings in text order, each with its status and, for lookalikes,
            the reason.
        """
        if isinstance(on, datetime):
            on = on.date()
        judged = str(provider).lower() if provider is not None else None
        hits = self._matcher.scan(texts)
        for key, value in metadata:
            if key.strip().casefold() in METADATA_KEYS and value.strip():
                found = self._matcher.lookup(value)
                start, end = found.start, found.start + len(found.text)
                name = f"metadata:{key.strip().casefold()}"
                for entry in [found.near] if found.near else found.entries:
                    hits.append(Hit(entry, -1, name, start, end, found.text, found.odd))
        findings: list[Finding] = []
        for hit in sorted(hits, key=Hit.position):
            rule = hit.entry.rule
            status = hit.entry.covers(judged, None if hit.field_index < 0 else hit.field)
            reason = ""
            if hit.odd:
                status, reason = "lookalike", _lookalike_reason(hit.text, hit.entry, hit.odd)
            elif not status and on is not None and not hit.entry.in_window(on):
                status = "outside_window"
            findings.append(
                Finding(
                    rule.campaign,
                    rule.id,
                    rule.kind,
                    rule.pattern,
                    hit.field,
                    hit.start,
                    hit.end,
                    hit.text,
                    status or "match",
                    reason,
                )
            )
        return tuple(findings)


def _review_reasons(
    odd: list[Hit], valid: dict[str, list[Hit]], stale: dict[str, list[Hit]], on: date
) -> list[str]:
    """Why the hits send a donation to review (empty: they do not)."""
    reasons: list[str] = []
    # A note can repeat one lookalike a hundred thousand times: say it once.
    distinct = {(h.text, h.entry.rank, h.odd): h for h in reversed(odd)}
    for (text, _rank, why), hit in reversed(distinct.items()):
        if len(reasons) == MAX_REASONS:
            more = len(distinct) - MAX_REASONS
            reasons.append(_("and %(count)s more lookalikes", count=more))
            break
        assert why is not None
        reasons.append(_lookalike_reason(text, hit.entry, why))
    if len(valid) > 1:
        names = ", ".join(sorted(valid, key=campaign_order))
        reasons.append(_("matches several campaigns: %(campaigns)s", campaigns=names))
    for campaign in sorted(stale, key=campaign_order):
        hit = min(stale[campaign], key=lambda h: (h.entry.rank, h.position()))
        reasons.append(
            _(
                "'%(text)s' matches campaign %(campaign)s, but %(rule)s applies only"
                " %(window)s, not on %(date)s",
                text=shown(hit.text),
                campaign=campaign,
                rule=hit.entry.rule.label(),
                window=hit.entry.rule.window(),
                date=on.isoformat(),
            )
        )
    return reasons


def _lookalike_reason(text: str, entry: Entry, odd: Oddity) -> str:
    rule = entry.rule
    if rule.kind == "tag" and rule.pattern == rule.campaign:
        what = _("tag %(tag)s", tag=rule.pattern)
    elif rule.kind == "tag":
        what = _("tag %(tag)s of campaign %(campaign)s", tag=rule.pattern, campaign=rule.campaign)
    else:
        what = _("'%(alias)s' of campaign %(campaign)s", alias=rule.pattern, campaign=rule.campaign)
    return _(
        "'%(text)s' looks like %(what)s but %(why)s",
        text=shown(text),
        what=what,
        why=odd.describe(),
    )
