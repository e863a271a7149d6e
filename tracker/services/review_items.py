"""The classification queue: review items, money an import left in the review fund.

An import books what it cannot place (outgoing payments, fee-only lines,
unknown kinds, pending money in, a refund whose donation never arrived, an
account's opening balance) against the review fund: a *review item*. Which
items are open is defined in :mod:`tracker.services.open_items`, which also
keeps the table the queue reads (one row per open item, in time order).

Read-only: listing with keyset pages and filters, loading items by id, and the
funds money can be assigned to. :mod:`tracker.services.classification` books.

May import: models, :mod:`tracker.money`, :mod:`tracker.i18n`, the ledger service,
:mod:`tracker.services.open_items`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker import money
from tracker.i18n import gettext as _
from tracker.models import (
    Account,
    Campaign,
    EntryKind,
    Fund,
    FundKind,
    JournalEntry,
    OpenReviewItem,
    Posting,
    Prisoner,
    StatementLine,
)
from tracker.services import ledger

#: The kind shown (and filtered on) for an account's opening balance, which has no line.
OPENING = "opening_balance"


@dataclass(frozen=True, slots=True)
class OpenItem:
    """A review item as a treasurer sees it (never sealed identity)."""

    item_id: int
    occurred_at: datetime
    account_id: int
    account: str
    entry_kind: str
    #: the statement line's kind, or ``opening_balance``
    kind: str
    status: str
    provider_type: str
    currency: str
    #: the change to the account's balance: negative for money that left
    amount: Decimal
    reason: str
    texts: list[tuple[str, str]]
    line_id: int | None = None
    review_legs: list[tuple[Decimal, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (amounts as decimal strings)."""
        return {
            "item_id": self.item_id,
            "date": self.occurred_at.date().isoformat(),
            "occurred_at": self.occurred_at.isoformat(),
            "account": self.account,
            "kind": self.kind,
            "status": self.status,
            "provider_type": self.provider_type,
            "currency": self.currency,
            "amount": money.to_string(self.amount, self.currency),
            "reason": self.reason,
            "texts": [list(t) for t in self.texts],
        }


@dataclass(frozen=True, slots=True)
class ItemPage:
    """One page of the queue and the cursor of the next (None on the last page)."""

    items: list[OpenItem]
    next_after: int | None


def _accounts_by_ledger(session: Session) -> dict[int, Account]:
    return {a.asset_ledger_id: a for a in session.scalars(sa.select(Account))}


def load_items(session: Session, ids: Sequence[int]) -> dict[int, OpenItem]:
    """The items with these entry ids (whatever their state), by id."""
    if not ids:
        return {}
    review_la = ledger.review_fund(session).ledger_account_id
    accounts = _accounts_by_ledger(session)
    # plain rows, not ORM objects: this runs for every item of a page
    rows = session.execute(
        sa.select(
            JournalEntry.id,
            JournalEntry.occurred_at,
            JournalEntry.kind,
            JournalEntry.description,
            StatementLine.id,
            StatementLine.kind,
            StatementLine.status,
            StatementLine.provider_type,
            StatementLine.texts,
        )
        .outerjoin(StatementLine, StatementLine.id == JournalEntry.statement_line_id)
        .where(JournalEntry.id.in_(list(ids)))
    ).tuples()
    legs: dict[int, list[tuple[int, str, Decimal, str]]] = {}
    legs_query = (
        sa.select(
            Posting.entry_id,
            Posting.ledger_account_id,
            Posting.currency,
            Posting.amount,
            Posting.role,
        )
        .where(Posting.entry_id.in_(list(ids)))
        .order_by(Posting.id)
    )
    for entry_id, ledger_id, currency, amount, role in session.execute(legs_query).tuples():
        legs.setdefault(entry_id, []).append((ledger_id, currency, amount, role))
    items = {}
    for entry_id, occurred_at, entry_kind, reason, line_id, kind, status, provider, texts in rows:
        postings = legs.get(entry_id, [])
        review = [(amount, role) for lid, _c, amount, role in postings if lid == review_la]
        asset = next((accounts[p[0]] for p in postings if p[0] in accounts), None)
        if not review or asset is None:
            continue
        currency = postings[0][1]
        line = line_id is not None
        items[entry_id] = OpenItem(
            item_id=entry_id,
            occurred_at=occurred_at,
            account_id=asset.id,
            account=asset.name,
            entry_kind=entry_kind,
            kind=kind if line else OPENING,
            status=status if line else "",
            provider_type=provider if line else "",
            currency=currency,
            amount=money.quantize(-money.total(a for a, _r in review), currency),
            reason=reason,
            texts=[(str(f), str(t)) for f, t in (texts or [])] if line else [],
            line_id=line_id,
            review_legs=review,
        )
    return items


def open_items(
    session: Session,
    *,
    account_id: int | None = None,
    currency: str | None = None,
    kind: str | None = None,
    after: int | None = None,
    limit: int = 50,
) -> ItemPage:
    """Open review items, oldest first, paginated by (date, id) after the item ``after``.

    Read from the table of open items (:mod:`tracker.services.open_items`), in
    its (time, id) order: a page costs a page, however many items were ever
    classified.
    """
    item = OpenReviewItem
    query = sa.select(item.entry_id)
    if account_id is not None:
        account = session.get(Account, account_id)
        if account is None:
            return ItemPage([], None)
        # "+ 0": look each item's own postings up by entry, never all the postings
        # of an account (engines without statistics would)
        query = query.where(
            sa.exists().where(
                Posting.entry_id == item.entry_id,
                Posting.ledger_account_id + 0 == account.asset_ledger_id,
            )
        )
    if currency:
        query = query.where(item.currency == currency)
    if kind == OPENING:
        query = query.where(
            sa.exists().where(JournalEntry.id == item.entry_id, JournalEntry.kind == EntryKind.OPENING_BALANCE.value)
        )
    elif kind:
        query = query.where(
            sa.exists().where(
                JournalEntry.id == item.entry_id,
                StatementLine.id == JournalEntry.statement_line_id,
                StatementLine.kind == kind,
            )
        )
    if after is not None:
        anchor = session.scalar(sa.select(JournalEntry.occurred_at).where(JournalEntry.id == after))
        if anchor is not None:
            # a plain tuple on the right: its values are bound with the columns' types
            query = query.where(sa.tuple_(item.occurred_at, item.entry_id) > (anchor, after))
    ids = list(session.scalars(query.order_by(item.occurred_at, item.entry_id).limit(limit + 1)))
    more = len(ids) > limit
    ids = ids[:limit]
    loaded = load_items(session, ids)
    items = [loaded[i] for i in ids if i in loaded]
    return ItemPage(items, ids[-1] if more and ids else None)


def open_currencies(session: Session) -> list[str]:
    """The currencies of the open items (for the filter)."""
    query = sa.select(OpenReviewItem.currency).where(OpenReviewItem.currency.is_not(None)).distinct()
    return sorted(session.scalars(query))


def fund_label(session: Session, fund: Fund) -> str:
    """A fund's name for people: the prisoner, the campaign's tag, general, review."""
    if fund.kind == FundKind.PRISONER.value and fund.prisoner_id is not None:
        prisoner = session.get(Prisoner, fund.prisoner_id)
        return prisoner.name if prisoner is not None else fund.name
    if fund.kind == FundKind.CAMPAIGN.value and fund.campaign_id is not None:
        campaign = session.get(Campaign, fund.campaign_id)
        return f"{campaign.tag} · {fund.name}" if campaign is not None else fund.name
    if fund.kind == FundKind.GENERAL.value:
        return _("The general fund")
    return _("The review fund")


def fund_choices(session: Session) -> list[tuple[str, str]]:
    """(key, label) of every fund money can be assigned to (not the review fund)."""
    rows = session.execute(
        sa.select(Fund.kind, Fund.name, Prisoner.slug, Prisoner.name, Campaign.tag)
        .outerjoin(Prisoner, Prisoner.id == Fund.prisoner_id)
        .outerjoin(Campaign, Campaign.id == Fund.campaign_id)
        .where(Fund.kind != FundKind.REVIEW.value)
        .order_by(Fund.kind, Fund.name)
    ).all()
    choices = [("general", _("The general fund"))]
    for kind, name, slug, prisoner, tag in rows:
        if kind == FundKind.PRISONER.value and slug:
            choices.append((slug, prisoner or name))
        elif kind == FundKind.CAMPAIGN.value and tag:
            choices.append((f"campaign:{tag}", f"{tag} · {name}"))
    return choices
