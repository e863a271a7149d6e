"""Searching donations and statement lines, and the retention purge (issue 7, rule 10)."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.importers.paypal_factory import Tx, build
from tests.services.test_importing import check_ok

WHEN = datetime(2025, 3, 14, 10, tzinfo=UTC)
TYPED_TXN = "7XK93512ABQ"
LATER = datetime.now(UTC) + timedelta(days=400)


def gift(n: int, note: str, gross: str = "20.00", *, minutes: int | None = None, currency: str = "EUR", **kw: Any) -> Tx:
    when = WHEN + timedelta(minutes=n if minutes is None else minutes)
    return Tx(when, "donation", currency, Decimal(gross), Decimal("0.93"), txn_id=kw.pop("txn_id", f"G{n}"), from_email=f"d{n}@example.org", note=note, **kw)


def imported(tmp_path: Path, txs: list[Tx], name: str = "x.csv", account: str = "PayPal") -> Any:
    from tracker.services.importing import import_file

    path = tmp_path / name
    path.write_bytes(build("en_activity_2018", txs)[0])
    result = import_file(path, account_name=account)
    assert result.status == "committed", [str(e) for e in result.errors]
    return result


@pytest.fixture
def records(books: Any, session: Any, tmp_path: Path) -> Any:
    """Eleven gifts (four at the same minute), a refund, Latin and Cyrillic notes, two accounts."""
    books.campaign("205", {"anna": 1, "boris": 1}, title="Penza")
    books.campaign("212", {"clara": 1}, title="Orlov")
    from tracker.services.campaigns import add_rule

    add_rule("205", "alias", "penza")
    txs = [
        gift(1, "for 205 solidarity", txn_id=TYPED_TXN),
        gift(2, "Пенза, держитесь", "35.00"),
        gift(3, "212 Orlov parcels"),
        gift(4, "thanks", "5.00", minutes=30),
        gift(5, "сеть 205", "7.50", minutes=30),
        gift(6, "205 and 212", minutes=30),
        gift(7, "general gift", "12.00", minutes=30),
        gift(8, "dollars for 212", "15.00", currency="USD"),
        Tx(WHEN + timedelta(days=2), "refund", "EUR", Decimal("-20.00"), Decimal("-0.50"), txn_id="R1", ref_id=TYPED_TXN, from_email="d1@example.org"),
    ]
    imported(tmp_path, txs)
    later = [gift(20 + i, f"February {i} Solidarität", "10.00", minutes=60 * 24 * 40 + i) for i in range(3)]
    imported(tmp_path, later, name="y.csv", account="PayPal 2")
    session.rollback()
    return books


def run(scope: str, session: Any, size: int = 200, **filters: Any) -> list[dict[str, Any]]:
    from tracker.services.search import RecordFilter, search_donations, search_lines

    search = search_donations if scope == "donations" else search_lines
    page = search(session, RecordFilter(**filters), size=size)
    session.rollback()
    assert page.next is None
    return page.rows


def notes_of(rows: list[dict[str, Any]]) -> set[str]:
    return {r["note"] for r in rows}


# --- filters -----------------------------------------------------------------------------


def test_every_filter_narrows_donations_and_lines(records: Any, session: Any) -> None:
    from tracker.models import Account, Donation

    every = run("donations", session)
    assert len(every) == 11
    assert len(run("lines", session)) == 12
    assert notes_of(run("donations", session, amount=Decimal("35.00"))) == {"Пенза, держитесь"}
    assert {r["gross"] for r in run("donations", session, amount_min=Decimal("10"), amount_max=Decimal("15"))} == {"10.00", "12.00", "15.00"}
    # a line's amount matches either sign: the refund of 20.00 is found with the gifts of 20.00
    lines = run("lines", session, amount=Decimal("20.00"))
    assert sorted(r["kind"] for r in lines) == ["payment", "payment", "payment", "refund"]
    assert notes_of(run("donations", session, campaign="212")) == {"212 Orlov parcels", "dollars for 212"}
    assert notes_of(run("donations", session, prisoner="clara")) == {"212 Orlov parcels", "dollars for 212"}
    assert "for 205 solidarity" in notes_of(run("donations", session, prisoner="anna"))
    assert notes_of(run("lines", session, campaign="212")) == {"212 Orlov parcels", "dollars for 212"}
    second = session.scalar(sa.select(Account.id).where(Account.name == "PayPal 2"))
    session.rollback()
    assert len(run("donations", session, account_id=second)) == 3
    assert len(run("lines", session, account_id=second)) == 3
    assert notes_of(run("donations", session, currency="USD")) == {"dollars for 212"}
    days = run("donations", session, date_from=date(2025, 4, 1), date_to=date(2025, 5, 1))
    assert len(days) == 3 and all(r["at"].month == 4 for r in days)
    assert len(run("donations", session, date_from=date(2025, 3, 14), date_to=date(2025, 3, 14))) == 8
    review = run("donations", session, status="review")
    assert notes_of(review) == {"205 and 212"}
    assert {r["status"] for r in run("donations", session, status="general")} == {"general"}
    assert len(run("donations", session, kind="import")) == 11
    assert run("donations", session, kind="manual") == []
    assert [r["kind"] for r in run("lines", session, kind="refund")] == ["refund"]
    assert len(run("lines", session, status="completed")) == 12
    assert run("lines", session, status="pending") == []
    # filters combine
    assert notes_of(run("donations", session, campaign="205", amount_max=Decimal("10"))) == {"сеть 205"}
    voided = session.scalar(sa.select(sa.func.count()).select_from(Donation).where(Donation.voided_at.is_not(None)))
    session.rollback()
    assert len(run("donations", session, status="voided")) == voided == 0


def test_note_words_go_through_the_full_text_index_in_both_scripts(records: Any, session: Any) -> None:
    assert notes_of(run("donations", session, text="пенза")) == {"Пенза, держитесь"}
    assert notes_of(run("donations", session, text="ПЕНЗ")) == {"Пенза, держитесь"}  # a prefix, any case
    assert notes_of(run("lines", session, text="Сеть")) == {"сеть 205"}
    assert notes_of(run("donations", session, text="SOLIDARITY")) == {"for 205 solidarity"}
    assert len(run("donations", session, text="solidarität")) == 3
    assert notes_of(run("donations", session, text="205 solidarity")) == {"for 205 solidarity"}  # every word
    assert run("donations", session, text="solidarity Пенза") == []
    # query syntax of either engine is just words here
    assert run("lines", session, text='") OR NOT (* & | :') == []
    assert notes_of(run("lines", session, text="AND 212")) == {"205 and 212"}  # a word, not an operator
    assert len(run("lines", session, text="212")) == 3


def test_transaction_id_is_matched_by_its_keyed_hash_only(records: Any, session: Any, caplog: pytest.LogCaptureFixture) -> None:
    from tracker.extensions import db

    caplog.set_level(logging.DEBUG)
    assert notes_of(run("donations", session, txn_id=TYPED_TXN)) == {"for 205 solidarity"}
    assert notes_of(run("donations", session, txn_id=f"  {TYPED_TXN.lower()} ")) == {"for 205 solidarity"}
    # the refund names the payment as its reference, so the lines search finds both
    assert sorted(r["kind"] for r in run("lines", session, txn_id=TYPED_TXN)) == ["payment", "refund"]
    assert run("donations", session, txn_id=TYPED_TXN[:-1]) == []
    for name, table in db.metadata.tables.items():
        for row in session.execute(sa.select(table)).all():
            assert TYPED_TXN.casefold() not in repr(tuple(row)).casefold(), name
    session.rollback()
    assert TYPED_TXN.casefold() not in caplog.text.casefold()


def test_a_few_matches_read_by_id_and_many_walked_by_time_give_the_same_rows(records: Any, session: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The search asks the text or transaction-id index first and picks its plan by the answer; both plans agree."""
    from tracker.services import search_plans, unit_of_work
    from tracker.services.donations import NewDonation, create_donation

    with unit_of_work() as s:
        create_donation(s, NewDonation(account=records.account("Cash box", "cash"), received_at=WHEN, currency="EUR", gross=Decimal("9"), note="cash at the Orlov gig"))
    asked = [
        ("donations", {"text": "205"}),
        ("donations", {"text": "orlov"}),  # a line's note and a donation's own note
        ("donations", {"text": "gig"}),  # only a donation's own note
        ("donations", {"text": "solidarität", "amount": Decimal("10.00")}),
        ("donations", {"txn_id": TYPED_TXN}),
        ("lines", {"text": "212"}),
        ("lines", {"text": "solidar"}),
        ("lines", {"txn_id": TYPED_TXN}),
        ("lines", {"text": "nowhere"}),
        ("donations", {"txn_id": "NOSUCHID"}),
    ]
    by_plan = {}
    for few in (1000, 2, 0):  # read by id; by id where few, walked where many; always walked
        monkeypatch.setattr(search_plans, "FEW", few)
        by_plan[few] = [[r["id"] for r in run(scope, session, **filters)] for scope, filters in asked]
    assert by_plan[1000] == by_plan[2] == by_plan[0]
    counts = [len(ids) for ids in by_plan[1000]]
    assert counts == [3, 2, 1, 3, 1, 3, 4, 2, 0, 0]


def _page_plan(session: Any, scope: str, **filters: Any) -> str:
    """The query plan of the page query a search runs (its last statement)."""
    from tracker.services.search import RecordFilter, search_donations, search_lines

    statements: list[tuple[str, Any]] = []
    engine = session.get_bind()
    catch = lambda *args: statements.append((args[2], args[3]))  # noqa: E731
    sa.event.listen(engine, "before_cursor_execute", catch)
    try:
        (search_donations if scope == "donations" else search_lines)(session, RecordFilter(**filters))
    finally:
        sa.event.remove(engine, "before_cursor_execute", catch)
    sql, params = statements[-1]
    cursor = session.connection().connection.cursor()
    if engine.dialect.name == "postgresql":
        cursor.execute("SET LOCAL enable_seqscan = off")  # the test's tables are too small to need an index
        cursor.execute("EXPLAIN " + sql, params)
    else:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
    plan = "\n".join(str(row[-1]) for row in cursor.fetchall())
    session.rollback()
    return plan


def test_few_matches_are_read_by_primary_key_and_many_walk_one_month_of_the_time_index(records: Any, session: Any, engine_name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from tracker.services import search_plans

    few = _page_plan(session, "lines", text="212")
    by_txn = _page_plan(session, "donations", txn_id=TYPED_TXN)
    assert "ix_donations_statement_line" in by_txn, by_txn
    march = "'2025-03-01 00:00:00+00'::timestamp with time zone"
    if engine_name == "postgresql":
        # the few ids as a list (by primary key, or checked down one month: the planner's choice
        # on tables this small), never the index's match set
        assert "= ANY ('{" in few and "SubPlan" not in few and "note_matches" not in few, few
    else:
        assert "SEARCH statement_lines USING INTEGER PRIMARY KEY" in few and "ix_statement_lines_occurred_at" not in few, few
    monkeypatch.setattr(search_plans, "FEW", 0)
    for scope, index, column in (("lines", "ix_statement_lines_occurred_at", "occurred_at"), ("donations", "ix_donations_received_at", "received_at")):
        many = _page_plan(session, scope, text="212 and")  # two words: PostgreSQL guesses few and would sort a bitmap
        if engine_name == "postgresql":
            # one month, each row checked against that month's match set, kept whole
            assert f"{column} >= {march}" in many and "Seq Scan" not in many, many
            assert "SubPlan" in many and "note_search" in many, many
        else:
            # one month of the time index, each row checked against that month's matches
            assert f"SEARCH {scope if scope == 'donations' else 'statement_lines'} USING INDEX {index} (" in many, many
            assert "TEMP B-TREE FOR ORDER BY" not in many, many


def _paged(session: Any, scope: str, f: Any, size: int) -> tuple[list[int], list[int]]:
    """Every row of a search, page by page forward, and page by page back from the last page."""
    from tracker.services.search import decode_cursor, search_donations, search_lines

    search = search_donations if scope == "donations" else search_lines
    pages = []
    cursor = None
    while True:
        page = search(session, f, cursor=cursor, size=size)
        pages.append(page)
        if page.next is None:
            break
        cursor = decode_cursor(page.next, scope)
    assert pages[0].prev is None
    times = [r["at"] for p in pages for r in p.rows]
    assert times == sorted(times, reverse=True)
    back = [pages[-1].rows]
    prev = pages[-1].prev
    while prev:
        page = search(session, f, cursor=decode_cursor(prev, scope), size=size)
        back.append(page.rows)
        prev = page.prev
    session.rollback()
    return [r["id"] for p in pages for r in p.rows], [r["id"] for rows in reversed(back) for r in rows]


def test_keyset_pages_cover_every_row_once_under_ties(records: Any, session: Any) -> None:
    from tracker.services.search import RecordFilter

    for scope in ("donations", "lines"):
        everything = [r["id"] for r in run(scope, session)]
        forward, backward = _paged(session, scope, RecordFilter(), 2)
        assert forward == everything and len(set(forward)) == len(forward)
        # walking back from the last page gives the same pages in reverse
        assert backward == everything


def test_note_words_are_found_month_by_month_across_gaps_and_years(books: Any, session: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The note index is kept by month: pages that cross months, empty months and a new year lose nothing."""
    from tracker.services import search_plans, unit_of_work
    from tracker.services.donations import NewDonation, create_donation
    from tracker.services.search import RecordFilter

    start = datetime(2024, 11, 30, 23, 59, tzinfo=UTC)  # the last minute of a month, in UTC
    at = [start + timedelta(days=d) for d in (0, 0, 1, 33, 95, 96, 220)]  # Nov, Nov, Dec (1st), Jan, Mar, Mar, Jul
    imported(tmp_path, [gift(i, f"parcel {i} for Orlov" if i % 3 else f"letters {i}", minutes=int((t - WHEN).total_seconds() // 60)) for i, t in enumerate(at)])
    with unit_of_work() as s:
        cash = books.account("Cash box", "cash")
        for day in (40, 150):  # February and May: months with no line at all
            create_donation(s, NewDonation(account=cash, received_at=start + timedelta(days=day), currency="EUR", gross=Decimal("9"), note="parcel money"))
    session.rollback()
    everything = {scope: run(scope, session) for scope in ("donations", "lines")}
    cases = [
        ("lines", {"text": "parcel"}),
        ("lines", {"text": "orlov parc"}),
        ("donations", {"text": "parcel"}),  # lines' notes and a donation's own
        ("donations", {"text": "parcel", "date_from": date(2024, 12, 1), "date_to": date(2025, 3, 5)}),
        ("lines", {"text": "letters"}),
        ("lines", {"text": "nowhere"}),
    ]
    for scope, filters in cases:
        f = RecordFilter(**filters)
        words = f.text.split()
        low, high = f.date_from or date.min, f.date_to or date.max
        expected = [
            r["id"] for r in everything[scope]
            if all(any(w.startswith(word) for w in (r["note"] or "").casefold().replace(",", " ").split()) for word in words)
            and low <= r["at"].date() <= high
        ] if scope == "lines" else None
        for few in (1000, 0):  # ids, or each month walked
            monkeypatch.setattr(search_plans, "FEW", few)
            found = [r["id"] for r in run(scope, session, **filters)]
            if expected is not None:
                assert found == expected, (filters, few)
            for size in (1, 2, 3):
                assert _paged(session, scope, f, size) == (found, found), (filters, few, size)
    counts = [len(run(scope, session, **filters)) for scope, filters in cases]
    assert counts == [4, 4, 6, 3, 3, 0]


def test_note_index_keeps_each_word_under_its_rows_month(records: Any, session: Any) -> None:
    """The index follows the row: a line whose time moves is found in its new month only;
    ``tracker check`` says when a gift's time and its line's differ (the search relies on it)."""
    from tracker.models import Donation, StatementLine
    from tracker.models.note_search import month_key, month_terms
    from tracker.services import unit_of_work
    from tracker.services.checks import check_ledger

    assert month_key(datetime(2024, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=-3)))) == "202501"
    assert month_terms("Пенза, 205 foo_bar", "2025-03-14 10:00:00.000000") == "202503Пенза 202503205 202503foo 202503bar"
    assert month_terms(None, "2025-03-14 10:00:00.000000") is None
    with pytest.raises(ValueError):
        month_terms("x", "14/03/2025")
    assert _fts_count(session, "пенза") == 1 and _fts_count(session, "пенза", "202505") == 0
    assert check_ledger(session).violations == []
    session.rollback()
    with unit_of_work() as s:
        line = s.scalar(sa.select(StatementLine).where(StatementLine.gross == Decimal("35")))
        line.occurred_at = datetime(2025, 5, 2, tzinfo=UTC)
    assert _fts_count(session, "пенза") == 0 and _fts_count(session, "пенза", "202505") == 1
    assert [v.rule for v in check_ledger(session).violations] == ["donation-time"]
    session.rollback()
    with unit_of_work() as s:
        gift = s.scalar(sa.select(Donation).where(Donation.gross == Decimal("35")))
        gift.received_at = datetime(2025, 5, 2, tzinfo=UTC)
    assert check_ledger(session).violations == []
    assert [r["gross"] for r in run("donations", session, text="пенза")] == ["35.00"]
    session.rollback()


def test_bad_filters_and_cursors_are_clear_errors(records: Any, session: Any, app: Any) -> None:
    from tracker.services.search import (
        Cursor,
        RecordFilter,
        SearchError,
        decode_cursor,
        encode_cursor,
        page_size,
        search_donations,
    )

    token = encode_cursor(Cursor("lines", "next", WHEN, 5))
    assert decode_cursor(token, "lines") == Cursor("lines", "next", WHEN, 5)
    for bad in (token[:-2] + "xx", token + "a", "", "x" * 400, "not.a.cursor"):
        with pytest.raises(SearchError, match="damaged"):
            decode_cursor(bad, "lines")
    with pytest.raises(SearchError):
        decode_cursor(token, "donations")  # a lines cursor does not page donations
    with pytest.raises(SearchError) as excinfo:
        page_size(10_000_000)
    assert excinfo.value.field == "size"
    for filters, field in (
        ({"campaign": "nope"}, "campaign"),
        ({"prisoner": "nobody"}, "prisoner"),
        ({"status": "lost"}, "status"),
        ({"kind": "gift"}, "kind"),
        ({"date_from": date(2025, 5, 1), "date_to": date(2025, 4, 1)}, "date_to"),
        ({"amount_min": Decimal(9), "amount_max": Decimal(1)}, "amount_max"),
        ({"text": " ".join(["w"] * 20)}, "text"),
        ({"txn_id": "x" * 500}, "txn_id"),
    ):
        with pytest.raises(SearchError) as excinfo:
            search_donations(session, RecordFilter(**filters))
        assert excinfo.value.field == field
        session.rollback()


def test_search_reads_one_page_not_the_table(records: Any, session: Any) -> None:
    from tracker.services.search import RecordFilter, search_lines

    statements: list[str] = []
    engine = session.get_bind()
    listen = sa.event.listen
    catch = lambda *args: statements.append(args[2])  # noqa: E731
    listen(engine, "before_cursor_execute", catch)
    try:
        search_lines(session, RecordFilter(), size=3)
    finally:
        sa.event.remove(engine, "before_cursor_execute", catch)
    session.rollback()
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 1 and "LIMIT" in selects[0].upper()


# --- retention purge -----------------------------------------------------------------------


def _fts_count(session: Any, word: str, month: str = "202503") -> int:
    """Lines the note index holds ``word`` for, in ``month`` (the fixture's first month)."""
    if session.get_bind().dialect.name == "postgresql":
        from tracker.models.note_search import LINE_TERMS

        terms = LINE_TERMS.format(table="statement_lines")
        count = session.scalar(sa.text(f"SELECT count(*) FROM statement_lines WHERE {terms} @@ to_tsquery('simple', :w)"), {"w": month + word})
    else:
        count = session.scalar(sa.text("SELECT count(*) FROM statement_line_notes WHERE statement_line_notes MATCH :w"), {"w": f'"{month}{word}"'})
    session.rollback()
    return int(count)


def test_purge_removes_reviewed_notes_everywhere_and_keeps_the_books(records: Any, session: Any) -> None:
    from tracker.models import AuditEvent, Donation, RawRow, StatementLine
    from tracker.services import audit, settings, unit_of_work
    from tracker.services.retention import purge
    from tracker.services.review import retag_preview
    from tracker.services.totals import totals

    waiting = session.scalar(sa.select(Donation).where(Donation.destination == "review"))
    assert waiting is not None
    waiting_line = waiting.statement_line_id
    penza = session.scalar(sa.select(Donation).join(StatementLine, StatementLine.id == Donation.statement_line_id).where(Donation.gross == Decimal("35")))
    penza_id, penza_line = penza.id, penza.statement_line_id
    session.rollback()
    with unit_of_work() as s:
        settings.set_value(s, "retention_days", "90")
        audit.record(s, "line.note", "statement_line", penza_line, after={"texts": [["note", "Пенза, держитесь"]], "status": "completed"})
        audit.record(s, "donation.note", "donation", penza_id, before={"note": audit.private("Пенза, держитесь")}, after={"destination": "campaign"})
    assert _fts_count(session, "пенза") == 1
    before_totals = totals(session)
    session.rollback()

    dry = purge(dry_run=True, now=LATER)
    assert dry.dry_run and dry.lines == 11 and dry.audit_events == 2
    assert _fts_count(session, "пенза") == 1  # nothing changed
    assert session.scalar(sa.select(sa.func.count()).select_from(RawRow).where(RawRow.purged_at.is_not(None))) == 0
    session.rollback()

    report = purge(now=LATER)
    assert (report.lines, report.audit_events, report.dry_run) == (11, 2, False)
    assert report.raw_rows >= 11
    # the line still in review keeps its note; the others lost theirs
    lines = {line.id: line for line in session.scalars(sa.select(StatementLine))}
    assert lines[waiting_line].texts
    assert all(line.texts is None and line.tag_metadata is None for lid, line in lines.items() if lid != waiting_line)
    for raw in session.scalars(sa.select(RawRow)):
        values = " ".join(str(v) for v in raw.readable.values())
        if raw.purged_at is not None:
            assert "Note" not in raw.readable and "Пенза" not in values and "solidarity" not in values
    session.rollback()
    assert _fts_count(session, "пенза") == 0 and _fts_count(session, "solidarity") == 0
    assert _fts_count(session, "212") == 1  # "205 and 212", still waiting for review
    assert run("donations", session, text="пенза") == []
    assert notes_of(run("donations", session, text="212")) == {"205 and 212"}
    assert notes_of(run("donations", session, amount=Decimal("35.00"))) == {""}  # still found by amount
    events = {e.action: e for e in session.scalars(sa.select(AuditEvent))}
    assert events["line.note"].after == {"texts": "[purged]", "status": "completed"}
    assert events["donation.note"].before == {"note": "[purged]"}
    summary = events["retention.purge"].after
    assert summary["lines"] == 11 and summary["audit_events"] == 2 and "texts" not in summary
    session.rollback()
    # the books are unchanged and consistent; re-tagging leaves purged lines alone
    check_ok(session)
    assert totals(session) == before_totals
    session.rollback()
    assert retag_preview(session) == []
    again = purge(now=LATER)
    assert (again.lines, again.raw_rows, again.audit_events) == (0, 0, 0)


def test_purge_keeps_notes_younger_than_the_retention_or_still_in_review(records: Any, session: Any) -> None:
    from tracker.models import StatementLine
    from tracker.services import settings, unit_of_work
    from tracker.services.retention import purge

    with unit_of_work() as s:
        settings.set_value(s, "retention_days", "30")
    # on 2025-04-20: March lines are over 30 days old, the April batch is not, and the imports are recent
    report = purge(now=datetime(2025, 4, 20, tzinfo=UTC))
    assert report.lines == 0  # both imports happened "today", inside the retention
    assert report.retention_days == 30
    assert session.scalar(sa.select(sa.func.count()).select_from(StatementLine).where(StatementLine.texts.is_(None))) == 1  # the refund has no note
    session.rollback()
    with pytest.raises(settings.SettingError), unit_of_work() as s:
        settings.set_value(s, "retention_days", "0")


def test_purge_clears_old_private_notes_of_manual_donations(books: Any, session: Any) -> None:
    from tracker.models import Destination, Donation
    from tracker.services import unit_of_work
    from tracker.services.donations import NewDonation, create_donation
    from tracker.services.retention import purge

    account = books.account("Cash box", "cash")
    with unit_of_work() as s:
        gift = create_donation(s, NewDonation(account=account, received_at=WHEN, currency="EUR", gross=Decimal("50"), destination=Destination.GENERAL, note="from Ivan Kuznetsov at the gig"))
        waiting = create_donation(s, NewDonation(account=account, received_at=WHEN, currency="EUR", gross=Decimal("5"), destination=Destination.REVIEW, note="Ivan again?"))
        gift_id, waiting_id = gift.id, waiting.id
    assert notes_of(run("donations", session, text="kuznetsov")) == {""}
    report = purge(now=LATER)
    assert report.donation_notes == 1
    assert session.get(Donation, gift_id).note is None
    assert session.get(Donation, waiting_id).note == "Ivan again?"
    session.rollback()
    assert run("donations", session, text="kuznetsov") == []
    assert len(run("donations", session, text="ivan")) == 1


def test_purge_command_and_setting_list(records: Any, app: Any) -> None:
    import json

    from tracker.cli import cli

    runner = app.test_cli_runner()
    listed = runner.invoke(cli, ["setting", "list"])
    assert listed.exit_code == 0 and json.loads(listed.output)["retention_days"] == 365
    dry = runner.invoke(cli, ["purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.stdout)["dry_run"] is True
    done = runner.invoke(cli, ["purge"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["lines"] == 0  # everything was imported today
