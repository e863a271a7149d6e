"""The error catalogue: each bad input beside the exact error it must give.

Every case states the file, physical line, column and message (habit 16;
ARCHITECTURE rule 9), and which lines are still yielded before the errors are
raised. Messages never contain identity values (names, e-mails, ids).
"""

from __future__ import annotations

import io
import random
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.importers.paypal_factory import errors_of, extract_bytes
from tracker.errors import InputError, InputErrors
from tracker.importers import ReadOptions, detect, paypal
from tracker.records import LineKind, LineStatus

HEADER = (
    "Date",
    "Time",
    "TimeZone",
    "Name",
    "Type",
    "Status",
    "Currency",
    "Gross",
    "Fee",
    "Net",
    "From Email Address",
    "Transaction ID",
    "Balance Impact",
    "Note",
)
GOOD = {
    "Date": "01/15/2021",
    "Time": "10:00:00",
    "TimeZone": "PST",
    "Name": "Ann Donor",
    "Type": "Donation Payment",
    "Status": "Completed",
    "Currency": "USD",
    "Gross": "10.00",
    "Fee": "-0.59",
    "Net": "9.41",
    "From Email Address": "ann@example.org",
    "Transaction ID": "T1",
    "Balance Impact": "Credit",
    "Note": "for 205",
}
F = "bad.csv"


def row(**cells: str) -> dict[str, str]:
    return {**GOOD, **cells}


def csv_bytes(*rows: dict[str, str], header: tuple[str, ...] = HEADER,
              end: str = "\n") -> bytes:  # fmt: skip
    def line(cells: list[str]) -> str:
        return ",".join('"' + c.replace('"', '""') + '"' for c in cells)

    text = (
        line(list(header))
        + "\n"
        + "".join(line([r.get(h, "") for h in header]) + "\n" for r in rows)
    )
    return (text[:-1] + end if rows else text).encode("utf-8")


def check(data: bytes, expected: list[tuple[int, int | str, str]], yielded: list[int],
          **options: Any) -> None:  # fmt: skip
    lines, errors = errors_of(data, F, **options)
    assert [(e.file, e.line, e.column, e.message) for e in errors] == [
        (F, line, column, message) for line, column, message in expected
    ]
    assert [x.line_no for x in lines] == yielded
    for e in errors:
        for secret in ("Ann Donor", "ann@example.org", "T1"):
            assert secret not in e.message


# --- whole-file problems ------------------------------------------------------------------


def test_empty_file() -> None:
    check(b"", [(1, 0, "the file is empty: no header line")], [])


def test_header_only_gives_no_lines() -> None:
    check(csv_bytes(), [], [])


def test_blank_lines_around_records_are_skipped() -> None:
    data = b"\n\n" + csv_bytes(row(), row()) + b"\n\n"
    check(data, [], [4, 5])


STRIPE = (
    b'"balance_transaction_id","created_utc","available_on_utc","currency","gross","fee",'
    b'"net","reporting_category","description"\n'
    b'"txn_1","2020-01-23 08:26:29","2020-01-30 00:00:00","usd","10.00","0.59","9.41",'
    b'"charge","Donation 205"\n'
)


def test_stripe_csv_is_not_paypal() -> None:
    assert paypal.identify(STRIPE, "stripe.csv") is False
    with pytest.raises(InputError) as caught:
        detect(STRIPE, "stripe.csv")
    assert (caught.value.file, caught.value.line, caught.value.column) == ("stripe.csv", 1, 0)
    assert caught.value.message == (
        "no known export format matches this file. Expected: PayPal: a header with Date, Time,"
        " Time Zone, Gross or Amount, and Type or Description (activity download, history or"
        " statement; en, de, it, es, fr)"
    )
    check(STRIPE, [(1, "Date", "the PayPal statement export (en) has no column Date")], [])


def test_missing_required_column() -> None:
    header = tuple(h for h in HEADER if h != "Gross")
    check(
        csv_bytes(row(), header=header),
        [(1, "Gross", "the PayPal activity export (en) has no column Gross")],
        [],
    )


def test_missing_column_is_named_in_the_file_language() -> None:
    header = ("Datum", "Uhrzeit", "Zeitzone", "Typ", "Status", "Währung", "Gebühr", "Netto")
    check(
        csv_bytes(header=header),
        [(1, "Brutto", "the PayPal activity export (de) has no column Brutto")],
        [],
    )


def test_missing_type_and_description() -> None:
    header = tuple(h for h in HEADER if h != "Type")
    check(
        csv_bytes(row(), header=header),
        [
            (
                1,
                "Type",
                (
                    "no Type or Description column: not a PayPal export this importer knows"
                    " (expected PayPal: a header with Date, Time, Time Zone, Gross or Amount,"
                    " and Type or Description (activity download, history or statement;"
                    " en, de, it, es, fr))"
                ),
            )
        ],
        [],
    )


def test_missing_zone_column_needs_the_option() -> None:
    header = tuple(h for h in HEADER if h != "TimeZone")
    data = csv_bytes(row(), header=header)
    check(data, [(1, "Time Zone", "the file has no time zone column; pass --timezone")], [])
    lines = extract_bytes(data, timezone="America/Los_Angeles")
    assert lines[0].occurred_at == datetime(2021, 1, 15, 18, tzinfo=UTC)


def test_same_field_twice() -> None:
    header = (*HEADER, "Available Balance", "Balance")
    check(
        csv_bytes(row(), header=header),
        [(1, "Balance", ("the columns Available Balance and Balance mean the same"))],
        [],
    )


def test_bad_options() -> None:
    check(
        csv_bytes(row()),
        [(0, 0, "unknown IANA time zone 'Mars/Base' in the timezone option")],
        [],
        timezone="Mars/Base",
    )
    check(csv_bytes(row()), [(0, 0, "unknown currency in --currency")], [], currency="ZZZ")
    check(
        csv_bytes(row()),
        [(0, 0, "unknown encoding 'klingon' in --encoding")],
        [],
        encoding="klingon",
    )


def test_binary_garbage() -> None:
    data = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    with pytest.raises(InputError):
        detect(data, F)
    check(
        data,
        [
            (
                3,
                0,
                "NUL byte at byte 8: the file is binary or in an unknown encoding; pass --encoding",
            )
        ],
        [],
    )


def test_random_garbage_is_an_input_error() -> None:
    rnd = random.Random(5)
    for _ in range(20):
        data = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 3000)))
        _lines, errors = errors_of(data, F)
        assert errors and all(isinstance(e, InputError) for e in errors)


def test_nul_byte_is_rejected_with_its_line() -> None:
    data = csv_bytes(row(), row(Note="a\x00b"), row())
    check(
        data,
        [(3, 0, "NUL character in the line: the file is binary or not utf-8; pass --encoding")],
        [],
    )


def test_undecodable_bytes_later_in_the_file() -> None:
    good = csv_bytes(row())
    data = good + (
        '"01/16/2021","10:00:00","PST","X","Donation Payment","Completed","USD",'
        '"1.00","0.00","1.00","","T9","Credit","Gr\xfc\xdfe"\n'
    ).encode("cp1252")
    data = good + b"\n" * 300_000 + data[len(good) :]  # past the sample: utf-8 was decided
    check(
        data,
        [
            (
                300_003,
                0,
                "byte 0xFC is not valid utf-8; pass --encoding if the file is in another encoding",
            )
        ],
        [2],
    )
    lines = extract_bytes(data, encoding="cp1252")
    assert dict(lines[-1].texts)["note"] == "Grüße"


# --- structure -------------------------------------------------------------------------------


def _unquoted(cells: dict[str, str]) -> str:
    return ",".join(cells[h] for h in HEADER) + "\n"


def test_unterminated_quote_reports_where_it_opened() -> None:
    lines = csv_bytes(row(), row(Note="two\nlines"), row()).decode().splitlines(True)
    broken = lines[4].replace('"for 205"', '"for 205')  # line 5: the note never closes
    data = "".join(lines[:4] + [broken] + [_unquoted(row(Note="later"))] * 3).encode()
    check(data, [(5, 0, "a quote opened in this line is never closed")], [2, 3])
    # a quote closed too early is caught where the record starts
    data = "".join([*lines[:4], broken, *lines[1:2]]).encode()
    check(
        data, [(5, 0, "a closing quote must be followed by the delimiter or the line end")], [2, 3]
    )


def test_unterminated_quote_longer_than_a_field() -> None:
    lines = csv_bytes(row(), row()).decode().splitlines(True)
    broken = lines[2].replace('"for 205"', '"for 205')
    data = "".join(lines[:2] + [broken] + [_unquoted(row(Note="later"))] * 2000).encode()
    check(
        data, [(3, 0, "a field is longer than 131072 characters (is a quote never closed?)")], [2]
    )


def test_truncated_inside_a_quoted_field() -> None:
    data = csv_bytes(row(), row())
    check(data[:-12], [(3, 0, "a quote opened in this line is never closed")], [2])


def test_truncated_at_a_clean_boundary() -> None:
    data = csv_bytes(row(), row())
    check(data[:-1], [], [2, 3])  # the last line end is missing: still a whole record
    cut = data.rindex(b',"')  # between two cells of the last line
    check(data[:cut], [(3, 0, "the line has 13 cells but the header has 14")], [2])


def test_cells_after_a_closing_quote() -> None:
    data = csv_bytes(row(), row()).replace(b'"for 205"\n"01', b'"for 205"x\n"01', 1)
    check(data, [(2, 0, "a closing quote must be followed by the delimiter or the line end")], [3])


def test_wrong_number_of_cells() -> None:
    data = csv_bytes(row(), row()).replace(b'"for 205"\n', b'"for 205","extra"\n', 1)
    check(data, [(2, 0, "the line has 15 cells but the header has 14")], [3])


def test_huge_field_is_an_error() -> None:
    data = csv_bytes(row(), row(Note="x" * 200_000), row())
    check(
        data, [(3, 0, "a field is longer than 131072 characters (is a quote never closed?)")], [2]
    )


def test_header_with_100000_columns() -> None:
    header = (*HEADER, *(f"c{i}" for i in range(100_000)))
    check(
        csv_bytes(header=header),
        [(1, 0, "the header has 100014 columns; at most 4096 are allowed")],
        [],
    )


def test_row_with_100000_cells() -> None:
    data = csv_bytes(row()) + b'"x",' * 100_000 + b'"x"\n'
    check(data, [(3, 0, "the line has 100001 cells but the header has 14")], [2])


BOUNDED = textwrap.dedent("""
    import io, resource, sys
    from tracker.errors import InputError, InputErrors
    from tracker.importers import ReadOptions, paypal

    class Endless(io.RawIOBase):
        '''{size} bytes: a header, then one line that never ends.'''
        def __init__(self, head, size):
            self.head, self.size, self.pos = head, size, 0
        def readable(self): return True
        def seekable(self): return True
        def seek(self, pos, whence=0):
            self.pos = pos if whence == 0 else self.size
            return self.pos
        def tell(self): return self.pos
        def readinto(self, buffer):
            n = min(len(buffer), self.size - self.pos)
            head = self.head[self.pos:self.pos + n]
            buffer[:len(head)] = head
            buffer[len(head):n] = b"x" * (n - len(head))
            self.pos += n
            return n

    head = open(sys.argv[1], "rb").read()
    stream = io.BufferedReader(Endless(head, {size}))
    try:
        list(paypal.extract(stream, "big.csv", ReadOptions()))
    except (InputError, InputErrors) as exc:
        print(str(exc))
    # VmHWM belongs to this process's memory map; ru_maxrss would carry the
    # high-water mark of the (forked) parent across exec.
    with open("/proc/self/status") as status:
        print(next(int(l.split()[1]) for l in status if l.startswith("VmHWM")) // 1024)
""")


@pytest.mark.parametrize(("size", "what"), [(50 * 2**20, "50 MB field"), (2**30, "1 GB line")])
def test_huge_line_in_bounded_memory(tmp_path: Path, size: int, what: str) -> None:
    head = tmp_path / "head.csv"
    head.write_bytes(csv_bytes() + b'"01/15/2021","10:00:00","PST","')
    result = subprocess.run(
        [sys.executable, "-c", BOUNDED.format(size=size), str(head)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    message, rss_mb = result.stdout.strip().rsplit("\n", 1)
    assert message == "big.csv:2: the line is longer than 1048576 characters", what
    assert int(rss_mb) < 150, f"{what}: peak RSS {rss_mb} MB"


# --- cells -----------------------------------------------------------------------------------


def test_lines_before_and_after_an_error_are_yielded() -> None:
    data = csv_bytes(row(), row(Gross="ten"), row())
    check(data, [(3, "Gross", "cannot read the amount (value not shown): not a number")], [2, 4])


def test_error_budget_counts_the_rest() -> None:
    data = csv_bytes(*[row(Gross="1.2.3")] * 150, row())
    with pytest.raises(InputErrors) as caught:
        list(paypal.extract(io.BytesIO(data), F, ReadOptions(max_errors=100)))
    assert (len(caught.value.errors), caught.value.total) == (100, 150)
    assert str(caught.value).endswith("... and 50 more")


@pytest.mark.parametrize(
    ("gross", "fee", "net", "message"),
    [
        ("1e3", "0.00", "1e3", "cannot read the amount '1e3': not a number"),
        ("NaN", "0.00", "NaN", "cannot read the amount 'NaN': not a number"),
        ("Infinity", "0.00", "Infinity", "cannot read the amount 'Infinity': not a number"),
        (
            "123456789012345678901234567890.00",
            "0.00",
            "1.00",
            "cannot read the amount '123456789012345678901234567890.00': amount has more than 14"
            " digits before the decimal mark",
        ),
        (
            "0.001",
            "0.00",
            "0.001",
            "cannot read the amount '0.001': 0.001 has more decimal places than USD allows (2)",
        ),
        ("12.5.0", "0.00", "12.5.0", "cannot read the amount '12.5.0': more than one decimal mark"),
        ("", "0.00", "1.00", "cannot read the amount '': amount is empty"),
        (
            "ann@example.org",
            "0.00",
            "1.00",
            "cannot read the amount (value not shown): not a number",
        ),
    ],
)
def test_unreadable_amounts(gross: str, fee: str, net: str, message: str) -> None:
    check(csv_bytes(row(), row(Gross=gross, Fee=fee, Net=net)), [(3, "Gross", message)], [2])


@pytest.mark.parametrize(
    ("gross", "value"),
    [
        ("(12.50)", "-12.50"),
        ("12.50-", "-12.50"),
        ("\u221212.50", "-12.50"),
        ("1,234.56", "1234.56"),
        ("+7", "7.00"),
        ("0.5", "0.50"),
    ],
)
def test_readable_amount_spellings(gross: str, value: str) -> None:
    lines = extract_bytes(csv_bytes(row(Gross=gross, Fee="0.00", Net=gross)))
    assert lines[0].gross == Decimal(value) and lines[0].fee == Decimal("0.00")


def test_decimal_comma_with_grouping() -> None:
    data = csv_bytes(
        row(Gross="1.234,56", Fee="-0,59", Net="1.233,97"),
        row(Gross="1 234,56", Fee="0,00", Net="1 234,56"),
    )
    lines = extract_bytes(data)
    assert [x.gross for x in lines] == [Decimal("1234.56")] * 2
    assert [x.fee for x in lines] == [Decimal("0.59"), Decimal("0.00")]


def test_conflicting_decimal_marks() -> None:
    data = csv_bytes(row(), row(Gross="1,50", Fee="0,00", Net="1,50"))
    check(
        data,
        [(3, "Gross", "this amount has decimal mark ',' but line 2 has '.'; pass --decimal-mark")],
        [],
    )
    check(
        data,
        [
            (
                3,
                "Gross",
                "cannot read the amount '1,50': misplaced thousands separator"
                " (is the decimal mark ',')?".replace("')?", "'?)"),
            )
        ],
        [2],
        decimal_mark=".",
    )


def test_undecidable_decimal_mark() -> None:
    data = csv_bytes(row(Gross="1,000", Fee="0", Net="1,000"))
    check(
        data,
        [(2, 0, "cannot tell whether ',' or '.' is the decimal mark; pass --decimal-mark")],
        [],
    )
    assert extract_bytes(data, decimal_mark=".")[0].gross == Decimal("1000.00")


def test_net_must_be_gross_plus_fee() -> None:
    check(
        csv_bytes(row(Net="9.40")), [(2, "Net", "net 9.40 is not gross 10.00 plus fee -0.59")], []
    )


def test_unknown_currency() -> None:
    check(csv_bytes(row(), row(Currency="ABC")), [(3, "Currency", "unknown currency 'ABC'")], [2])


def test_unknown_balance_impact() -> None:
    check(
        csv_bytes(row(**{"Balance Impact": "Sideways"})),
        [(2, "Balance Impact", "unknown balance impact")],
        [],
    )


@pytest.mark.parametrize(
    ("date", "message"),
    [
        ("02/31/2021", "the date '02/31/2021' does not exist"),
        ("02/29/2021", "the date '02/29/2021' does not exist"),
        ("13/32/2021", "the date '13/32/2021' does not exist"),
        ("01/01/0001", "the year of '01/01/0001' is outside 1900-2199"),
        ("12/31/9999", "the year of '12/31/9999' is outside 1900-2199"),
        ("2021/1", "cannot read the date '2021/1'"),
        ("yesterday", "cannot read the date (value not shown)"),
        ("01/15/21", "the date '01/15/21' does not have a four-digit year"),
    ],
)
def test_bad_dates(date: str, message: str) -> None:
    check(csv_bytes(row(), row(Date=date)), [(3, "Date", message)], [2])


def test_leap_day_in_a_leap_year() -> None:
    lines = extract_bytes(csv_bytes(row(), row(Date="02/29/2020")))
    assert lines[1].occurred_at == datetime(2020, 2, 29, 18, tzinfo=UTC)


def test_conflicting_date_orders() -> None:
    data = csv_bytes(row(), row(Date="15/01/2021"))
    check(
        data,
        [(3, "Date", "this date is in order DMY but line 2 is in order MDY; pass --date-order")],
        [],
    )
    check(
        data,
        [(3, "Date", "the date '15/01/2021' is not in the file's order M/D/Y")],
        [2],
        date_order="mdy",
    )


def test_ambiguous_dates_need_the_option() -> None:
    data = csv_bytes(row(Date="06/04/2016"), row(Date="07/04/2016"))
    check(
        data,
        [
            (
                2,
                "Date",
                "every date fits both day/month and month/day order; pass --date-order dmy or mdy",
            )
        ],
        [],
    )
    assert extract_bytes(data, date_order="dmy")[0].occurred_at.month == 4
    same = csv_bytes(row(Date="05/05/2016"))  # day = month: the order does not matter
    assert extract_bytes(same)[0].occurred_at.day == 5


@pytest.mark.parametrize(
    ("time", "message"),
    [
        ("24:00:00", "the time '24:00:00' does not exist"),
        ("29:18:53", "the time '29:18:53' does not exist"),
        ("10:61:00", "the time '10:61:00' does not exist"),
        ("noon", "cannot read the time (value not shown)"),
    ],
)
def test_bad_times(time: str, message: str) -> None:
    check(csv_bytes(row(), row(Time=time)), [(3, "Time", message)], [2])


# --- time zones (P12) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("date", "time", "zone", "utc"),
    [
        ("03/14/2021", "02:30:00", "America/Los_Angeles", datetime(2021, 3, 14, 10, 30)),  # gap
        ("11/07/2021", "01:30:00", "America/Los_Angeles", datetime(2021, 11, 7, 8, 30)),  # overlap
        ("07/04/2021", "12:00:00", "PDT", datetime(2021, 7, 4, 19, 0)),
        ("01/15/2021", "12:00:00", "MEZ", datetime(2021, 1, 15, 11, 0)),
        ("07/15/2021", "12:00:00", "MESZ", datetime(2021, 7, 15, 10, 0)),
        ("07/15/2021", "12:00:00", "BST", datetime(2021, 7, 15, 11, 0)),
        ("07/15/2021", "12:00:00", "UTC+02:00", datetime(2021, 7, 15, 10, 0)),
        ("02/29/2020", "23:30:00", "GMT", datetime(2020, 2, 29, 23, 30)),
    ],
)
def test_zones_to_utc(date: str, time: str, zone: str, utc: datetime) -> None:
    lines = extract_bytes(csv_bytes(row(Date=date, Time=time, TimeZone=zone)), date_order="mdy")
    assert lines[0].occurred_at == utc.replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "message"),
    [
        ("XYZ", "unknown time zone 'XYZ'; pass --timezone with an IANA zone"),
        ("IST", "time zone 'IST' is ambiguous; pass --timezone with an IANA zone"),
        ("CST", "time zone 'CST' is ambiguous; pass --timezone with an IANA zone"),
        ("", "the time zone is empty; pass --timezone with an IANA zone"),
        (
            "Mars/Olympus_Mons",
            "unknown time zone 'Mars/Olympus_Mons'; pass --timezone with an IANA zone",
        ),
    ],
)
def test_unresolvable_zones(zone: str, message: str) -> None:
    check(csv_bytes(row(), row(TimeZone=zone)), [(3, "TimeZone", message)], [2])


@pytest.mark.parametrize(
    ("zone", "option", "utc"),
    [
        ("IST", "Asia/Kolkata", datetime(2021, 7, 15, 6, 30)),
        ("IST", "Europe/Dublin", datetime(2021, 7, 15, 11, 0)),
        ("CST", "America/Chicago", datetime(2021, 7, 15, 18, 0)),  # CST named in summer: -6
        ("CST", "Asia/Shanghai", datetime(2021, 7, 15, 4, 0)),
        ("PST", "Asia/Manila", datetime(2021, 7, 15, 4, 0)),
        ("XYZ", "Europe/Berlin", datetime(2021, 7, 15, 10, 0)),
        ("", "Europe/Berlin", datetime(2021, 7, 15, 10, 0)),
    ],
)
def test_zone_option_resolves_abbreviations(zone: str, option: str, utc: datetime) -> None:
    data = csv_bytes(row(Date="07/15/2021", Time="12:00:00", TimeZone=zone))
    lines = extract_bytes(data, timezone=option)
    assert lines[0].occurred_at == utc.replace(tzinfo=UTC)


# --- mapping ---------------------------------------------------------------------------------


def test_unknown_type_is_kept_as_other() -> None:
    lines = extract_bytes(csv_bytes(row(Type="Something New From PayPal")))
    assert (lines[0].kind, lines[0].provider_type) == (LineKind.OTHER, "Something New From PayPal")


def test_type_and_status_matching_tolerates_spaces_and_case() -> None:
    lines = extract_bytes(
        csv_bytes(
            row(Type="Bank Deposit to PP Account ", Status=" pending"),
            row(Type="general currency conversion"),
        )
    )
    assert (lines[0].kind, lines[0].status) == (LineKind.TRANSFER, LineStatus.PENDING)
    assert lines[1].kind is LineKind.CONVERSION


def test_memo_without_balance_impact_column() -> None:
    header = tuple(h for h in HEADER if h != "Balance Impact")
    lines = extract_bytes(csv_bytes(row(Type="General Authorization"), row(), header=header))
    assert [x.affects_balance for x in lines] == [False, True]


def test_identity_fields_and_readable_columns() -> None:
    lines = extract_bytes(csv_bytes(row(), row(Gross="-5.00", Fee="0.00", Net="-5.00")))
    incoming, outgoing = lines
    assert (incoming.external_id, incoming.counterparty) == ("T1", "ann@example.org")
    assert outgoing.counterparty == "Ann Donor"  # no To column: the name
    readable = dict(incoming.readable)
    assert set(readable) == {
        "Date",
        "Time",
        "TimeZone",
        "Type",
        "Status",
        "Currency",
        "Gross",
        "Fee",
        "Net",
        "Balance Impact",
        "Note",
    }
    assert dict(incoming.raw) == GOOD
    assert incoming.texts == (("note", "for 205"),)
