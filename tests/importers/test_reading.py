"""Shared reading machinery: encodings, lines, CSV records, headers, the registry."""

from __future__ import annotations

import codecs
import io
import json
from types import SimpleNamespace

import pytest

from tests.importers.paypal_factory import build, extract_bytes, iter_transactions, normalise
from tracker.errors import InputError, InputErrors
from tracker.importers import FORMATS, ReadOptions, detect, get_format, paypal
from tracker.importers.encoding import detect_encoding
from tracker.importers.reading import (
    CHUNK_SIZE,
    CsvFile,
    Encoding,
    ErrorSink,
    LineReader,
    normalise_name,
    sniff_header,
)  # fmt: skip
from tracker.records import Provider

HEAD = '"Date","Time","TimeZone","Name","Type","Status","Currency","Gross","Fee","Net","Note"\n'
ROW = (
    '"01/15/2021","10:00:00","PST","X","Donation Payment","Completed","USD","1.00","0.00",'
    '"1.00","{}"\n'
)


def enc(data: bytes, declared: str | None = None) -> tuple[str, str, int]:
    found = detect_encoding(io.BytesIO(data), "f.csv", declared)
    return found.name, found.source, found.skip


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (codecs.BOM_UTF8 + b"a,b\n", ("utf-8", "bom", 3)),
        (codecs.BOM_UTF16_LE + "a,b\n".encode("utf-16-le"), ("utf-16-le", "bom", 2)),
        (codecs.BOM_UTF16_BE + "a,b\n".encode("utf-16-be"), ("utf-16-be", "bom", 2)),
        ((HEAD + ROW.format("Grüße")).encode("utf-16-le"), ("utf-16-le", "detected", 0)),
        ((HEAD + ROW.format("Grüße")).encode("utf-16-be"), ("utf-16-be", "detected", 0)),
        ((HEAD + ROW.format("Grüße")).encode("utf-8"), ("utf-8", "detected", 0)),
        ((HEAD + ROW.format("Grüße aus München")).encode("cp1252"), ("cp1252", "detected", 0)),
        ((HEAD + ROW.format("Пенза на 205")).encode("cp1251"), ("cp1251", "detected", 0)),
        (b"", ("utf-8", "detected", 0)),
    ],
)
def test_encoding_detection(data: bytes, expected: tuple[str, str, int]) -> None:
    assert enc(data) == expected


def test_bom_beats_declared_and_declared_beats_detection() -> None:
    assert enc(codecs.BOM_UTF8 + b"a,b\n", "cp1252") == ("utf-8", "bom", 3)
    assert enc(b"a,b\n", "latin-1") == ("iso8859-1", "declared", 0)
    with pytest.raises(InputError, match="unknown encoding 'base64' in --encoding"):
        enc(b"a,b\n", "base64")  # a codec, but not a text encoding


def test_truncated_utf8_at_the_end_is_reported_not_misdetected() -> None:
    data = (HEAD + ROW.format("ü")).encode()
    cut = data[: data.index("ü".encode()) + 1]
    assert enc(cut) == ("utf-8", "detected", 0)
    with pytest.raises(InputErrors) as caught:
        list(paypal.extract(io.BytesIO(cut), "t.csv", ReadOptions()))
    assert (caught.value.errors[0].line, caught.value.errors[0].message) == (
        2,
        "the file ends inside a utf-8 character (is it truncated?)",
    )


def test_lines_across_chunk_boundaries_in_multibyte_encodings() -> None:
    txs = list(iter_transactions("en", count=900, seed=4, charset="cyrillic"))
    for encoding in ("utf-8", "utf-16", "cp1251"):
        data, expected = build("en_activity_2018", txs, encoding=encoding)
        assert len(data) > 3 * CHUNK_SIZE
        assert [normalise(x) for x in extract_bytes(data)] == expected


def test_line_reader_counts_and_keeps_line_ends() -> None:
    data = b"a\r\nb\n\nc"
    reader = LineReader(io.BytesIO(data), "f", Encoding("utf-8", "detected"))
    assert list(reader) == ["a\r\n", "b\n", "\n", "c\n"]
    assert (reader.lines_done, reader.unterminated) == (4, 4)


def test_header_names_are_normalised() -> None:
    assert normalise_name("  Fee ") == "fee"
    assert normalise_name("\ufeffTime  Zone") == "time zone"
    full_width_gross = "\uff27\uff32\uff2f\uff33\uff33"
    assert normalise_name(full_width_gross) == "gross"  # NFKC folds full-width letters
    assert sniff_header(b'"Datum", "Uhrzeit", "Zeitzone"\n') == ("datum", "uhrzeit", "zeitzone")
    assert sniff_header(b"Date, Time, Time Zone,\n") == ("date", "time", "time zone", "")
    assert sniff_header(b"no delimiters here\n") is None
    assert sniff_header(b"\xff\xfe" + "a\tb\n".encode("utf-16-le")) == ("a", "b")


def test_csv_file_header_and_rows() -> None:
    data = b'\n"A";"B";;\n"1";"2"\n"3";"4";;\n'
    sink = ErrorSink("f.csv")
    csv_file = CsvFile(io.BytesIO(data), "f.csv", Encoding("utf-8", "detected"), sink)
    assert (
        csv_file.delimiter,
        csv_file.header.line,
        csv_file.header.names,
        csv_file.header.width,
    ) == (";", 2, ("A", "B"), 4)
    assert list(csv_file.rows()) == [(3, ["1", "2"])]
    assert [(e.line, e.message) for e in sink.errors] == [
        (4, "the line has 4 cells but the lines before have 2")
    ]


def test_error_sink_keeps_the_first_errors_and_counts_all() -> None:
    sink = ErrorSink("f.csv", max_errors=2)
    for line in range(5):
        sink.add(line + 2, "Gross", "bad")
    assert (len(sink.errors), sink.total) == (2, 5)
    with pytest.raises(InputErrors) as caught:
        sink.raise_if_any()
    assert caught.value.total == 5


def test_read_options_refuse_impossible_values() -> None:
    with pytest.raises(ValueError, match="date_order"):
        ReadOptions(date_order="dym")
    with pytest.raises(ValueError, match="decimal_mark"):
        ReadOptions(decimal_mark=";")


def test_profile_is_json_ready() -> None:
    data, _ = build("en_activity_2018", iter_transactions("en", count=3))
    profile = paypal.inspect(io.BytesIO(data), "p.csv", ReadOptions())
    record = json.loads(json.dumps(profile.as_dict()))
    assert record["format_id"] == "paypal" and record["columns"]["gross"] == "Gross"


# --- registry -------------------------------------------------------------------------------


def test_registry() -> None:
    assert {"paypal": paypal} == FORMATS
    assert get_format("paypal") is paypal
    assert paypal.PROVIDER is Provider.PAYPAL
    with pytest.raises(KeyError):
        get_format("stripe")


def test_detect_refuses_ambiguity(monkeypatch: pytest.MonkeyPatch) -> None:
    greedy = SimpleNamespace(
        FORMAT_ID="greedy",
        PROVIDER=Provider.BANK,
        EXPECTED="anything",
        identify=lambda head, filename: True,
    )
    monkeypatch.setitem(FORMATS, "greedy", greedy)  # type: ignore[arg-type]
    data = (HEAD + ROW.format("x")).encode()
    with pytest.raises(InputError) as caught:
        detect(data, "two.csv")
    assert caught.value.message == "several formats match this file (paypal, greedy); pass --format"
    monkeypatch.delitem(FORMATS, "paypal")
    assert detect(data, "two.csv") is greedy


def test_detect_nothing() -> None:
    with pytest.raises(InputError) as caught:
        detect(b"", "empty.csv")
    assert caught.value.message.startswith("no known export format matches this file.")
    assert "PayPal: a header with Date, Time, Time Zone" in caught.value.message
