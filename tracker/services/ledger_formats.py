"""The whole ledger, or a period of it, as a beancount file or an hledger journal.

For the group's outside accountant, who reads the books in plain-text
accounting tools: every journal entry becomes one transaction dated with its
UTC day, postings in the ledger's own signs (debit positive), amounts exact.
The text is streamed: one aggregate query finds each account's first use and
currencies, then entries are read in (time, id) order in batches and yielded
one at a time, so memory stays flat however large the ledger is. Everything is
read in one snapshot (a read transaction on SQLite, REPEATABLE READ on
PostgreSQL), so the declarations always cover the transactions that follow.

Only what the books CSV shows without notes leaves the app (rule 10): dates,
amounts, ledger accounts, the entry's kind, a disbursement's category and
public description, and the app's own entry, donation and disbursement ids.
Donor keys, payment notes, private notes, counterparties, provider
transaction ids and the free text of imported lines are never written.

Account roots, so that balances read the usual way in both tools (assets
debit-normal and positive, the sources of that money credit-normal and
negative, exactly the ledger's own signs):

- ``Assets:<Kind>:<Account>`` for an account's money (PayPal, Stripe, bank,
  cash box) and ``Assets:In-Transit:<Kind>:<Account>`` for its money on the
  way to another account (payouts not yet arrived).
- ``Liabilities:Funds:Prisoner-<slug>`` and ``Liabilities:Funds:Campaign-<tag>``:
  money given for a named prisoner or a campaign is not the group's to
  spend as it likes. It is held in trust, owed to that purpose, and leaves
  only as a disbursement on the prisoner's behalf or a documented transfer;
  an accountant books such restricted, pass-through money as a liability.
- ``Equity:Funds:General``: money given to the cause without a purpose is
  the group's own unrestricted money, its net assets, so equity.
- ``Equity:Funds:Review-Suspense``: money not yet classified (opening
  balances found at a first import, pending and unknown lines, gifts waiting
  for review). It is the suspense account the tools' own opening-balance
  convention puts under equity; it is not owed to anyone until a treasurer
  moves it to a fund.

There are no income or expense accounts, as in the ledger itself: a donation
credits a fund, a fee or a disbursement debits it, so each fund's balance is
what it holds. Per currency all accounts sum to zero, in the file as in the
app (rule 7).

A conversion is booked in the ledger as two balanced halves, one per
currency, each between the account and the funds whose money was converted
(sold currency: Cr asset, Dr funds; bought currency: Dr asset, Cr funds).
Each currency sums to zero inside the transaction, which both tools accept
as balanced without a price; the rate is the ratio of the two halves.

Names come from the ledger accounts' codes, which never change (an account
renamed later keeps its code): slugs and names are transliterated to ASCII,
reduced to letters, digits and dashes, each word capitalised, cut to a
bounded length with a short hash of what was cut; a name taken already (two
slugs that normalise alike) gets the ledger account's id appended. Names are
computed over every ledger account in id order, so they are the same in every
export, whole or of a period.

May import: models, :mod:`tracker.money`, :mod:`tracker.errors`.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker import money
from tracker.errors import InvariantError, MoneyError
from tracker.models import Account, Disbursement, JournalEntry, LedgerAccount, LedgerKind, Posting

BATCH = 5000
#: Longest component written, before the hash of what was cut.
MAX_COMPONENT = 48
ROOTS = ("Assets", "Liabilities", "Equity", "Income", "Expenses")
#: A valid account name for beancount (and so for hledger): a root, then
#: components of ASCII letters, digits and dashes starting with a capital or a digit.
VALID_NAME = re.compile(
    r"^(?:Assets|Liabilities|Equity|Income|Expenses)(?::[A-Z0-9][A-Za-z0-9-]*)+$"
)

_CYRILLIC = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюяєіїґўѣѳ",
        [
            "a",
            "b",
            "v",
            "g",
            "d",
            "e",
            "e",
            "zh",
            "z",
            "i",
            "y",
            "k",
            "l",
            "m",
            "n",
            "o",
            "p",
            "r",
            "s",
            "t",
            "u",
            "f",
            "kh",
            "ts",
            "ch",
            "sh",
            "shch",
            "",
            "y",
            "",
            "e",
            "yu",
            "ya",
            "ye",
            "i",
            "yi",
            "g",
            "u",
            "e",
            "f",
        ],
        strict=True,
    )
)
_OTHER_LETTERS = {
    "ß": "ss",
    "æ": "ae",
    "œ": "oe",
    "ø": "o",
    "ð": "d",
    "þ": "th",
    "ł": "l",
    "đ": "d",
    "\u0131": "i",
}
_NOT_WORD = re.compile(r"[^A-Za-z0-9]+")


# --- names ----------------------------------------------------------------------------


def _ascii(text: str) -> str:
    out = []
    for char in unicodedata.normalize("NFKC", text):
        lower = char.lower()
        mapped = _CYRILLIC.get(lower, _OTHER_LETTERS.get(lower))
        if mapped is None:
            stripped = "".join(
                c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
            )
            mapped = stripped if stripped.isascii() else "-"
        elif char != lower:
            mapped = mapped.capitalize()
        out.append(mapped)
    return "".join(out)


def _digest(text: str, size: int = 8) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:size].upper()


def component(text: str) -> str:
    """One valid account-name component from any text, deterministic.

    ``"arkady-belov"`` -> ``"Arkady-Belov"``, ``"Иванов"`` -> ``"Ivanov"``,
    ``"205"`` -> ``"205"``; text with nothing transliterable becomes ``"U"``
    and a hash; a long one is cut and gets a hash of the whole.
    """
    words = [w for w in _NOT_WORD.split(_ascii(text)) if w]
    name = "-".join(w[0].upper() + w[1:] for w in words)
    if not name:
        return "U" + _digest(text)
    if len(name) > MAX_COMPONENT:
        name = name[: MAX_COMPONENT - 9].rstrip("-") + "-" + _digest(text)
    return name


@dataclass(frozen=True, slots=True)
class LedgerRef:
    """What names a ledger account: its id, kind, code and (for money) the account's kind."""

    id: int
    kind: str
    code: str
    provider: str | None = None


#: Funds that are neither a prisoner's nor a campaign's.
_SINGLETONS = {
    "fund:general": ["Equity", "Funds", "General"],
    "fund:review": ["Equity", "Funds", "Review-Suspense"],
}


def _parts(ref: LedgerRef) -> list[str]:
    prefix, _, rest = ref.code.partition(":")
    provider = component(ref.provider or "other")
    if ref.kind in (LedgerKind.ASSET.value, LedgerKind.TRANSIT.value):
        own = component(rest if prefix == ref.kind else ref.code)
        transit = ["In-Transit"] if ref.kind == LedgerKind.TRANSIT.value else []
        return ["Assets", *transit, provider, own]
    sub, _, key = rest.partition(":")
    if prefix == "fund" and sub in ("prisoner", "campaign") and key:
        return ["Liabilities", "Funds", component(f"{sub}-{key}")]
    return list(_SINGLETONS.get(ref.code) or ["Liabilities", "Funds", component(ref.code)])


def account_names(refs: Iterable[LedgerRef]) -> dict[int, str]:
    """A stable, unique, valid account name per ledger account.

    ``refs`` must be every ledger account: a name already taken (compared
    without case) gets ``-<id>`` appended, in id order, so the same ledger
    account always gets the same name.
    """
    names: dict[int, str] = {}
    taken: set[str] = set()
    for ref in sorted(refs, key=lambda r: r.id):
        parts = _parts(ref)
        name = ":".join(parts)
        while name.casefold() in taken:
            parts[-1] = f"{parts[-1]}-{ref.id}"
            name = ":".join(parts)
        taken.add(name.casefold())
        names[ref.id] = name
    return names


def ledger_refs(session: Session) -> list[LedgerRef]:
    """Every ledger account with the kind of the account it belongs to (if any)."""
    rows = session.execute(
        sa.select(LedgerAccount.id, LedgerAccount.kind, LedgerAccount.code, Account.kind)
        .outerjoin(
            Account,
            sa.or_(
                Account.asset_ledger_id == LedgerAccount.id,
                Account.transit_ledger_id == LedgerAccount.id,
            ),
        )
        .order_by(LedgerAccount.id)
    ).all()
    return [LedgerRef(la, kind, code, provider) for la, kind, code, provider in rows]


# --- amounts and text -----------------------------------------------------------------


def amount_text(amount: Decimal, currency: str) -> str:
    """An exact amount: at least the currency's minor unit, at most the stored 4 places.

    Trailing zeros beyond the minor unit are dropped (``20.5000`` EUR is
    ``20.50``, ``1.2345`` stays ``1.2345``, ``100`` JPY is ``100``); nothing
    is ever rounded, and a value that would need rounding raises.
    """
    if not isinstance(amount, Decimal):
        raise MoneyError(f"amount must be Decimal, not {type(amount).__name__}")
    places = money.exponent(currency)
    exp = amount.normalize().as_tuple().exponent
    if isinstance(exp, int) and -exp > places:
        places = -exp
    if places > money.DB_SCALE:
        raise MoneyError(f"{amount} has more than {money.DB_SCALE} decimal places")
    text = format(amount.quantize(Decimal(1).scaleb(-places)), "f")
    if Decimal(text) != amount:  # pragma: no cover - guarded above
        raise MoneyError(f"{amount} cannot be written exactly")
    return text


def _one_line(text: str) -> str:
    return " ".join("".join(c if unicodedata.category(c)[0] != "C" else " " for c in text).split())


def narration(kind: str, category: str | None = None, public_description: str | None = None) -> str:
    """What a transaction is: its kind, and for a disbursement its category and public text."""
    label = kind.replace("_", " ").capitalize()
    if category:
        label = f"{label} ({category})"
    text = _one_line(public_description or "")
    return f"{label}: {text}" if text else label


# --- reading the ledger ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Posted:
    """One posting as written: account name, currency, amount."""

    account: str
    currency: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Transaction:
    """One transaction to write."""

    day: date
    narration: str
    postings: list[Posted]
    meta: dict[str, int]


@dataclass(frozen=True, slots=True)
class Opening:
    """An account to declare: when first used and the currencies it holds."""

    name: str
    day: date
    currencies: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Plan:
    """What the file declares before its transactions."""

    names: dict[int, str]
    accounts: list[Opening]
    currencies: list[str]
    first_day: date | None
    opening: Transaction | None


def _bounds(start: date | None, end: date | None) -> tuple[datetime | None, datetime | None]:
    lo = datetime.combine(start, time(0), UTC) if start else None
    hi = datetime.combine(end + timedelta(days=1), time(0), UTC) if end else None
    return lo, hi


def _day(moment: datetime) -> date:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC).date()


def _within(query: Any, lo: datetime | None, hi: datetime | None) -> Any:
    if lo is not None:
        query = query.where(JournalEntry.occurred_at >= lo)
    if hi is not None:
        query = query.where(JournalEntry.occurred_at < hi)
    return query


def snapshot(session: Session) -> None:
    """Start one consistent read: REPEATABLE READ on PostgreSQL, a read transaction on SQLite."""
    session.rollback()  # nothing to undo: the export only reads
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    else:
        session.connection()


def plan(session: Session, start: date | None, end: date | None) -> Plan:
    """Names, first uses, currencies and the opening balances of the period (aggregates only)."""
    names = account_names(ledger_refs(session))
    lo, hi = _bounds(start, end)
    first: dict[int, date] = {}
    held: dict[int, set[str]] = {}
    opening: list[Posted] = []
    if lo is not None:
        before = session.execute(
            sa.select(Posting.ledger_account_id, Posting.currency, sa.func.sum(Posting.amount))
            .join(JournalEntry, JournalEntry.id == Posting.entry_id)
            .where(JournalEntry.occurred_at < lo)
            .group_by(Posting.ledger_account_id, Posting.currency)
        ).all()
        for la, currency, total in before:
            if total:
                first[la] = lo.date()
                held.setdefault(la, set()).add(currency)
                opening.append(Posted(names[la], currency, total))
    used = session.execute(
        _within(
            sa.select(
                Posting.ledger_account_id, Posting.currency, sa.func.min(JournalEntry.occurred_at)
            ).join(JournalEntry, JournalEntry.id == Posting.entry_id),
            lo,
            hi,
        ).group_by(Posting.ledger_account_id, Posting.currency)
    ).all()
    for la, currency, moment in used:
        day = _day(moment)
        first[la] = min(first.get(la, day), day)
        held.setdefault(la, set()).add(currency)
    accounts = sorted(
        (Opening(names[la], day, tuple(sorted(held[la]))) for la, day in first.items()),
        key=lambda o: (o.day, o.name),
    )
    currencies = sorted({c for cs in held.values() for c in cs})
    opening.sort(key=lambda p: (p.account, p.currency))
    opening_entry = (
        Transaction(lo.date(), "Opening balances", opening, {}) if opening and lo else None
    )
    return Plan(
        names, accounts, currencies, min((a.day for a in accounts), default=None), opening_entry
    )


def transactions(
    session: Session, names: Mapping[int, str], start: date | None, end: date | None
) -> Iterator[Transaction]:
    """The period's entries in (time, id) order, one at a time, read in batches."""
    lo, hi = _bounds(start, end)
    query = _within(
        sa.select(
            JournalEntry.id,
            JournalEntry.occurred_at,
            JournalEntry.kind,
            JournalEntry.donation_id,
            JournalEntry.disbursement_id,
            Disbursement.category,
            Disbursement.public_description,
            Posting.ledger_account_id,
            Posting.currency,
            Posting.amount,
        )
        .join(Posting, Posting.entry_id == JournalEntry.id)
        .outerjoin(Disbursement, Disbursement.id == JournalEntry.disbursement_id),
        lo,
        hi,
    ).order_by(JournalEntry.occurred_at, JournalEntry.id, Posting.id)
    current: Transaction | None = None
    current_id = None
    for row in session.execute(query.execution_options(yield_per=BATCH)):
        entry_id, at, kind, donation_id, disbursement_id, category, public, la, currency, amount = (
            row
        )
        if entry_id != current_id:
            if current is not None:
                yield current
            meta = {"entry": entry_id}
            if donation_id is not None:
                meta["donation"] = donation_id
            if disbursement_id is not None:
                meta["disbursement"] = disbursement_id
            current = Transaction(_day(at), narration(kind, category, public), [], meta)
            current_id = entry_id
        assert current is not None
        current.postings.append(Posted(names[la], currency, amount))
    if current is not None:
        yield current


# --- writers --------------------------------------------------------------------------


def _width(accounts: Iterable[Opening]) -> int:
    return max((len(a.name) for a in accounts), default=20)


def _bean_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _posting_lines(postings: Iterable[Posted], indent: str, width: int) -> Iterator[str]:
    for p in postings:
        amount = amount_text(p.amount, p.currency)
        yield f"{indent}{p.account:<{width}}  {amount:>16} {p.currency}\n"


def _header(start: date | None, end: date | None) -> str:
    first = start.isoformat() if start else "the beginning"
    last = end.isoformat() if end else "the latest entry"
    return f"; Ledger from {first} to {last}.\n; Amounts in the ledger's signs: debit positive.\n"


def _checked(tx: Transaction, opened: Mapping[str, Opening]) -> Transaction:
    for p in tx.postings:
        account = opened.get(p.account)
        if account is None or account.day > tx.day or p.currency not in account.currencies:
            entry = tx.meta.get("entry")
            raise InvariantError(f"entry {entry}: {p.account} {p.currency} undeclared on {tx.day}")
    return tx


Day = date | None


def _all(head: Plan, session: Session, start: Day, end: Day) -> Iterator[Transaction]:
    opened = {a.name: a for a in head.accounts}
    if head.opening is not None:
        yield _checked(head.opening, opened)
    for tx in transactions(session, head.names, start, end):
        yield _checked(tx, opened)


def beancount(session: Session, start: Day = None, end: Day = None) -> Iterator[str]:
    """The ledger of the period as beancount text (``bean-check`` accepts it)."""
    snapshot(session)
    head = plan(session, start, end)
    width = _width(head.accounts)
    yield _header(start, end) + 'option "title" "Ledger"\n\n'
    if head.first_day is not None:
        for currency in head.currencies:
            yield f"{head.first_day.isoformat()} commodity {currency}\n"
        yield "\n"
    for a in head.accounts:
        yield f"{a.day.isoformat()} open {a.name} {','.join(a.currencies)}\n"
    for tx in _all(head, session, start, end):
        lines = [f"\n{tx.day.isoformat()} * {_bean_string(tx.narration)}\n"]
        lines += [f"  {key}: {_bean_string(str(value))}\n" for key, value in tx.meta.items()]
        lines += _posting_lines(tx.postings, "  ", width)
        yield "".join(lines)


def hledger(session: Session, start: Day = None, end: Day = None) -> Iterator[str]:
    """The ledger of the period as an hledger journal (``hledger check --strict`` accepts it)."""
    snapshot(session)
    head = plan(session, start, end)
    width = _width(head.accounts)
    yield _header(start, end) + "decimal-mark .\n\n"
    yield "".join(f"commodity {currency}\n" for currency in head.currencies) + "\n"
    for a in head.accounts:
        day, currencies = a.day.isoformat(), " ".join(a.currencies)
        yield f"account {a.name}  ; opened:{day}, currencies:{currencies}\n"
    for tx in _all(head, session, start, end):
        # ";" would start a comment in an hledger description
        text = tx.narration.replace(";", ",")
        tags = ", ".join(f"{key}:{value}" for key, value in tx.meta.items())
        lines = [f"\n{tx.day.isoformat()} * {text}" + (f"  ; {tags}" if tags else "") + "\n"]
        lines += _posting_lines(tx.postings, "    ", width)
        yield "".join(lines)


Writer = Callable[[Session, Day, Day], Iterator[str]]

#: Format id -> (writer, file suffix, MIME type).
FORMATS: dict[str, tuple[Writer, str, str]] = {
    "beancount": (beancount, "beancount", "text/plain"),
    "hledger": (hledger, "journal", "text/plain"),
}


def export(session: Session, fmt: str, start: Day = None, end: Day = None) -> Iterator[str]:
    """The ledger text in ``fmt`` (``beancount`` or ``hledger``), streamed; rolls back when done."""
    writer = FORMATS[fmt][0]
    try:
        yield from writer(session, start, end)
    finally:
        session.rollback()
