"""Cutting publications and yearly statements: the only source of public figures.

``publish`` cuts whatever is due: every closed month not yet published (in
order), then every closed year whose months are all out. A monthly
publication holds, per public fund and per public campaign and currency, the
gifts received (rounded down, with the number of distinct donors), the
group's spending by category (exact), and the takings of solidarity events.
Cells are decided by :mod:`tracker.disclosure` (K donors, dominance, atoms
across everything ever published); a withheld cell's gifts are carried into
the next month, at most twelve times. A yearly statement gives per public fund
and currency opening, received, events, refunds, fees, transfers, spent and
closing, exactly; funds that fail the rules (and private funds and the review
fund) only appear inside an "other funds" line that passes, or not at all.

Each release is canonical JSON (RFC 8785) whose SHA-256 chains to the
previous one; published cells and the donations behind them are recorded so
later releases respect earlier ones. Releases are never revised.

May import: models, :mod:`tracker.disclosure`, :mod:`tracker.money`, services.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import rfc8785
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker import money
from tracker.disclosure import Cell, Member, decide
from tracker.models import (
    AllocationNote,
    Campaign,
    CampaignPrisoner,
    Destination,
    Disbursement,
    Donation,
    DonationOrigin,
    EntryKind,
    Event,
    Fund,
    FundKind,
    JournalEntry,
    Posting,
    Prisoner,
    Publication,
    PublicationCell,
    PublicationKind,
    PublishedDonation,
)
from tracker.services import audit, bulk, ledger
from tracker.services.settings import PublicSettings, public_settings

SCHEMA = "tracker.publication/1"
MAX_CARRY_MONTHS = 12


def canonical(body: dict[str, Any]) -> bytes:
    """RFC 8785 canonical JSON bytes (amounts are strings, so no number formatting)."""
    return rfc8785.dumps(body)


def digest(data: bytes) -> str:
    """SHA-256 hex of a release's canonical bytes."""
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, slots=True)
class FundInfo:
    """A fund as publications name it."""

    ledger_id: int
    key: str
    kind: str
    name: str
    public: bool
    slug: str | None = None


@dataclass
class CutReport:
    """What one release published and what it withheld (for the treasurer, never public)."""

    seq: int
    kind: str
    period: str
    published: int
    withheld: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"seq": self.seq, "kind": self.kind, "period": self.period, "published": self.published, "withheld": self.withheld}


def _month_end(day: date) -> date:
    nxt = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), UTC)


def _months_back(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def _s(amount: Decimal, currency: str) -> str:
    return money.to_string(money.quantize(amount, currency), currency)


class Publisher:
    """Cuts releases inside the caller's unit of work."""

    def __init__(self, session: Session, settings: PublicSettings) -> None:
        """Load the funds, who is public, and the end of the chain."""
        self.session = session
        self.settings = settings
        self.rules = settings.rules
        self.funds: dict[int, FundInfo] = {}
        rows = session.execute(
            sa.select(Fund, Prisoner.slug, Prisoner.public, Campaign.tag, Campaign.public)
            .outerjoin(Prisoner, Prisoner.id == Fund.prisoner_id)
            .outerjoin(Campaign, Campaign.id == Fund.campaign_id)
        ).all()
        for fund, slug, p_public, tag, c_public in rows:
            if fund.kind == FundKind.PRISONER.value:
                info = FundInfo(fund.ledger_account_id, f"prisoner:{slug}", fund.kind, fund.name, bool(p_public), slug)
            elif fund.kind == FundKind.CAMPAIGN.value:
                info = FundInfo(fund.ledger_account_id, f"pool:{tag}", fund.kind, fund.name, bool(c_public), tag)
            elif fund.kind == FundKind.GENERAL.value:
                info = FundInfo(fund.ledger_account_id, "general", fund.kind, fund.name, True)
            else:
                info = FundInfo(fund.ledger_account_id, "review", fund.kind, fund.name, False)
            self.funds[info.ledger_id] = info
        self.campaigns = {c.id: c for c in session.scalars(sa.select(Campaign))}
        self.head = session.scalar(sa.select(Publication).order_by(Publication.seq.desc()).limit(1))
        #: gifts still withheld after the last month cut in this run (None: read them from the books)
        self._carried: list[Any] | None = None
        self._rows: list[Any] = []
        self._bases: dict[int, ledger.Basis] = {}

    # --- chain -----------------------------------------------------------------------------

    def _store(self, kind: PublicationKind, start: date, end: date, body: dict[str, Any], cells: list[tuple[Cell, Decimal]]) -> Publication:
        seq = (self.head.seq + 1) if self.head else 1
        body = {**body, "schema": SCHEMA, "seq": seq, "kind": kind.value, "previous": self.head.sha256 if self.head else None}
        data = canonical(body)
        publication = Publication(
            seq=seq, kind=kind.value, period_start=start, period_end=end,
            body=data.decode("utf-8"), sha256=digest(data), prev_sha256=self.head.sha256 if self.head else None,
        )
        self.session.add(publication)
        self.session.flush()
        rows = []
        for cell, value in cells:
            key, currency = cell.key  # type: ignore[misc]
            rows.append(PublicationCell(publication_id=publication.id, key=key, currency=currency, value=value, donors=cell.donors))
        self.session.add_all(rows)
        self.session.flush()
        links = [{"cell_id": row.id, "donation_id": d} for row, (cell, _v) in zip(rows, cells, strict=True) for d in sorted({m.donation for m in cell.members})]
        if links:
            bulk.insert_rows(self.session, PublishedDonation.__table__, links)
        self.head = publication
        return publication

    def _fixed_cells(self, donation_ids: Iterable[int]) -> list[Cell]:
        """Published cells that contain any of these donations, with all their members."""
        ids = list(set(donation_ids))
        cell_ids: set[int] = set()
        for lo in range(0, len(ids), 5000):
            cell_ids |= set(self.session.scalars(sa.select(PublishedDonation.cell_id).where(PublishedDonation.donation_id.in_(ids[lo : lo + 5000]))))
        cells: dict[int, Cell] = {}
        if not cell_ids:
            return []
        for cell_id, key, currency, donation_id, donor in self.session.execute(
            sa.select(PublicationCell.id, PublicationCell.key, PublicationCell.currency, PublishedDonation.donation_id, Donation.donor_key)
            .join(PublishedDonation, PublishedDonation.cell_id == PublicationCell.id)
            .join(Donation, Donation.id == PublishedDonation.donation_id)
            .where(PublicationCell.id.in_(list(cell_ids)))
        ):
            cell = cells.setdefault(cell_id, Cell((f"#{cell_id}:{key}", currency), currency))
            cell.members.append(Member(donation_id, donor, money.ZERO))
        return list(cells.values())

    # --- metadata every release carries ---------------------------------------------------------

    def _directory(self, on: date) -> dict[str, Any]:
        weights = self.session.execute(
            sa.select(CampaignPrisoner, Prisoner.slug, Prisoner.public).join(Prisoner, Prisoner.id == CampaignPrisoner.prisoner_id)
        ).all()
        campaigns = []
        for c in sorted(self.campaigns.values(), key=lambda c: c.tag):
            if not c.public:
                continue
            in_force = sorted(
                ({"prisoner": slug, "weight": format(cp.weight.normalize(), "f")} for cp, slug, public in weights if cp.campaign_id == c.id and public and cp.in_force(on)),
                key=lambda w: w["prisoner"],
            )
            notes = self.session.scalars(sa.select(AllocationNote).where(AllocationNote.campaign_id == c.id).order_by(AllocationNote.id)).all()
            campaigns.append(
                {
                    "tag": c.tag, "title": c.title, "description": c.description,
                    "from": c.starts_on.isoformat() if c.starts_on else None, "until": c.ends_on.isoformat() if c.ends_on else None,
                    "goal": {c.goal_currency: _s(c.goal_amount, c.goal_currency)} if c.goal_currency and c.goal_amount else None,
                    "prisoners": in_force,
                    "allocation_notes": [{"date": n.created_at.date().isoformat(), "note": n.public_note} for n in notes],
                }
            )
        prisoners = [
            {"slug": p.slug, "name": p.name, "description": p.description}
            for p in self.session.scalars(sa.select(Prisoner).where(Prisoner.public.is_(True)).order_by(Prisoner.slug))
        ]
        return {
            "group": self.settings.group,
            "intro": self.settings.intro,
            "payment_details": self.settings.payment_details,
            "base_currency": self.settings.base_currency,
            "rates": self._rates(on),
            "campaigns": campaigns,
            "prisoners": prisoners,
            "rules": {
                "k": self.rules.k,
                "dominance": str(self.rules.dominance),
                "units": {c: format(u.normalize(), "f") for c, u in sorted((self.rules.units or {}).items())},
                "max_carry_months": MAX_CARRY_MONTHS,
            },
        }

    def _rates(self, on: date) -> dict[str, dict[str, str]]:
        """Rates into the base currency as of ``on``: the latest booked conversion or the rate table."""
        base = self.settings.base_currency
        rates: dict[str, dict[str, str]] = {}
        amount = sa.type_coerce(sa.func.abs(Posting.amount), Posting.amount.type)
        rows = self.session.execute(
            sa.select(JournalEntry.id, JournalEntry.occurred_at, Posting.currency, sa.func.sum(amount))
            .join(Posting, Posting.entry_id == JournalEntry.id)
            .where(JournalEntry.kind == EntryKind.CONVERSION.value, JournalEntry.occurred_at < _midnight(on + timedelta(days=1)))
            .group_by(JournalEntry.id, JournalEntry.occurred_at, Posting.currency)
            .order_by(JournalEntry.occurred_at, JournalEntry.id)
        ).all()
        entries: dict[int, dict[str, Any]] = defaultdict(dict)
        for entry_id, occurred_at, currency, total in rows:
            entries[entry_id]["on"] = occurred_at.date()
            entries[entry_id][currency] = total
        for entry in entries.values():
            others = [c for c in entry if c not in ("on", base)]
            if base in entry and len(others) == 1 and entry[others[0]] > 0:
                rate = (entry[base] / entry[others[0]]).quantize(Decimal("0.000001"))
                rates[others[0]] = {"rate": format(rate.normalize(), "f"), "date": entry["on"].isoformat(), "source": "booked"}
        for currency, item in self.settings.rates.items():
            if currency != base and date.fromisoformat(item["date"]) <= on and (currency not in rates or item["date"] >= rates[currency]["date"]):
                rates[currency] = {"rate": item["rate"], "date": item["date"], "source": "table"}
        return dict(sorted(rates.items()))

    # --- monthly ---------------------------------------------------------------------------

    def cut_month(self, start: date, end: date) -> CutReport:
        """Publish the gifts of [start, end] (and those carried), spending and events."""
        candidates = self._month_candidates(start, end)
        donation_ids = {m.donation for c in candidates for m in c.members}
        decision = decide(candidates, self.rules, fixed=self._fixed_cells(donation_ids))
        published = [(c, decision.published[c.key]) for c in candidates if c.key in decision.published]
        cells = [
            {"key": c.key[0], "currency": c.currency, "received": _s(value, c.currency), "donors": c.donors}  # type: ignore[index]
            for c, value in sorted(published, key=lambda p: (str(p[0].key[0]), p[0].currency))  # type: ignore[index]
        ]
        body = {
            **self._directory(end),
            "period": {"start": start.isoformat(), "end": end.isoformat()},
            "cells": cells,
            "spending": self._spending(start, end),
            "events": self._events(start, end),
        }
        publication = self._store(PublicationKind.MONTHLY, start, end, body, published)
        waiting = {m.donation for c in candidates if c.key not in decision.published for m in c.members}
        self._carried = [r for r in self._rows if r[0] in waiting]
        withheld = {f"{k[0]} {k[1]}": reason for k, reason in decision.withheld.items()}  # type: ignore[index]
        return CutReport(publication.seq, "monthly", f"{start}..{end}", len(published), withheld)

    def _gifts(self, since: date, end: date) -> list[Any]:
        """Donations that may go into donor cells, received in [since, end]."""
        return list(
            self.session.execute(
                sa.select(
                    Donation.id, Donation.donor_key, Donation.currency, Donation.destination, Donation.campaign_id,
                    JournalEntry.id, JournalEntry.shares, Donation.received_at,
                )
                .join(JournalEntry, JournalEntry.id == Donation.allocation_entry_id)
                .where(
                    Donation.voided_at.is_(None),
                    Donation.destination != Destination.REVIEW.value,
                    Donation.origin != DonationOrigin.EVENT.value,
                    Donation.received_at >= _midnight(since),
                    Donation.received_at < _midnight(end + timedelta(days=1)),
                )
                .order_by(Donation.id)
            ).all()
        )

    def _month_candidates(self, start: date, end: date) -> list[Cell]:
        """Cells of the month's gifts plus those still carried (withheld, at most twelve months back).

        The first month of a run reads the whole carry window; later months of the
        same run read only their own gifts and keep what is still carried in memory.
        """
        window = _midnight(_months_back(start, MAX_CARRY_MONTHS))
        if self._carried is None:
            rows = self._gifts(_months_back(start, MAX_CARRY_MONTHS), end)
        else:
            rows = sorted((r for r in self._carried if r[7] >= window), key=lambda r: r[0]) + self._gifts(start, end)
        for r in rows:
            if r[5] not in self._bases:
                self._bases[r[5]] = ledger.Basis.of_shares(r[5], r[6])
        bases = self._bases
        refunded = self._fully_refunded(rows, bases)
        done = self._already_published([r[0] for r in rows])
        self._rows = rows
        cells: dict[Hashable, Cell] = {}
        for donation_id, donor, currency, destination, campaign_id, basis_id, _shares, _at in rows:
            if donation_id in refunded:
                continue
            basis = bases[basis_id]
            total = money.ZERO
            for la, part in basis.gross.items():
                info = self.funds.get(la)
                if part <= 0 or info is None or not info.public:
                    continue
                total += part
                key = (info.key, currency)
                if info.key not in done.get(donation_id, ()):
                    cells.setdefault(key, Cell(key, currency)).members.append(Member(donation_id, donor, part))
            campaign = self.campaigns.get(campaign_id) if destination == Destination.CAMPAIGN.value else None
            if campaign is not None and campaign.public and total > 0:
                key = (f"campaign:{campaign.tag}", currency)
                if key[0] not in done.get(donation_id, ()):
                    cells.setdefault(key, Cell(key, currency)).members.append(Member(donation_id, donor, total))
        return list(cells.values())

    def _fully_refunded(self, rows: list[Any], bases: dict[int, ledger.Basis]) -> set[int]:
        refunded: set[int] = set()
        with_refunds = set()
        ids = sorted({r[5] for r in rows})
        for lo in range(0, len(ids), 5000):
            with_refunds |= set(
                self.session.scalars(
                    sa.select(JournalEntry.basis_entry_id).where(
                        JournalEntry.basis_entry_id.in_(ids[lo : lo + 5000]),
                        JournalEntry.kind.in_([EntryKind.REFUND.value, EntryKind.CHARGEBACK.value, EntryKind.REVIEW_LINK.value]),
                    )
                )
            )
        by_currency: dict[str, list[ledger.Basis]] = defaultdict(list)
        currency_of = {r[5]: r[2] for r in rows}
        for basis_id in with_refunds:
            by_currency[currency_of[basis_id]].append(bases[basis_id])
        returned: dict[int, tuple[Decimal, Decimal]] = {}
        for currency, group in by_currency.items():
            returned.update(ledger.returned_for(self.session, group, currency))
        for donation_id, _donor, _cur, _dest, _camp, basis_id, _shares, _at in rows:
            if basis_id in returned and returned[basis_id][0] >= bases[basis_id].total_gross:
                refunded.add(donation_id)
        return refunded

    def _already_published(self, donation_ids: list[int]) -> dict[int, set[str]]:
        done: dict[int, set[str]] = defaultdict(set)
        for lo in range(0, len(donation_ids), 5000):
            for donation_id, key in self.session.execute(
                sa.select(PublishedDonation.donation_id, PublicationCell.key)
                .join(PublicationCell, PublicationCell.id == PublishedDonation.cell_id)
                .where(PublishedDonation.donation_id.in_(donation_ids[lo : lo + 5000]), ~PublicationCell.key.contains("@"))
            ):
                done[donation_id].add(key)
        return done

    def _spending(self, start: date, end: date) -> list[dict[str, Any]]:
        totals: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
        descriptions: dict[tuple[str, str, str], set[str]] = defaultdict(set)
        for d, la in self.session.execute(
            sa.select(Disbursement, Fund.ledger_account_id)
            .join(Fund, Fund.id == Disbursement.fund_id)
            .where(Disbursement.paid_on >= start, Disbursement.paid_on <= end)
        ):
            info = self.funds[la]
            if not info.public:
                continue
            key = (info.key, d.currency, d.category)
            totals[key] += d.amount
            if d.public_description:
                descriptions[key].add(d.public_description)
        return [
            {"fund": f, "currency": c, "category": cat, "amount": _s(amount, c), "descriptions": sorted(descriptions[(f, c, cat)])}
            for (f, c, cat), amount in sorted(totals.items())
        ]

    def _events(self, start: date, end: date) -> list[dict[str, Any]]:
        rows = self.session.execute(
            sa.select(Event, Donation.currency, sa.func.sum(Donation.gross))
            .join(Donation, Donation.event_id == Event.id)
            .where(Event.public.is_(True), Event.held_on >= start, Event.held_on <= end, Donation.voided_at.is_(None))
            .group_by(Event.id, Donation.currency)
            .order_by(Event.held_on, Event.id)
        ).all()
        return [
            {
                "name": e.name, "date": e.held_on.isoformat(), "place": e.place,
                "campaign": self.campaigns[e.campaign_id].tag if e.campaign_id and self.campaigns[e.campaign_id].public else None,
                "currency": currency, "takings": _s(amount, currency),
            }
            for e, currency, amount in rows
        ]

    def cut_year(self, year: int) -> CutReport:
        """The yearly statement (see :mod:`tracker.services.statements`)."""
        from tracker.services.statements import cut_year

        return cut_year(self, year)


# --- the use case ----------------------------------------------------------------------------


def due_months(session: Session, today: date, *, force: bool = False) -> list[tuple[date, date]]:
    """The monthly periods to cut now: each closed month since the last release."""
    last = session.scalar(sa.select(sa.func.max(Publication.period_end)).where(Publication.kind == PublicationKind.MONTHLY.value))
    if last is not None:
        start = last + timedelta(days=1)
    else:
        first = session.scalar(sa.select(sa.func.min(Donation.received_at)))
        if first is None:
            return []
        start = first.date().replace(day=1)
    periods = []
    while _month_end(start) < today:
        periods.append((start, _month_end(start)))
        start = _month_end(start) + timedelta(days=1)
    if force and start < today:
        periods.append((start, today - timedelta(days=1)))
    return periods


def due_years(session: Session) -> list[int]:
    """Closed years whose months are all out and that have no statement yet."""
    last_month = session.scalar(sa.select(sa.func.max(Publication.period_end)).where(Publication.kind == PublicationKind.MONTHLY.value))
    first_month = session.scalar(sa.select(sa.func.min(Publication.period_start)).where(Publication.kind == PublicationKind.MONTHLY.value))
    if last_month is None or first_month is None:
        return []
    done = set(session.scalars(sa.select(Publication.period_start).where(Publication.kind == PublicationKind.YEARLY.value)))
    return [y for y in range(first_month.year, last_month.year + 1) if date(y, 12, 31) <= last_month and date(y, 1, 1) not in done]


def publish(*, today: date | None = None, force: bool = False, group: str = "Solidarity fund") -> list[CutReport]:
    """Cut every release that is due (one unit of work). ``force`` closes the current month early.

    ``group`` is the name used when the ``group_name`` setting is not set.
    """
    from tracker.services import unit_of_work

    today = today or datetime.now(UTC).date()
    with unit_of_work() as session:
        publisher, reports = _cut_due(session, today, force, group)
        if reports:
            audit.record(session, "publish", "publication", publisher.head.seq if publisher.head else None, after={"releases": [r.as_dict() for r in reports], "forced": force})
        return reports


def chain_length(session: Session) -> int:
    """How many releases are out."""
    return int(session.scalar(sa.select(sa.func.count()).select_from(Publication)) or 0)


def has_donations(session: Session) -> bool:
    """Whether any donation was ever booked."""
    return bool(session.scalar(sa.select(sa.exists().where(Donation.id.isnot(None)))))


@dataclass(frozen=True, slots=True)
class ChainProblem:
    """A release that does not check out."""

    seq: int
    message: str


def verify_chain(session: Session) -> list[ChainProblem]:
    """Recompute every release's hash and link; empty when the chain is intact."""
    problems = []
    previous: str | None = None
    for pub in session.scalars(sa.select(Publication).order_by(Publication.seq)):
        data = pub.body.encode("utf-8")
        try:
            body = json.loads(data)
        except ValueError:
            problems.append(ChainProblem(pub.seq, "the stored body is not JSON"))
            continue
        if canonical(body) != data:
            problems.append(ChainProblem(pub.seq, "the stored body is not canonical JSON"))
        if digest(data) != pub.sha256:
            problems.append(ChainProblem(pub.seq, "its SHA-256 does not match its body"))
        if body.get("previous") != previous or pub.prev_sha256 != previous:
            problems.append(ChainProblem(pub.seq, "it does not link to the release before it"))
        if body.get("seq") != pub.seq:
            problems.append(ChainProblem(pub.seq, "its body names another sequence number"))
        previous = pub.sha256
    return problems


def preview(session: Session, *, today: date | None = None, force: bool = False, group: str = "Solidarity fund") -> list[CutReport]:
    """What ``publish`` would cut now, with what it would withhold; nothing is kept."""
    try:
        return _cut_due(session, today or datetime.now(UTC).date(), force, group)[1]
    finally:
        session.rollback()


def _cut_due(session: Session, today: date, force: bool, group: str) -> tuple[Publisher, list[CutReport]]:
    """Cut every closed month not yet out, then every closed year (flush only)."""
    publisher = Publisher(session, public_settings(session, group))
    reports = [publisher.cut_month(start, end) for start, end in due_months(session, today, force=force)]
    reports += [publisher.cut_year(year) for year in due_years(session)]
    return publisher, reports
