"""Deciding where a donation goes: manual choice, then the tagging engine.

The final entry point every importer and webhook uses: :class:`Tagging`
compiles the active TagRules once (per import) and loads the treasurer's manual
choices, then :meth:`Tagging.decide` gives a destination for a line. A manual
choice (keyed to the statement line's dedup key) always wins, so re-import and
re-tagging never override it.

May import: models, :mod:`tracker.tagging`, :mod:`tracker.records`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.models import Campaign, Destination, TagChoice, TagRule
from tracker.records import TagOutcome, TagResult, TagSource
from tracker.tagging import Rule, Tagger, compile_rules


@dataclass(frozen=True, slots=True)
class Decision:
    """Where a donation goes and why."""

    destination: Destination
    campaign_id: int | None
    source: TagSource
    detail: dict[str, Any]


def rules_from_rows(rows: Iterable[TagRule], tags: dict[int, str]) -> list[Rule]:
    """Engine rules from active TagRule rows."""
    return [
        Rule(
            id=row.id,
            campaign=tags[row.campaign_id],
            kind=row.kind,
            pattern=row.pattern,
            providers=frozenset(row.providers) if row.providers else None,
            fields=frozenset(row.fields) if row.fields else None,
            valid_from=row.valid_from,
            valid_until=row.valid_until,
            priority=row.priority,
        )
        for row in rows
        if row.active
    ]


class Tagging:
    """Compiled rules and manual choices for one account, loaded once."""

    def __init__(self, session: Session, account_id: int | None = None) -> None:
        """Compile the active rules; load the account's manual choices."""
        campaigns = session.execute(sa.select(Campaign.id, Campaign.tag)).tuples().all()
        self.tag_ids = {tag: cid for cid, tag in campaigns}
        tags = {cid: tag for cid, tag in campaigns}
        self.tagger: Tagger = compile_rules(rules_from_rows(session.scalars(sa.select(TagRule)), tags))
        self.choices: dict[str, int | None] = {}
        if account_id is not None:
            self.choices = dict(
                session.execute(
                    sa.select(TagChoice.dedup_key, TagChoice.campaign_id).where(
                        TagChoice.account_id == account_id
                    )
                ).tuples().all()
            )

    def tag(
        self,
        texts: Sequence[tuple[str, str]],
        metadata: Sequence[tuple[str, str]],
        *,
        provider: str,
        on: date,
    ) -> TagResult:
        """The engine's verdict on some text."""
        return self.tagger.tag(texts, metadata, provider=provider, on=on)

    def decide(
        self,
        texts: Sequence[tuple[str, str]],
        metadata: Sequence[tuple[str, str]],
        *,
        provider: str,
        on: date,
        dedup_key: str | None = None,
    ) -> Decision:
        """A manual choice if there is one, else the tagging engine's result."""
        if dedup_key is not None and dedup_key in self.choices:
            campaign_id = self.choices[dedup_key]
            return Decision(
                Destination.CAMPAIGN if campaign_id is not None else Destination.GENERAL,
                campaign_id,
                TagSource.MANUAL,
                {"outcome": "manual", "source": TagSource.MANUAL.value},
            )
        result = self.tag(texts, metadata, provider=provider, on=on)
        return self.from_result(result)

    def from_result(self, result: TagResult) -> Decision:
        """Map an engine result onto a destination."""
        if result.outcome is TagOutcome.CAMPAIGN and result.campaign in self.tag_ids:
            return Decision(
                Destination.CAMPAIGN, self.tag_ids[result.campaign], result.source, result.as_dict()
            )
        if result.outcome is TagOutcome.GENERAL:
            return Decision(Destination.GENERAL, None, TagSource.NONE, result.as_dict())
        return Decision(Destination.REVIEW, None, TagSource.NONE, result.as_dict())
