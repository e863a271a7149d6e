"""The import pipeline end to end, on SQLite and PostgreSQL (RELIABILITY.md L3-L5, L7, C6, P1-P5)."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.factories import canonical_dump
from tests.importers.paypal_factory import Tx, build, moves_balance, render, transactions
from tests.importers.paypal_variants import STATUSES, TYPES, VARIANTS
from tracker import money
from tracker.importers import ReadOptions
from tracker.models import Account, Donation, StatementLine
from tracker.services import ledger


@pytest.fixture
def importer(app: Any, tmp_path: Path) -> Any:
    from tracker.services.importing import import_file

    counter = iter(range(10_000))

    def run(data: bytes, name: str | None = None, **kwargs: Any) -> Any:
        name = name or f"export-{next(counter)}.csv"
        path = tmp_path / name
        path.write_bytes(data)
        options = kwargs.pop("options", None) or ReadOptions(**kwargs.pop("read", {}))
        return import_file(path, name=name, options=options, **kwargs)

    return run


def export(txs: list[Tx], lo: int = 0, hi: int | None = None, variant: str = "en_activity_2018", **kw: Any) -> bytes:
    """Lines lo..hi of one long export, with the running balance of the whole history."""
    pieces = list(render(variant, txs))
    header, lines = pieces[0][0], [text for text, _ in pieces[1:]]
    return (header + "".join(lines[lo:hi])).encode(kw.get("encoding", "utf-8"))


def asset_balances(session: Any, account_name: str = "PayPal") -> dict[str, Decimal]:
    account = session.scalar(sa.select(Account).where(Account.name == account_name))
    result = {}
    for cur in ("EUR", "USD", "GBP", "RUB"):
        value = ledger.balance_of(session, account.asset_ledger_id, cur)
        if value:
            result[cur] = value
    session.rollback()
    return result


def check_ok(session: Any) -> None:
    from tracker.services.checks import check_ledger

    report = check_ledger(session)
    session.rollback()
    assert report.ok, "\n".join(map(str, report.violations))


# --- real samples ------------------------------------------------------------------------------

SAMPLES_OK = {
    "oca_activity_en_2016.csv": {},
    "oca_statement_en_2018.csv": {},
    "ofxstatement-paypal-2_statement_fr_2020.csv": {},
    "hledger_activity_en_custom-fields_2019.csv": {},
    "oca_statement_es_2020.csv": {"date_order": "dmy"},
    "ledger-autosync_history_en_2016.csv": {"date_order": "mdy"},
    "ledger-autosync_history_en_2016_alternate.csv": {"date_order": "mdy", "currency": "USD"},
}
#: Real samples whose data is inconsistent: rejected at the exact cell, nothing written.
SAMPLES_BROKEN = {
    "oca_statement_en_2018_fee-trailing-space.csv": (2, "Net"),
    "sercxanto_activity_de_2019_bom.csv": (4, "Uhrzeit"),
}


def _independent_figures(data: bytes, options: dict[str, str]) -> dict[str, Any]:
    """Sums per currency computed with csv and Decimal, not with the importer."""
    text = data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), skipinitialspace=True))
    header = [h.strip() for h in rows[0]]
    col = {h: i for i, h in enumerate(header)}
    decimal_comma = any("," in r[col[h]] and "." not in r[col[h]] for r in rows[1:] for h in ("Gross", "Brut", "Bruto") if h in col and len(r) > col[h])

    def amount(cell: str) -> Decimal:
        cell = cell.strip()
        if decimal_comma:
            cell = cell.replace(".", "").replace(" ", "").replace("\u00a0", "").replace(",", ".")
        else:
            cell = cell.replace(",", "")
        return Decimal(cell or "0")

    net_col = next((col[h] for h in ("Net", "Neto", "Amount") if h in col), None)
    cur_col = next((col[h] for h in ("Currency", "Devise", "Divisa") if h in col), None)
    bal_col = next((col[h] for h in ("Balance", "Solde", "Saldo") if h in col), None)
    nets: dict[str, Decimal] = defaultdict(Decimal)
    last: dict[str, Decimal] = {}
    for r in rows[1:]:
        if not r or len(r) <= max(c for c in (net_col, bal_col) if c is not None):
            continue
        cur = r[cur_col].strip() if cur_col is not None else options.get("currency", "USD")
        if "Balance Impact" in col and r[col["Balance Impact"]] == "Memo":
            continue
        nets[cur] += amount(r[net_col])
        if bal_col is not None and r[bal_col].strip():
            last[cur] = amount(r[bal_col])
    return {"nets": dict(nets), "last": last}


@pytest.mark.parametrize("sample", sorted(SAMPLES_OK))
def test_every_consistent_sample_imports_and_agrees_with_its_balances(sample: str, shared_samples: Path, importer: Any, session: Any) -> None:
    path = shared_samples / "paypal" / sample
    data = path.read_bytes()
    result = importer(data, sample, read=SAMPLES_OK[sample])
    assert result.status == "committed", [str(e) for e in result.errors]
    assert result.counts.rejected == 0 and result.counts.new > 0
    check_ok(session)
    ours = asset_balances(session)
    figures = _independent_figures(data, SAMPLES_OK[sample])
    if result.balance_check["status"] == "ok":
        # newest-first files end with the oldest line: the provider's latest balance is the first
        for cur, info in result.balance_check["currencies"].items():
            assert Decimal(info["end"]["provider"]) == ours.get(cur, Decimal(0)), cur
    else:
        # A sample whose running balance does not add up is reported, never absorbed.
        assert any(c.get("first_mismatch") or c["status"] != "ok" for c in result.balance_check["currencies"].values())
    for cur, net in figures["nets"].items():
        opening = Decimal(result.summary["opening_balances"].get(cur, "0"))
        assert ours.get(cur, Decimal(0)) == net + opening, cur
    again = importer(data, sample, read=SAMPLES_OK[sample])
    assert again.status == "already_imported"


@pytest.mark.parametrize("sample", sorted(SAMPLES_BROKEN))
def test_inconsistent_samples_are_rejected_at_the_cell_and_change_nothing(sample: str, shared_samples: Path, importer: Any, session: Any) -> None:
    before = canonical_dump(session)
    result = importer((shared_samples / "paypal" / sample).read_bytes(), sample)
    assert result.status == "rejected"
    line, column = SAMPLES_BROKEN[sample]
    assert (result.errors[0].line, result.errors[0].column) == (line, column)
    assert canonical_dump(session) == before


# --- generated exports ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variant", "encoding", "language"),
    [
        ("en_activity_2018", "utf-8", "en"),
        ("en_activity_uk_2019", "utf-8-sig", "en"),
        ("de_activity_2019", "utf-16", "de"),
        ("it_activity", "cp1252", "it"),
        ("fr_statement", "utf-8", "fr"),
        ("en_statement", "utf-8", "en"),
    ],
)
def test_generated_exports_book_every_line_and_match_the_provider_balance(variant: str, encoding: str, language: str, importer: Any, session: Any) -> None:
    statement = "statement" in variant
    txs = transactions(language, statement=statement, count=60, seed=7)
    data, expected = build(variant, txs, encoding=encoding)
    result = importer(data)
    assert result.status == "committed", [str(e) for e in result.errors]
    assert result.counts.new == len(expected)
    has_balance = "balance" in VARIANTS[variant].fields
    assert result.balance_check["status"] == ("ok" if has_balance else "no_balance"), result.balance_check
    check_ok(session)
    assert asset_balances(session) == finals_of(txs)
    donations = session.scalars(sa.select(Donation)).all()
    gifts = [e for e in expected if e["kind"] == "payment" and Decimal(e["gross"]) > 0 and e["status"] == "completed" and e["affects_balance"]]
    assert len(donations) == len(gifts)
    assert sum(d.gross for d in donations) == sum(Decimal(e["gross"]) for e in gifts)


def test_reimport_of_a_re_exported_file_changes_no_money(importer: Any, session: Any) -> None:
    txs = transactions("en", count=50, seed=3)
    first = importer(export(txs))
    assert first.status == "committed"
    before = canonical_dump(session)
    again = importer(export(txs).replace(b"\n", b"\r\n"))  # other bytes, same lines
    assert again.status == "committed"
    assert again.counts.new == 0 and again.counts.duplicate == first.counts.new
    after = canonical_dump(session)
    for table in ("postings", "balances", "donations", "journal_entries", "statement_lines"):
        assert after[table] == before[table], table
    assert importer(export(txs)).status == "already_imported"


def test_a_big_batch_refreshes_the_planner_statistics_before_its_checks(importer: Any, session: Any, engine_name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """On PostgreSQL the checks before commit are planned for the rows the batch wrote, not the old table sizes.

    A dry run: the statistics are read inside the import's transaction, and
    its rollback takes them back, so no other test's plans see them.
    """
    from tracker.services import importing

    monkeypatch.setattr(importing, "ANALYZE_FROM_LINES", 40)
    tables = ("postings", "journal_entries", "statement_lines")
    seen: dict[str, tuple[float, int]] = {}
    real = importing._verify_batch

    def verify(s: Any, *args: Any, **kwargs: Any) -> None:
        for table in tables:
            estimated = s.scalar(sa.text("SELECT reltuples FROM pg_class WHERE relname = :t"), {"t": table}) if engine_name == "postgresql" else -1.0
            seen[table] = (estimated, s.scalar(sa.text(f"SELECT count(*) FROM {table}")))
        real(s, *args, **kwargs)

    monkeypatch.setattr(importing, "_verify_batch", verify)
    analysed: list[str] = []
    catch = lambda *args: analysed.append(args[2]) if args[2].startswith("ANALYZE") else None  # noqa: E731
    sa.event.listen(session.get_bind(), "before_cursor_execute", catch)
    try:
        txs = transactions("en", count=60, seed=5)
        assert importer(export(txs), dry_run=True).status == "dry_run"
        assert set(seen) == set(tables) and all(counted > 0 for _, counted in seen.values())
        if engine_name == "postgresql":
            assert len(analysed) == 2  # once the batch reached 40 lines, and before the checks
            assert all(estimated == counted for estimated, counted in seen.values()), seen  # small tables are sampled whole
        else:
            assert analysed == []  # SQLite plans from its indexes
        monkeypatch.setattr(importing, "ANALYZE_FROM_LINES", 61)
        analysed.clear()
        assert importer(export(txs), dry_run=True).status == "dry_run"
        assert analysed == []  # a batch below the threshold does not analyse
    finally:
        sa.event.remove(session.get_bind(), "before_cursor_execute", catch)


def finals_of(txs: list[Tx]) -> dict[str, Decimal]:
    finals: dict[str, Decimal] = {}
    for tx in txs:
        if moves_balance(tx):
            finals[tx.currency] = finals.get(tx.currency, Decimal(0)) + tx.gross - tx.fee
    return {c: v for c, v in finals.items() if v}


def test_overlapping_exports_dedupe(importer: Any, session: Any) -> None:
    txs = transactions("de", count=80, seed=11)
    a = importer(export(txs, 0, 50, "de_activity_2019"))
    b = importer(export(txs, 30, None, "de_activity_2019"))
    assert a.status == b.status == "committed"
    assert b.counts.duplicate == 20
    assert b.balance_check["status"] == "ok", b.balance_check
    check_ok(session)
    lines = session.scalar(sa.select(sa.func.count()).select_from(StatementLine))
    assert lines == a.counts.new + b.counts.new
    assert asset_balances(session) == finals_of(txs)


def test_the_same_month_in_german_then_english_dedupes(importer: Any, session: Any) -> None:
    txs = [t for t in transactions("en", count=40, seed=12) if t.kind in TYPES["de"] and t.status in STATUSES["de"]]
    assert importer(build("de_activity_2019", txs)[0]).status == "committed"
    before = canonical_dump(session)
    english = importer(build("en_activity_2018", txs)[0])
    assert english.status == "committed"
    assert english.counts.new == 0 and english.counts.duplicate == len(txs)
    after = canonical_dump(session)
    for table in ("postings", "balances", "donations", "statement_lines"):
        assert after[table] == before[table], table


def test_pending_then_completed_across_two_exports_counts_once(importer: Any, session: Any) -> None:
    when = datetime(2025, 2, 21, 12, tzinfo=UTC)
    gift = Tx(when, "donation", "EUR", Decimal("40.00"), Decimal("1.46"), "pending", txn_id="ECHECK1", from_email="x@example.org", note="205")
    other = Tx(when + timedelta(hours=1), "donation", "EUR", Decimal("10.00"), Decimal("0.59"), txn_id="T2", from_email="y@example.org")
    first = importer(build("en_activity_2018", [gift, other])[0])
    assert first.status == "committed"
    from tracker.services.totals import totals

    data = totals(session)
    assert data["general"]["donations"] == 1
    assert data["unclassified"]["lines"] == 1
    session.rollback()
    second = importer(build("en_activity_2018", [replace(gift, status="completed"), other])[0])
    assert second.status == "committed"
    assert second.counts.updated == 1 and second.counts.duplicate == 1
    assert second.summary["transitions"] == [{"line": 2, "from": "pending", "to": "completed", "effect": "complete"}]
    data = totals(session)
    assert data["general"]["donations"] == 2
    assert data["general"]["gross"] == {"EUR": "50.00"}
    assert data["unclassified"]["lines"] == 0
    check_ok(session)


def test_pending_money_classified_then_undone_becomes_a_donation_when_it_completes(importer: Any, session: Any) -> None:
    """An undone classification no longer resolves the pending money: completion books the gift."""
    from tracker.services import classification as c
    from tracker.services.review_items import open_items
    from tracker.services.totals import totals

    when = datetime(2025, 2, 21, 12, tzinfo=UTC)
    gift = Tx(when, "donation", "EUR", Decimal("40.00"), Decimal("1.46"), "pending", txn_id="ECHECK2", from_email="x@example.org")
    assert importer(build("en_activity_2018", [gift])[0]).status == "committed"
    [item] = open_items(session).items
    session.rollback()
    [done] = c.classify([item.item_id], c.Choice(c.ClassifyAs.FUND, fund="general"))
    c.undo(done.entry_id)
    assert totals(session)["unclassified"]["lines"] == 1
    session.rollback()
    second = importer(build("en_activity_2018", [replace(gift, status="completed")])[0])
    assert second.status == "committed"
    data = totals(session)
    assert data["general"]["donations"] == 1 and data["general"]["gross"] == {"EUR": "40.00"}
    assert data["unclassified"] == {"lines": 0, "net": {}}
    session.rollback()
    check_ok(session)


def test_the_queue_table_follows_classifying_undoing_and_undoing_a_batch(importer: Any, session: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The open items' table is brought in step in chunks: undoing a batch writes an entry per entry."""
    from tracker.services import batches, open_items
    from tracker.services import classification as c
    from tracker.services.review_items import open_currencies
    from tracker.services.review_items import open_items as queue
    from tracker.services.totals import totals

    monkeypatch.setattr(open_items, "CHUNK", 2)
    when = datetime(2025, 2, 21, 12, tzinfo=UTC)
    out = [Tx(when + timedelta(hours=i), "unknown", "EUR" if i % 2 else "USD", Decimal(f"-{10 + i}.00"), Decimal("0.00"), txn_id=f"OUT{i}") for i in range(5)]
    result = importer(build("en_activity_2018", out)[0])
    assert result.status == "committed"
    items = [i.item_id for i in queue(session).items]
    assert len(items) == 5 and open_currencies(session) == ["EUR", "USD"]
    session.rollback()
    done = c.classify([items[0], items[2]], c.Choice(c.ClassifyAs.FEE))  # the first and third: dollars
    assert [i.item_id for i in queue(session).items] == [items[1], items[3], items[4]]
    session.rollback()
    c.undo(done[0].entry_id)
    assert [i.item_id for i in queue(session).items] == [items[0], items[1], items[3], items[4]]
    session.rollback()
    check_ok(session)
    c.undo(done[1].entry_id)  # a batch is undone only once nothing builds on it
    batches.undo_batch(result.batch_id)
    assert queue(session).items == [] and open_currencies(session) == [] and totals(session)["unclassified"]["lines"] == 0
    session.rollback()
    check_ok(session)


def test_refund_in_an_earlier_file_than_its_payment_links_when_it_arrives(importer: Any, books: Any, session: Any) -> None:
    campaign = books.campaign("205", {"a": 1, "b": 1})
    del campaign
    when = datetime(2025, 3, 21, 12, tzinfo=UTC)
    gift = Tx(when, "donation", "EUR", Decimal("30.00"), Decimal("1.17"), txn_id="P1", from_email="d@example.org", note="for 205")
    back = Tx(when + timedelta(days=2), "refund", "EUR", Decimal("-30.00"), Decimal("-0.87"), txn_id="R1", ref_id="P1")
    assert importer(build("en_activity_2018", [back])[0], read={}).status == "committed"
    from tracker.services.totals import totals

    assert totals(session)["unclassified"]["lines"] == 1  # the refund, waiting for its donation
    session.rollback()
    result = importer(build("en_activity_2018", [gift])[0])
    assert result.status == "committed"
    data = totals(session)
    row = next(c for c in data["campaigns"] if c["tag"] == "205")
    assert row["donations"] == 1 and row["gross"] == {"EUR": "0.00"} and row["fee"] == {"EUR": "0.30"}
    check_ok(session)


# --- bad input: clear error, nothing changed --------------------------------------------------

GOOD = build("en_activity_2018", transactions("en", count=5, seed=2))[0]
BAD_INPUTS = {
    "empty": (b"", 1),
    "another provider": (b"id,Type,Source,Amount,Fee,Net,Currency,Created (UTC)\ntxn_1,charge,ch_1,10.00,0.59,9.41,usd,2020-01-23 08:26:29\n", 1),
    "missing column": (GOOD.replace(b'"Gross",', b'"Grossly",', 1), 1),
    "bad amount": (GOOD.replace(b'"5.00"', b'"5,0,0"', 1) if b'"5.00"' in GOOD else GOOD.replace(b'.00"', b'.0.0"', 1), None),
    "bad date": (GOOD.replace(b'"03/', b'"33/', 1), None),
    "truncated inside a quote": (GOOD[: GOOD.rindex(b'"Completed"') + 4], None),
    "binary": (bytes(range(256)) * 40, 1),
    "NUL byte": (GOOD[:200] + b"\x00" + GOOD[200:], None),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_rejected_with_a_position_and_changes_nothing(case: str, importer: Any, session: Any) -> None:
    data, line = BAD_INPUTS[case]
    before = canonical_dump(session)
    result = importer(data, f"{case.replace(' ', '_')}.csv")
    assert result.status == "rejected", case
    assert result.errors, case
    error = result.errors[0]
    assert error.file == f"{case.replace(' ', '_')}.csv"
    if line is not None:
        assert error.line == line, (case, str(error))
    assert "@example.org" not in str(error) and "Donor " not in str(error)
    assert canonical_dump(session) == before


def test_formula_looking_notes_are_kept_as_plain_text(importer: Any, session: Any) -> None:
    when = datetime(2025, 4, 21, 9, tzinfo=UTC)
    notes = ['=HYPERLINK("http://x","205")', "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3"]
    txs = [Tx(when + timedelta(minutes=i), "donation", "EUR", Decimal("5.00"), txn_id=f"F{i}", note=n) for i, n in enumerate(notes)]
    assert importer(build("en_activity_2018", txs)[0]).status == "committed"
    stored = [line.texts[0][1] for line in session.scalars(sa.select(StatementLine).order_by(StatementLine.line_no))]
    assert stored == notes


def test_same_key_with_a_different_amount_is_rejected(importer: Any, session: Any) -> None:
    txs = transactions("en", count=10, seed=5)
    assert importer(build("en_activity_2018", txs)[0]).status == "committed"
    before = canonical_dump(session)
    changed = [replace(t, gross=t.gross + Decimal("1.00")) if i == 3 and t.gross > 0 else t for i, t in enumerate(txs)]
    result = importer(build("en_activity_2018", changed)[0])
    if changed == txs:
        pytest.skip("no positive line at index 3 in this seed")
    assert result.status == "rejected"
    assert result.errors[0].line == 5 and result.errors[0].column in ("Gross", "Net")
    assert canonical_dump(session) == before


def test_the_same_transaction_twice_in_one_file_is_an_error_not_a_crash(importer: Any, session: Any) -> None:
    when = datetime(2025, 5, 21, 9, tzinfo=UTC)
    tx = Tx(when, "donation", "EUR", Decimal("5.00"), txn_id="DUP")
    before = canonical_dump(session)
    result = importer(build("en_activity_2018", [tx, Tx(when, "donation", "EUR", Decimal("7.00"), txn_id="X"), tx])[0])
    assert result.status == "rejected"
    assert (result.errors[0].line, "repeats") == (4, "repeats") and "repeats" in result.errors[0].message
    assert canonical_dump(session) == before


def test_an_allocator_that_drops_a_cent_is_refused_before_commit(importer: Any, session: Any, books: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """RELIABILITY.md L5: assertions stay on."""
    books.campaign("205", {"a": 1, "b": 1, "c": 1})
    real = money.split

    def lossy(amount: Decimal, weights: Any, currency: str) -> Any:
        parts = real(amount, weights, currency)
        if len(parts) > 1 and amount > 0:
            key = next(iter(parts))
            parts[key] -= money.quantum(currency)
        return parts

    monkeypatch.setattr(money, "split", lossy)
    before = canonical_dump(session)
    txs = [Tx(datetime(2025, 6, 21, 9, tzinfo=UTC) + timedelta(minutes=i), "donation", "EUR", Decimal("10.00"), Decimal("0.59"), txn_id=f"L{i}", note="205") for i in range(5)]
    from tracker.errors import InvariantError

    with pytest.raises(InvariantError, match="does not balance"):
        importer(build("en_activity_2018", txs)[0])
    monkeypatch.setattr(money, "split", real)
    assert canonical_dump(session) == before


def test_undo_is_refused_while_a_later_batch_builds_on_it(importer: Any, session: Any) -> None:
    from tracker.errors import Conflict
    from tracker.services.batches import undo_batch

    when = datetime(2025, 7, 21, 9, tzinfo=UTC)
    gift = Tx(when, "donation", "EUR", Decimal("20.00"), Decimal("0.88"), txn_id="G1", from_email="g@example.org")
    back = Tx(when + timedelta(days=1), "refund", "EUR", Decimal("-5.00"), Decimal("-0.15"), txn_id="R1", ref_id="G1")
    first = importer(export([gift, back], 0, 1))
    second = importer(export([gift, back], 1, 2))
    assert first.status == second.status == "committed"
    with pytest.raises(Conflict, match=f"batch {second.batch_id}"):
        undo_batch(first.batch_id)
    check_ok(session)
    undo_batch(second.batch_id)
    check_ok(session)
    undo_batch(first.batch_id)
    check_ok(session)
    assert asset_balances(session) == {}
    from tracker.services.totals import totals

    assert totals(session)["general"]["donations"] == 0
    session.rollback()
    again = importer(export([gift, back], 0, 2))
    assert again.status == "committed" and again.counts.new == 2
    check_ok(session)
    assert asset_balances(session) == {"EUR": Decimal("19.12") - Decimal("4.85")}


def test_donor_identity_is_never_stored_in_clear(importer: Any, session: Any, engine_name: str, db_url: str) -> None:
    secrets = ["Zebediah Quarrington", "zebediah.q@hidden-donor.example", "TXSECRET8842", "Oksana Vyrypaeva"]
    when = datetime(2025, 8, 21, 9, tzinfo=UTC)
    txs = [
        Tx(when, "donation", "EUR", Decimal("25.00"), Decimal("1.03"), name=secrets[0], from_email=secrets[1], txn_id=secrets[2], note="205"),
        Tx(when + timedelta(hours=1), "donation", "EUR", Decimal("15.00"), name=secrets[3], txn_id="TX2", from_email="o@hidden-donor.example"),
        Tx(when + timedelta(hours=2), "refund", "EUR", Decimal("-5.00"), txn_id="TX3", ref_id=secrets[2], to_email=secrets[1]),
    ]
    result = importer(build("en_activity_2018", txs)[0])
    assert result.status == "committed"
    from tracker.extensions import db

    session.commit()
    haystack = []
    for table in db.metadata.sorted_tables:
        for row in session.execute(sa.select(table)):
            haystack.append(repr(tuple(row)))
    text = "\n".join(haystack).casefold()
    if engine_name == "sqlite":
        db.engine.dispose()
        raw = Path(sa.make_url(db_url).database).read_bytes()
        for suffix in ("-wal",):
            wal = Path(sa.make_url(db_url).database + suffix)
            if wal.exists():
                raw += wal.read_bytes()
        text += raw.decode("latin-1").casefold()
    for secret in secrets:
        assert secret.casefold() not in text, secret
    assert "hidden-donor" not in text
    # ...but the treasurer can open the sealed row with the private key.
    from tests.conftest import TEST_PRIVATE_KEY
    from tracker.services.sealed import open_line

    key_file = Path(sa.make_url(db_url).database or "/tmp/x").parent / "treasurer.key" if engine_name == "sqlite" else Path("/tmp") / f"tk-{id(result)}.key"
    key_file.write_text(bytes(TEST_PRIVATE_KEY).hex())
    line = session.scalar(sa.select(StatementLine).where(StatementLine.line_no == 2))
    opened = open_line(session, line.id, str(key_file))
    assert opened["columns"]["Name"] == secrets[0]
    key_file.unlink()


# --- L3: order does not matter -----------------------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

L3_TXS = [t for t in transactions("en", count=70, seed=31, start=datetime(2024, 1, 13, tzinfo=UTC)) if t.kind != "conversion"]
L3_SOURCES = [(0, 30), (20, 50), (45, None), (10, 40), (0, None)]


def _state(session: Any) -> dict[str, Any]:
    from tracker.models import Balance, LedgerAccount

    balances = {
        (code, cur): amount
        for code, cur, amount in session.execute(
            sa.select(LedgerAccount.code, Balance.currency, Balance.amount).join(LedgerAccount, LedgerAccount.id == Balance.ledger_account_id)
        )
        if amount
    }
    lines = {(l.dedup_key, l.status, l.gross, l.fee) for l in session.scalars(sa.select(StatementLine))}
    donations = {
        (line.dedup_key, d.gross, d.fee, d.destination)
        for d, line in session.execute(sa.select(Donation, StatementLine).join(StatementLine, StatementLine.id == Donation.statement_line_id).where(Donation.voided_at.is_(None)))
    }
    session.rollback()
    return {"balances": balances, "lines": lines, "donations": donations}


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(order=st.lists(st.sampled_from(range(len(L3_SOURCES))), min_size=1, max_size=6))
def test_any_order_with_duplicates_and_overlaps_ends_in_the_same_books(engine: str, order: list[int], databases: Any, tmp_path_factory: Any) -> None:
    from tests.conftest import database_for, make_app
    from tracker.services.importing import import_file

    database = database_for(engine, databases, tmp_path_factory)
    tmp = tmp_path_factory.mktemp("l3")

    def run(sources: list[int]) -> dict[str, Any]:
        database.reset()
        app = make_app(database.fresh_url(tmp), tmp)
        with app.app_context():
            from tracker.extensions import db

            for n, index in enumerate(sources):
                lo, hi = L3_SOURCES[index]
                path = tmp / f"s{n}-{index}.csv"
                path.write_bytes(export(L3_TXS, lo, hi, "en_activity_uk_2019"))
                result = import_file(path, account_name="PayPal")
                assert result.ok, [str(e) for e in result.errors]
            check_ok(db.session)
            state = _state(db.session)
            db.session.remove()
            db.engine.dispose()
        return state

    covered = sorted({i for i in order})
    orderly = run(sorted(covered))
    shuffled = run(order)
    assert shuffled == orderly
