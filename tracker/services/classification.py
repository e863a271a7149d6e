"""Classification: a treasurer says what a review item's money was.

Review items are listed by :mod:`tracker.services.review_items`. Here one or
many items of one currency are classified, with one choice, as

- a **disbursement** out of a fund (a category, a public description, a
  private note: a :class:`~tracker.models.Disbursement` row that publications
  and the books export read, as the spending page records);
- a **fee**, charged to a fund (the general fund unless another is chosen),
  as the ledger's fee template charges a provider fee that names no donation;
- money for a **fund** (income that is not a counted donation, or an opening
  balance), booked as a transfer into that fund;
- a transfer to or from **another account** of the group: on that account's
  in-transit ledger account, which its own import clears when the other side
  arrives (ARCHITECTURE.md "The ledger"), or straight on a cash box's asset,
  which nothing imports.

Each classification is one balanced CLASSIFICATION entry, dated when the money
moved, that takes the item's whole amount out of the review fund (the item's
review legs negated, role by role) and puts it on the chosen ledger account,
and names the item in ``resolves_entry_id``, which takes it off the queue.
The template lives here rather than in :mod:`tracker.services.booking`
because it is written only here. Undo writes a CORRECTION that negates the
classification and names it; the item is back in the queue. Every change is
audited, private notes only as a hash.

An undo never overdraws a fund and never changes figures a publication has
shown (:mod:`tracker.services.corrections`).

May import: models, :mod:`tracker.money`, :mod:`tracker.i18n`, services
(ledger, campaigns, review_items, corrections, audit).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from tracker import money
from tracker.errors import NotFound
from tracker.i18n import gettext as _
from tracker.i18n import ngettext
from tracker.models import (
    Account,
    Disbursement,
    DisbursementCategory,
    EntryKind,
    Fund,
    FundKind,
    JournalEntry,
    PostingRole,
    PublicationKind,
)
from tracker.records import Provider
from tracker.services import audit, corrections, ledger, unit_of_work
from tracker.services.campaigns import FieldConflict as FieldConflict  # noqa: PLC0414 - re-exported
from tracker.services.campaigns import fund_by_key
from tracker.services.open_items import open_clause, waiting_clause
from tracker.services.review_items import OpenItem, fund_label, load_items

#: Items classified in one go at most (one unit of work).
MAX_BULK = 500


class ClassifyAs(enum.StrEnum):
    """What a review item turns out to be."""

    DISBURSEMENT = "disbursement"
    FEE = "fee"
    FUND = "fund"
    ACCOUNT = "account"


@dataclass(frozen=True, slots=True)
class Choice:
    """The treasurer's decision for one or many items."""

    as_: ClassifyAs
    #: a fund key (``general``, a prisoner's slug, ``campaign:TAG``): disbursement, fee, fund
    fund: str | None = None
    category: str | None = None
    public_description: str = ""
    private_note: str | None = None
    #: the other account's name: account
    account: str | None = None


def _open_items(session: Session, ids: Sequence[int], *, lock: bool) -> list[OpenItem]:
    """The items, in the order given, each still open; locked on PostgreSQL while deciding."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        raise FieldConflict(_("Choose at least one item."), "items")
    if len(wanted) > MAX_BULK:
        raise FieldConflict(
            ngettext(
                "At most %(num)d item at a time.", "At most %(num)d items at a time.", MAX_BULK
            ),
            "items",
        )
    query = sa.select(JournalEntry.id).where(JournalEntry.id.in_(wanted), waiting_clause())
    if lock:
        # a second treasurer classifying the same item waits here, then finds it taken
        session.execute(query.with_for_update())
    still_open = set(session.scalars(query.where(open_clause())))
    missing = [i for i in wanted if i not in still_open]
    if missing:
        raise FieldConflict(
            _(
                "Item %(id)d is not waiting for classification (already classified, or no such item).",
                id=missing[0],
            ),
            "items",
        )
    loaded = load_items(session, wanted)
    return [loaded[i] for i in wanted if i in loaded]


# --- planning a classification -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """Where the money goes: a ledger account, the posting role and words for people."""

    ledger_account_id: int
    role: PostingRole
    label: str
    fund: Fund | None = None
    account: Account | None = None


@dataclass(frozen=True, slots=True)
class PlannedItem:
    """One item and the entry its classification will write."""

    item: OpenItem
    target: str
    #: what the target ledger account is debited (positive) or credited (negative)
    amount: Decimal

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {**self.item.as_dict(), "to": self.target}


@dataclass(frozen=True, slots=True)
class Plan:
    """What a classification will book: the items, their currency and total."""

    choice: Choice
    items: list[PlannedItem]
    currency: str
    total: Decimal
    target: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "as": self.choice.as_.value,
            "to": self.target,
            "currency": self.currency,
            "total": money.to_string(self.total, self.currency),
            "items": [p.as_dict() for p in self.items],
        }


def _fund(session: Session, key: str | None, *, default_general: bool = False) -> Fund:
    if not key:
        if default_general:
            return ledger.general_fund(session)
        raise FieldConflict(_("Choose a fund."), "fund")
    try:
        fund = fund_by_key(session, key)
    except NotFound:
        raise FieldConflict(_("There is no fund %(key)s.", key=repr(key)), "fund") from None
    if fund.kind == FundKind.REVIEW.value:
        raise FieldConflict(
            _("The money is already in the review fund: choose another fund."), "fund"
        )
    return fund


def _target(session: Session, choice: Choice, items: Sequence[OpenItem]) -> Target:
    """Check the choice against the items; where the money goes."""
    if choice.as_ in (ClassifyAs.DISBURSEMENT, ClassifyAs.FEE):
        incoming = [i for i in items if i.amount >= 0]
        if incoming:
            raise FieldConflict(
                _(
                    "Item %(id)d brought money in: only money that left an account can be a payment or a fee.",
                    id=incoming[0].item_id,
                ),
                "as_",
            )
    if choice.as_ is ClassifyAs.DISBURSEMENT:
        fund = _fund(session, choice.fund)
        if choice.category not in {c.value for c in DisbursementCategory}:
            raise FieldConflict(_("Choose a category."), "category")
        if len(choice.public_description) > 500:
            raise FieldConflict(
                _("The public description is at most 500 characters."), "public_description"
            )
        return Target(
            fund.ledger_account_id, PostingRole.SPEND, fund_label(session, fund), fund=fund
        )
    if choice.as_ is ClassifyAs.FEE:
        fund = _fund(session, choice.fund, default_general=True)
        return Target(fund.ledger_account_id, PostingRole.FEE, fund_label(session, fund), fund=fund)
    if choice.as_ is ClassifyAs.FUND:
        fund = _fund(session, choice.fund)
        return Target(
            fund.ledger_account_id, PostingRole.TRANSFER, fund_label(session, fund), fund=fund
        )
    if not choice.account:
        raise FieldConflict(_("Choose the other account."), "account")
    account = session.scalar(sa.select(Account).where(Account.name == choice.account))
    if account is None:
        raise FieldConflict(
            _("There is no account %(name)s.", name=repr(choice.account)), "account"
        )
    same = [i for i in items if i.account_id == account.id]
    if same:
        raise FieldConflict(
            _(
                "Item %(id)d is already in %(name)s: choose the account on the other side.",
                id=same[0].item_id,
                name=account.name,
            ),
            "account",
        )
    # nothing imports a cash box, so its side is booked now; other accounts' own
    # imports clear their in-transit account when the other side arrives
    direct = account.kind == Provider.CASH.value
    label = (
        account.name
        if direct
        else _("%(name)s (in transit until its own export is imported)", name=account.name)
    )
    return Target(
        account.asset_ledger_id if direct else account.transit_ledger_id,
        PostingRole.TRANSFER,
        label,
        account=account,
    )


def _plan(
    session: Session, ids: Sequence[int], choice: Choice, *, lock: bool
) -> tuple[Plan, Target]:
    items = _open_items(session, ids, lock=lock)
    currencies = sorted({i.currency for i in items})
    if len(currencies) > 1:
        raise FieldConflict(
            _(
                "The chosen items are in different currencies (%(list)s): classify each currency on its own.",
                list=", ".join(currencies),
            ),
            "items",
        )
    zero = [i for i in items if i.amount == 0]
    if zero:
        raise FieldConflict(_("Item %(id)d moves no money.", id=zero[0].item_id), "items")
    target = _target(session, choice, items)
    planned = [PlannedItem(i, target.label, -i.amount) for i in items]
    currency = currencies[0]
    total = money.quantize(money.total(i.amount for i in items), currency)
    return Plan(choice, planned, currency, total, target.label), target


def preview(session: Session, ids: Sequence[int], choice: Choice) -> Plan:
    """What :func:`classify` would book, or the reason it would refuse (nothing is written)."""
    try:
        plan = _plan(session, ids, choice, lock=False)[0]
    finally:
        session.rollback()
    return plan


@dataclass(frozen=True, slots=True)
class Classified:
    """One item classified: its entry, and the disbursement where one was recorded."""

    item_id: int
    entry_id: int
    disbursement_id: int | None = None


def _entry(
    item: OpenItem,
    target: Target,
    choice: Choice,
    *,
    review_la: int,
    who: str,
    disbursement_id: int | None,
) -> ledger.EntrySpec:
    """The item's review legs negated role by role, and the whole amount on the target."""
    legs = [
        ledger.Leg(review_la, item.currency, -amount, PostingRole(role))
        for amount, role in item.review_legs
    ]
    legs.append(ledger.Leg(target.ledger_account_id, item.currency, -item.amount, target.role))
    record: dict[str, Any] = {"classified_as": choice.as_.value, "item": item.item_id}
    if target.fund is not None:
        record["fund"] = target.fund.id
    if target.account is not None:
        record["account"] = target.account.id
    if disbursement_id is not None:
        record["disbursement"] = disbursement_id
        record["category"] = choice.category
    description = (
        choice.public_description.strip()
        if choice.as_ is ClassifyAs.DISBURSEMENT
        else f"classified as {choice.as_.value}"
    )
    return ledger.EntrySpec(
        kind=EntryKind.CLASSIFICATION,
        occurred_at=item.occurred_at,
        legs=legs,
        statement_line_id=item.line_id,
        resolves_entry_id=item.item_id,
        created_by=who,
        description=description[:500],
        shares=record,
    )


def classify(ids: Sequence[int], choice: Choice) -> list[Classified]:
    """Classify the items with one choice: one CLASSIFICATION entry each, one unit of work."""
    with unit_of_work() as session:
        plan, target = _plan(session, ids, choice, lock=True)
        review_la = ledger.review_fund(session).ledger_account_id
        who = audit.actor()
        done = []
        for planned in plan.items:
            item = planned.item
            disbursement_id = None
            if choice.as_ is ClassifyAs.DISBURSEMENT and target.fund is not None:
                disbursement = Disbursement(
                    fund_id=target.fund.id,
                    account_id=item.account_id,
                    currency=item.currency,
                    amount=-item.amount,
                    category=DisbursementCategory(choice.category or "").value,
                    public_description=choice.public_description.strip(),
                    private_note=choice.private_note or None,
                    paid_on=item.occurred_at.date(),
                    statement_line_id=item.line_id,
                    created_by=who,
                )
                session.add(disbursement)
                session.flush()
                disbursement_id = disbursement.id
            entry_id = ledger.write_entry(
                session,
                _entry(
                    item,
                    target,
                    choice,
                    review_la=review_la,
                    who=who,
                    disbursement_id=disbursement_id,
                ),
            )
            audit.record(
                session,
                "classification.add",
                "journal_entry",
                item.item_id,
                after={
                    "as": choice.as_.value,
                    "to": target.label,
                    "amount": -item.amount,
                    "currency": item.currency,
                    "entry": entry_id,
                    "disbursement": disbursement_id,
                    "category": choice.category,
                    "public_description": choice.public_description.strip() or None,
                    "private_note": audit.private(choice.private_note or None),
                },
            )
            done.append(Classified(item.item_id, entry_id, disbursement_id))
        return done


# --- what was classified, and undo ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Done:
    """A classification not undone, for the page's history and the CLI."""

    entry_id: int
    item_id: int
    occurred_at: datetime
    created_at: datetime
    created_by: str
    as_: str
    currency: str
    #: what the target was debited (a payment out is positive)
    amount: Decimal
    description: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "entry_id": self.entry_id,
            "item_id": self.item_id,
            "date": self.occurred_at.date().isoformat(),
            "as": self.as_,
            "currency": self.currency,
            "amount": money.to_string(self.amount, self.currency),
            "description": self.description,
            "by": self.created_by,
            "at": self.created_at.isoformat(),
        }


def _live(kind: EntryKind) -> Any:
    return sa.select(JournalEntry).where(JournalEntry.kind == kind.value, open_clause())


def recent(session: Session, *, limit: int = 20) -> list[Done]:
    """The newest classifications that stand (not undone)."""
    review_la = ledger.review_fund(session).ledger_account_id
    entries = session.scalars(
        _live(EntryKind.CLASSIFICATION)
        .options(selectinload(JournalEntry.postings))  # one query for all, not one per entry
        .order_by(JournalEntry.id.desc())
        .limit(limit)
    ).all()
    result = []
    for e in entries:
        review = [p for p in e.postings if p.ledger_account_id == review_la]
        amount = -money.total(p.amount for p in review)
        currency = review[0].currency if review else e.postings[0].currency
        result.append(
            Done(
                e.id,
                e.resolves_entry_id or 0,
                e.occurred_at,
                e.created_at,
                e.created_by,
                str((e.shares or {}).get("classified_as", "")),
                currency,
                money.quantize(amount, currency),
                e.description,
            )
        )
    return result


def undo(entry_id: int) -> int:
    """Undo a classification: a correcting entry, and the item is back in the queue.

    A disbursement it recorded is removed (its content stays in the audit
    log); refused once a publication has shown it.
    """
    with unit_of_work() as session:
        entry = corrections.standing(
            session,
            entry_id,
            EntryKind.CLASSIFICATION,
            _("There is no classification %(id)d.", id=entry_id),
        )
        record = entry.shares or {}
        spending = record.get("disbursement")
        # spending is in monthly publications too; the rest only in the yearly statement
        kinds = (
            (PublicationKind.MONTHLY, PublicationKind.YEARLY)
            if spending
            else (PublicationKind.YEARLY,)
        )
        corrections.refuse_if_published(session, entry.occurred_at.date(), kinds)
        who = audit.actor()
        correction = corrections.negate(
            session, entry, who=who, description="undo of a classification"
        )
        before: dict[str, Any] = {
            "entry": entry.id,
            "item": entry.resolves_entry_id,
            "as": record.get("classified_as"),
        }
        if spending:
            row = session.get(Disbursement, int(spending))
            if row is not None:
                before.update(
                    disbursement=row.id,
                    fund=row.fund_id,
                    amount=row.amount,
                    currency=row.currency,
                    category=row.category,
                    public_description=row.public_description,
                    private_note=audit.private(row.private_note),
                    paid_on=row.paid_on.isoformat(),
                )
                session.delete(row)
                session.flush()
        audit.record(
            session,
            "classification.undo",
            "journal_entry",
            entry.resolves_entry_id,
            before=before,
            after={"correction": correction},
        )
        return correction
