"""``tracker demo``: book the generated demo plan, once.

Everything goes through the same services a treasurer's actions use. A
setting records that the demo is loaded, so running it again changes nothing.

May import: services, models, :mod:`tracker.demo_data`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.demo_data import (
    END,
    DemoConversion,
    DemoDisbursement,
    DemoDonation,
    DemoFundTransfer,
    DemoPlan,
    DemoReturn,
    DemoReviewItem,
    DemoTransfer,
    build_plan,
)
from tracker.models import (
    Account,
    Campaign,
    Destination,
    Donation,
    DonationOrigin,
    EntryKind,
    Event,
    Fund,
    Setting,
)
from tracker.records import TagSource
from tracker.sealing import Keys
from tracker.services import booking, ledger, publishing, settings, unit_of_work
from tracker.services.accounts import create_account
from tracker.services.campaigns import (
    WeightBook,
    add_weight,
    create_campaign,
    create_prisoner,
    get_prisoner,
    pool_fund,
)
from tracker.services.disbursements import create_disbursement
from tracker.services.donations import NewDonation, insert_donations, refund
from tracker.services.keys import server_keys

MARKER = "demo"


@dataclass(frozen=True, slots=True)
class DemoResult:
    """Whether the demo was loaded now, and how much it holds."""

    loaded: bool
    donations: int = 0
    donors: int = 0
    releases: int = 0


#: What the demo's public pages say about the (fictional) group.
DEMO_SETTINGS: dict[str, Any] = {
    "group_name": "Demo Solidarity Fund",
    "intro": {
        "en": "A fictional prisoner-support fund. Every figure here is demo data, published the way a real group would publish.",
        "ru": "Вымышленный фонд поддержки заключённых. Все цифры здесь демонстрационные и опубликованы так, как их опубликовала бы настоящая группа.",
    },
    "payment_details": {
        "en": "PayPal: fund@example.org · Bank: IBAN XX00 0000 0000 0000 0000 00 (Demo Solidarity Fund)",
        "ru": "PayPal: fund@example.org · Банк: IBAN XX00 0000 0000 0000 0000 00 (Demo Solidarity Fund)",
    },
    "base_currency": "EUR",
    "rates": {"RUB": {"rate": "0.0105", "date": "2026-10-31"}, "GBP": {"rate": "1.17", "date": "2026-10-31"}},
}


def load_demo(plan: DemoPlan | None = None) -> DemoResult:
    """Book the demo plan in one unit of work, unless it is already loaded."""
    plan = plan or build_plan()
    keys = server_keys()
    with unit_of_work() as session:
        if session.get(Setting, MARKER) is not None:
            return DemoResult(loaded=False)
        accounts = {name: create_account(session, name, kind) for name, kind in plan.accounts}
        for p in plan.prisoners:
            create_prisoner(session, p.slug, p.name, public=p.public, description=p.description)
        campaigns = {}
        for c in plan.campaigns:
            campaign = create_campaign(
                session,
                c.tag,
                c.title,
                aliases=c.aliases,
                starts_on=c.starts_on,
                ends_on=c.ends_on,
                goal=c.goal,
                public=c.public,
            )
            for w in c.weights:
                add_weight(session, campaign, get_prisoner(session, w.slug), w.weight, since=w.since, until=w.until)
            campaigns[c.tag] = campaign
        events = {}
        for e in plan.events:
            event = Event(name=e.name, held_on=e.held_on, place=e.place, campaign_id=campaigns[e.campaign].id if e.campaign else None)
            session.add(event)
            events[e.name] = event
        session.flush()

        booker = _Booker(session, accounts, campaigns, events, keys)
        for _at, _order, kind, item in sorted(_timeline(plan), key=lambda e: (e[0], e[1])):
            booker.book(kind, item)
        booker.flush()
        donors = len({d.donor for d in plan.donations if d.donor})
        session.add(Setting(key=MARKER, value={"loaded_at": datetime.now(UTC).isoformat(), "donations": len(plan.donations)}))
        for key, value in DEMO_SETTINGS.items():
            settings.set_value(session, key, json.dumps(value, ensure_ascii=False))
    # the demo's history closes at END: publish it as the monthly cron would have
    releases = publishing.publish(today=END + timedelta(days=1), group=DEMO_SETTINGS["group_name"])
    return DemoResult(loaded=True, donations=len(plan.donations), donors=donors, releases=len(releases))


def _timeline(plan: DemoPlan) -> list[tuple[datetime, int, str, Any]]:
    """Every planned event with its moment, so the books are written in time order."""
    events: list[tuple[datetime, int, str, Any]] = []
    events += [(d.received_at, 0, "donation", d) for d in plan.donations]
    events += [(r.at, 1, "return", r) for r in plan.returns]
    events += [(c.at, 2, "conversion", c) for c in plan.conversions]
    events += [(t.at, 3, "payout", t) for t in plan.transfers]
    events += [(t.at + timedelta(days=2), 4, "payout_arrived", t) for t in plan.transfers]
    events += [(f.at, 5, "fund_transfer", f) for f in plan.fund_transfers]
    events += [(r.at, 6, "review", r) for r in plan.review_items]
    events += [(datetime.combine(x.paid_on, time(12, 0), UTC), 7, "disbursement", x) for x in plan.disbursements]
    return events


class _Booker:
    """Books timeline events; consecutive donations go in one bulk insert."""

    def __init__(self, session: Session, accounts: dict[str, Account], campaigns: dict[str, Campaign], events: dict[str, Event], keys: Keys) -> None:
        self.session = session
        self.accounts = accounts
        self.campaigns = campaigns
        self.events = events
        self.keys = keys
        self.pending: list[tuple[int, NewDonation]] = []
        self.by_ref: dict[int, int] = {}
        self.weights = WeightBook(session)

    def flush(self) -> None:
        if not self.pending:
            return
        ids = insert_donations(self.session, [n for _, n in self.pending], created_by="demo", weights=self.weights)
        self.by_ref.update(zip((ref for ref, _ in self.pending), ids, strict=True))
        self.pending = []

    def donation(self, ref: int) -> Donation:
        found = self.session.get(Donation, self.by_ref[ref])
        assert found is not None
        return found

    def fund(self, key: str) -> Fund:
        if key == "general":
            return ledger.general_fund(self.session)
        if key.startswith("campaign:"):
            return pool_fund(self.session, self.campaigns[key.removeprefix("campaign:")])
        prisoner = get_prisoner(self.session, key)
        found = self.session.scalar(sa.select(Fund).where(Fund.prisoner_id == prisoner.id))
        assert found is not None
        return found

    def book(self, kind: str, item: Any) -> None:
        if kind == "donation":
            self.pending.append((item.ref, self._new_donation(item)))
            return
        self.flush()
        getattr(self, "_" + kind)(item)

    def _new_donation(self, d: DemoDonation) -> NewDonation:
        if d.campaign == "?":
            destination, campaign_id = Destination.REVIEW, None
        elif d.campaign is None:
            destination, campaign_id = Destination.GENERAL, None
        else:
            destination, campaign_id = Destination.CAMPAIGN, self.campaigns[d.campaign].id
        return NewDonation(
            account=self.accounts[d.account],
            received_at=d.received_at,
            currency=d.currency,
            gross=d.gross,
            fee=d.fee,
            destination=destination,
            campaign_id=campaign_id,
            donor_key=self.keys.hash("donor", d.donor) if d.donor else None,
            origin=DonationOrigin.EVENT if d.event else DonationOrigin.MANUAL,
            tag_source=TagSource.NONE if d.campaign == "?" else TagSource.MANUAL,
            event_id=self.events[d.event].id if d.event else None,
        )

    def _return(self, r: DemoReturn) -> None:
        donation = self.donation(r.donation)
        refund(self.session, donation, amount=r.amount, fee_returned=r.fee_returned, occurred_at=r.at, chargeback=r.chargeback, created_by="demo")
        if r.dispute_fee:
            booking.book_dispute_fee(
                self.session,
                account=self.accounts[next(name for name, a in self.accounts.items() if a.id == donation.account_id)],
                currency=donation.currency,
                amount=r.dispute_fee,
                occurred_at=r.at,
                donation=donation,
                created_by="demo",
            )

    def _conversion(self, c: DemoConversion) -> None:
        booking.book_conversion(
            self.session,
            account=self.accounts[c.account],
            sold_currency=c.sold_currency,
            sold=c.sold,
            bought_currency=c.bought_currency,
            bought=c.bought,
            occurred_at=c.at,
            donation=self.donation(c.donation) if c.donation else None,
            created_by="demo",
        )

    def _payout(self, t: DemoTransfer) -> None:
        source, target = self.accounts[t.source], self.accounts[t.target]
        booking.book_account_transfer(
            self.session,
            from_ledger_id=source.asset_ledger_id,
            to_ledger_id=source.transit_ledger_id,
            currency=t.currency,
            amount=t.amount,
            occurred_at=t.at,
            description=f"payout to {target.name}",
            created_by="demo",
        )

    def _payout_arrived(self, t: DemoTransfer) -> None:
        source, target = self.accounts[t.source], self.accounts[t.target]
        booking.book_account_transfer(
            self.session,
            from_ledger_id=source.transit_ledger_id,
            to_ledger_id=target.asset_ledger_id,
            currency=t.currency,
            amount=t.amount,
            occurred_at=t.at + timedelta(days=2),
            description=f"payout from {source.name} arrived",
            created_by="demo",
        )

    def _fund_transfer(self, ft: DemoFundTransfer) -> None:
        booking.book_fund_transfer(
            self.session,
            from_fund=self.fund(ft.source),
            to_fund=self.fund(ft.target),
            currency=ft.currency,
            amount=ft.amount,
            occurred_at=ft.at,
            reason=ft.reason,
            created_by="demo",
        )

    def _review(self, item: DemoReviewItem) -> None:
        booking.book_to_review(
            self.session,
            kind=EntryKind(item.kind),
            asset_ledger_id=self.accounts[item.account].asset_ledger_id,
            currency=item.currency,
            amount=item.amount,
            occurred_at=item.at,
            description=item.description,
            created_by="demo",
        )

    def _disbursement(self, d: DemoDisbursement) -> None:
        create_disbursement(
            self.session,
            fund=self.fund(d.fund),
            account=self.accounts[d.account],
            currency=d.currency,
            amount=d.amount,
            category=d.category,
            public_description=d.description,
            paid_on=d.paid_on,
        )
