"""The yearly statement: per public fund and currency, every movement of the year, exactly.

Opening, received, events, refunds, fees, transfers, spent and closing come
from the postings (exact, not rounded); a fund line is shown only if the
gifts behind it pass the same K, dominance and atom rules as monthly cells
(next to everything published before). Funds that fail, private funds and
the review fund go into one "other funds" line per currency, if that passes,
or are left out with a note. Refunds are folded into received when fewer
than K donors got one.

May import: models, :mod:`tracker.disclosure`, :mod:`tracker.money`, services.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from tracker import money
from tracker.disclosure import Cell, Member, Rules, decide
from tracker.errors import Conflict
from tracker.models import (
    Donation,
    DonationOrigin,
    EntryKind,
    JournalEntry,
    Posting,
    PublicationKind,
)
from tracker.services.publishing import CutReport, _midnight, _s

if TYPE_CHECKING:
    from tracker.services.publishing import Publisher


def cut_year(self: Publisher, year: int) -> CutReport:
    """The yearly statement: per public fund and currency, every movement, exactly."""
    lines, members, refund_donors = _year_lines(self, year)
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
        shown[c.key] = lines[(_la_of(self, c.key[0]), c.currency)]  # type: ignore[index]
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
        la = _la_of(self, key)
        body_lines.append(_line(self, key.removesuffix(f"@{year}"), currency, line, refund_k.get((la, currency), 0)))
    for currency, line in sorted(other_shown.items()):
        body_lines.append(_line(self, "other", currency, line, self.rules.k))
    body = {**self._directory(date(year, 12, 31)), "year": year, "period": {"start": f"{year}-01-01", "end": f"{year}-12-31"}, "funds": body_lines, "notes": notes}
    cells = [(c, decision.published[c.key]) for c in published_cells] + [(c, other_decision.published[c.key]) for c in other_cells if c.key in other_decision.published]
    publication = self._store(PublicationKind.YEARLY, date(year, 1, 1), date(year, 12, 31), body, cells)
    withheld = {f"{k[0]} {k[1]}": reason for k, reason in decision.withheld.items()}  # type: ignore[index]
    return CutReport(publication.seq, "yearly", str(year), len(body_lines), withheld)

def _la_of(self: Publisher, key: str) -> int:
    base = key.split("@")[0]
    return next(la for la, info in self.funds.items() if info.key == base)

def _line(self: Publisher, fund: str, currency: str, line: dict[str, Decimal], refund_donors: int) -> dict[str, Any]:
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

def _year_lines(self: Publisher, year: int) -> tuple[dict[tuple[int, str], dict[str, Decimal]], dict[tuple[int, str], list[Member]], dict[tuple[int, str], int]]:
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


