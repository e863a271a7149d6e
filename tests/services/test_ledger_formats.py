"""The ledger as a beancount file and an hledger journal: both tools accept it and agree with the app.

Every file written here is checked by the real tools (``bean-check``, and
``hledger check --strict ordereddates``), then its balances per account and
currency, read back by each tool, are compared exactly with the app's own
balance table (or, for a period, with the sum of postings up to its end).
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from tests.admin.test_access import add_user, csrf, enrol, set_password, sign_in
from tests.conftest import missing
from tracker.services import ledger_formats as lf
from tracker.services.ledger_formats import VALID_NAME, LedgerRef, account_names, amount_text

DONOR = "donor-key-6f1c"
PRIVATE = "private note: invoice 17 from Ivan Petrov"
LINE_TEXT = "pending eCheck from Olga Smirnova"
REASON = "moved because Boris asked by phone"


# --- the tools ----------------------------------------------------------------------


def tool(name: str) -> str:
    """The path of a command-line tool, from the venv or PATH; skip (fail in CI) when absent."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        hint = "pip install beancount (a dev dependency)" if name.startswith("bean") else "apt-get install hledger (make hledger)"
        missing(f"{name} is not installed: {hint}")
    assert found is not None
    return found


def run(*args: str) -> str:
    result = subprocess.run(args, capture_output=True, text=True, check=False, timeout=240)
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def bean_check(path: Path) -> None:
    out = run(tool("bean-check"), str(path))
    assert out.strip() == "", out


def beancount_balances(path: Path) -> dict[tuple[str, str], Decimal]:
    """Per (account, currency), the sum of the units beancount loaded (no errors allowed)."""
    from beancount import loader
    from beancount.core import data

    entries, errors, _options = loader.load_file(str(path))
    assert not errors, errors
    sums: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for entry in entries:
        if isinstance(entry, data.Transaction):
            for posting in entry.postings:
                sums[(posting.account, posting.units.currency)] += posting.units.number
    return {k: v for k, v in sums.items() if v != 0}


def hledger_check(path: Path) -> None:
    run(tool("hledger"), "-f", str(path), "check", "--strict", "ordereddates")


def hledger_balances(path: Path) -> dict[tuple[str, str], Decimal]:
    """``hledger bal -O csv`` per (account, commodity); the totals must be zero per commodity."""
    out = run(tool("hledger"), "-f", str(path), "bal", "-O", "csv", "--layout=bare")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["account", "commodity", "balance"]
    balances: dict[tuple[str, str], Decimal] = {}
    per_commodity: dict[str, Decimal] = defaultdict(Decimal)
    for account, commodity, amount in rows[1:]:
        if account == "total":
            assert Decimal(amount) == 0, rows
            continue
        balances[(account, commodity)] = Decimal(amount)
        per_commodity[commodity] += Decimal(amount)
    assert per_commodity and all(v == 0 for v in per_commodity.values()), per_commodity
    return {k: v for k, v in balances.items() if v != 0}


def write(session: Any, fmt: str, path: Path, start: date | None = None, end: date | None = None) -> str:
    text = "".join(lf.export(session, fmt, start, end))
    path.write_text(text, encoding="utf-8")
    return text


def app_balances(session: Any) -> dict[tuple[str, str], Decimal]:
    """The app's balance table, keyed by the exported account names."""
    from tracker.models import Balance

    names = account_names(lf.ledger_refs(session))
    rows = session.execute(sa.select(Balance.ledger_account_id, Balance.currency, Balance.amount)).all()
    session.rollback()
    return {(names[la], cur): amount for la, cur, amount in rows if amount != 0}


def posting_sums(session: Any, before: datetime) -> dict[tuple[str, str], Decimal]:
    """Per exported account and currency, the sum of postings of entries before a moment."""
    from tracker.models import JournalEntry, Posting

    names = account_names(lf.ledger_refs(session))
    rows = session.execute(
        sa.select(Posting.ledger_account_id, Posting.currency, sa.func.sum(Posting.amount))
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(JournalEntry.occurred_at < before)
        .group_by(Posting.ledger_account_id, Posting.currency)
    ).all()
    session.rollback()
    return {(names[la], cur): total for la, cur, total in rows if total != 0}


# --- a ledger with every kind of event ------------------------------------------------


def at(day: int, month: int = 3) -> datetime:
    return datetime(2025, month, day, 12, 0, tzinfo=UTC)


def seed(books: Any) -> dict[str, Any]:
    """Donations in two currencies with fees, a refund, a conversion, a disbursement, transfers
    between funds and between accounts, an opening balance and an unclassified line."""
    from tracker.models import EntryKind
    from tracker.services import booking, unit_of_work
    from tracker.services.disbursements import create_disbursement
    from tracker.services.ledger import general_fund

    paypal = books.account("PayPal", "paypal")
    cash = books.account("Касса", "cash")
    campaign = books.campaign("205", {"anna": 1, "boris": 2})
    pool = books.campaign("пенза")  # a campaign without prisoners: its own pool fund
    with unit_of_work() as s:
        booking.book_to_review(
            s, kind=EntryKind.OPENING_BALANCE, asset_ledger_id=cash.asset_ledger_id, currency="EUR",
            amount=Decimal("85.00"), occurred_at=at(10, 1), description="cash counted when the books started",
        )
    eur = books.donation("20.50", fee="0.93", campaign=campaign, donor=DONOR, when=at(2, 2))
    usd = books.donation("30.00", fee="1.20", currency="USD", campaign=campaign, donor="d2", when=at(3))
    books.donation("7", general=True, donor="d3", when=at(4), account=cash)
    books.donation("12.34", fee="0.50", campaign=pool, donor="d4", when=at(4))
    books.donation("5.00", donor="d5", when=at(5))  # waits for review
    books.refund(eur, "10.00", fee_returned="0.20", when=at(6))
    with unit_of_work() as s:
        booking.book_conversion(
            s, account=paypal, sold_currency="USD", sold=Decimal("20.00"), bought_currency="EUR",
            bought=Decimal("18.40"), occurred_at=at(7), donation=usd,
        )
        create_disbursement(
            s, fund=books.fund_of("anna"), account=paypal, currency="EUR", amount=Decimal("10.00"),
            category="lawyer", public_description='Lawyer "Smith"; appeal \\ hearing\nsecond line',
            paid_on=date(2025, 3, 8), private_note=PRIVATE,
        )
        booking.book_fund_transfer(
            s, from_fund=general_fund(s), to_fund=books.fund_of("boris"), currency="EUR",
            amount=Decimal("3.00"), occurred_at=at(9), reason=REASON,
        )
        booking.book_account_transfer(
            s, from_ledger_id=paypal.asset_ledger_id, to_ledger_id=paypal.transit_ledger_id,
            currency="EUR", amount=Decimal("15.00"), occurred_at=at(10), description="payout to bank",
        )
        booking.book_to_review(
            s, kind=EntryKind.UNCLASSIFIED, asset_ledger_id=paypal.asset_ledger_id, currency="EUR",
            amount=Decimal("4.00"), occurred_at=at(2, 4), description=LINE_TEXT,
        )
    assert books.check().ok
    return {"paypal": paypal, "cash": cash}


def test_whole_ledger_passes_both_tools_and_equals_the_balance_table(session: Any, books: Any, tmp_path: Path) -> None:
    seed(books)
    expected = app_balances(session)
    assert len({cur for _account, cur in expected}) == 2
    bean = tmp_path / "all.beancount"
    journal = tmp_path / "all.journal"
    bean_text = write(session, "beancount", bean)
    write(session, "hledger", journal)
    bean_check(bean)
    hledger_check(journal)
    assert hledger_balances(journal) == expected
    assert beancount_balances(bean) == expected
    # the accounts, named from slugs and names, under the roots the module docstring gives
    for name in ("Assets:Paypal:PayPal", "Assets:Cash:Kassa", "Assets:In-Transit:Paypal:PayPal",
                 "Liabilities:Funds:Prisoner-Anna", "Liabilities:Funds:Prisoner-Boris",
                 "Liabilities:Funds:Campaign-Penza", "Equity:Funds:General", "Equity:Funds:Review-Suspense"):
        assert re.search(rf"^\d{{4}}-\d\d-\d\d open {re.escape(name)} ", bean_text, re.M), name
    assert "2025-01-10 open Assets:Cash:Kassa EUR\n" in bean_text  # opened on first use
    # the conversion: one transaction, each currency balanced through the donation's funds
    conversion = next(b for b in bean_text.split("\n\n") if '"Conversion"' in b)
    legs = re.findall(r" (USD|EUR)$", conversion, re.M)
    assert legs.count("USD") >= 3 and legs.count("EUR") >= 3
    assert "Assets:Paypal:PayPal" in conversion and "-20.00 USD" in conversion and "18.40 EUR" in conversion


def test_a_period_opens_with_the_balances_before_it_and_closes_at_its_end(session: Any, books: Any, tmp_path: Path) -> None:
    seed(books)
    start, end = date(2025, 3, 1), date(2025, 3, 7)
    bean = tmp_path / "march.beancount"
    journal = tmp_path / "march.journal"
    bean_text = write(session, "beancount", bean, start, end)
    journal_text = write(session, "hledger", journal, start, end)
    bean_check(bean)
    hledger_check(journal)
    closing = posting_sums(session, datetime(2025, 3, 8, tzinfo=UTC))
    assert hledger_balances(journal) == closing
    assert beancount_balances(bean) == closing
    opening = bean_text.split('2025-03-01 * "Opening balances"\n', 1)[1].split("\n\n", 1)[0]
    assert "Assets:Cash:Kassa" in opening and "85.00 EUR" in opening  # from January
    assert "Assets:Paypal:PayPal" in opening and "19.57 EUR" in opening  # February's donation, net
    days = re.findall(r"^(\d{4}-\d\d-\d\d) \*", journal_text, re.M)
    assert days[0] == "2025-03-01" and days == sorted(days) and days[-1] <= "2025-03-07"
    assert "Disbursement" not in journal_text  # 8 March: after the period
    # an empty period before anything happened still makes valid (if empty) files
    write(session, "beancount", bean, date(2020, 1, 1), date(2020, 1, 31))
    write(session, "hledger", journal, date(2020, 1, 1), date(2020, 1, 31))
    bean_check(bean)
    hledger_check(journal)


def test_nothing_private_leaves_and_each_entry_carries_its_id(session: Any, books: Any, tmp_path: Path) -> None:
    from tracker.models import Donation, JournalEntry

    seed(books)
    texts = {fmt: "".join(lf.export(session, fmt)) for fmt in lf.FORMATS}
    keys = session.scalars(sa.select(Donation.donor_key)).all()
    entries = session.scalars(sa.select(JournalEntry.id)).all()
    session.rollback()
    for fmt, text in texts.items():
        for secret in (DONOR, PRIVATE, LINE_TEXT, REASON, "payout to bank", "cash counted", *keys):
            assert secret not in text, (fmt, secret)
        assert "Lawyer" in text  # the public description is what the books CSV shows
    assert 'Disbursement (lawyer): Lawyer \\"Smith\\"; appeal \\\\ hearing second line"' in texts["beancount"]
    assert "* Disbursement (lawyer): Lawyer \"Smith\", appeal \\ hearing second line  ; entry:" in texts["hledger"]
    assert sorted(int(n) for n in re.findall(r'^  entry: "(\d+)"$', texts["beancount"], re.M)) == sorted(entries)
    assert sorted(int(n) for n in re.findall(r"; entry:(\d+)", texts["hledger"])) == sorted(entries)


def test_demo_ledger_through_the_command_line(app: Any, tmp_path: Path) -> None:
    from tracker.extensions import db

    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo"]).exit_code == 0
    expected = app_balances(db.session)
    for fmt, suffix in (("beancount", "beancount"), ("hledger", "journal")):
        out = tmp_path / f"demo.{suffix}"
        result = runner.invoke(args=["export", "--format", fmt, "--out", str(out)])
        assert result.exit_code == 0, result.output
        if fmt == "beancount":
            bean_check(out)
            assert beancount_balances(out) == expected
        else:
            hledger_check(out)
            assert hledger_balances(out) == expected
        period = tmp_path / f"period.{suffix}"
        result = runner.invoke(args=["export", "--format", fmt, "--from", "2025-07-01", "--to", "2026-03-31", "--out", str(period)])
        assert result.exit_code == 0, result.output
        closing = posting_sums(db.session, datetime(2026, 4, 1, tzinfo=UTC))
        if fmt == "beancount":
            bean_check(period)
            assert beancount_balances(period) == closing
        else:
            hledger_check(period)
            assert hledger_balances(period) == closing
    assert not list(tmp_path.glob(".*partial"))
    usage = [
        ["export", "--format", "csv", "--out", str(tmp_path / "x.zip")],  # CSV needs its period
        ["export", "--format", "hledger", "--with-notes", "--out", str(tmp_path / "x.journal")],
        ["export", "--format", "beancount", "--from", "2025-02-01", "--to", "2025-01-01", "--out", str(tmp_path / "x.beancount")],
    ]
    for args in usage:
        assert runner.invoke(args=args).exit_code == 2, args


def test_export_page_streams_the_ledger_named_for_its_period_and_audits_it(db_url: str, tmp_path: Path) -> None:
    from tests.conftest import make_app
    from tests.factories import Books
    from tracker.extensions import db
    from tracker.models import AuditEvent

    admin_app = make_app(db_url, tmp_path)  # no pushed context: each request its own, as in production
    with admin_app.app_context():
        seed(Books(db.session))
        db.session.remove()
    client = admin_app.test_client()
    set_password(client, add_user(admin_app, "tess@example.org", "treasurer"))
    sign_in(client, "tess@example.org")
    enrol(client)
    page = client.get("/admin/export")
    assert b"Ledger for beancount" in page.data and b"Ledger for hledger" in page.data
    for fmt, suffix in (("beancount", "beancount"), ("hledger", "journal")):
        response = client.post("/admin/export", data={"csrf_token": csrf(page.data), "start": "2025-03-01",
                                                      "end": "2025-03-31", "fmt": fmt, "with_notes": "no"})
        assert response.status_code == 200
        assert response.headers["Content-Disposition"] == f'attachment; filename="tracker-2025-03-01-2025-03-31.{suffix}"'
        assert response.mimetype == "text/plain" and response.headers["Cache-Control"] == "no-store"
        path = tmp_path / f"page.{suffix}"
        path.write_bytes(response.data)
        if fmt == "beancount":
            bean_check(path)
        else:
            hledger_check(path)
    refused = client.post("/admin/export", data={"csrf_token": csrf(page.data), "start": "2025-03-01",
                                                 "end": "2025-03-31", "fmt": "hledger", "with_notes": "yes"})
    assert refused.status_code == 200 and b"never written to ledger files" in refused.data
    with admin_app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "books.export").order_by(AuditEvent.id)).all()
        assert [e.after["format"] for e in events] == ["beancount", "hledger"]
        assert all(e.actor.startswith("user:") for e in events)
        db.session.remove()
        db.engine.dispose()


# --- names and amounts (no database) ------------------------------------------------


FUNNY = [
    LedgerRef(1, "asset", "asset:PayPal main", "paypal"),
    LedgerRef(2, "transit", "transit:PayPal main", "paypal"),
    LedgerRef(3, "asset", "asset:Касса №1", "cash"),
    LedgerRef(4, "asset", "asset:КАССА  №1", "cash"),  # the same after normalisation, but for case
    LedgerRef(5, "fund", "fund:prisoner:ivanov"),
    LedgerRef(6, "fund", "fund:prisoner:Иванов"),  # transliterates onto the one above
    LedgerRef(7, "fund", "fund:prisoner:2nd-defendant"),
    LedgerRef(8, "fund", "fund:prisoner:--a--b--"),
    LedgerRef(9, "fund", "fund:prisoner:" + "very-long-slug-" * 12),
    LedgerRef(10, "fund", "fund:prisoner:" + "very-long-slug-" * 12 + "x"),
    LedgerRef(11, "fund", "fund:campaign:205"),
    LedgerRef(12, "fund", "fund:campaign:#205"),
    LedgerRef(13, "fund", "fund:campaign:日本"),
    LedgerRef(14, "fund", "fund:campaign:Ünïcødé straße"),
    LedgerRef(15, "fund", "fund:general"),
    LedgerRef(16, "fund", "fund:review"),
    LedgerRef(17, "fund", "fund:campaign:"),
    LedgerRef(18, "asset", "asset:🙂", "bank"),
    LedgerRef(19, "fund", "fund:prisoner:ivanov-5"),  # looks like a collision suffix
    LedgerRef(20, "fund", "something:else"),
]


def test_funny_slugs_give_valid_unique_stable_names() -> None:
    names = account_names(FUNNY)
    assert all(VALID_NAME.match(n) for n in names.values()), names
    assert len({n.casefold() for n in names.values()}) == len(FUNNY)
    assert names[5] == "Liabilities:Funds:Prisoner-Ivanov" and names[6] == "Liabilities:Funds:Prisoner-Ivanov-6"
    assert names[3] == "Assets:Cash:Kassa-No1" and names[4] == "Assets:Cash:KASSA-No1-4"
    assert names[7] == "Liabilities:Funds:Prisoner-2nd-Defendant"
    assert names[11] == "Liabilities:Funds:Campaign-205" and names[12] == "Liabilities:Funds:Campaign-205-12"
    assert names[14] == "Liabilities:Funds:Campaign-Unicode-Strasse"
    assert names[2] == "Assets:In-Transit:Paypal:PayPal-Main"
    assert max(len(n.rsplit(":", 1)[1]) for n in names.values()) <= lf.MAX_COMPONENT
    assert names[9] != names[10]
    assert account_names(reversed(FUNNY)) == names  # order of reading does not matter


def test_funny_names_pass_both_tools(tmp_path: Path) -> None:
    names = sorted(account_names(FUNNY).values())
    bean = tmp_path / "names.beancount"
    journal = tmp_path / "names.journal"
    legs = "".join(f"  {n}  {'1.00' if i else str(1 - len(names)) + '.00'} EUR\n" for i, n in enumerate(names))
    bean.write_text("2025-01-01 commodity EUR\n" + "".join(f"2025-01-01 open {n} EUR\n" for n in names)
                    + '\n2025-01-02 * "All"\n' + legs, encoding="utf-8")
    journal.write_text("commodity EUR\n" + "".join(f"account {n}\n" for n in names)
                       + "\n2025-01-02 * All\n" + legs, encoding="utf-8")
    bean_check(bean)
    hledger_check(journal)
    assert set(account for account, _ in hledger_balances(journal)) == set(names)


slug_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=120)


@given(st.lists(st.tuples(st.sampled_from(["asset", "transit", "fund"]), slug_text, st.sampled_from(["paypal", "bank", "cash", "stripe"])), min_size=1, max_size=30))
def test_any_slugs_give_valid_unique_names_that_never_change(items: list[tuple[str, str, str]]) -> None:
    prefixes = {"asset": "asset:", "transit": "transit:", "fund": "fund:prisoner:"}
    refs = [LedgerRef(i + 1, kind, prefixes[kind] + text, provider) for i, (kind, text, provider) in enumerate(items)]
    names = account_names(refs)
    assert all(VALID_NAME.match(n) for n in names.values()), names
    assert len({n.casefold() for n in names.values()}) == len(refs)
    # adding ledger accounts later never renames the earlier ones
    assert {k: v for k, v in account_names(refs + [LedgerRef(len(refs) + 1, "fund", refs[0].code)]).items() if k in names} == names


def test_amounts_are_exact_with_trailing_zeros_trimmed_to_the_minor_unit() -> None:
    from tracker.errors import MoneyError

    assert amount_text(Decimal("20.5000"), "EUR") == "20.50"
    assert amount_text(Decimal("-0.9300"), "EUR") == "-0.93"
    assert amount_text(Decimal("1.2345"), "EUR") == "1.2345"
    assert amount_text(Decimal("100.0000"), "JPY") == "100"
    assert amount_text(Decimal("1.2350"), "KWD") == "1.235"
    assert amount_text(Decimal("12345678901234.0000"), "EUR") == "12345678901234.00"
    with pytest.raises(MoneyError):
        amount_text(Decimal("1.23456"), "EUR")
    with pytest.raises(MoneyError):
        amount_text(1, "EUR")  # type: ignore[arg-type]


def test_narration_is_one_line_of_kind_category_and_public_text() -> None:
    assert lf.narration("fund_transfer") == "Fund transfer"
    assert lf.narration("disbursement", "parcels", " Food\r\nparcel\t ") == "Disbursement (parcels): Food parcel"
    assert lf.narration("disbursement", "other", "") == "Disbursement (other)"


def test_dates_are_utc_days() -> None:
    late = datetime(2025, 3, 1, 23, 30, tzinfo=UTC) + timedelta(hours=1)
    assert lf._day(late) == date(2025, 3, 2)
