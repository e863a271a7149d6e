"""The review queue, re-tagging, and re-allocation after weights change.

- :func:`review_queue` lists every donation waiting for a campaign, with the
  text tagging searched, what matched and why it waits.
- :func:`assign` settles donations (one or many) to a campaign or the
  general fund. The choice is recorded against the statement line's dedup key
  (a TagChoice), so re-import and re-tagging never override it.
- :func:`retag_preview` / :func:`retag` re-run the current rules over every
  donation not settled by hand and move those whose campaign changes.
- :func:`reallocation_preview` / :func:`reallocate_campaign` move a
  campaign's donations to the weights in force on their dates, after a
  weight change, with a public note.

Every change is a reallocation entry (never an edit), and audited.

May import: models, services (allocation, tagging, campaigns, audit).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker import money
from tracker.errors import Conflict, NotFound
from tracker.models import (
    Account,
    Campaign,
    Destination,
    Donation,
    JournalEntry,
    RawRow,
    StatementLine,
    TagChoice,
)
from tracker.models.campaigns import AllocationNote
from tracker.records import TagSource
from tracker.services import audit, ledger, unit_of_work
from tracker.services.allocation import Move, reallocate
from tracker.services.campaigns import WeightBook, get_campaign
from tracker.services.tagging import Tagging


@dataclass(frozen=True, slots=True)
class ReviewItem:
    """A donation waiting for a campaign, as a treasurer sees it."""

    donation_id: int
    received_at: str
    account: str
    currency: str
    gross: str
    texts: list[tuple[str, str]]
    reason: str
    candidates: list[str]
    matches: list[dict[str, Any]]
    #: the exact time received (the queue's order, with the id)
    moment: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "donation_id": self.donation_id,
            "received_at": self.received_at,
            "account": self.account,
            "currency": self.currency,
            "gross": self.gross,
            "texts": [list(t) for t in self.texts],
            "reason": self.reason,
            "candidates": self.candidates,
            "matches": self.matches,
        }


def review_queue(session: Session, *, limit: int = 500, after: tuple[datetime, int] | None = None) -> list[ReviewItem]:
    """Donations waiting for review, oldest first; ``after`` a (received_at, id) for the next page."""
    # plain columns, not ORM objects: a page builds one item per row and nothing else
    query = (
        sa.select(
            Donation.id, Donation.received_at, Donation.currency, Donation.gross, Donation.tag_detail,
            Account.name, StatementLine.texts,
        )
        .join(Account, Account.id == Donation.account_id)
        .outerjoin(StatementLine, StatementLine.id == Donation.statement_line_id)
        .where(Donation.destination == Destination.REVIEW.value, Donation.voided_at.is_(None))
    )
    if after is not None:
        query = query.where(sa.tuple_(Donation.received_at, Donation.id) > sa.tuple_(*after))
    rows = session.execute(query.order_by(Donation.received_at, Donation.id).limit(limit)).all()
    items = []
    for donation_id, received_at, currency, gross, tag_detail, account, texts in rows:
        detail = tag_detail or {}
        items.append(
            ReviewItem(
                donation_id=donation_id,
                received_at=received_at.date().isoformat(),
                account=account,
                currency=currency,
                gross=money.to_string(gross, currency),
                texts=[tuple(t) for t in (texts or [])],  # type: ignore[misc]
                reason=str(detail.get("reason") or ""),
                candidates=list(detail.get("candidates") or []),
                matches=list(detail.get("matches") or []),
                moment=received_at,
            )
        )
    return items


@dataclass(frozen=True, slots=True)
class Assignment:
    """One donation settled by hand."""

    donation_id: int
    to: str
    entry_id: int | None


def _remember_choice(session: Session, donation: Donation, campaign_id: int | None, who: str) -> None:
    if donation.statement_line_id is None:
        return
    line = session.get(StatementLine, donation.statement_line_id)
    assert line is not None
    choice = session.scalar(
        sa.select(TagChoice).where(TagChoice.account_id == line.account_id, TagChoice.dedup_key == line.dedup_key)
    )
    if choice is None:
        session.add(TagChoice(account_id=line.account_id, dedup_key=line.dedup_key, campaign_id=campaign_id, chosen_by=who))
    else:
        choice.campaign_id = campaign_id
        choice.chosen_by = who


def assign(donation_ids: Sequence[int], *, campaign_tag: str | None) -> list[Assignment]:
    """Settle donations to a campaign (``campaign_tag``) or the general fund (None)."""
    if not donation_ids:
        raise Conflict("name at least one donation")
    with unit_of_work() as session:
        campaign = get_campaign(session, campaign_tag) if campaign_tag else None
        who = audit.actor()
        book = WeightBook(session)
        done = []
        for donation_id in dict.fromkeys(donation_ids):
            donation = session.get(Donation, donation_id)
            if donation is None or donation.voided_at is not None:
                raise NotFound(f"no donation {donation_id}")
            before = {"destination": donation.destination, "campaign_id": donation.campaign_id}
            move = Move(
                Destination.CAMPAIGN if campaign else Destination.GENERAL,
                campaign.id if campaign else None,
                TagSource.MANUAL,
                {"outcome": "manual", "source": "manual", "by": who, "previous": before},
            )
            entry = reallocate(session, donation, move, book=book, description="settled by hand", created_by=who)
            _remember_choice(session, donation, move.campaign_id, who)
            audit.record(
                session, "review.assign", "donation", donation_id, before=before,
                after={"destination": donation.destination, "campaign": campaign_tag, "entry": entry},
            )
            done.append(Assignment(donation_id, campaign_tag or "general", entry))
        return done


# --- re-tagging ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetagChange:
    """A donation whose campaign the current rules would change."""

    donation_id: int
    currency: str
    gross: str
    before: str
    after: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"donation_id": self.donation_id, "currency": self.currency, "gross": self.gross, "from": self.before, "to": self.after, "why": self.reason}


def _label(destination: str, campaign_id: int | None, tags: dict[int, str]) -> str:
    if destination == Destination.CAMPAIGN.value and campaign_id is not None:
        return tags.get(campaign_id, str(campaign_id))
    return destination


def _retag_plan(session: Session) -> list[tuple[Donation, Any, RetagChange]]:
    tags = dict(session.execute(sa.select(Campaign.id, Campaign.tag)).tuples().all())
    plan = []
    taggers: dict[int, Tagging] = {}
    rows = session.execute(
        sa.select(Donation, StatementLine, Account.kind)
        .join(StatementLine, StatementLine.id == Donation.statement_line_id)
        .join(Account, Account.id == Donation.account_id)
        .where(Donation.voided_at.is_(None), Donation.tag_source != TagSource.MANUAL.value)
        # a line whose notes the retention purge removed keeps the decision made while it had them
        .where(~sa.exists().where(RawRow.id == StatementLine.raw_row_id, RawRow.purged_at.is_not(None)))
        .order_by(Donation.id)
    ).all()
    for donation, line, provider in rows:
        tagging = taggers.setdefault(line.account_id, Tagging(session, line.account_id))
        decision = tagging.decide(
            [tuple(t) for t in (line.texts or [])],  # type: ignore[misc]
            [tuple(m) for m in (line.tag_metadata or [])],  # type: ignore[misc]
            provider=provider,
            on=donation.received_at.date(),
            dedup_key=line.dedup_key,
        )
        if decision.destination.value == donation.destination and decision.campaign_id == donation.campaign_id:
            continue
        change = RetagChange(
            donation.id,
            donation.currency,
            money.to_string(money.quantize(donation.gross, donation.currency), donation.currency),
            _label(donation.destination, donation.campaign_id, tags),
            _label(decision.destination.value, decision.campaign_id, tags),
            str(decision.detail.get("reason") or decision.detail.get("outcome") or ""),
        )
        plan.append((donation, decision, change))
    return plan


def retag_preview(session: Session) -> list[RetagChange]:
    """Every donation whose campaign the current rules would change (nothing is written)."""
    changes = [c for _d, _dec, c in _retag_plan(session)]
    session.rollback()
    return changes


def retag(*, expected: Callable[[list[RetagChange]], bool] | None = None) -> list[RetagChange]:
    """Apply the re-tagging preview as reallocation entries (one unit of work), audited.

    ``expected``, when given, must accept the plan about to be applied (e.g.
    compare it with the preview a treasurer confirmed); otherwise
    :class:`~tracker.errors.Conflict` is raised and nothing changes.
    """
    with unit_of_work() as session:
        who = audit.actor()
        book = WeightBook(session)
        plan = _retag_plan(session)
        if expected is not None and not expected([c for _d, _x, c in plan]):
            raise Conflict("the re-tagging plan changed since it was previewed")
        for donation, decision, change in plan:
            reallocate(
                session, donation, Move(decision.destination, decision.campaign_id, decision.source, decision.detail),
                book=book, description=f"re-tagged: {change.before} -> {change.after}", created_by=who,
            )
        audit.record(session, "retag", "donations", None, after={"changed": len(plan), "donations": [c.donation_id for _d, _x, c in plan][:1000]})
        return [c for _d, _x, c in plan]


# --- re-allocation after a weight change ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReallocationChange:
    """A donation whose booked split differs from the weights in force on its date."""

    donation_id: int
    currency: str
    gross: str
    received_on: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"donation_id": self.donation_id, "currency": self.currency, "gross": self.gross, "received_on": self.received_on}


def _reallocation_plan(session: Session, campaign: Campaign) -> list[tuple[Donation, dict[int, Decimal], ReallocationChange]]:
    book = WeightBook(session)
    plan = []
    rows = session.execute(
        sa.select(Donation, JournalEntry.shares)
        .join(JournalEntry, JournalEntry.id == Donation.allocation_entry_id)
        .where(Donation.campaign_id == campaign.id, Donation.voided_at.is_(None))
        .order_by(Donation.id)
    ).all()
    for donation, shares in rows:
        wanted, _why = book.weights(Destination.CAMPAIGN, campaign.id, donation.received_at.date())
        current = {int(k): Decimal(v) for k, v in (shares or {}).get("weights", {}).items()}
        if current and set(current) == set(wanted) and all(current[k] * wanted[min(wanted)] == wanted[k] * current[min(current)] for k in current):
            continue
        plan.append(
            (
                donation,
                wanted,
                ReallocationChange(
                    donation.id, donation.currency,
                    money.to_string(money.quantize(donation.gross, donation.currency), donation.currency),
                    donation.received_at.date().isoformat(),
                ),
            )
        )
    return plan


def reallocation_preview(session: Session, tag: str) -> list[ReallocationChange]:
    """Donations of a campaign whose split would change under the weights now recorded."""
    changes = [c for _d, _w, c in _reallocation_plan(session, get_campaign(session, tag))]
    session.rollback()
    return changes


def reallocate_campaign(tag: str, *, public_note: str) -> list[ReallocationChange]:
    """Move a campaign's donations to the weights in force on their dates, with a public note."""
    if not public_note.strip():
        raise Conflict("a re-allocation needs a public note saying why")
    with unit_of_work() as session:
        campaign = get_campaign(session, tag)
        who = audit.actor()
        plan = _reallocation_plan(session, campaign)
        for donation, weights, _change in plan:
            reallocate(
                session, donation,
                Move(Destination.CAMPAIGN, campaign.id, TagSource(donation.tag_source), donation.tag_detail or {}, weights=weights),
                description=f"re-allocated to {tag}'s current weights", created_by=who,
            )
        session.add(AllocationNote(campaign_id=campaign.id, public_note=public_note.strip(), donations=len(plan), created_by=who))
        audit.record(session, "campaign.reallocate", "campaign", campaign.id, after={"tag": tag, "donations": len(plan), "note": public_note.strip()})
        return [c for _d, _w, c in plan]


def transfer(from_key: str, to_key: str, amount: Decimal, currency: str, *, reason: str) -> int:
    """Move money between funds (a prisoner released, a fund closed), with a reason."""
    from datetime import UTC, datetime

    from tracker.services.booking import book_fund_transfer
    from tracker.services.campaigns import fund_by_key

    with unit_of_work() as session:
        cur = money.normalise_currency(currency)
        source, target = fund_by_key(session, from_key), fund_by_key(session, to_key)
        held = -ledger.balance_of(session, source.ledger_account_id, cur)
        if money.quantize(amount, cur) > held:
            raise Conflict(f"{from_key} holds {held} {cur}, less than {amount}")
        entry = book_fund_transfer(
            session, from_fund=source, to_fund=target, currency=cur, amount=money.quantize(amount, cur),
            occurred_at=datetime.now(UTC), reason=reason, created_by=audit.actor(),
        )
        audit.record(session, "fund.transfer", "fund", source.id, after={"to": to_key, "amount": amount, "currency": cur, "reason": reason, "entry": entry})
        return entry
