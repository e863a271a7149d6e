"""Generated PayPal exports: every header variant, encoding and delimiter.

The files come from :mod:`tests.importers.paypal_factory`, which also says what
each line must become (independently of the importer's tables). Golden files:
``golden/<case>.csv`` is a generated export and ``golden/<case>.json`` the
normalised lines and profile the importer gave for it when it was last
reviewed. To regenerate both after an intended change, run

    UPDATE_GOLDEN=1 pytest tests/importers/test_paypal_generated.py -k golden

and review the diff before keeping it.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.importers.paypal_factory import (
    VARIANTS,
    Tx,
    build,
    errors_of,
    extract_bytes,
    iter_transactions,
    normalise,
)  # fmt: skip
from tracker.importers import ReadOptions, detect, paypal

GOLDEN = Path(__file__).resolve().parent / "golden"
ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "cp1252", "cp1251")


def _cases() -> list[tuple[str, str, str]]:
    cases = []
    for name, variant in VARIANTS.items():
        for encoding in ENCODINGS:
            if encoding == "cp1251" and variant.language != "en":
                continue  # German, French ... headers have letters cp1251 lacks
            for delimiter in (",", "\t", ";"):
                cases.append((name, encoding, delimiter))
    return cases


def _transactions(name: str, encoding: str, count: int = 30, seed: int = 3) -> list[Tx]:
    variant = VARIANTS[name]
    return list(
        iter_transactions(
            variant.language,
            statement=variant.statement,
            count=count,
            seed=seed,
            charset="cyrillic" if encoding == "cp1251" else "latin",
            currencies=("USD",) if "amount" in variant.fields else ("EUR", "USD"),
        )
    )


def _options(name: str) -> dict[str, Any]:
    return {"currency": "USD"} if "amount" in VARIANTS[name].fields else {}


@pytest.mark.parametrize(("name", "encoding", "delimiter"), _cases())
def test_generated_export_round_trips(name: str, encoding: str, delimiter: str) -> None:
    newline = "\r\n" if delimiter == ";" else "\n"
    data, expected = build(
        name, _transactions(name, encoding), encoding=encoding, delimiter=delimiter, newline=newline
    )
    assert detect(data[:65536], f"{name}.csv") is paypal
    got = [normalise(line) for line in extract_bytes(data, f"{name}.csv", **_options(name))]
    assert got == expected
    profile = paypal.inspect(io.BytesIO(data), "x.csv", ReadOptions(**_options(name)))
    assert profile.delimiter == delimiter
    assert profile.variant == (
        "statement"
        if VARIANTS[name].statement
        else "history-amount"
        if "amount" in VARIANTS[name].fields
        else "activity"
    )
    assert profile.language == VARIANTS[name].language
    want_encoding = {"utf-8-sig": ("utf-8", "bom"), "utf-16": ("utf-16-le", "bom")}.get(
        encoding, ("utf-8" if data.isascii() else encoding, "detected")
    )
    assert (profile.encoding, profile.encoding_source) == want_encoding


def _with_notes(name: str, notes: list[str]) -> list[Tx]:
    base = _transactions(name, "utf-8", count=len(notes) * 3)
    donations = [
        t for t in base if t.kind in ("donation", "website", "subscription", "mobile", "express")
    ][: len(notes)]
    assert len(donations) == len(notes)
    return [
        Tx(
            t.when,
            t.kind,
            t.currency,
            t.gross,
            t.fee,
            note=note,
            txn_id=t.txn_id,
            name=t.name,
            from_email=t.from_email,
        )
        for t, note in zip(donations, notes, strict=True)
    ]


def test_cp1251_notes_keep_their_cyrillic() -> None:
    notes = ["Пенза, сеть — 205", "two\nlines Пенза", "на 205"]
    data, expected = build(
        "en_activity_2018", _with_notes("en_activity_2018", notes), encoding="cp1251"
    )
    lines = extract_bytes(data)
    assert [dict(x.texts)["note"] for x in lines] == notes
    assert [normalise(x) for x in lines] == expected


def test_declared_encoding_is_used_and_reported() -> None:
    data, expected = build(
        "de_activity_2019", _transactions("de_activity_2019", "cp1252"), encoding="cp1252"
    )
    profile = paypal.inspect(io.BytesIO(data), "x.csv", ReadOptions(encoding="cp1252"))
    assert (profile.encoding, profile.encoding_source) == ("cp1252", "declared")
    assert [normalise(x) for x in extract_bytes(data, encoding="cp1252")] == expected


def test_cp1251_or_cp1252_undecidable_asks_for_encoding() -> None:
    head = '"Date","Time","TimeZone","Name","Type","Status","Currency","Gross","Fee","Net","Note"\n'
    row = (
        '"01/15/2021","10:00:00","PST","X","Donation Payment","Completed","USD","1.00",'
        '"0.00","1.00","{}"\n'
    )
    data = (head + row.format("NOTE1") + row.format("NOTE2")).encode("ascii")
    data = data.replace(b"NOTE1", b"\xcf\xe5\xed\xe7\xe0").replace(b"NOTE2", b"Gr\xfc\xdfe")
    _lines, errors = errors_of(data, "mixed.csv")
    assert [(e.file, e.line, e.column, e.message) for e in errors] == [
        ("mixed.csv", 2, 0, "cannot tell whether the file is cp1251 or cp1252; pass --encoding")
    ]
    lines = extract_bytes(data, encoding="cp1251")
    assert lines[0].texts == (("note", "Пенза"),)


def test_crlf_and_multiline_notes_keep_physical_line_numbers() -> None:
    notes = ["one", "two\nlines", "three\r\nlines\nhere", "four"]
    data, expected = build(
        "en_activity_custom_2019", _with_notes("en_activity_custom_2019", notes), newline="\r\n"
    )
    lines = extract_bytes(data)
    assert [x.line_no for x in lines] == [2, 3, 5, 8] == [e["line_no"] for e in expected]
    assert [dict(x.texts)["note"] for x in lines] == notes


def test_formula_looking_notes_stay_plain_text() -> None:
    formulas = [
        '=HYPERLINK("http://evil","205")',
        "+cmd|' /C calc'!A0",
        "@SUM(1+1)",
        "-2+3",
        "\t=1",
        "\r=1",
    ]
    data, _ = build("en_activity_2018", _with_notes("en_activity_2018", formulas))
    assert [dict(x.texts)["note"] for x in extract_bytes(data)] == formulas


# --- golden files ---------------------------------------------------------------------------

GOLDEN_CASES = {
    "en_activity_2018_utf8": ("en_activity_2018", "utf-8", ",", {}),
    "de_activity_2019_bom_semicolon": ("de_activity_2019", "utf-8-sig", ";", {}),
    "es_statement_utf16": ("es_statement", "utf-16", ",", {}),
    "en_history_2016": ("en_history_2016", "utf-8", ",", {}),
    "en_custom_2019_cp1251": ("en_activity_custom_2019", "cp1251", ",", {}),
    "fr_statement_cp1252_tab": ("fr_statement", "cp1252", "\t", {}),
    "en_history_amount": ("en_history_amount", "utf-8", ",", {"currency": "USD"}),
}


def _golden_record(data: bytes, options: dict[str, Any]) -> dict[str, Any]:
    profile = paypal.inspect(io.BytesIO(data), "golden.csv", ReadOptions(**options))
    lines = extract_bytes(data, "golden.csv", **options)
    return {"profile": profile.as_dict(), "lines": [normalise(x, full=True) for x in lines]}


@pytest.mark.parametrize("case", sorted(GOLDEN_CASES))
def test_golden(case: str) -> None:
    name, encoding, delimiter, options = GOLDEN_CASES[case]
    data, _ = build(
        name,
        _transactions(name, encoding, count=12, seed=11),
        encoding=encoding,
        delimiter=delimiter,
    )
    csv_path, json_path = GOLDEN / f"{case}.csv", GOLDEN / f"{case}.json"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.mkdir(exist_ok=True)
        csv_path.write_bytes(data)
        json_path.write_text(
            json.dumps(_golden_record(data, options), ensure_ascii=False, indent=1) + "\n",
            encoding="utf-8",
        )
    assert csv_path.read_bytes() == data, "the factory changed: UPDATE_GOLDEN=1 and review"
    want = json.loads(json_path.read_text(encoding="utf-8"))
    assert _golden_record(csv_path.read_bytes(), options) == want
