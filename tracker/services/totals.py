"""The treasurer's live figures (``tracker totals``): never public.

Campaign, general and review figures follow each donation wherever its money
went: they sum the fund postings of every entry tied to the donation (its
booking, refunds, dispute fees, re-allocations), so gross is net of refunds
and fee is what the providers kept. Prisoner figures are per fund, from that
fund's postings by role, and always satisfy
``raised - fees - spent + transfers = balance``.

May import: models, :mod:`tracker.money`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker import money
from tracker.models import (
    Campaign,
    Destination,
    Donation,
    EntryKind,
    Fund,
    FundKind,
    JournalEntry,
    LedgerAccount,
    LedgerKind,
    Posting,
    PostingRole,
    Prisoner,
)
from tracker.services.ledger import review_fund

CurrencyMap = dict[str, Decimal]


def _add(target: CurrencyMap, currency: str, amount: Decimal) -> None:
    target[currency] = target.get(currency, money.ZERO) + amount


def money_map(values: CurrencyMap, currencies: set[str] | None = None) -> dict[str, str]:
    """Currency -> decimal string at the currency's scale, sorted by code.

    ``currencies`` lists codes to show even where the amount is zero, so the
    maps of one figure set share their keys (gross - fee = net per key).
    """
    codes = set(values) | (currencies or set())
    return {
        cur: money.to_string(money.quantize(values.get(cur, money.ZERO), cur), cur)
        for cur in sorted(codes)
    }


@dataclass
class DonationFigures:
    """Counted donations and their gross, fee and net per currency."""

    donations: int = 0
    gross: CurrencyMap = field(default_factory=dict)
    fee: CurrencyMap = field(default_factory=dict)

    @property
    def net(self) -> CurrencyMap:
        """Gross less fee, per currency."""
        return {cur: self.gross.get(cur, money.ZERO) - self.fee.get(cur, money.ZERO) for cur in set(self.gross) | set(self.fee)}

    def as_dict(self) -> dict[str, Any]:
        """The contract's shape."""
        codes = set(self.gross) | set(self.fee)
        return {
            "donations": self.donations,
            "gross": money_map(self.gross, codes),
            "fee": money_map(self.fee, codes),
            "net": money_map(self.net, codes),
        }


@dataclass
class FundFigures:
    """Raised, fees, spent, transfers and balance of one fund, per currency."""

    raised: CurrencyMap = field(default_factory=dict)
    fees: CurrencyMap = field(default_factory=dict)
    spent: CurrencyMap = field(default_factory=dict)
    transfers: CurrencyMap = field(default_factory=dict)

    @property
    def balance(self) -> CurrencyMap:
        """raised - fees - spent + transfers."""
        keys = set(self.raised) | set(self.fees) | set(self.spent) | set(self.transfers)
        return {
            cur: self.raised.get(cur, money.ZERO)
            - self.fees.get(cur, money.ZERO)
            - self.spent.get(cur, money.ZERO)
            + self.transfers.get(cur, money.ZERO)
            for cur in keys
        }

    def as_dict(self) -> dict[str, Any]:
        """Currency maps of each figure."""
        codes = set(self.raised) | set(self.fees) | set(self.spent) | set(self.transfers)
        return {
            "raised": money_map(self.raised, codes),
            "fees": money_map(self.fees, codes),
            "spent": money_map(self.spent, codes),
            "transfers": money_map(self.transfers, codes),
            "balance": money_map(self.balance, codes),
        }


def _donation_money(session: Session) -> dict[tuple[str, int | None], DonationFigures]:
    """Figures per (destination, campaign id)."""
    figures: dict[tuple[str, int | None], DonationFigures] = defaultdict(DonationFigures)
    for destination, campaign_id, count in session.execute(
        sa.select(Donation.destination, Donation.campaign_id, sa.func.count())
        .where(Donation.voided_at.is_(None))
        .group_by(Donation.destination, Donation.campaign_id)
    ):
        figures[(destination, campaign_id)].donations = count
    rows = session.execute(
        sa.select(
            Donation.destination,
            Donation.campaign_id,
            Posting.currency,
            Posting.role,
            sa.func.sum(Posting.amount),
        )
        .select_from(Posting)
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .join(Donation, Donation.id == JournalEntry.donation_id)
        .join(LedgerAccount, LedgerAccount.id == Posting.ledger_account_id)
        .where(
            LedgerAccount.kind == LedgerKind.FUND.value,
            Posting.role.in_(
                [PostingRole.GROSS.value, PostingRole.REFUND.value, PostingRole.FEE.value]
            ),
        )
        .group_by(Donation.destination, Donation.campaign_id, Posting.currency, Posting.role)
    )
    for destination, campaign_id, cur, role, amount in rows:
        fig = figures[(destination, campaign_id)]
        if role == PostingRole.FEE.value:
            _add(fig.fee, cur, amount)
        else:
            _add(fig.gross, cur, -amount)
    return figures


def fund_figures(session: Session, ledger_ids: list[int] | None = None) -> dict[int, FundFigures]:
    """Figures per fund ledger account id (all funds when ``ledger_ids`` is None)."""
    query = (
        sa.select(Posting.ledger_account_id, Posting.currency, Posting.role, sa.func.sum(Posting.amount))
        .join(LedgerAccount, LedgerAccount.id == Posting.ledger_account_id)
        .where(LedgerAccount.kind == LedgerKind.FUND.value)
        .group_by(Posting.ledger_account_id, Posting.currency, Posting.role)
    )
    if ledger_ids is not None:
        query = query.where(Posting.ledger_account_id.in_(ledger_ids))
    result: dict[int, FundFigures] = defaultdict(FundFigures)
    for la, cur, role, amount in session.execute(query):
        fig = result[la]
        if role in (PostingRole.GROSS.value, PostingRole.REFUND.value):
            _add(fig.raised, cur, -amount)
        elif role == PostingRole.FEE.value:
            _add(fig.fees, cur, amount)
        elif role == PostingRole.SPEND.value:
            _add(fig.spent, cur, amount)
        else:
            _add(fig.transfers, cur, -amount)
    return result


def waiting_for_review(session: Session) -> dict[str, Any]:
    """Donations waiting for a campaign: how many, and their gross per currency.

    Reads only the review queue's donations (by the destination index), so it
    stays cheap however many donations the books hold.
    """
    count, gross = 0, {}
    for currency, n, amount in session.execute(
        sa.select(Donation.currency, sa.func.count(), sa.func.sum(Donation.gross))
        .where(Donation.destination == Destination.REVIEW.value, Donation.voided_at.is_(None))
        .group_by(Donation.currency)
    ):
        count += n
        gross[currency] = amount
    return {"donations": count, "gross": money_map(gross)}


def unclassified(session: Session) -> dict[str, Any]:
    """Money in the review fund that is not a donation waiting for a campaign."""
    review_la = review_fund(session).ledger_account_id
    in_review = sa.select(Donation.id).where(Donation.destination == Destination.REVIEW.value)
    net: CurrencyMap = {}
    for cur, amount in session.execute(
        sa.select(Posting.currency, sa.func.sum(Posting.amount))
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(
            Posting.ledger_account_id == review_la,
            sa.or_(JournalEntry.donation_id.is_(None), JournalEntry.donation_id.not_in(in_review)),
        )
        .group_by(Posting.currency)
    ):
        if amount:
            net[cur] = -amount
    # a resolver that was itself undone (named by a correction) no longer resolves
    resolver, undone = sa.orm.aliased(JournalEntry), sa.orm.aliased(JournalEntry)
    lines = session.scalar(
        sa.select(sa.func.count())
        .select_from(JournalEntry)
        .where(
            sa.or_(
                JournalEntry.kind.in_(
                    [EntryKind.UNCLASSIFIED.value, EntryKind.OPENING_BALANCE.value]
                ),
                sa.and_(
                    JournalEntry.kind.in_([EntryKind.REFUND.value, EntryKind.CHARGEBACK.value]),
                    JournalEntry.donation_id.is_(None),
                ),
            ),
            ~sa.exists().where(
                resolver.resolves_entry_id == JournalEntry.id,
                ~sa.exists().where(undone.resolves_entry_id == resolver.id),
            ),
        )
    )
    return {"lines": lines or 0, "net": money_map(net)}


def totals(session: Session) -> dict[str, Any]:
    """Everything ``tracker totals --json`` prints (the contract's shape)."""
    by_destination = _donation_money(session)
    campaigns = []
    for campaign in session.scalars(sa.select(Campaign).order_by(Campaign.tag)):
        fig = by_destination.get((Destination.CAMPAIGN.value, campaign.id), DonationFigures())
        campaigns.append({"tag": campaign.tag, "title": campaign.title, **fig.as_dict()})
    prisoner_rows = session.execute(
        sa.select(Prisoner, Fund.ledger_account_id)
        .join(Fund, Fund.prisoner_id == Prisoner.id)
        .where(Fund.kind == FundKind.PRISONER.value)
        .order_by(Prisoner.slug)
    ).all()
    per_fund = fund_figures(session, [la for _, la in prisoner_rows])
    prisoners = [
        {"slug": p.slug, "name": p.name, **per_fund.get(la, FundFigures()).as_dict()}
        for p, la in prisoner_rows
    ]
    general = by_destination.get((Destination.GENERAL.value, None), DonationFigures())
    review = by_destination.get((Destination.REVIEW.value, None), DonationFigures())
    return {
        "campaigns": campaigns,
        "prisoners": prisoners,
        "general": general.as_dict(),
        "review": {"donations": review.donations, "gross": money_map(review.gross)},
        "unclassified": unclassified(session),
    }
