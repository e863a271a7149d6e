"""The treasurer's live figures (``tracker totals``): never public.

Campaign, general and review figures follow each donation wherever its money
went: they sum the fund postings of every entry tied to the donation (its
booking, refunds, dispute fees, re-allocations), so gross is net of refunds
and fee is what the providers kept. Those sums are read from the running
figures the ledger service keeps (:mod:`tracker.services.donation_totals`),
never summed over the ledger on a page. Prisoner figures are per fund, from that
fund's postings by role, and always satisfy
``raised - fees - spent + transfers = balance``.

May import: models, :mod:`tracker.money`, services (ledger, donation_totals).
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
    Balance,
    Campaign,
    Destination,
    Donation,
    DonationTotal,
    Fund,
    FundKind,
    JournalEntry,
    LedgerAccount,
    LedgerKind,
    OpenReviewItem,
    Posting,
    PostingRole,
    Prisoner,
)
from tracker.services import donation_totals
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
    """Figures per (destination, campaign id), from the running donation figures."""
    figures: dict[tuple[str, int | None], DonationFigures] = defaultdict(DonationFigures)
    for (destination, campaign_key), by_currency in donation_totals.read(session).items():
        fig = figures[(destination, campaign_key or None)]
        for cur, f in by_currency.items():
            fig.donations += f.donations
            _add(fig.gross, cur, f.raised)
            _add(fig.fee, cur, f.fees)
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

    Read from the running donation figures (one row per currency), so it costs
    the same however many donations the books hold.
    """
    count, gross = 0, {}
    for by_currency in donation_totals.read(session, Destination.REVIEW).values():
        for currency, f in by_currency.items():
            count += f.donations
            if f.donations or f.gross:
                gross[currency] = f.gross
    return {"donations": count, "gross": money_map(gross)}


def raised_by_campaign(session: Session, campaign_ids: list[int]) -> dict[int, CurrencyMap]:
    """Gross less refunds per campaign and currency, as :func:`totals` counts it."""
    raised: dict[int, CurrencyMap] = {}
    for campaign_id, currency, amount in session.execute(
        sa.select(DonationTotal.campaign_key, DonationTotal.currency, DonationTotal.raised).where(
            DonationTotal.destination == Destination.CAMPAIGN.value, DonationTotal.campaign_key.in_(campaign_ids)
        )
    ):
        raised.setdefault(campaign_id, {})[currency] = amount
    return raised


def unclassified_money(session: Session) -> CurrencyMap:
    """Money in the review fund that is not a donation waiting for a campaign, per currency.

    The review fund's balance less what the postings of waiting donations
    hold in it, both kept up to date by the ledger service. ``tracker check``
    compares it with :func:`unclassified_money_from_postings`.
    """
    review_la = review_fund(session).ledger_account_id
    net: CurrencyMap = {}
    for cur, amount in session.execute(
        sa.select(Balance.currency, Balance.amount).where(Balance.ledger_account_id == review_la)
    ):
        net[cur] = -amount
    for by_currency in donation_totals.read(session, Destination.REVIEW).values():
        for cur, f in by_currency.items():
            net[cur] = net.get(cur, money.ZERO) + f.review_held
    return {cur: amount for cur, amount in net.items() if amount}


def unclassified_money_from_postings(session: Session) -> CurrencyMap:
    """:func:`unclassified_money` summed from the review fund's postings (reads them all)."""
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
    return net


def unclassified(session: Session) -> dict[str, Any]:
    """Money in the review fund that is not a donation waiting for a campaign, and how many open items hold it."""
    lines = session.scalar(sa.select(sa.func.count()).select_from(OpenReviewItem))
    return {"lines": lines or 0, "net": money_map(unclassified_money(session))}


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
