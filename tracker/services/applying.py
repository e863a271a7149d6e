"""Applying a staged export to the books, inside the caller's one transaction.

For each chunk of staged lines, in file order:

1. raw rows are inserted (every row is kept with its batch, sealed);
2. statement lines are upserted on (account, dedup key) with
   ``INSERT ... ON CONFLICT DO NOTHING`` — the unique constraint, not a prior
   SELECT, decides what is new, so racing imports end with one copy;
3. lines that already existed are compared: the same content is a duplicate;
   a status change follows :data:`TRANSITIONS` (and gets a new version);
   a different amount, fee, currency or donor is rejected (RELIABILITY.md L4);
4. new lines are booked by kind and status (:meth:`Applier.book_new`), every
   booking moving the account's asset by exactly the line's net.

Conversions are paired after the last chunk; refunds that arrived before
their donation wait in the review fund and are linked when it arrives, in
this file or a later one.

Status transitions (old -> new: effect), the only ones accepted:

- pending -> completed (and refunded, partially refunded): money in that
  waited in the review fund becomes a donation; other kinds change nothing;
- completed -> refunded / partially refunded, partially refunded ->
  refunded: nothing (the refund rows carry the money);
- completed / refunded / partially refunded -> reversed / cancelled: a
  reversal of what is left of the donation (or of the line's entries), audited;
- pending -> denied / cancelled / failed: the pending booking is reversed
  (the money never arrived), audited.

Anything else is rejected with the line and the Status column named.

May import: models, services (ledger, booking, donations, tagging), staging.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker import money
from tracker.errors import InputError
from tracker.i18n import gettext as _
from tracker.models import (
    Account,
    Donation,
    DonationOrigin,
    EntryKind,
    JournalEntry,
    PostingRole,
    StatementLine,
    StatementLineVersion,
)
from tracker.records import LineKind, LineStatus
from tracker.services import booking, bulk, ledger, line_store
from tracker.services.campaigns import WeightBook
from tracker.services.donations import NewDonation, insert_donations
from tracker.services.open_items import open_clause
from tracker.services.staging import StagedLine
from tracker.services.tagging import Tagging

S = LineStatus
#: (old status, new status) -> what happens. Everything else is rejected.
TRANSITIONS: dict[tuple[str, str], str] = {
    **{(S.PENDING, new): "complete" for new in (S.COMPLETED, S.REFUNDED, S.PARTIALLY_REFUNDED)},
    (S.COMPLETED, S.REFUNDED): "nothing",
    (S.COMPLETED, S.PARTIALLY_REFUNDED): "nothing",
    (S.PARTIALLY_REFUNDED, S.REFUNDED): "nothing",
    **{(old, new): "reverse" for old in (S.COMPLETED, S.REFUNDED, S.PARTIALLY_REFUNDED) for new in (S.REVERSED, S.CANCELLED)},
    **{(S.PENDING, new): "drop" for new in (S.DENIED, S.CANCELLED, S.FAILED)},
}
RETURN_KINDS = frozenset({LineKind.REFUND.value, LineKind.REVERSAL.value, LineKind.CHARGEBACK.value})
MOVE_KINDS = frozenset({LineKind.TRANSFER.value, LineKind.PAYOUT.value, LineKind.HOLD.value, LineKind.RELEASE.value})


@dataclass
class Counts:
    """Lines new, updated, duplicate and rejected in one batch."""

    new: int = 0
    updated: int = 0
    duplicate: int = 0
    rejected: int = 0

    def as_dict(self) -> dict[str, int]:
        """The contract's counts object."""
        return {"new": self.new, "updated": self.updated, "duplicate": self.duplicate, "rejected": self.rejected}


@dataclass
class Outcome:
    """What applying a batch did, for its summary."""

    counts: Counts = field(default_factory=Counts)
    transitions: list[dict[str, Any]] = field(default_factory=list)
    tagging: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    review_reasons: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    booked_net: dict[str, Decimal] = field(default_factory=lambda: defaultdict(lambda: money.ZERO))
    errors: list[InputError] = field(default_factory=list)
    first_import: bool = False


@dataclass(slots=True)
class _Line:
    """A staged line with its statement line id, once upserted."""

    staged: StagedLine
    line_id: int


class Applier:
    """Applies one staged file to one account inside the caller's transaction."""

    def __init__(self, session: Session, account: Account, batch_id: int, filename: str, created_by: str) -> None:
        """Prepare lookups that last the whole batch (rules, weights, funds)."""
        self.session = session
        self.account = account
        self.batch_id = batch_id
        self.filename = filename
        self.created_by = created_by
        self.dialect = session.get_bind().dialect.name
        self.tagging = Tagging(session, account.id)
        self.weights = WeightBook(session)
        self.outcome = Outcome()
        self.conversions: list[_Line] = []
        #: Entries written for status transitions (not for new lines).
        self.transition_entries: list[int] = []
        #: Entries built for this chunk, written together by flush_specs.
        self.specs: list[ledger.EntrySpec] = []
        self.bases: dict[int, ledger.Basis] = {}
        #: Gross and fee returned so far per allocation basis, kept current in memory.
        self.returned: dict[int, tuple[Decimal, Decimal]] = {}
        self.review_ledger_id = ledger.review_fund(session).ledger_account_id
        self.general_ledger_id = ledger.general_fund(session).ledger_account_id
        self.outcome.first_import = not session.scalar(
            sa.select(sa.exists().where(StatementLine.account_id == account.id, StatementLine.undone_at.is_(None)))
        )

    # --- per chunk --------------------------------------------------------------

    def apply_chunk(self, chunk: Sequence[StagedLine]) -> None:
        """Store and book one chunk (flush only)."""
        raw_ids = line_store.insert_raw(self.session, self.batch_id, chunk)
        new_ids = line_store.upsert_lines(self.session, self.account.id, self.batch_id, chunk, raw_ids)
        fresh: list[_Line] = []
        existing = [s for s in chunk if s.dedup_key not in new_ids]
        current = line_store.existing(self.session, self.account.id, existing)
        seen_in_chunk: set[str] = set()
        versions: list[dict[str, Any]] = []
        for staged in chunk:
            if staged.dedup_key in new_ids and staged.dedup_key not in seen_in_chunk:
                seen_in_chunk.add(staged.dedup_key)
                line_id = new_ids[staged.dedup_key]
                fresh.append(_Line(staged, line_id))
                versions.append(line_store.version_row(self.batch_id, line_id, 1, staged, raw_ids[staged.line_no]))
                self.outcome.counts.new += 1
                continue
            row = current.get(staged.dedup_key)
            if row is None or staged.dedup_key in seen_in_chunk or row.last_batch_id == self.batch_id and row.undone_at is None:
                self._reject(staged, 0, _("this line repeats a transaction already read from this file"))
                continue
            revived = self._compare(staged, row, raw_ids[staged.line_no], versions)
            if revived:
                fresh.append(_Line(staged, row.id))
        for staged, column, message in line_store.currency_changes(self.session, self.account.id, self.batch_id, [f.staged for f in fresh]):
            self._reject(staged, column, message)
        if versions:
            bulk.insert_rows(self.session, StatementLineVersion.__table__, versions)
        self.book_new(fresh)

    def _reject(self, staged: StagedLine, column: int | str, message: str) -> None:
        self.outcome.counts.rejected += 1
        if len(self.outcome.errors) < 100:
            self.outcome.errors.append(InputError(self.filename, staged.line_no, column, message))

    def _compare(self, s: StagedLine, row: StatementLine, raw_id: int, versions: list[dict[str, Any]]) -> bool:
        """Duplicate, transition, revival or rejection of a line seen before.

        Returns True when the line must be booked as new (a revived line).
        """
        for column, old, new in (("Gross", row.gross, s.gross), ("Fee", row.fee, s.fee), ("Net", row.net, s.net)):
            if old != new:
                self._reject(s, column, _("this transaction was imported before with a different %(column)s; the import refuses to overwrite it", column=column))
                return False
        if row.donor_key and s.donor_key and row.donor_key != s.donor_key:
            self._reject(s, 0, _("this transaction was imported before with a different counterparty; the import refuses to overwrite it"))
            return False
        revived = row.undone_at is not None
        if not revived and row.status == s.status:
            self.outcome.counts.duplicate += 1
            return False
        effect = "revive" if revived else TRANSITIONS.get((row.status, s.status))
        if effect is None:
            self._reject(s, "Status", _("status changed from %(old)s to %(new)s, which no rule allows", old=row.status, new=s.status))
            return False
        old_status = row.status
        row.version += 1
        row.status = s.status
        row.last_batch_id = self.batch_id
        row.raw_row_id = raw_id
        row.balance = s.balance
        row.undone_at = None
        versions.append(line_store.version_row(self.batch_id, row.id, row.version, s, raw_id))
        if revived:
            self.outcome.counts.new += 1
            return True
        self.outcome.counts.updated += 1
        self.outcome.transitions.append({"line": s.line_no, "from": old_status, "to": s.status, "effect": effect})
        self.flush_specs()
        self.returned.clear()
        getattr(self, "_transition_" + effect)(row, s)
        return False

    # --- transitions --------------------------------------------------------------

    def _transition_nothing(self, row: StatementLine, s: StagedLine) -> None:
        return

    def _line_entries(self, line_id: int) -> list[JournalEntry]:
        return list(
            self.session.scalars(
                sa.select(JournalEntry).where(JournalEntry.statement_line_id == line_id).order_by(JournalEntry.id)
            )
        )

    def _unresolved_review_item(self, line_id: int) -> JournalEntry | None:
        """The line's money still waiting in the review fund (a classification that was undone no longer settles it)."""
        return self.session.scalars(
            sa.select(JournalEntry)
            .where(JournalEntry.statement_line_id == line_id, JournalEntry.kind == EntryKind.UNCLASSIFIED.value, open_clause())
            .order_by(JournalEntry.id)
            .limit(1)
        ).first()

    def _negate(self, entry: JournalEntry, description: str) -> None:
        self.transition_entries.append(booking.write_entry(
            self.session,
            ledger.EntrySpec(
                kind=EntryKind.CORRECTION,
                occurred_at=entry.occurred_at,
                legs=[ledger.Leg(p.ledger_account_id, p.currency, -p.amount, PostingRole(p.role)) for p in entry.postings],
                statement_line_id=entry.statement_line_id,
                donation_id=entry.donation_id,
                batch_id=self.batch_id,
                resolves_entry_id=entry.id,
                created_by=self.created_by,
                description=description,
            ),
        ))

    def _transition_complete(self, row: StatementLine, s: StagedLine) -> None:
        pending = self._unresolved_review_item(row.id)
        if pending is None or not (s.kind == LineKind.PAYMENT.value and s.gross > 0):
            return
        self._negate(pending, "pending payment completed")
        before = self._max_entry_id()
        self._book_donations([_Line(s, row.id)])
        self.transition_entries += self._entries_since(before)

    def _transition_drop(self, row: StatementLine, s: StagedLine) -> None:
        pending = self._unresolved_review_item(row.id)
        if pending is not None:
            self._negate(pending, f"pending line became {s.status}")

    def _transition_reverse(self, row: StatementLine, s: StagedLine) -> None:
        donation = self.session.scalar(
            sa.select(Donation).where(Donation.statement_line_id == row.id, Donation.voided_at.is_(None))
        )
        if donation is not None:
            basis = ledger.basis_of(self.session, donation)
            returned, _fee_back = ledger.returned_so_far(self.session, basis, donation.currency)
            left = basis.total_gross - returned
            if left > 0:
                self.transition_entries.append(booking.book_return(
                    self.session, donation, gross_returned=left, occurred_at=row.occurred_at,
                    statement_line_id=row.id, batch_id=self.batch_id, created_by=self.created_by,
                ))
            return
        for entry in self._line_entries(row.id):
            if entry.kind != EntryKind.CORRECTION.value:
                self._negate(entry, f"line became {s.status}")

    def _max_entry_id(self) -> int:
        return self.session.scalar(sa.select(sa.func.max(JournalEntry.id))) or 0

    def _entries_since(self, entry_id: int) -> list[int]:
        return list(self.session.scalars(sa.select(JournalEntry.id).where(JournalEntry.id > entry_id)))

    # --- booking new lines ----------------------------------------------------------

    def book_new(self, lines: Sequence[_Line]) -> None:
        """Book newly stored lines by kind and status, in file order.

        Entries are collected and written with one call to the entry writer
        per chunk; refunds keep a running total per allocation in memory.
        """
        donations = [x for x in lines if x.staged.booked and self._is_donation(x.staged)]
        self._book_donations(donations)
        donation_ids = {id(x) for x in donations}
        wanted = {x.staged.ref_key for x in lines if x.staged.booked and x.staged.ref_key and x.staged.kind in (*RETURN_KINDS, LineKind.FEE.value)}
        targets = self._donations_by_txn(wanted)
        self._prefetch_bases(list(targets.values()))
        self._prefetch_returned(list(targets.values()))
        for x in lines:
            s = x.staged
            if s.booked:
                self.outcome.booked_net[s.currency] += s.net
            if id(x) in donation_ids or not s.booked:
                continue
            if s.kind in RETURN_KINDS:
                self._book_return(x, targets.get(s.ref_key or ""))
            elif s.kind == LineKind.FEE.value:
                self._book_fee(x, targets.get(s.ref_key or ""))
            elif s.kind == LineKind.CONVERSION.value:
                self.conversions.append(x)
            elif s.kind in MOVE_KINDS:
                self._book_move(x)
            else:
                reason = "pending payment" if s.status == S.PENDING.value else "outgoing payment" if s.net < 0 else f"{s.kind} line"
                self._to_review(x, reason)
        self.flush_specs()
        self._book_conversions(final=False)

    def flush_specs(self) -> None:
        """Write the entries collected so far."""
        if self.specs:
            ledger.write_entries(self.session, self.specs)
            self.specs = []

    def _prefetch_bases(self, donations: Sequence[Donation]) -> None:
        missing = {d.allocation_entry_id for d in donations if d.allocation_entry_id not in self.bases}
        if not missing:
            return
        for entry in self.session.scalars(sa.select(JournalEntry).where(JournalEntry.id.in_(list(missing)))):
            self.bases[entry.id] = ledger.Basis.of(entry)

    def _basis(self, donation: Donation) -> ledger.Basis:
        if donation.allocation_entry_id not in self.bases:
            self._prefetch_bases([donation])
        return self.bases[donation.allocation_entry_id]  # type: ignore[index]

    def _returned(self, basis: ledger.Basis, currency: str) -> tuple[Decimal, Decimal]:
        # The cache is kept current as specs are added; it is filled from the
        # database once per allocation (see _prefetch_returned).
        if basis.entry_id not in self.returned:
            self.returned.update(ledger.returned_for(self.session, [basis], currency))
        return self.returned[basis.entry_id]

    def _prefetch_returned(self, donations: Sequence[Donation]) -> None:
        by_currency: dict[str, list[ledger.Basis]] = defaultdict(list)
        for d in donations:
            basis = self.bases.get(d.allocation_entry_id)  # type: ignore[arg-type]
            if basis is not None and basis.entry_id not in self.returned:
                by_currency[d.currency].append(basis)
        for currency, bases in by_currency.items():
            self.returned.update(ledger.returned_for(self.session, bases, currency))

    def _is_donation(self, s: StagedLine) -> bool:
        return s.kind == LineKind.PAYMENT.value and s.gross > 0 and s.fee >= 0 and s.status != S.PENDING.value

    def _book_donations(self, lines: Sequence[_Line]) -> None:
        if not lines:
            return
        items = []
        for x in lines:
            s = x.staged
            decision = self.tagging.decide(s.texts, s.metadata, provider=self.account.kind, on=s.occurred_at.date(), dedup_key=s.dedup_key)
            self.outcome.tagging[decision.destination.value] += 1
            if decision.destination.value == "review":
                self.outcome.review_reasons[str(decision.detail.get("reason") or "")[:200]] += 1
            items.append(
                NewDonation(
                    account=self.account, received_at=s.occurred_at, currency=s.currency, gross=s.gross, fee=s.fee,
                    destination=decision.destination, campaign_id=decision.campaign_id, donor_key=s.donor_key,
                    origin=DonationOrigin.IMPORT, tag_source=decision.source, tag_detail=decision.detail,
                    statement_line_id=x.line_id,
                )
            )
        ids = insert_donations(self.session, items, batch_id=self.batch_id, created_by=self.created_by, weights=self.weights)
        self._link_waiting_returns(ids)

    def _donations_by_txn(self, ref_keys: set[str]) -> dict[str, Donation]:
        if not ref_keys:
            return {}
        rows = self.session.execute(
            sa.select(StatementLine.txn_key, Donation)
            .join(Donation, Donation.statement_line_id == StatementLine.id)
            .where(
                StatementLine.account_id == self.account.id,
                StatementLine.txn_key.in_(list(ref_keys)),
                Donation.voided_at.is_(None),
            )
        ).all()
        return {txn: donation for txn, donation in rows}

    def _book_return(self, x: _Line, donation: Donation | None) -> None:
        s = x.staged
        kind = EntryKind.CHARGEBACK if s.kind == LineKind.CHARGEBACK.value else EntryKind.REFUND
        gross_returned, fee_returned = -s.gross, -s.fee
        if donation is not None and donation.currency == s.currency:
            basis = self._basis(donation)
            done, fee_done = self._returned(basis, s.currency)
            fits = 0 <= done + gross_returned <= basis.total_gross and 0 <= fee_done + fee_returned <= basis.total_fee
            if fits:
                self.specs.append(
                    booking.return_entry(
                        donation, basis, kind=kind, asset_ledger_id=self.account.asset_ledger_id,
                        gross_returned=gross_returned, fee_returned=fee_returned, before=(done, fee_done),
                        occurred_at=s.occurred_at, statement_line_id=x.line_id, batch_id=self.batch_id,
                        created_by=self.created_by,
                    )
                )
                self.returned[basis.entry_id] = (done + gross_returned, fee_done + fee_returned)
                return
            self._to_review(x, "refund larger than what is left of its donation")
            return
        if gross_returned > 0 and fee_returned >= 0:
            self.specs.append(
                booking.return_first_entry(
                    asset_ledger_id=self.account.asset_ledger_id, review_ledger_id=self.review_ledger_id,
                    currency=s.currency, gross_returned=gross_returned, fee_returned=fee_returned,
                    occurred_at=s.occurred_at, kind=kind, statement_line_id=x.line_id,
                    batch_id=self.batch_id, created_by=self.created_by,
                )
            )
            return
        self._to_review(x, f"{s.kind} without its donation")

    def _link_waiting_returns(self, donation_ids: Sequence[int]) -> None:
        """Refunds booked to review before their donation arrived: link them now."""
        refund_line = sa.orm.aliased(StatementLine)
        paid = sa.orm.aliased(StatementLine)
        rows = self.session.execute(
            sa.select(JournalEntry, Donation)
            .join(refund_line, refund_line.id == JournalEntry.statement_line_id)
            .join(paid, sa.and_(paid.txn_key == refund_line.ref_key, paid.account_id == refund_line.account_id))
            .join(Donation, Donation.statement_line_id == paid.id)
            .where(
                Donation.id.in_(list(donation_ids)),
                JournalEntry.kind.in_([EntryKind.REFUND.value, EntryKind.CHARGEBACK.value]),
                JournalEntry.donation_id.is_(None),
                open_clause(),
            )
            .order_by(JournalEntry.id)
        ).all()
        for entry, donation in rows:
            legs = entry.postings
            if not legs or legs[0].currency != donation.currency:
                continue
            basis = ledger.basis_of(self.session, donation)
            done, fee_done = ledger.returned_so_far(self.session, basis, donation.currency)
            review = [p for p in legs if p.ledger_account_id != self.account.asset_ledger_id]
            back = money.total(p.amount for p in review if p.role == PostingRole.REFUND.value)
            fee_back = -money.total(p.amount for p in review if p.role == PostingRole.FEE.value)
            if done + back <= basis.total_gross and fee_done + fee_back <= basis.total_fee:
                booking.link_return(self.session, donation, entry, batch_id=self.batch_id, created_by=self.created_by)
                self.returned.pop(basis.entry_id, None)

    def _book_fee(self, x: _Line, donation: Donation | None) -> None:
        s = x.staged
        if donation is not None and donation.currency == s.currency and s.net < 0:
            self.specs.append(
                booking.dispute_fee_entry(
                    asset_ledger_id=self.account.asset_ledger_id, currency=s.currency, amount=-s.net,
                    occurred_at=s.occurred_at, basis=self._basis(donation), general_ledger_id=self.general_ledger_id,
                    donation_id=donation.id, statement_line_id=x.line_id, batch_id=self.batch_id,
                    created_by=self.created_by,
                )
            )
            return
        self._to_review(x, "fee line")

    def _book_move(self, x: _Line) -> None:
        s = x.staged
        if s.net == 0:
            return
        asset, transit = self.account.asset_ledger_id, self.account.transit_ledger_id
        source, target = (asset, transit) if s.net < 0 else (transit, asset)
        self.specs.append(
            booking.account_transfer_entry(
                from_ledger_id=source, to_ledger_id=target, currency=s.currency, amount=abs(s.net),
                occurred_at=s.occurred_at, statement_line_id=x.line_id, batch_id=self.batch_id,
                created_by=self.created_by, description=f"{s.kind}: {s.provider_type}"[:500],
            )
        )

    def _to_review(self, x: _Line, reason: str) -> None:
        s = x.staged
        if s.net == 0:
            return
        self.specs.append(
            booking.to_review_entry(
                kind=EntryKind.UNCLASSIFIED, asset_ledger_id=self.account.asset_ledger_id,
                review_ledger_id=self.review_ledger_id, currency=s.currency, amount=s.net,
                occurred_at=s.occurred_at, statement_line_id=x.line_id, batch_id=self.batch_id,
                created_by=self.created_by, description=reason,
            )
        )

    # --- after the last chunk -----------------------------------------------------------

    def finish(self) -> None:
        """Book the conversion halves still waiting for their other half."""
        self._book_conversions(final=True)
        self.flush_specs()

    def _book_conversions(self, *, final: bool) -> None:
        """Pair the conversion lines read so far and book the pairs.

        Halves are paired by a shared reference, or by one referring to the
        other, opposite signs and different currencies. A half whose partner
        is not in the file goes to the review fund at the end.
        """
        pending = self.conversions
        pairs: list[tuple[_Line, _Line]] = []
        by_ref: dict[str, list[_Line]] = defaultdict(list)
        for x in pending:
            if x.staged.ref_key:
                by_ref[x.staged.ref_key].append(x)
        used: set[int] = set()
        for group in by_ref.values():
            sold = [x for x in group if x.staged.net < 0]
            bought = [x for x in group if x.staged.net > 0]
            for a in sold:
                b = next((b for b in bought if id(b) not in used and b.staged.currency != a.staged.currency), None)
                if b is not None:
                    pairs.append((a, b))
                    used.update({id(a), id(b)})
        by_txn = {x.staged.txn_key: x for x in pending if x.staged.txn_key and id(x) not in used}
        for x in pending:
            if id(x) in used or not x.staged.ref_key:
                continue
            other = by_txn.get(x.staged.ref_key)
            if other is not None and id(other) not in used and (other.staged.net > 0) != (x.staged.net > 0) and other.staged.currency != x.staged.currency:
                a, b = (x, other) if x.staged.net < 0 else (other, x)
                pairs.append((a, b))
                used.update({id(a), id(b)})
        targets = self._donations_by_txn({a.staged.ref_key for a, _b in pairs if a.staged.ref_key})
        for a, b in pairs:
            donation = targets.get(a.staged.ref_key or "")
            if donation is not None and donation.currency != a.staged.currency:
                donation = None
            booking.book_conversion(
                self.session, account=self.account, sold_currency=a.staged.currency, sold=-a.staged.net,
                bought_currency=b.staged.currency, bought=b.staged.net, occurred_at=a.staged.occurred_at,
                donation=donation, statement_line_id=a.line_id, batch_id=self.batch_id, created_by=self.created_by,
            )
        self.conversions = [x for x in pending if id(x) not in used]
        if final:
            for x in self.conversions:
                self._to_review(x, "currency conversion without its other half")
            self.conversions = []

    def opening_balances(self, edges: dict[str, Any]) -> dict[str, Decimal]:
        """On an account's first import, book the balance before its first line."""
        if not self.outcome.first_import:
            return {}
        booked = {}
        for currency, edge in edges.items():
            earliest = edge.first if edge.first[1] <= edge.last[1] else edge.last
            _line_no, moment, balance, net = earliest
            opening = balance - net
            if opening:
                booking.book_to_review(
                    self.session, kind=EntryKind.OPENING_BALANCE, asset_ledger_id=self.account.asset_ledger_id,
                    currency=currency, amount=opening, occurred_at=moment - _EPSILON, batch_id=self.batch_id,
                    created_by=self.created_by, description="opening balance from the provider's running balance",
                )
                booked[currency] = opening
        return booked


_EPSILON = datetime.resolution
