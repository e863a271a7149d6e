"""Finding donations and statement lines: filters, note search, keyset pages.

- :class:`RecordFilter` holds what a treasurer asked for: transaction id,
  amount (exact or a range, either sign for lines), campaign, prisoner,
  account, currency, date range, status, kind, and words of the note.
- A transaction id is never compared or stored as typed: it is hashed with
  the server's hash key exactly as imports hash it (purpose ``txn``) and
  compared with ``txn_key`` (and ``ref_key``, so a payment's refunds come too).
- Note words go only through the full-text index
  (:mod:`tracker.models.note_search`): every word must match, as a prefix.
- Both ask their index for the matching ids first
  (:mod:`tracker.services.search_plans`): a few are read by id, many are
  checked row by row down the time index. Note words are asked one month at
  a time, newest first, until the page is full: the note index is kept by
  month, so a common word costs one month's matches, not all of them.
- :func:`search_donations` / :func:`search_lines` return one page ordered by
  time then id, newest first, and opaque signed cursors for the next and
  previous pages (keyset: no OFFSET, nothing loaded beyond one page).

May import: models, :mod:`tracker.money`, services (keys, search_plans), itsdangerous.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session

from tracker import money
from tracker.errors import TrackerError
from tracker.i18n import gettext as _
from tracker.i18n import ngettext
from tracker.models import (
    Account,
    Campaign,
    Destination,
    Donation,
    DonationOrigin,
    Fund,
    FundKind,
    Posting,
    Prisoner,
    RawRow,
    StatementLine,
)
from tracker.models.note_search import WORD
from tracker.records import LineKind, LineStatus
from tracker.services import search_plans as plans
from tracker.services.keys import server_keys

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
#: At most this many words of a note query are used, each at most this long.
MAX_WORDS = 8
MAX_WORD = 64
#: Donation statuses: where the money went, or that its batch was undone.
DONATION_STATUSES = ("review", "campaign", "general", "voided")
DONATION_KINDS = tuple(o.value for o in DonationOrigin)
LINE_STATUSES = tuple(s.value for s in LineStatus)
LINE_KINDS = tuple(k.value for k in LineKind)


class SearchError(TrackerError):
    """A filter value that cannot be used; ``field`` names the form field."""

    def __init__(self, field: str, message: str) -> None:
        """Keep the field for the form."""
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class RecordFilter:
    """What to look for; None means "any"."""

    txn_id: str | None = None
    amount: Decimal | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    campaign: str | None = None
    prisoner: str | None = None
    account_id: int | None = None
    currency: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    status: str | None = None
    kind: str | None = None
    text: str | None = None


# --- cursors --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page starts: after (``next``) or before (``prev``) a (time, id) pair."""

    scope: str
    direction: str
    at: datetime
    id: int


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="tracker.records.cursor")


def encode_cursor(cursor: Cursor) -> str:
    """An opaque, signed token for a cursor."""
    return str(_serializer().dumps([cursor.scope, cursor.direction, cursor.at.isoformat(), cursor.id]))


def decode_cursor(token: str, scope: str) -> Cursor:
    """The cursor a token names, or :class:`SearchError` if it was altered or is for another list."""
    message = _("This page link is damaged or out of date; start the search again.")
    if len(token) > 300:
        raise SearchError("cursor", message)
    try:
        got_scope, direction, at, ident = _serializer().loads(token)
        when = datetime.fromisoformat(at)
    except (BadSignature, ValueError, TypeError):
        raise SearchError("cursor", message) from None
    valid = (
        got_scope == scope
        and direction in ("next", "prev")
        and isinstance(ident, int)
        and not isinstance(ident, bool)
        and when.tzinfo is not None
    )
    if not valid:
        raise SearchError("cursor", message)
    return Cursor(scope, direction, when.astimezone(UTC), ident)


def page_size(value: int | None) -> int:
    """The page size asked for, checked (default :data:`PAGE_SIZE`)."""
    if value is None:
        return PAGE_SIZE
    if not 1 <= value <= MAX_PAGE_SIZE:
        raise SearchError("size", ngettext(
            "A page shows from 1 to %(num)d row.",
            "A page shows from 1 to %(num)d rows.",
            MAX_PAGE_SIZE,
        ))
    return value


# --- note words -----------------------------------------------------------------------


def note_words(text: str | None) -> list[str]:
    """The words of a note query (letters and digits, any script, split as the index splits), lower-cased."""
    if not text:
        return []
    words = [w.lower()[:MAX_WORD] for w in WORD.findall(text)]
    if len(words) > MAX_WORDS:
        raise SearchError("text", ngettext(
            "Search for at most %(num)d word of a note.",
            "Search for at most %(num)d words of a note.",
            MAX_WORDS,
        ))
    return words


# --- shared filter parts --------------------------------------------------------------


def _txn_digest(typed: str) -> str:
    value = typed.strip()
    if len(value) > 128:
        raise SearchError("txn_id", _("A transaction id is at most 128 characters."))
    return server_keys().hash("txn", value)


def _campaign_id(session: Session, tag: str) -> int:
    found = session.scalar(sa.select(Campaign.id).where(Campaign.tag == tag))
    if found is None:
        raise SearchError("campaign", _("There is no campaign %(tag)s.", tag=tag))
    return found


def _prisoner_ledger(session: Session, slug: str) -> int:
    found = session.scalar(
        sa.select(Fund.ledger_account_id)
        .join(Prisoner, Prisoner.id == Fund.prisoner_id)
        .where(Prisoner.slug == slug, Fund.kind == FundKind.PRISONER.value)
    )
    if found is None:
        raise SearchError("prisoner", _("There is no prisoner %(slug)s.", slug=slug))
    return found


def _day_bounds(f: RecordFilter) -> tuple[datetime | None, datetime | None]:
    start = datetime.combine(f.date_from, time(0), UTC) if f.date_from else None
    end = datetime.combine(f.date_to + timedelta(days=1), time(0), UTC) if f.date_to else None
    if start and end and end <= start:
        raise SearchError("date_to", _("The last day is before the first."))
    return start, end


def _amount_bounds(f: RecordFilter) -> None:
    if f.amount_min is not None and f.amount_max is not None and f.amount_max < f.amount_min:
        raise SearchError("amount_max", _("The largest amount is below the smallest."))


def _allocated_to(ledger_id: int) -> Any:
    """A condition on Donation: its current allocation gives the ledger account a share."""
    return sa.exists().where(Posting.entry_id == Donation.allocation_entry_id, Posting.ledger_account_id == ledger_id)


# --- pages ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Page:
    """One page of results, newest first, with tokens for its neighbours."""

    rows: list[dict[str, Any]]
    next: str | None
    prev: str | None


def _page(
    session: Session,
    query: sa.Select[Any],
    time_col: Any,
    id_col: Any,
    scope: str,
    cursor: Cursor | None,
    size: int,
    by_words: tuple[list[plans.NoteIndex], list[str], tuple[datetime | None, datetime | None]] | None = None,
) -> tuple[list[Any], str | None, str | None]:
    """One page of ``query`` from ``cursor``; ``by_words``: (indexes, words, date bounds) to walk by month."""
    backwards = cursor is not None and cursor.direction == "prev"
    if cursor is not None:
        here = sa.tuple_(time_col, id_col)
        mark = sa.tuple_(sa.literal(cursor.at, time_col.type), sa.literal(cursor.id, id_col.type))
        query = query.where(here > mark if backwards else here < mark)
    order = (time_col.asc(), id_col.asc()) if backwards else (time_col.desc(), id_col.desc())
    if by_words is None:
        rows = list(session.execute(query.order_by(*order).limit(size + 1)).all())
    else:
        indexes, words, bounds = by_words
        rows = plans.by_month(
            session, query.order_by(*order), time_col, indexes, words,
            limit=size + 1, newer=backwards, at=cursor.at if cursor else None, bounds=bounds,
        )
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
    if not rows:
        return [], None, None

    def token(direction: str, row: Any) -> str:
        return encode_cursor(Cursor(scope, direction, row.at, row.id))

    if backwards:
        return rows, token("next", rows[-1]), token("prev", rows[0]) if more else None
    return rows, token("next", rows[-1]) if more else None, token("prev", rows[0]) if cursor else None


def _excerpt(texts: Any, limit: int = 120) -> str:
    joined = " · ".join(str(t[1]) for t in (texts or []) if isinstance(t, (list, tuple)) and len(t) == 2)
    return joined if len(joined) <= limit else joined[: limit - 1] + "…"


def _amount(value: Decimal | None, currency: str) -> str | None:
    return None if value is None else money.to_string(money.quantize(value, currency), currency)


def search_donations(
    session: Session, f: RecordFilter, *, cursor: Cursor | None = None, size: int = PAGE_SIZE
) -> Page:
    """One page of donations matching ``f``, newest first."""
    _amount_bounds(f)
    start, end = _day_bounds(f)
    query = (
        sa.select(
            Donation.id,
            Donation.received_at.label("at"),
            Account.name.label("account"),
            Donation.origin,
            Donation.currency,
            Donation.gross,
            Donation.fee,
            Donation.destination,
            Campaign.tag.label("campaign"),
            Donation.voided_at,
            Donation.statement_line_id,
            Donation.tag_source,
            StatementLine.texts,
            RawRow.purged_at,
        )
        .join(Account, Account.id == Donation.account_id)
        .outerjoin(Campaign, Campaign.id == Donation.campaign_id)
        .outerjoin(StatementLine, StatementLine.id == Donation.statement_line_id)
        .outerjoin(RawRow, RawRow.id == StatementLine.raw_row_id)
    )
    if f.txn_id:
        by_txn = plans.lines_by_txn(session, _txn_digest(f.txn_id), references=False)
        query = plans.restrict(query, Donation.statement_line_id, by_txn)
    if f.amount is not None:
        query = query.where(Donation.gross == f.amount)
    if f.amount_min is not None:
        query = query.where(Donation.gross >= f.amount_min)
    if f.amount_max is not None:
        query = query.where(Donation.gross <= f.amount_max)
    if f.campaign:
        query = query.where(Donation.campaign_id == _campaign_id(session, f.campaign))
    if f.prisoner:
        query = query.where(_allocated_to(_prisoner_ledger(session, f.prisoner)))
    if f.account_id is not None:
        query = query.where(Donation.account_id == f.account_id)
    if f.currency:
        query = query.where(Donation.currency == f.currency)
    if start:
        query = query.where(Donation.received_at >= start)
    if end:
        query = query.where(Donation.received_at < end)
    if f.status:
        if f.status not in DONATION_STATUSES:
            raise SearchError("status", _("Unknown status."))
        if f.status == "voided":
            query = query.where(Donation.voided_at.is_not(None))
        else:
            query = query.where(Donation.destination == Destination(f.status).value, Donation.voided_at.is_(None))
    if f.kind:
        if f.kind not in DONATION_KINDS:
            raise SearchError("kind", _("Unknown kind."))
        query = query.where(Donation.origin == f.kind)
    words = note_words(f.text)
    # an imported gift is received when its line occurred: both are in the same month's index
    walk = ([plans.line_notes(Donation.statement_line_id), plans.donation_notes()], words, (start, end)) if words else None
    rows, after, before = _page(session, query, Donation.received_at, Donation.id, "donations", cursor, size, walk)
    return Page(
        [
            {
                "id": r.id,
                "at": r.at,
                "account": r.account,
                "kind": r.origin,
                "currency": r.currency,
                "gross": _amount(r.gross, r.currency),
                "fee": _amount(r.fee, r.currency),
                "status": "voided" if r.voided_at else r.destination,
                "campaign": r.campaign,
                "line_id": r.statement_line_id,
                "tag_source": r.tag_source,
                "note": _excerpt(r.texts),
                "purged": r.purged_at is not None,
            }
            for r in rows
        ],
        after,
        before,
    )


def search_lines(
    session: Session, f: RecordFilter, *, cursor: Cursor | None = None, size: int = PAGE_SIZE
) -> Page:
    """One page of statement lines matching ``f``, newest first."""
    _amount_bounds(f)
    start, end = _day_bounds(f)
    gift = sa.orm.aliased(Donation)
    live_gift = sa.and_(gift.statement_line_id == StatementLine.id, gift.voided_at.is_(None))
    query = (
        sa.select(
            StatementLine.id,
            StatementLine.occurred_at.label("at"),
            Account.name.label("account"),
            StatementLine.kind,
            StatementLine.status,
            StatementLine.currency,
            StatementLine.gross,
            StatementLine.fee,
            StatementLine.net,
            StatementLine.provider_type,
            StatementLine.texts,
            RawRow.purged_at,
            StatementLine.undone_at,
        )
        .join(Account, Account.id == StatementLine.account_id)
        .outerjoin(RawRow, RawRow.id == StatementLine.raw_row_id)
    )
    if f.txn_id:
        by_txn = plans.lines_by_txn(session, _txn_digest(f.txn_id), references=True)
        query = plans.restrict(query, StatementLine.id, by_txn)
    g = StatementLine.gross
    if f.amount is not None:
        query = query.where(g.in_([f.amount, -f.amount]))
    if f.amount_min is not None:
        query = query.where(sa.or_(g >= f.amount_min, g <= -f.amount_min))
    if f.amount_max is not None:
        query = query.where(g <= f.amount_max, g >= -f.amount_max)
    if f.campaign:
        campaign_id = _campaign_id(session, f.campaign)
        query = query.where(sa.exists().where(live_gift, gift.campaign_id == campaign_id))
    if f.prisoner:
        ledger_id = _prisoner_ledger(session, f.prisoner)
        shared = sa.exists().where(Posting.entry_id == gift.allocation_entry_id, Posting.ledger_account_id == ledger_id)
        query = query.where(sa.exists().where(live_gift, shared))
    if f.account_id is not None:
        query = query.where(StatementLine.account_id == f.account_id)
    if f.currency:
        query = query.where(StatementLine.currency == f.currency)
    if start:
        query = query.where(StatementLine.occurred_at >= start)
    if end:
        query = query.where(StatementLine.occurred_at < end)
    if f.status:
        if f.status not in LINE_STATUSES:
            raise SearchError("status", _("Unknown status."))
        query = query.where(StatementLine.status == f.status)
    if f.kind:
        if f.kind not in LINE_KINDS:
            raise SearchError("kind", _("Unknown kind."))
        query = query.where(StatementLine.kind == f.kind)
    words = note_words(f.text)
    walk = ([plans.line_notes()], words, (start, end)) if words else None
    rows, after, before = _page(session, query, StatementLine.occurred_at, StatementLine.id, "lines", cursor, size, walk)
    return Page(
        [
            {
                "id": r.id,
                "at": r.at,
                "account": r.account,
                "kind": r.kind,
                "status": r.status,
                "currency": r.currency,
                "gross": _amount(r.gross, r.currency),
                "fee": _amount(r.fee, r.currency),
                "net": _amount(r.net, r.currency),
                "provider_type": r.provider_type,
                "note": _excerpt(r.texts),
                "purged": r.purged_at is not None,
                "undone": r.undone_at is not None,
            }
            for r in rows
        ],
        after,
        before,
    )
