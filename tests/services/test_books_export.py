"""The books export: every table, formula injection neutralised, numbers kept numbers, notes only on request."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import openpyxl


def _seed(books: Any) -> None:
    from tracker.services import unit_of_work
    from tracker.services.disbursements import create_disbursement

    campaign = books.campaign("205", {"anna": 1})
    books.donation("20.50", fee="0.93", campaign=campaign, donor="d1", when=datetime(2025, 3, 2, 10, tzinfo=UTC))
    books.donation("7", general=True, donor="d2", when=datetime(2025, 3, 3, 10, tzinfo=UTC))
    with unit_of_work() as s:
        create_disbursement(
            s, fund=books.fund_of("anna"), account=books.account(), currency="EUR", amount=Decimal("10.00"),
            category="lawyer", public_description='=HYPERLINK("http://x","click")', paid_on=date(2025, 3, 5),
            private_note="@SUM(1+1) invoice 17",
        )


def test_xlsx_and_csv_hold_the_period_and_neutralise_formulas(session: Any, books: Any) -> None:
    from tracker.services import books_export

    _seed(books)
    book = openpyxl.load_workbook(io.BytesIO(books_export.to_xlsx(books_export.tables(session, date(2025, 3, 1), date(2025, 3, 31)))))
    assert book.sheetnames == ["donations", "postings", "disbursements"]
    donations = list(book["donations"].values)
    assert donations[0][:6] == ("id", "received_on", "account", "origin", "currency", "gross")
    assert [row[5] for row in donations[1:]] == [20.5, 7]  # numeric cells, not text
    spent = list(book["disbursements"].values)
    assert spent[1][7] == "'=HYPERLINK(\"http://x\",\"click\")"
    assert "private_note" not in spent[0]
    postings = list(book["postings"].values)
    assert sum(Decimal(str(row[6])) for row in postings[1:]) == 0  # every entry balances
    archive = zipfile.ZipFile(io.BytesIO(books_export.to_csv_zip(books_export.tables(session, date(2025, 3, 1), date(2025, 3, 31), with_notes=True))))
    rows = list(csv.reader(io.StringIO(archive.read("disbursements.csv").decode("utf-8"))))
    assert rows[0][-1] == "private_note" and rows[1][-1] == "'@SUM(1+1) invoice 17"
    assert rows[1][5] == "10.00"
    gifts = list(csv.reader(io.StringIO(archive.read("donations.csv").decode("utf-8"))))
    assert gifts[1][5:8] == ["20.50", "0.93", "19.57"]
    assert not any("d1" in cell for row in gifts for cell in row)  # no donor keys


def test_export_command_writes_the_file(app: Any, books: Any, tmp_path: Any) -> None:
    _seed(books)
    out = tmp_path / "books.xlsx"
    result = app.test_cli_runner().invoke(args=["export", "--from", "2025-03-01", "--to", "2025-03-31", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert openpyxl.load_workbook(out).sheetnames == ["donations", "postings", "disbursements"]
    bad = app.test_cli_runner().invoke(args=["export", "--from", "2025-03-31", "--to", "2025-03-01", "--out", str(out)])
    assert bad.exit_code == 2
