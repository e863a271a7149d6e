"""Every real PayPal sample in /work/shared/formats/samples/paypal, read in place.

Figures are checked against an independent reading done here with plain
``csv`` and ``Decimal`` (no importer code). Two samples are not internally
consistent, and the tests pin what the importer says about them instead of
bending it:

- ``oca_statement_en_2018_fee-trailing-space.csv`` line 2: Gross -33.50,
  Fee -2.3, Net -31.2, but PayPal's Net is Gross + Fee (README 1.7), which
  would be -35.80; the importer rejects the line at the Net column.
- ``sercxanto_activity_de_2019_bom.csv`` line 4: the time ``29:18:53`` does
  not exist; the importer rejects the line at the Uhrzeit column. Its
  Guthaben column does not follow the lines either (lines 5, 6 and 8).
- ``ledger-autosync_history_en_2016.csv``: Balance 20.00 after 0.00 and a
  line of +1,120.00 (line 3).
"""

from __future__ import annotations

import csv
import io
import random
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.importers.paypal_factory import errors_of, normalise
from tracker.errors import InputError, InputErrors
from tracker.importers import ReadOptions, detect, paypal
from tracker.records import LineKind, LineStatus, ParsedLine

# name -> options the file cannot decide itself, expected line count, columns for the
# independent reading (currency, gross, fee, net, balance), decimal mark, and the
# (line, column) of each error the file must give.
SAMPLES: dict[str, dict[str, Any]] = {
    "hledger_activity_en_custom-fields_2019.csv": dict(
        options={}, lines=7, cols=("Currency", "Gross", "Fee", "Net", "Balance"), mark="."
    ),
    "ledger-autosync_history_en_2016.csv": dict(
        options={"date_order": "mdy"},
        lines=2,
        cols=("Currency", "Gross", "Fee", "Net", "Balance"),
        mark=".",
    ),
    "ledger-autosync_history_en_2016_alternate.csv": dict(
        options={"currency": "USD"}, lines=2, cols=(None, "Amount", None, None, "Balance"), mark="."
    ),
    "oca_activity_en_2016.csv": dict(
        options={}, lines=76, cols=("Currency", "Gross", "Fee", "Net", "Balance"), mark="."
    ),
    "oca_statement_en_2018.csv": dict(
        options={}, lines=19, cols=("Currency", "Gross", "Fee", "Net", "Balance"), mark="."
    ),
    "oca_statement_en_2018_fee-trailing-space.csv": dict(
        options={},
        lines=1,
        cols=("Currency", "Gross", "Fee ", "Net", "Balance"),
        mark=".",
        errors=[(2, "Net", "net -31.20 is not gross -33.50 plus fee -2.30")],
    ),
    "oca_statement_es_2020.csv": dict(
        options={"date_order": "dmy"},
        lines=4,
        cols=("Divisa", "Bruto", "Comisión", "Neto", "Saldo"),
        mark=",",
    ),
    "ofxstatement-paypal-2_statement_fr_2020.csv": dict(
        options={}, lines=184, cols=("Devise", "Brut", "Frais", "Net", "Solde"), mark=","
    ),
    "sercxanto_activity_de_2019_bom.csv": dict(
        options={},
        lines=6,
        cols=("Währung", "Brutto", "Gebühr", "Netto", "Guthaben"),
        mark=",",
        errors=[(4, "Uhrzeit", "the time '29:18:53' does not exist")],
    ),
}
#: Lines whose provider balance is not the previous balance plus the line's net.
INCONSISTENT_BALANCES = {
    "ledger-autosync_history_en_2016.csv": [3],
    "sercxanto_activity_de_2019_bom.csv": [5, 6, 8],
}


def parse(path: Path, **options: Any) -> tuple[list[ParsedLine], list[InputError]]:
    return errors_of(path.read_bytes(), path.name, **options)


def test_every_sample_is_listed(samples: Path) -> None:
    assert sorted(p.name for p in samples.glob("*.csv")) == sorted(SAMPLES)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample_parses(samples: Path, name: str) -> None:
    info = SAMPLES[name]
    path = samples / name
    lines, errors = parse(path, **info["options"])
    assert [(e.file, e.line, e.column, e.message) for e in errors] == [
        (name, line, column, message) for line, column, message in info.get("errors", [])
    ]
    assert len(lines) == info["lines"]
    assert all(isinstance(line, ParsedLine) for line in lines)
    with path.open("rb") as stream:
        assert detect(stream.read(65536), name) is paypal


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample_totals_match_an_independent_reading(samples: Path, name: str) -> None:
    info = SAMPLES[name]
    path = samples / name
    lines, errors = parse(path, **info["options"])
    bad = {e.line for e in errors}
    cur_col, gross_col, fee_col, net_col, _bal = info["cols"]
    text = path.read_text(encoding="utf-8-sig")
    reader = csv.reader(io.StringIO(text, newline=""), skipinitialspace=True)
    header = [h.strip() for h in next(reader)]
    expected: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 3)
    for number, row in enumerate(reader, start=2):
        if number in bad or not row:
            continue
        cells = dict(zip(header, row, strict=False))
        cur = cells[cur_col.strip()] if cur_col else info["options"]["currency"]
        gross = _plain(cells[gross_col.strip()], info["mark"])
        paypal_fee = _plain(cells[fee_col.strip()], info["mark"]) if fee_col else Decimal(0)
        net = _plain(cells[net_col.strip()], info["mark"]) if net_col else gross
        totals = expected[cur]
        totals[0] += gross
        totals[1] -= paypal_fee  # our fee is what PayPal kept: minus its Fee column
        totals[2] += net
    got: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 3)
    for line in lines:
        got[line.currency][0] += line.gross
        got[line.currency][1] += line.fee
        got[line.currency][2] += line.net
    assert dict(got) == dict(expected)


def _plain(text: str, mark: str) -> Decimal:
    """An amount read the simplest way: drop grouping, use '.' as the mark."""
    other = "," if mark == "." else "."
    cleaned = text.replace("\u00a0", "").replace(" ", "").replace(other, "")
    return Decimal(cleaned.replace(mark, ".") or "0")


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample_running_balances(samples: Path, name: str) -> None:
    lines, _errors = parse(samples / name, **SAMPLES[name]["options"])
    previous: dict[str, Decimal] = {}
    mismatches = []
    for line in lines:
        if line.balance is None:
            continue
        before = previous.get(line.currency)
        moved = line.net if line.affects_balance else Decimal(0)
        if before is not None and before + moved != line.balance:
            mismatches.append(line.line_no)
        previous[line.currency] = line.balance
    assert mismatches == INCONSISTENT_BALANCES.get(name, [])


def test_options_the_samples_need_are_asked_for_by_name(samples: Path) -> None:
    _lines, errors = parse(samples / "ledger-autosync_history_en_2016.csv")
    assert [(e.line, e.column) for e in errors] == [(2, "Date")]
    assert "--date-order" in errors[0].message
    _lines, errors = parse(samples / "oca_statement_es_2020.csv")
    assert [(e.line, e.column) for e in errors] == [(2, "Fecha")]
    assert "--date-order" in errors[0].message
    _lines, errors = parse(samples / "ledger-autosync_history_en_2016_alternate.csv")
    assert [(e.line, e.column) for e in errors] == [(1, "Currency")]
    assert "--currency" in errors[0].message


def test_oca_activity_values(samples: Path) -> None:
    lines, _ = parse(samples / "oca_activity_en_2016.csv")
    first = lines[0]
    assert (first.line_no, first.kind, first.status) == (2, LineKind.PAYMENT, LineStatus.COMPLETED)
    assert first.occurred_at == datetime(2015, 12, 29, 15, 45, 51, tzinfo=UTC)  # PST = UTC-8
    assert (first.gross, first.fee, first.net) == (
        Decimal("84.00"),
        Decimal("4.25"),
        Decimal("79.75"),
    )
    assert (first.external_id, first.counterparty) == ("TID1", "paypal@partner1.com")
    june = next(line for line in lines if line.external_id == "TID4")
    assert june.occurred_at == datetime(2016, 6, 9, 14, 19, 50, tzinfo=UTC)  # PDT = UTC-7
    assert june.texts == (("subject", "Payment to My Company for invoice 31"),)
    kinds = {line.provider_type: line.kind for line in lines}
    assert kinds["General Withdrawal"] is LineKind.PAYOUT
    assert kinds["General Currency Conversion"] is LineKind.CONVERSION
    assert kinds["Payment Hold"] is LineKind.HOLD
    assert kinds["Payment Release"] is LineKind.RELEASE
    withdrawal = next(line for line in lines if line.external_id == "TID11")
    assert withdrawal.status is LineStatus.PENDING and withdrawal.gross == Decimal("-12431.37")
    assert dict(first.readable)["Gross"] == "84.00"
    assert "From Email Address" not in dict(first.readable)
    assert dict(first.raw)["From Email Address"] == "paypal@partner1.com"


def test_statement_zones_and_descriptions(samples: Path) -> None:
    lines, _ = parse(samples / "oca_statement_en_2018.csv")
    cet = next(line for line in lines if line.external_id == "TID16")
    assert cet.occurred_at == datetime(2018, 9, 27, 17, 16, 12, tzinfo=UTC)  # CET = UTC+1
    la = next(line for line in lines if line.external_id == "TID15")
    assert la.occurred_at == datetime(2018, 9, 28, 1, 15, 34, tzinfo=UTC)  # LA in DST
    assert {line.status for line in lines} == {LineStatus.COMPLETED}
    assert lines[0].kind is LineKind.PAYOUT and lines[0].balance == Decimal("-1057.34")


def test_german_memo_and_decimal_comma(samples: Path) -> None:
    lines, _ = parse(samples / "sercxanto_activity_de_2019_bom.csv")
    first = lines[0]
    assert first.gross == Decimal("-41.00") and first.occurred_at == datetime(
        2019, 10, 15, 18, 32, 1, tzinfo=UTC
    )  # CEST = UTC+2
    memo = lines[-1]
    assert memo.provider_type == "Anforderung gesendet" and memo.affects_balance is False
    assert memo.texts == (("note", "Hier steht der Text, noch mehr Text."),)


def test_french_grouping_with_no_break_space(samples: Path) -> None:
    lines, _ = parse(samples / "ofxstatement-paypal-2_statement_fr_2020.csv")
    big = next(line for line in lines if line.external_id == "3LU80748F2669950E")
    assert big.gross == Decimal("-2026.41")
    assert big.occurred_at == datetime(2020, 7, 18, 10, 39, 55, tzinfo=UTC)


def test_inspect_reports_the_assumptions(samples: Path) -> None:
    with (samples / "sercxanto_activity_de_2019_bom.csv").open("rb") as stream:
        profile = paypal.inspect(stream, "de.csv", ReadOptions())
    assert (profile.encoding, profile.encoding_source) == ("utf-8", "bom")
    assert (profile.date_order, profile.date_order_source) == ("dmy", "detected")
    assert (profile.decimal_mark, profile.decimal_mark_source) == (",", "detected")
    assert (profile.variant, profile.language, profile.delimiter) == ("activity", "de", ",")
    assert dict(profile.columns)["fee"] == "Gebühr"
    with (samples / "ledger-autosync_history_en_2016.csv").open("rb") as stream:
        profile = paypal.inspect(stream, "h.csv", ReadOptions(date_order="mdy"))
    assert profile.date_order_source == "option"
    assert profile.as_dict()["notes"] == ["header separated by ', ' (Download History)"]


# --- P1: truncation ---------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_truncated_samples_give_a_prefix_or_positioned_errors(samples: Path, name: str) -> None:
    data = (samples / name).read_bytes()
    options = SAMPLES[name]["options"]
    full, _ = errors_of(data, name, **options)
    full_norm = [normalise(line, full=True) for line in full]
    cuts = sorted(random.Random(f"P1:{name}").sample(range(len(data)), min(100, len(data))))
    for cut in cuts:
        lines: list[ParsedLine] = []
        try:
            for line in paypal.extract(io.BytesIO(data[:cut]), name, ReadOptions(**options)):
                lines.append(line)
        except (InputError, InputErrors) as exc:
            errors = exc.errors if isinstance(exc, InputErrors) else [exc]
            assert all(e.file == name and e.line >= 1 for e in errors), (cut, errors)
        got = [normalise(line, full=True) for line in lines]
        # Every yielded line is the full file's line with the same number.
        by_number = {n["line_no"]: n for n in full_norm}
        for g in got:
            assert by_number.get(g["line_no"]) == g, (cut, g["line_no"])
        assert [g["line_no"] for g in got] == sorted(g["line_no"] for g in got)
