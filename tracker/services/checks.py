"""``tracker check``: verify every invariant the data can show.

An independent auditor over the stored rows, sharing nothing with the writer
but the split function:

1. every journal entry sums to zero per currency and has postings;
2. every posting is exact in its currency's minor unit;
3. the balance table equals the sums of postings per (ledger account, currency);
4. per currency, all assets plus all funds (review included) sum to zero;
5. every donation is booked once; its allocating entry's asset legs equal its
   gross and fee, its recorded shares are the largest-remainder split of its
   gross and net by the recorded weights (rule 2), its fund postings are those
   shares, and its funds fit its destination;
6. refunds, reversals and chargebacks of a donation follow rule 3: each
   fund's part is the split of the total returned so far minus the earlier
   parts, never above what the fund got;
7. an imported donation was received when its statement line occurred (the
   note search finds a gift by its line's words in its own month);
8. the classification queue's table lists exactly the open review items.

Donations are checked in chunks, so memory stays bounded on large ledgers.

May import: models, :mod:`tracker.money`, the ledger service's pure helpers, services
(donation_totals, open_items, totals).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker import money
from tracker.errors import MoneyError
from tracker.models import (
    Balance,
    CampaignPrisoner,
    Destination,
    Donation,
    EntryKind,
    Fund,
    FundKind,
    JournalEntry,
    LedgerAccount,
    Posting,
    PostingRole,
    StatementLine,
)
from tracker.services import donation_totals, open_items, totals
from tracker.services.ledger import REFUND_KINDS, Basis, allocation_shares

CHUNK = 5000
ALLOCATING = (EntryKind.DONATION.value, EntryKind.REALLOCATION.value)


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken invariant: which rule, and the offending rows in words."""

    rule: str
    message: str

    def __str__(self) -> str:
        """``rule: message``."""
        return f"{self.rule}: {self.message}"


@dataclass(frozen=True, slots=True)
class CheckReport:
    """What ``check`` looked at and what it found."""

    entries: int
    postings: int
    donations: int
    violations: list[Violation]

    @property
    def ok(self) -> bool:
        """Whether every invariant holds."""
        return not self.violations

    def summary(self) -> str:
        """One line for people."""
        state = "ok" if self.ok else f"{len(self.violations)} violation(s)"
        return (
            f"check {state}: {self.entries} entries, {self.postings} postings, "
            f"{self.donations} donations"
        )


def _raw(column: Any) -> Any:
    """The stored integer behind a Money column, for SQL arithmetic."""
    return sa.type_coerce(column, sa.BigInteger)


def check_ledger(session: Session, *, limit: int = 200) -> CheckReport:
    """Run every check; keep at most ``limit`` violations."""
    found: list[Violation] = []

    def add(rule: str, message: str) -> None:
        if len(found) < limit:
            found.append(Violation(rule, message))

    entries = session.scalar(sa.select(sa.func.count()).select_from(JournalEntry)) or 0
    postings = session.scalar(sa.select(sa.func.count()).select_from(Posting)) or 0
    donations = session.scalar(sa.select(sa.func.count()).select_from(Donation)) or 0

    _check_entries_balance(session, add)
    _check_precision(session, add)
    _check_balance_table(session, add)
    _check_zero_sum(session, add)
    _check_donation_totals(session, add)
    _check_donation_times(session, add)
    for message in open_items.differences(session):
        add("open-items", message)
    _check_donations(session, add)
    return CheckReport(entries, postings, donations, found)


def _check_entries_balance(session: Session, add: Any) -> None:
    rows = session.execute(
        sa.select(Posting.entry_id, Posting.currency, sa.func.sum(Posting.amount))
        .group_by(Posting.entry_id, Posting.currency)
        .having(sa.func.sum(_raw(Posting.amount)) != 0)
        .order_by(Posting.entry_id)
    ).all()
    for entry_id, currency, total in rows:
        add("entry-balance", f"entry {entry_id} sums to {total.normalize():+f} {currency}")
    empty = session.scalars(
        sa.select(JournalEntry.id)
        .where(~sa.exists().where(Posting.entry_id == JournalEntry.id))
        .order_by(JournalEntry.id)
    ).all()
    for entry_id in empty:
        add("entry-balance", f"entry {entry_id} has no postings")


def _check_precision(session: Session, add: Any) -> None:
    currencies = session.scalars(sa.select(Posting.currency).distinct()).all()
    for cur in currencies:
        try:
            unit = 10 ** (money.DB_SCALE - money.exponent(cur))
        except MoneyError:
            add("precision", f"postings use unknown currency {cur!r}")
            continue
        if unit == 1:
            continue
        bad = session.execute(
            sa.select(Posting.id, Posting.entry_id, Posting.amount)
            .where(Posting.currency == cur, _raw(Posting.amount) % unit != 0)
            .limit(20)
        ).all()
        for posting_id, entry_id, amount in bad:
            add("precision", f"posting {posting_id} (entry {entry_id}) has {amount.normalize():f} {cur}, finer than the currency allows")


def _check_balance_table(session: Session, add: Any) -> None:
    sums = {
        (la, cur): total
        for la, cur, total in session.execute(
            sa.select(Posting.ledger_account_id, Posting.currency, sa.func.sum(Posting.amount)).group_by(
                Posting.ledger_account_id, Posting.currency
            )
        )
    }
    table = {
        (la, cur): amount
        for la, cur, amount in session.execute(
            sa.select(Balance.ledger_account_id, Balance.currency, Balance.amount)
        )
    }
    codes = dict(session.execute(sa.select(LedgerAccount.id, LedgerAccount.code)).tuples().all())
    for key in sorted(set(sums) | set(table)):
        expected = sums.get(key, money.ZERO)
        stored = table.get(key, money.ZERO)
        if expected != stored:
            la, cur = key
            add(
                "balance-table",
                f"{codes.get(la, la)} {cur}: balance table says {stored.normalize():f}, "
                f"postings sum to {expected.normalize():f}",
            )


def _check_zero_sum(session: Session, add: Any) -> None:
    rows = session.execute(
        sa.select(Posting.currency, sa.func.sum(Posting.amount)).group_by(Posting.currency)
    ).all()
    for cur, total in rows:
        if total != 0:
            add("zero-sum", f"assets plus funds in {cur} sum to {total.normalize():+f}, not zero")
    rows = session.execute(
        sa.select(Balance.currency, sa.func.sum(Balance.amount)).group_by(Balance.currency)
    ).all()
    for cur, total in rows:
        if total != 0:
            add("zero-sum", f"balance table in {cur} sums to {total.normalize():+f}, not zero")


def _check_donation_totals(session: Session, add: Any) -> None:
    """The running donation figures equal what the donations and postings say, and the
    review fund's unclassified money read from them equals its postings' sum."""
    expected = donation_totals.recompute(session)
    table = donation_totals.stored(session)
    for key in sorted(set(expected) | set(table)):
        want, got = expected.get(key, donation_totals.Figures()), table.get(key, donation_totals.Figures())
        for name in donation_totals.NAMES:
            if getattr(want, name) != getattr(got, name):
                destination, campaign, cur = key
                where = f"{destination} {campaign} {cur}" if campaign else f"{destination} {cur}"
                add(
                    "donation-totals",
                    f"{where}: donation totals say {name} {getattr(got, name)}, the donations and postings {getattr(want, name)}",
                )
    fast = totals.unclassified_money(session)
    slow = totals.unclassified_money_from_postings(session)
    for cur in sorted(set(fast) | set(slow)):
        if fast.get(cur, money.ZERO) != slow.get(cur, money.ZERO):
            add("donation-totals", f"unclassified {cur}: {fast.get(cur, money.ZERO)} from the running figures, {slow.get(cur, money.ZERO)} from the postings")


def _check_donation_times(session: Session, add: Any) -> None:
    off = session.execute(
        sa.select(Donation.id, Donation.statement_line_id)
        .join(StatementLine, StatementLine.id == Donation.statement_line_id)
        .where(Donation.received_at != StatementLine.occurred_at)
        .order_by(Donation.id)
        .limit(50)
    )
    for donation_id, line_id in off:
        add("donation-time", f"donation {donation_id} was not received when its statement line {line_id} occurred")


def _donation_chunks(session: Session) -> Iterator[tuple[int, int]]:
    last = session.scalar(sa.select(sa.func.max(Donation.id))) or 0
    for lo in range(0, last + 1, CHUNK):
        yield lo, lo + CHUNK


def _fund_sets(session: Session) -> tuple[dict[int, set[int]], int, int, dict[int, int]]:
    """Allowed fund ledger ids per campaign, the general and review ids, pool per campaign."""
    allowed: dict[int, set[int]] = defaultdict(set)
    for campaign_id, la in session.execute(
        sa.select(CampaignPrisoner.campaign_id, Fund.ledger_account_id).join(
            Fund, Fund.prisoner_id == CampaignPrisoner.prisoner_id
        )
    ):
        allowed[campaign_id].add(la)
    pools = {}
    general = review = -1
    for kind, campaign_id, la in session.execute(
        sa.select(Fund.kind, Fund.campaign_id, Fund.ledger_account_id)
    ):
        if kind == FundKind.CAMPAIGN.value:
            allowed[campaign_id].add(la)
            pools[campaign_id] = la
        elif kind == FundKind.GENERAL.value:
            general = la
        elif kind == FundKind.REVIEW.value:
            review = la
    return allowed, general, review, pools


def _check_donations(session: Session, add: Any, only: list[int] | None = None) -> None:
    allowed, general, review, _pools = _fund_sets(session)
    asset_kinds = {"asset", "transit"}
    la_kind = dict(session.execute(sa.select(LedgerAccount.id, LedgerAccount.kind)).tuples().all())
    if only is not None:
        ranges = [(i, i + 1) for i in sorted(set(only))]
    else:
        ranges = list(_donation_chunks(session))
    for lo, hi in _merge_ranges(ranges):
        ids = [i for i in only if lo <= i < hi] if only is not None else None
        donations = session.execute(
            sa.select(
                Donation.id,
                Donation.currency,
                Donation.gross,
                Donation.fee,
                Donation.destination,
                Donation.campaign_id,
                Donation.allocation_entry_id,
                Donation.voided_at,
            ).where(Donation.id >= lo, Donation.id < hi, *( [Donation.id.in_(ids)] if ids is not None else []))
        ).all()
        if not donations:
            continue
        entries = session.execute(
            sa.select(
                JournalEntry.id,
                JournalEntry.kind,
                JournalEntry.donation_id,
                JournalEntry.basis_entry_id,
                JournalEntry.shares,
            )
            .where(JournalEntry.donation_id >= lo, JournalEntry.donation_id < hi)
            .order_by(JournalEntry.id)
        ).all()
        legs: dict[int, list[tuple[int, str, str, Decimal]]] = defaultdict(list)
        for entry_id, la, role, cur, amount in session.execute(
            sa.select(
                Posting.entry_id, Posting.ledger_account_id, Posting.role, Posting.currency, Posting.amount
            )
            .join(JournalEntry, JournalEntry.id == Posting.entry_id)
            .where(JournalEntry.donation_id >= lo, JournalEntry.donation_id < hi)
        ):
            legs[entry_id].append((la, role, cur, amount))
        by_donation: dict[int, list[Any]] = defaultdict(list)
        for row in entries:
            by_donation[row.donation_id].append(row)
        for d in donations:
            _check_one_donation(d, by_donation.get(d.id, []), legs, la_kind, asset_kinds, allowed, general, review, add, lambda d: _nothing_left(session, d.id))


def _nothing_left(session: Session, donation_id: int) -> bool:
    """Whether a donation's gross and fee have all been returned (refunds, chargebacks)."""
    from tracker.services.allocation import outstanding

    _basis, gross, fee = outstanding(session, session.get(Donation, donation_id))
    return not any(gross.values()) and not any(fee.values())


def _merge_ranges(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Coalesce id ranges into chunks of at most CHUNK ids."""
    merged: list[tuple[int, int]] = []
    for lo, hi in ranges:
        if merged and lo - merged[-1][0] < CHUNK:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged


def check_donations(session: Session, donation_ids: list[int], *, limit: int = 50) -> list[Violation]:
    """The donation checks (5 and 6 above) for some donations only."""
    found: list[Violation] = []

    def add(rule: str, message: str) -> None:
        if len(found) < limit:
            found.append(Violation(rule, message))

    if donation_ids:
        _check_donations(session, add, donation_ids)
    return found


def _check_one_donation(
    d: Any,
    entries: list[Any],
    legs: dict[int, list[tuple[int, str, str, Decimal]]],
    la_kind: dict[int, str],
    asset_kinds: set[str],
    allowed: dict[int, set[int]],
    general: int,
    review: int,
    add: Any,
    nothing_left: Any = lambda _d: False,
) -> None:
    cur = d.currency
    if d.voided_at is not None:
        held: dict[int, Decimal] = defaultdict(lambda: money.ZERO)
        for e in entries:
            for la, _role, leg_cur, amount in legs[e.id]:
                if la_kind.get(la) == "fund" and leg_cur == cur:
                    held[la] += amount
        if any(held.values()):
            add("donation", f"voided donation {d.id} still holds money in its funds")
        return
    booked = [e for e in entries if e.kind == EntryKind.DONATION.value]
    if len(booked) != 1:
        add("donation", f"donation {d.id} has {len(booked)} donation entries, not 1")
        return
    entry = booked[0]
    assets: dict[str, Decimal] = defaultdict(lambda: money.ZERO)
    for la, role, leg_cur, amount in legs[entry.id]:
        if la_kind.get(la) in asset_kinds and leg_cur == cur:
            assets[role] += amount
    if assets[PostingRole.GROSS.value] != d.gross or assets[PostingRole.FEE.value] != -d.fee:
        add(
            "donation",
            f"donation {d.id}: entry {entry.id} books gross {assets['gross'].normalize():f} and fee "
            f"{(-assets['fee']).normalize():f}, the donation says {d.gross.normalize():f} and {d.fee.normalize():f} {cur}",
        )
    bases: dict[int, Basis] = {}
    for e in entries:
        if e.kind not in ALLOCATING:
            continue
        try:
            basis = Basis(
                e.id,
                {int(k): Decimal(v) for k, v in (e.shares or {}).get("weights", {}).items()},
                {int(k): Decimal(v) for k, v in (e.shares or {}).get("gross", {}).items()},
                {int(k): Decimal(v) for k, v in (e.shares or {}).get("fee", {}).items()},
            )
        except (AttributeError, ValueError, ArithmeticError):
            add("allocation", f"entry {e.id} of donation {d.id} records unreadable shares")
            continue
        bases[e.id] = basis
        if e.kind == EntryKind.DONATION.value:
            _check_allocation(d, e.id, basis, legs[e.id], add)
        else:
            _check_reallocation(d, e, basis, bases, add)
    if d.allocation_entry_id not in bases:
        add("allocation", f"donation {d.id} points at entry {d.allocation_entry_id}, which is not one of its allocating entries")
    else:
        funds = set(bases[d.allocation_entry_id].weights)
        if d.destination == Destination.GENERAL.value:
            fits = funds == {general}
        elif d.destination == Destination.REVIEW.value:
            fits = funds == {review}
        else:
            fits = bool(funds) and funds <= allowed.get(d.campaign_id, set())
        # a gift assigned after it was wholly returned keeps its old allocation: nothing is left to move
        if not fits and not nothing_left(d):
            add("allocation", f"donation {d.id} ({d.destination}) is allocated to funds that do not belong to it")
    _check_returns(d, entries, bases, legs, add)


def _check_allocation(
    d: Any, entry_id: int, basis: Basis, entry_legs: list[tuple[int, str, str, Decimal]], add: Any
) -> None:
    cur = d.currency
    if not basis.weights or any(w < 0 for w in basis.weights.values()):
        add("allocation", f"entry {entry_id} of donation {d.id} records no usable weights")
        return
    try:
        gross_parts, fee_parts = allocation_shares(d.gross, d.fee, basis.weights, cur)
    except MoneyError as exc:
        add("allocation", f"entry {entry_id} of donation {d.id}: {exc}")
        return
    if gross_parts != basis.gross or fee_parts != basis.fee:
        add("allocation", f"entry {entry_id}: recorded shares of donation {d.id} are not the split of its gross and net by its weights")
    posted_gross: dict[int, Decimal] = defaultdict(lambda: money.ZERO)
    posted_fee: dict[int, Decimal] = defaultdict(lambda: money.ZERO)
    for la, role, leg_cur, amount in entry_legs:
        if la in basis.weights and leg_cur == cur:
            if role == PostingRole.GROSS.value:
                posted_gross[la] -= amount
            elif role == PostingRole.FEE.value:
                posted_fee[la] += amount
    for la in basis.weights:
        if posted_gross[la] != gross_parts[la] or posted_fee[la] != fee_parts[la]:
            add(
                "allocation",
                f"entry {entry_id}: fund account {la} got gross {posted_gross[la].normalize():f} fee "
                f"{posted_fee[la].normalize():f}, its shares are {gross_parts[la].normalize():f} and "
                f"{fee_parts[la].normalize():f} {cur}",
            )


def _check_reallocation(d: Any, e: Any, basis: Basis, bases: dict[int, Basis], add: Any) -> None:
    """A re-allocation splits what it moved exactly, and moves from an earlier basis."""
    moved_from = (e.shares or {}).get("moved_from")
    if moved_from not in bases:
        add("allocation", f"re-allocation {e.id} of donation {d.id} does not follow an earlier allocation of it")
    try:
        gross, fee = allocation_shares(basis.total_gross, basis.total_fee, basis.weights, d.currency)
    except MoneyError as exc:
        add("allocation", f"re-allocation {e.id} of donation {d.id}: {exc}")
        return
    if gross != basis.gross or fee != basis.fee:
        add("allocation", f"re-allocation {e.id}: recorded shares of donation {d.id} are not the split of what it moved")


def _check_returns(
    d: Any,
    entries: list[Any],
    bases: dict[int, Basis],
    legs: dict[int, list[tuple[int, str, str, Decimal]]],
    add: Any,
) -> None:
    cur = d.currency
    returned: dict[int, tuple[Decimal, Decimal]] = {}
    refund_kinds = {k.value for k in REFUND_KINDS}
    for e in entries:
        undo_of_return = e.kind == EntryKind.CORRECTION.value and e.basis_entry_id is not None
        if e.kind not in refund_kinds and not undo_of_return:
            continue
        basis = bases.get(e.basis_entry_id) if e.basis_entry_id else None
        if basis is None:
            add("refund", f"refund entry {e.id} of donation {d.id} follows no allocation of it")
            continue
        gross_back: dict[int, Decimal] = defaultdict(lambda: money.ZERO)
        fee_back: dict[int, Decimal] = defaultdict(lambda: money.ZERO)
        for la, role, leg_cur, amount in legs[e.id]:
            if la in basis.weights and leg_cur == cur:
                if role == PostingRole.REFUND.value:
                    gross_back[la] += amount
                elif role == PostingRole.FEE.value:
                    fee_back[la] -= amount
        done_gross, done_fee = returned.get(basis.entry_id, (money.ZERO, money.ZERO))
        step_gross = money.total(gross_back.values())
        step_fee = money.total(fee_back.values())
        after_gross, after_fee = done_gross + step_gross, done_fee + step_fee
        returned[basis.entry_id] = (after_gross, after_fee)
        if not (0 <= after_gross <= basis.total_gross) or not (0 <= after_fee <= basis.total_fee):
            add("refund", f"entry {e.id}: donation {d.id} would have returned {after_gross.normalize():f} of {basis.total_gross.normalize():f} {cur} (fee {after_fee.normalize():f} of {basis.total_fee.normalize():f})")
            continue
        want_gross, want_fee = basis.return_parts((done_gross, done_fee), (after_gross, after_fee), cur)
        for la in set(want_gross) | set(want_fee) | set(gross_back) | set(fee_back):
            if want_gross.get(la, money.ZERO) != gross_back[la] or want_fee.get(la, money.ZERO) != fee_back[la]:
                add(
                    "refund",
                    f"entry {e.id}: fund account {la} takes back {gross_back[la].normalize():f} "
                    f"(fee {fee_back[la].normalize():f}) of donation {d.id}; rule 3 gives "
                    f"{want_gross.get(la, money.ZERO).normalize():f} (fee {want_fee.get(la, money.ZERO).normalize():f}) {cur}",
                )
                break
