"""Cell parsers: decimal-mark and date-order evidence, strict amounts and dates (P11, P12)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker.errors import MoneyError
from tracker.importers.cells import (
    AmountParser,
    CellError,
    DateOrderVote,
    DateParser,
    DecimalMarkVote,
    mark_evidence,
    parse_time,
    shown,
)  # fmt: skip
from tracker.money import parse_amount


@pytest.mark.parametrize(
    ("text", "mark"),
    [
        ("1.234,56", ","),
        ("-41,00", ","),
        ("4.626,81", ","),
        ("-2\u00a0026,41", ","),
        ("1 234,56", ","),
        ("1.234.567", ","),
        (",5", ","),
        ("1,234.56", "."),
        ("41.5", "."),
        ("(12.50)", "."),
        ("12.50-", "."),
        ("\u221212.50", "."),
        ("1,234,567", "."),
        ("-14,000.00", "."),
        ("1,234", None),
        ("1.234", None),
        ("12", None),
        ("12.5.0", None),
        ("1e3", None),
        ("NaN", None),
        ("...", None),
        ("", None),
        ("1.2.3,45", None),
        ("0.001", None),
    ],
)
def test_mark_evidence(text: str, mark: str | None) -> None:
    assert mark_evidence(text) == mark


def test_decimal_mark_vote() -> None:
    vote = DecimalMarkVote()
    vote.feed("12", 2, "Gross")
    assert vote.decide() == (".", "irrelevant")
    vote.feed("1,234", 3, "Gross")
    assert vote.decide() == (None, "ambiguous") and vote.undecided_line == 3
    vote.feed("-41,00", 4, "Fee")
    assert vote.decide() == (",", "detected")
    vote.feed("1.5", 5, "Net")
    assert vote.decide() == (None, "conflict") and vote.conclusive
    assert vote.first == {",": (4, "Fee"), ".": (5, "Net")}


def test_date_order_vote() -> None:
    vote = DateOrderVote()
    vote.feed("5/5/2016", 2)
    assert vote.decide() == ("dmy", "irrelevant")
    vote.feed("6/4/2016", 3)
    assert vote.decide() == (None, "ambiguous") and vote.ambiguous_line == 3
    vote.feed("10/19/2019", 4)
    assert vote.decide() == ("mdy", "detected")
    vote.feed("29/12/2015", 5)
    assert vote.decide() == (None, "conflict") and vote.first == {"mdy": 4, "dmy": 5}
    ymd = DateOrderVote()
    ymd.feed("2020-01-02", 7)
    assert ymd.decide() == ("ymd", "detected")


@pytest.mark.parametrize(
    ("order", "text", "value"),
    [
        ("dmy", "29/12/2015", date(2015, 12, 29)),
        ("dmy", "15.10.2019", date(2019, 10, 15)),
        ("mdy", "1/17/2020", date(2020, 1, 17)),
        ("ymd", "2020-01-17", date(2020, 1, 17)),
        ("dmy", "29.02.2020", date(2020, 2, 29)),
    ],
)
def test_dates(order: str, text: str, value: date) -> None:
    assert DateParser(order).parse(text, "Date") == value


@pytest.mark.parametrize(
    ("order", "text", "message"),
    [
        ("dmy", "31/02/2021", "the date '31/02/2021' does not exist"),
        ("dmy", "29/02/2021", "the date '29/02/2021' does not exist"),
        ("dmy", "12/13/2021", "the date '12/13/2021' is not in the file's order D/M/Y"),
        ("ymd", "13/12/2021", "the date '13/12/2021' is not in the file's order Y/M/D"),
        ("mdy", "1/1/0001", "the year of '1/1/0001' is outside 1900-2199"),
        ("ymd", "9999-12-31", "the year of '9999-12-31' is outside 1900-2199"),
    ],
)
def test_bad_dates(order: str, text: str, message: str) -> None:
    with pytest.raises(CellError) as caught:
        DateParser(order).parse(text, "Date")
    assert (caught.value.column, caught.value.message) == ("Date", message)


def test_times() -> None:
    assert parse_time("7:05", "Time").isoformat() == "07:05:00"
    with pytest.raises(CellError, match="does not exist"):
        parse_time("23:59:60", "Time")


@pytest.mark.parametrize(
    ("text", "mark", "currency", "value"),
    [
        ("1.234,56", ",", "EUR", "1234.56"),
        ("1,234.56", ".", "USD", "1234.56"),
        ("(12.50)", ".", "USD", "-12.50"),
        ("12.50-", ".", "USD", "-12.50"),
        ("\u221212.50", ".", "USD", "-12.50"),
        ("1 234,56", ",", "EUR", "1234.56"),
        ("1000", ".", "JPY", "1000"),
        ("1.500", ".", "KWD", "1.500"),
        ("-0.00", ".", "EUR", "0.00"),
    ],
)
def test_amounts(text: str, mark: str, currency: str, value: str) -> None:
    result = AmountParser(mark).parse(text, currency, "Gross")
    assert result == Decimal(value) and str(result) == value


@pytest.mark.parametrize(
    ("text", "mark", "currency", "reason"),
    [
        ("1e3", ".", "USD", "not a number"),
        ("NaN", ".", "USD", "not a number"),
        ("Infinity", ".", "USD", "not a number"),
        ("-inf", ".", "USD", "not a number"),
        (
            "123456789012345678901234567890",
            ".",
            "USD",
            "amount has more than 14 digits before the decimal mark",
        ),
        ("0.001", ".", "EUR", "0.001 has more decimal places than EUR allows (2)"),
        ("12.5", ".", "JPY", "12.5 has more decimal places than JPY allows (0)"),
        (
            "1,5",
            ".",
            "EUR",
            "misplaced thousands separator (is the decimal mark ',')?".replace("')?", "'?)"),
        ),
    ],
)
def test_amount_rejections(text: str, mark: str, currency: str, reason: str) -> None:
    with pytest.raises(CellError) as caught:
        AmountParser(mark).parse(text, currency, "Gross")
    assert caught.value.message.endswith(reason)


_AMOUNTS = st.one_of(
    st.from_regex(r"\A[-+(]?\d{0,16}([.,]\d{0,5})?[-)]?\Z"),
    st.from_regex(r"\A-?\d{1,3}([.,]\d{3}){0,5}([.,]\d{1,4})?\Z"),
    st.text(alphabet="0123456789.,- ()\u2212\u00a0+eE", max_size=24),
)


@given(
    text=_AMOUNTS,
    mark=st.sampled_from([".", ","]),
    currency=st.sampled_from(["EUR", "JPY", "KWD", "USD"]),
)
def test_fast_path_agrees_with_money_parse_amount(text: str, mark: str, currency: str) -> None:
    try:
        expected: Decimal | None = parse_amount(text, decimal_mark=mark, currency=currency)
    except MoneyError:
        expected = None
    try:
        got: Decimal | None = AmountParser(mark).parse(text, currency, "Gross")
    except CellError:
        got = None
    assert got == expected
    if expected is not None:
        assert got is not None and got.as_tuple().exponent == expected.as_tuple().exponent


def test_shown_never_repeats_identity_shaped_text() -> None:
    assert shown("12.50", "amount") == "'12.50'"
    assert shown("0.001 EUR", "amount") == "'0.001 EUR'"
    for secret in ("ann@example.org", "Ann Donor", "TID1234567"):
        assert shown(secret, "amount") == "(value not shown)"
        assert shown(secret, "date") == "(value not shown)"
    assert shown("America/Los_Angeles", "zone") == "'America/Los_Angeles'"
    assert shown("Ann Donor", "zone") == "(value not shown)"
