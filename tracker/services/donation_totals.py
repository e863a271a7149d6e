"""Running figures of donations per destination, campaign and currency.

The ``donation_totals`` table holds, per (destination, campaign, currency),
how many live donations there are, their gross, what their fund postings
raised net of refunds, the fees on those funds, and what their postings hold
in the review fund: the figures the dashboard, the review queue and the
campaigns page show. Summing the
postings for them would read the whole ledger on every page; instead the
ledger service keeps this table in the same transaction as the postings, as
it keeps ``balances``, and ``tracker check`` recomputes it from the postings.

What changes it, and where:

- a posting of a fund in an entry tied to a donation
  (:func:`tracker.services.ledger.write_entries` calls :func:`add_entries`):
  raised and fees (roles gross, refund, fee) and what is held in the review
  fund (any role) of the donation's current key;
- a new donation (:func:`added`): one more donation and its gross;
- a donation moved to another destination or campaign (:func:`move`): all of
  its figures leave the old key for the new one;
- donations voided by an undone batch (:func:`voided`): one fewer donation
  and its gross (their money goes back through correction entries).

Inside a unit of work the changes wait in the session and are written at the
end in key order, after the balances (:func:`flush`), so concurrent writers
take row locks in one global order.

May import: models, :mod:`tracker.money`, :mod:`tracker.errors`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tracker import money
from tracker.errors import InvariantError
from tracker.services.guard import ledger_writer
from tracker.models import (
    Destination,
    Donation,
    DonationTotal,
    Fund,
    FundKind,
    JournalEntry,
    LedgerAccount,
    LedgerKind,
    Posting,
    PostingRole,
)

ZERO = money.ZERO
_TABLE = DonationTotal.__table__
#: session.info key under which a unit of work collects changes.
DEFERRED = "tracker_deferred_donation_totals"
#: The posting roles the figures count.
ROLES = (PostingRole.GROSS.value, PostingRole.REFUND.value, PostingRole.FEE.value)
#: At most this many ids in one IN list.
CHUNK = 900

#: (destination, campaign id or 0, currency)
Key = tuple[str, int, str]
#: (destination, campaign id or 0)
Place = tuple[str, int]


#: The figures, as columns of the table and fields of :class:`Figures`.
NAMES = ("donations", "gross", "raised", "fees", "review_held")


@dataclass(slots=True)
class Figures:
    """The figures of one key (or a change to them); see :class:`DonationTotal`."""

    donations: int = 0
    gross: Decimal = ZERO
    raised: Decimal = ZERO
    fees: Decimal = ZERO
    review_held: Decimal = ZERO

    def __bool__(self) -> bool:
        return any(getattr(self, name) for name in NAMES)

    def add(self, other: Figures, sign: int = 1) -> None:
        """Add ``other`` (or subtract it, with ``sign`` -1)."""
        for name in NAMES:
            setattr(self, name, getattr(self, name) + sign * getattr(other, name))

    def count(self, role: str, amount: Decimal, *, review: bool) -> None:
        """Count one fund posting of an entry tied to a donation (``review``: on the review fund)."""
        if review:
            self.review_held += amount
        if role not in ROLES:
            return
        if role == PostingRole.FEE.value:
            self.fees += amount
        else:
            self.raised -= amount


def place(destination: str, campaign_id: int | None) -> Place:
    """The key of a destination and campaign (0 for none)."""
    return destination, campaign_id or 0


def _apply(session: Session, changes: Mapping[Key, Figures]) -> None:
    """Write ``changes`` now, or keep them for the end of the unit of work."""
    pending = session.info.get(DEFERRED)
    if pending is None:
        _write(session, changes)
        return
    for key, figures in changes.items():
        if figures:
            pending.setdefault(key, Figures()).add(figures)


def _write(session: Session, changes: Mapping[Key, Figures]) -> None:
    rows = [
        {"destination": k[0], "campaign_key": k[1], "currency": k[2], **{name: getattr(f, name) for name in NAMES}}
        for k, f in sorted(changes.items())
        if f
    ]
    if not rows:
        return
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = insert(_TABLE)
    stmt = stmt.on_conflict_do_update(
        index_elements=[_TABLE.c.destination, _TABLE.c.campaign_key, _TABLE.c.currency],
        set_={name: _TABLE.c[name] + stmt.excluded[name] for name in NAMES},
    )
    with ledger_writer():
        session.execute(stmt, rows)


def flush(session: Session) -> None:
    """Write the changes a unit of work collected, in key order."""
    pending = session.info.get(DEFERRED)
    if pending:
        session.info[DEFERRED] = {}
        _write(session, pending)


def _places(session: Session, donation_ids: Iterable[int]) -> dict[int, Place]:
    wanted = sorted(set(donation_ids))
    found: dict[int, Place] = {}
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        for ident, destination, campaign_id in session.execute(
            sa.select(Donation.id, Donation.destination, Donation.campaign_id).where(Donation.id.in_(chunk))
        ):
            found[ident] = place(destination, campaign_id)
    missing = [i for i in wanted if i not in found]
    if missing:
        raise InvariantError(f"entries name donations that do not exist: {missing[:5]}")
    return found


def _review_ledger(session: Session) -> int | None:
    return session.scalar(sa.select(Fund.ledger_account_id).where(Fund.kind == FundKind.REVIEW.value))


def add_entries(
    session: Session,
    entries: Iterable[tuple[int | None, Iterable[tuple[int, str, Decimal, str]]]],
    known: Mapping[int, Place] | None = None,
) -> None:
    """Count the fund postings of entries tied to donations.

    ``entries`` gives, per entry, its donation id (or None) and its legs as
    (ledger account id, currency, amount, role); ``known`` the places of
    donations the caller has just written (the rest are read).
    """
    legs_by_gift: dict[int, list[tuple[int, str, Decimal, str]]] = defaultdict(list)
    for donation_id, legs in entries:
        if donation_id is not None:
            legs_by_gift[donation_id].extend(legs)
    accounts = {leg[0] for legs in legs_by_gift.values() for leg in legs}
    if not accounts:
        return
    funds = set(
        session.scalars(
            sa.select(LedgerAccount.id).where(LedgerAccount.id.in_(accounts), LedgerAccount.kind == LedgerKind.FUND.value)
        )
    )
    if not funds:
        return
    review = _review_ledger(session)
    per_gift: dict[tuple[int, str], Figures] = defaultdict(Figures)
    for donation_id, legs in legs_by_gift.items():
        for account, currency, amount, role in legs:
            if account in funds:
                per_gift[(donation_id, currency)].count(role, amount, review=account == review)
    per_gift = {k: f for k, f in per_gift.items() if f}  # a re-allocation between other funds nets to zero
    if not per_gift:
        return
    known = known or {}
    places = dict(known)
    unknown = {d for d, _cur in per_gift if d not in known}
    if unknown:
        places.update(_places(session, unknown))
    changes: dict[Key, Figures] = defaultdict(Figures)
    for (donation_id, currency), figures in per_gift.items():
        changes[(*places[donation_id], currency)].add(figures)
    _apply(session, changes)


def added(session: Session, donations: Iterable[tuple[Place, str, Decimal]]) -> None:
    """New donations: (place, currency, gross) of each."""
    changes: dict[Key, Figures] = defaultdict(Figures)
    for where, currency, gross in donations:
        changes[(*where, currency)].add(Figures(1, gross))
    _apply(session, changes)


def _postings_by_place(session: Session, *where: Any) -> Iterator[tuple[str, int | None, str, str, bool, Decimal]]:
    """Sums of fund postings of entries tied to donations: (destination, campaign id, currency,
    role, whether the fund is the review fund, amount)."""
    review = _review_ledger(session)
    for destination, campaign_id, currency, role, ledger_id, amount in session.execute(
        sa.select(Donation.destination, Donation.campaign_id, Posting.currency, Posting.role, Posting.ledger_account_id, sa.func.sum(Posting.amount))
        .select_from(Posting)
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .join(Donation, Donation.id == JournalEntry.donation_id)
        .join(LedgerAccount, LedgerAccount.id == Posting.ledger_account_id)
        .where(LedgerAccount.kind == LedgerKind.FUND.value, *where)
        .group_by(Donation.destination, Donation.campaign_id, Posting.currency, Posting.role, Posting.ledger_account_id)
    ):
        yield destination, campaign_id, currency, role, ledger_id == review, amount


def _own_figures(session: Session, donation: Donation) -> dict[str, Figures]:
    """A donation's figures per currency, from its postings (flushed)."""
    own: dict[str, Figures] = defaultdict(Figures)
    for _dest, _campaign, currency, role, review, amount in _postings_by_place(session, JournalEntry.donation_id == donation.id):
        own[currency].count(role, amount, review=review)
    if donation.voided_at is None:
        own[donation.currency].add(Figures(1, donation.gross))
    return own


def move(session: Session, donation: Donation, before: Place) -> None:
    """``donation`` now has another destination or campaign than ``before``: move its figures."""
    after = place(donation.destination, donation.campaign_id)
    if after == before:
        return
    changes: dict[Key, Figures] = defaultdict(Figures)
    for currency, figures in _own_figures(session, donation).items():
        changes[(*before, currency)].add(figures, -1)
        changes[(*after, currency)].add(figures)
    _apply(session, changes)


def _live_by_key(session: Session, *where: Any) -> Iterator[tuple[Key, int, Decimal]]:
    """How many live donations, and their gross, per key (of those ``where`` selects)."""
    for destination, campaign_id, currency, count, gross in session.execute(
        sa.select(Donation.destination, Donation.campaign_id, Donation.currency, sa.func.count(), sa.func.sum(Donation.gross))
        .where(Donation.voided_at.is_(None), *where)
        .group_by(Donation.destination, Donation.campaign_id, Donation.currency)
    ):
        yield (*place(destination, campaign_id), currency), count, gross


def voided(session: Session, which: Any) -> None:
    """The live donations that ``which`` (a condition on Donation) selects are about to be voided."""
    _apply(session, {key: Figures(-count, -gross) for key, count, gross in _live_by_key(session, which)})


# --- reading ----------------------------------------------------------------------------


def read(session: Session, destination: Destination | None = None) -> dict[Place, dict[str, Figures]]:
    """The stored figures per place and currency (all destinations, or one)."""
    query = sa.select(DonationTotal)
    if destination is not None:
        query = query.where(DonationTotal.destination == destination.value)
    out: dict[Place, dict[str, Figures]] = defaultdict(dict)
    for row in session.scalars(query):
        out[(row.destination, row.campaign_key)][row.currency] = _figures(row)
    return out


def recompute(session: Session) -> dict[Key, Figures]:
    """The figures as the donations and postings say (for ``tracker check``)."""
    out: dict[Key, Figures] = defaultdict(Figures)
    for key, count, gross in _live_by_key(session):
        out[key].add(Figures(count, gross))
    for destination, campaign_id, currency, role, review, amount in _postings_by_place(session):
        out[(*place(destination, campaign_id), currency)].count(role, amount, review=review)
    return out


def stored(session: Session) -> dict[Key, Figures]:
    """The table as it is, per key (:func:`read`, flat)."""
    return {(*where, cur): f for where, by_currency in read(session).items() for cur, f in by_currency.items()}


def _figures(row: DonationTotal) -> Figures:
    return Figures(**{name: getattr(row, name) for name in NAMES})

