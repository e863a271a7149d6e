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
from sqlalchemy.orm import Session, aliased

from tracker import money
from tracker.disclosure import Cell, Member, Rules, decide
from tracker.errors import Conflict
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
from tracker.services import audit, ledger

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

    def __init__(self, session: Session, rules: Rules, group: str) -> None:
        """Load the funds, who is public, and the end of the chain."""
        self.session = session
        self.rules = rules
        self.group = group
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
        for cell, value in cells:
            key, currency = cell.key  # type: ignore[misc]
            row = PublicationCell(publication_id=publication.id, key=key, currency=currency, value=value, donors=cell.donors)
            self.session.add(row)
            self.session.flush()
            ids = sorted({m.donation for m in cell.members})
            if ids:
                self.session.execute(sa.insert(PublishedDonation.__table__), [{"cell_id": row.id, "donation_id": d} for d in ids])
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
        return {"group": self.group, "campaigns": campaigns, "prisoners": prisoners, "rules": {"k": self.rules.k, "dominance": str(self.rules.dominance), "max_carry_months": MAX_CARRY_MONTHS}}

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
        withheld = {f"{k[0]} {k[1]}": reason for k, reason in decision.withheld.items()}  # type: ignore[index]
        return CutReport(publication.seq, "monthly", f"{start}..{end}", len(published), withheld)

    def _month_candidates(self, start: date, end: date) -> list[Cell]:
        window = _months_back(start, MAX_CARRY_MONTHS)
        rows = self.session.execute(
            sa.select(Donation.id, Donation.donor_key, Donation.currency, Donation.destination, Donation.campaign_id, JournalEntry.id, JournalEntry.shares)
            .join(JournalEntry, JournalEntry.id == Donation.allocation_entry_id)
            .where(
                Donation.voided_at.is_(None),
                Donation.destination != Destination.REVIEW.value,
                Donation.origin != DonationOrigin.EVENT.value,
                Donation.received_at >= _midnight(window),
                Donation.received_at < _midnight(end + timedelta(days=1)),
            )
            .order_by(Donation.id)
        ).all()
        bases = {r[5]: ledger.Basis.of_shares(r[5], r[6]) for r in rows}
        refunded = self._fully_refunded(rows, bases)
        done = self._already_published([r[0] for r in rows])
        cells: dict[Hashable, Cell] = {}
        for donation_id, donor, currency, destination, campaign_id, basis_id, _shares in rows:
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
        ids = list(bases)
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
        for donation_id, _donor, _cur, _dest, _camp, basis_id, _shares in rows:
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

    # --- yearly ----------------------------------------------------------------------------

    def cut_year(self, year: int) -> CutReport:
        """The yearly statement: per public fund and currency, every movement, exactly."""
        lines, members, refund_donors = self._year_lines(year)
        candidates: list[Cell] = []
        direct: dict[tuple[str, str], dict[str, Decimal]] = {}
        for (la, currency), line in sorted(lines.items()):
            info = self.funds[la]
            if not info.public:
                continue
            key = (f"{info.key}@{year}", currency)
            gifts = members.get((la, currency), [])
            if gifts:
                candidates.append(Cell(key, currency, gifts))
            else:
                direct[key] = line  # no gifts: nothing about donors in it
        donation_ids = {m.donation for c in candidates for m in c.members}
        fixed = self._fixed_cells(donation_ids)
        decision = decide(candidates, Rules(self.rules.k, self.rules.dominance, {c: Decimal("0.01") for c in _currencies(lines)}), fixed=fixed)
        published_cells = [c for c in candidates if c.key in decision.published]
        shown: dict[tuple[str, str], dict[str, Decimal]] = dict(direct)
        for c in published_cells:
            shown[c.key] = lines[(self._la_of(c.key[0]), c.currency)]  # type: ignore[index]
        # everything not shown goes into "other funds", if that passes the rules too
        other: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        other_members: dict[str, list[Member]] = defaultdict(list)
        for (la, currency), line in lines.items():
            info = self.funds[la]
            key = (f"{info.key}@{year}", currency)
            if key in shown:
                continue
            for name, value in line.items():
                other[currency][name] += value
            other_members[currency] += members.get((la, currency), [])
        notes: list[str] = []
        other_cells = [Cell((f"other@{year}", cur), cur, ms) for cur, ms in other_members.items() if ms]
        other_decision = decide(other_cells, Rules(self.rules.k, self.rules.dominance, {c: Decimal("0.01") for c in other}), fixed=[*fixed, *published_cells])
        other_shown = {}
        for currency, line in other.items():
            key = (f"other@{year}", currency)
            if any(c.key == key for c in other_cells) and key not in other_decision.published:
                notes.append(f"Some funds in {currency} are not shown for {year}: too few donors to publish them safely.")
                continue
            other_shown[currency] = line
        refund_k = {(k[0], k[1]): n for k, n in refund_donors.items()}
        body_lines = []
        for (key, currency), line in sorted(shown.items()):
            la = self._la_of(key)
            body_lines.append(self._line(key.removesuffix(f"@{year}"), currency, line, refund_k.get((la, currency), 0)))
        for currency, line in sorted(other_shown.items()):
            body_lines.append(self._line("other", currency, line, self.rules.k))
        body = {**self._directory(date(year, 12, 31)), "year": year, "period": {"start": f"{year}-01-01", "end": f"{year}-12-31"}, "funds": body_lines, "notes": notes}
        cells = [(c, decision.published[c.key]) for c in published_cells] + [(c, other_decision.published[c.key]) for c in other_cells if c.key in other_decision.published]
        publication = self._store(PublicationKind.YEARLY, date(year, 1, 1), date(year, 12, 31), body, cells)
        withheld = {f"{k[0]} {k[1]}": reason for k, reason in decision.withheld.items()}  # type: ignore[index]
        return CutReport(publication.seq, "yearly", str(year), len(body_lines), withheld)

    def _la_of(self, key: str) -> int:
        base = key.split("@")[0]
        return next(la for la, info in self.funds.items() if info.key == base)

    def _line(self, fund: str, currency: str, line: dict[str, Decimal], refund_donors: int) -> dict[str, Any]:
        received, refunds = line["received"], line["refunds"]
        folded = refunds != 0 and refund_donors < self.rules.k
        return {
            "fund": fund, "currency": currency,
            "opening": _s(line["opening"], currency),
            "received": _s(received - refunds if folded else received, currency),
            "events": _s(line["events"], currency),
            "refunds": None if folded else _s(refunds, currency),
            "fees": _s(line["fees"], currency),
            "transfers": _s(line["transfers"], currency),
            "spent": _s(line["spent"], currency),
            "closing": _s(line["closing"], currency),
        }

    def _year_lines(self, year: int) -> tuple[dict[tuple[int, str], dict[str, Decimal]], dict[tuple[int, str], list[Member]], dict[tuple[int, str], int]]:
        begin, finish = _midnight(date(year, 1, 1)), _midnight(date(year + 1, 1, 1))
        funds = list(self.funds)
        lines: dict[tuple[int, str], dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        for la, currency, amount in self.session.execute(
            sa.select(Posting.ledger_account_id, Posting.currency, sa.func.sum(Posting.amount))
            .join(JournalEntry, JournalEntry.id == Posting.entry_id)
            .where(Posting.ledger_account_id.in_(funds), JournalEntry.occurred_at < begin)
            .group_by(Posting.ledger_account_id, Posting.currency)
        ):
            lines[(la, currency)]["opening"] -= amount
        resolved = aliased(JournalEntry)
        kind = sa.func.coalesce(resolved.kind, JournalEntry.kind)
        for la, currency, entry_kind, role, origin, amount in self.session.execute(
            sa.select(Posting.ledger_account_id, Posting.currency, kind, Posting.role, Donation.origin, sa.func.sum(Posting.amount))
            .join(JournalEntry, JournalEntry.id == Posting.entry_id)
            .outerjoin(resolved, sa.and_(JournalEntry.kind == EntryKind.CORRECTION.value, resolved.id == JournalEntry.resolves_entry_id))
            .outerjoin(Donation, Donation.id == JournalEntry.donation_id)
            .where(Posting.ledger_account_id.in_(funds), JournalEntry.occurred_at >= begin, JournalEntry.occurred_at < finish)
            .group_by(Posting.ledger_account_id, Posting.currency, kind, Posting.role, Donation.origin)
        ):
            line = lines[(la, currency)]
            if entry_kind == EntryKind.DONATION.value and role == "gross":
                line["events" if origin == DonationOrigin.EVENT.value else "received"] -= amount
            elif entry_kind == EntryKind.REALLOCATION.value or role == "transfer":
                line["transfers"] -= amount
            elif role == "refund":
                line["refunds"] += amount
            elif role == "fee":
                line["fees"] += amount
            elif role == "spend":
                line["spent"] += amount
            else:  # pragma: no cover - every role is handled above
                raise Conflict(f"unexpected posting role {role}")
        for line in lines.values():
            for name in ("opening", "received", "events", "refunds", "fees", "transfers", "spent"):
                line.setdefault(name, money.ZERO)
            line["closing"] = line["opening"] + line["received"] + line["events"] - line["refunds"] - line["fees"] + line["transfers"] - line["spent"]
        members: dict[tuple[int, str], list[Member]] = defaultdict(list)
        refund_sets: dict[tuple[int, str], set[str]] = defaultdict(set)
        for la, currency, donation_id, donor, entry_kind, amount in self.session.execute(
            sa.select(Posting.ledger_account_id, Posting.currency, Donation.id, Donation.donor_key, JournalEntry.kind, Posting.amount)
            .join(JournalEntry, JournalEntry.id == Posting.entry_id)
            .join(Donation, Donation.id == JournalEntry.donation_id)
            .where(
                Posting.ledger_account_id.in_(funds),
                JournalEntry.occurred_at >= begin, JournalEntry.occurred_at < finish,
                Donation.voided_at.is_(None), Donation.origin != DonationOrigin.EVENT.value,
                sa.or_(
                    sa.and_(JournalEntry.kind == EntryKind.DONATION.value, Posting.role == "gross"),
                    Posting.role == "refund",
                ),
            )
        ):
            if entry_kind == EntryKind.DONATION.value:
                members[(la, currency)].append(Member(donation_id, donor, -amount))
            else:
                refund_sets[(la, currency)].add(donor)
        return lines, members, {k: len(v) for k, v in refund_sets.items()}


def _currencies(lines: Iterable[tuple[int, str]]) -> set[str]:
    return {currency for _la, currency in lines}


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


def publish(*, today: date | None = None, force: bool = False, k: int = 5, dominance: Decimal = Decimal("0.5"), units: dict[str, Decimal] | None = None, group: str = "") -> list[CutReport]:
    """Cut every release that is due (one unit of work). ``force`` closes the current month early."""
    from tracker.services import unit_of_work

    today = today or datetime.now(UTC).date()
    with unit_of_work() as session:
        publisher = Publisher(session, Rules(k, dominance, units), group)
        reports = [publisher.cut_month(start, end) for start, end in due_months(session, today, force=force)]
        reports += [publisher.cut_year(year) for year in due_years(session)]
        if reports:
            audit.record(session, "publish", "publication", publisher.head.seq if publisher.head else None, after={"releases": [r.as_dict() for r in reports], "forced": force})
        return reports


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
