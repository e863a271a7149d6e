"""The double-entry ledger: the one entry writer and one template per event.

:func:`write_entries` is the only code that writes journal entries, postings
and balances. It refuses an entry whose postings do not sum to zero per
currency, or whose amounts are not exact in their currency, before anything is
written; it writes in bulk and updates the balance table in the same
transaction (upsert with addition, so concurrent writers never lose an update),
with the donation figures (:mod:`tracker.services.donation_totals`) and the
classification queue's table of open items (:mod:`tracker.services.open_items`).

Also here: ledger accounts and the singleton funds, balances, and the shares
an allocating entry records (:class:`Basis`). The templates that build entries
for each event live in :mod:`tracker.services.booking`. Splits are keyed by the
funds' ledger account ids, whose order is the deterministic tie-break of
:func:`tracker.money.split`.

Everything here only flushes; the calling service owns the transaction.

May import: models, :mod:`tracker.money`, :mod:`tracker.errors`, services (bulk,
donation_totals, open_items).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tracker import money
from tracker.dbtypes import utcnow
from tracker.errors import InvariantError, MoneyError, UnbalancedEntry
from tracker.models import (
    Balance,
    Donation,
    EntryKind,
    Fund,
    FundKind,
    JournalEntry,
    LedgerAccount,
    LedgerKind,
    Posting,
    PostingRole,
)
from tracker.services import bulk, donation_totals, open_items
from tracker.services.guard import ledger_writer

ZERO = money.ZERO
_ENTRIES = JournalEntry.__table__
_POSTINGS = Posting.__table__
_BALANCES = Balance.__table__
#: session.info key under which a unit of work collects balance updates.
DEFERRED = "tracker_deferred_balances"

#: Entry kinds that return (or take back) a donation's money, counted
#: cumulatively per allocation basis (rule 3).
REFUND_KINDS = (EntryKind.REFUND, EntryKind.CHARGEBACK, EntryKind.REVIEW_LINK)


@dataclass(frozen=True, slots=True)
class Leg:
    """One posting to write: a signed amount on a ledger account."""

    ledger_account_id: int
    currency: str
    amount: Decimal
    role: PostingRole


@dataclass(slots=True)
class EntrySpec:
    """Everything needed to write one journal entry."""

    kind: EntryKind
    occurred_at: datetime
    legs: list[Leg]
    description: str = ""
    created_by: str = ""
    donation_id: int | None = None
    statement_line_id: int | None = None
    disbursement_id: int | None = None
    batch_id: int | None = None
    basis_entry_id: int | None = None
    resolves_entry_id: int | None = None
    shares: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def validate(spec: EntrySpec) -> list[Leg]:
    """Check an entry and return its non-zero legs.

    Raises:
        MoneyError: an amount not exact in its currency, or a float.
        UnbalancedEntry: the legs do not sum to zero in some currency, or
            there are none.
    """
    legs: list[Leg] = []
    sums: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for leg in spec.legs:
        if not isinstance(leg.amount, Decimal):
            raise MoneyError(f"posting amount must be Decimal, not {type(leg.amount).__name__}")
        amount = money.quantize(leg.amount, leg.currency)
        if amount == 0:
            continue
        legs.append(Leg(leg.ledger_account_id, leg.currency, amount, PostingRole(leg.role)))
        sums[leg.currency] += amount
    if not legs:
        raise UnbalancedEntry(f"{spec.kind} entry has no non-zero postings")
    off = {cur: s for cur, s in sums.items() if s != 0}
    if off:
        detail = ", ".join(f"{cur} {s:+}" for cur, s in sorted(off.items()))
        raise UnbalancedEntry(f"{spec.kind} entry does not balance: {detail}")
    if spec.occurred_at.tzinfo is None:
        raise ValueError("occurred_at must be timezone-aware")
    return legs


def reserve_ids(session: Session, table: sa.Table, count: int) -> list[int]:
    """Primary keys for ``count`` new rows of ``table``, so bulk inserts need no RETURNING.

    PostgreSQL draws them from the table's sequence (safe under concurrency).
    SQLite continues after the largest id: writers hold the database's write
    lock (``BEGIN IMMEDIATE``), and ids reserved earlier in the same
    transaction but not yet inserted are remembered in the session.
    """
    if count <= 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        return list(
            session.scalars(
                sa.text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"),
                {"table": table.name, "n": count},
            )
        )
    handed = session.info.setdefault("tracker_reserved_ids", {})
    top = max(session.scalar(sa.select(sa.func.max(table.c.id))) or 0, handed.get(table.name, 0))
    handed[table.name] = top + count
    return list(range(top + 1, top + count + 1))


def write_entries(
    session: Session,
    specs: Sequence[EntrySpec],
    *,
    donation_places: Mapping[int, donation_totals.Place] | None = None,
) -> list[int]:
    """Validate and write entries, their postings, balance and donation figure updates; flush only.

    Every spec is validated before any row is written, so a refused entry
    leaves the session as it was. ``donation_places`` may give the
    destination and campaign of donations the caller has just inserted (the
    others are read). Returns the new entry ids in spec order.
    """
    checked = [validate(spec) for spec in specs]
    if not specs:
        return []
    now = utcnow()
    rows = [
        {
            "kind": spec.kind.value,
            "occurred_at": spec.occurred_at,
            "created_at": now,
            "created_by": spec.created_by,
            "description": spec.description,
            "donation_id": spec.donation_id,
            "statement_line_id": spec.statement_line_id,
            "disbursement_id": spec.disbursement_id,
            "batch_id": spec.batch_id,
            "basis_entry_id": spec.basis_entry_id,
            "resolves_entry_id": spec.resolves_entry_id,
            "shares": spec.shares,
        }
        for spec in specs
    ]
    with ledger_writer():
        session.flush()
        ids = reserve_ids(session, _ENTRIES, len(rows))
        for entry_id, row in zip(ids, rows, strict=True):
            row["id"] = entry_id
        bulk.insert_rows(session, _ENTRIES, rows)
        postings: list[dict[str, Any]] = []
        deltas: dict[tuple[int, str], Decimal] = defaultdict(lambda: ZERO)
        for entry_id, legs in zip(ids, checked, strict=True):
            for leg in legs:
                postings.append(
                    {
                        "entry_id": entry_id,
                        "ledger_account_id": leg.ledger_account_id,
                        "currency": leg.currency,
                        "amount": leg.amount,
                        "role": leg.role.value,
                    }
                )
                deltas[(leg.ledger_account_id, leg.currency)] += leg.amount
        bulk.insert_rows(session, _POSTINGS, postings)
        open_items.sync(session, ((entry_id, row["kind"], row["resolves_entry_id"]) for entry_id, row in zip(ids, rows, strict=True)))
        donation_totals.add_entries(
            session,
            ((spec.donation_id, [(g.ledger_account_id, g.currency, g.amount, g.role.value) for g in legs]) for spec, legs in zip(specs, checked, strict=True)),
            donation_places,
        )
        pending = session.info.get(DEFERRED)
        if pending is None:
            _apply_balance_deltas(session, deltas)
        else:
            for key, amount in deltas.items():
                pending[key] = pending.get(key, ZERO) + amount
    return ids


def flush_balances(session: Session) -> None:
    """Apply balance (then donation figure) updates deferred by a unit of work, in sorted statements.

    Taking every balance row lock at the end, in (ledger account, currency)
    order, gives all writers one global lock order, so concurrent units of
    work on PostgreSQL queue instead of deadlocking.
    """
    pending = session.info.get(DEFERRED)
    if pending:
        session.info[DEFERRED] = {}
        with ledger_writer():
            _apply_balance_deltas(session, pending)
    donation_totals.flush(session)


def write_entry(session: Session, spec: EntrySpec) -> int:
    """Write one entry (see :func:`write_entries`); return its id."""
    return write_entries(session, [spec])[0]


def _apply_balance_deltas(session: Session, deltas: Mapping[tuple[int, str], Decimal]) -> None:
    rows = [
        {"ledger_account_id": la, "currency": cur, "amount": amount}
        for (la, cur), amount in sorted(deltas.items())
        if amount != 0
    ]
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(_BALANCES)
    stmt = stmt.on_conflict_do_update(
        index_elements=[_BALANCES.c.ledger_account_id, _BALANCES.c.currency],
        set_={"amount": _BALANCES.c.amount + stmt.excluded.amount},
    )
    session.execute(stmt, rows)


# --- ledger accounts and funds -------------------------------------------------


def new_ledger_account(session: Session, kind: LedgerKind, code: str) -> LedgerAccount:
    """Create a ledger account (flush only)."""
    la = LedgerAccount(kind=kind.value, code=code)
    session.add(la)
    session.flush()
    return la


def singleton_fund(session: Session, kind: FundKind) -> Fund:
    """The general or review fund, created on first use."""
    if kind not in (FundKind.GENERAL, FundKind.REVIEW):
        raise ValueError("only the general and review funds are singletons")
    fund = session.scalar(sa.select(Fund).where(Fund.kind == kind.value))
    if fund is None:
        la = new_ledger_account(session, LedgerKind.FUND, f"fund:{kind.value}")
        name = "General fund" if kind is FundKind.GENERAL else "Review (suspense) fund"
        fund = Fund(kind=kind.value, name=name, ledger_account_id=la.id)
        session.add(fund)
        session.flush()
    return fund


def general_fund(session: Session) -> Fund:
    """The general fund (money with no campaign)."""
    return singleton_fund(session, FundKind.GENERAL)


def review_fund(session: Session) -> Fund:
    """The review (suspense) fund (money waiting for a treasurer)."""
    return singleton_fund(session, FundKind.REVIEW)


def balance_of(session: Session, ledger_account_id: int, currency: str) -> Decimal:
    """The balance of one ledger account and currency (the table plus deferred updates)."""
    value = session.scalar(
        sa.select(Balance.amount).where(
            Balance.ledger_account_id == ledger_account_id, Balance.currency == currency
        )
    )
    pending = session.info.get(DEFERRED) or {}
    total = (value or ZERO) + pending.get((ledger_account_id, currency), ZERO)
    return money.quantize(total, currency)


# --- shares -------------------------------------------------------------------


def str_map(values: Mapping[int, Decimal]) -> dict[str, str]:
    return {str(k): format(v, "f") for k, v in sorted(values.items())}


def _dec_map(values: Mapping[str, str]) -> dict[int, Decimal]:
    return {int(k): Decimal(v) for k, v in values.items()}


def allocation_shares(
    gross: Decimal, fee: Decimal, weights: Mapping[int, Decimal], currency: str
) -> tuple[dict[int, Decimal], dict[int, Decimal]]:
    """Per-fund gross and fee parts of a donation (rule 2).

    Gross and net are each split by largest remainder; a fund's fee is its
    gross share minus its net share, so no rounding path makes a fund differ
    from its share of the net.
    """
    gross_parts = money.split(gross, weights, currency)
    net_parts = money.split(gross - fee, weights, currency)
    fee_parts = {k: gross_parts[k] - net_parts[k] for k in weights}
    return gross_parts, fee_parts


def shares_record(
    weights: Mapping[int, Decimal], gross_parts: Mapping[int, Decimal], fee_parts: Mapping[int, Decimal], **extra: Any
) -> dict[str, Any]:
    """The JSON recorded on an allocating entry: weights and the amounts booked."""
    return {
        "weights": str_map(weights),
        "gross": str_map(gross_parts),
        "fee": str_map(fee_parts),
        **extra,
    }


@dataclass(frozen=True, slots=True)
class Basis:
    """The allocation a donation's money currently follows."""

    entry_id: int
    weights: dict[int, Decimal]
    gross: dict[int, Decimal]
    fee: dict[int, Decimal]

    @classmethod
    def of(cls, entry: JournalEntry) -> Basis:
        """Read the shares recorded on an allocating entry."""
        return cls.of_shares(entry.id, entry.shares)

    @classmethod
    def of_shares(cls, entry_id: int, shares: dict[str, Any] | None) -> Basis:
        """Read shares already fetched with the entry's id (bulk readers)."""
        if not shares:
            raise InvariantError(f"entry {entry_id} records no shares")
        return cls(entry_id, _dec_map(shares["weights"]), _dec_map(shares["gross"]), _dec_map(shares["fee"]))

    @property
    def total_gross(self) -> Decimal:
        """The gross this basis allocated."""
        return money.total(self.gross.values())

    @property
    def total_fee(self) -> Decimal:
        """The fee this basis charged."""
        return money.total(self.fee.values())

    def gross_weights(self) -> dict[int, Decimal]:
        """Weights for splitting returned money: the gross each fund got."""
        positive = {k: v for k, v in self.gross.items() if v > 0}
        return positive or dict(self.weights)

    def net_weights(self) -> dict[int, Decimal]:
        """Weights for splitting returned net money: the net each fund got."""
        positive = {k: self.gross[k] - self.fee[k] for k in self.gross if self.gross[k] - self.fee[k] > 0}
        return positive or self.gross_weights()

    def return_parts(
        self, before: tuple[Decimal, Decimal], after: tuple[Decimal, Decimal], currency: str
    ) -> tuple[dict[int, Decimal], dict[int, Decimal]]:
        """Per-fund gross and fee of a step from ``before`` to ``after`` returned (rule 3).

        ``before`` and ``after`` are (gross returned, fee given back) so far.
        Gross and net are split cumulatively, each by what the funds got of
        it, and a fund's fee is its gross part less its net part: the mirror
        of rule 2, so returning everything leaves every fund at exactly zero,
        whatever the rounding of the original split.
        """
        (gross_0, fee_0), (gross_1, fee_1) = before, after
        gross = money.split_cumulative(gross_0, gross_1, self.gross_weights(), currency)
        net = money.split_cumulative(gross_0 - fee_0, gross_1 - fee_1, self.net_weights(), currency)
        keys = set(gross) | set(net)
        gross = {k: gross.get(k, ZERO) for k in keys}
        fee = {k: gross[k] - net.get(k, ZERO) for k in keys}
        return gross, fee


def basis_of(session: Session, donation: Donation) -> Basis:
    """The current allocation basis of a donation."""
    if donation.allocation_entry_id is None:
        raise InvariantError(f"donation {donation.id} has no allocation entry")
    entry = session.get(JournalEntry, donation.allocation_entry_id)
    if entry is None:  # pragma: no cover - foreign key
        raise InvariantError(f"donation {donation.id} points at a missing entry")
    return Basis.of(entry)


def returned_so_far(session: Session, basis: Basis, currency: str) -> tuple[Decimal, Decimal]:
    """Gross returned and fee given back so far against ``basis`` (rule 3)."""
    return returned_for(session, [basis], currency)[basis.entry_id]


def returned_for(session: Session, bases: Sequence[Basis], currency: str) -> dict[int, tuple[Decimal, Decimal]]:
    """:func:`returned_so_far` for many allocations with one query."""
    result = {b.entry_id: (ZERO, ZERO) for b in bases}
    if not bases:
        return result
    funds = {b.entry_id: set(b.weights) for b in bases}
    rows = session.execute(
        sa.select(JournalEntry.basis_entry_id, Posting.ledger_account_id, Posting.role, sa.func.sum(Posting.amount))
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(
            JournalEntry.basis_entry_id.in_(list(funds)),
            # refunds, and undo corrections of refunds (they carry the basis too)
            JournalEntry.kind.in_([k.value for k in (*REFUND_KINDS, EntryKind.CORRECTION)]),
            Posting.currency == currency,
            Posting.role.in_([PostingRole.REFUND.value, PostingRole.FEE.value]),
        )
        .group_by(JournalEntry.basis_entry_id, Posting.ledger_account_id, Posting.role)
    ).all()
    sums: dict[int, dict[str, Decimal]] = {}
    for basis_id, la, role, amount in rows:
        if la in funds[basis_id]:
            per = sums.setdefault(basis_id, {})
            per[role] = per.get(role, ZERO) + amount
    for basis_id, per in sums.items():
        refunded = per.get(PostingRole.REFUND.value, ZERO)
        fee_back = -per.get(PostingRole.FEE.value, ZERO)
        result[basis_id] = (money.quantize(refunded, currency), money.quantize(fee_back, currency))
    return result
