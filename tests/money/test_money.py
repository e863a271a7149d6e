"""Exact money: parsing, quantising, splitting (RELIABILITY.md L1, P11)."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker import money
from tracker.errors import MoneyError

CURRENCIES = {0: "JPY", 2: "EUR", 3: "KWD"}


@pytest.mark.parametrize(("code", "digits"), [("EUR", 2), ("JPY", 0), ("KWD", 3), ("rub", 2), ("CLF", 4)])
def test_exponent_comes_from_iso_data(code: str, digits: int) -> None:
    assert money.exponent(code) == digits


@pytest.mark.parametrize("code", ["EURO", "XYZ", "", "12", "€"])
def test_unknown_currency_is_refused(code: str) -> None:
    with pytest.raises(MoneyError):
        money.normalise_currency(code)


def test_quantize_refuses_to_round() -> None:
    assert money.quantize(Decimal("1.5"), "EUR") == Decimal("1.50")
    assert str(money.quantize(Decimal("1.5"), "EUR")) == "1.50"
    with pytest.raises(MoneyError):
        money.quantize(Decimal("1.505"), "EUR")
    with pytest.raises(MoneyError):
        money.quantize(Decimal("1.5"), "JPY")
    assert money.quantize(Decimal("1.505"), "KWD") == Decimal("1.505")


def test_float_is_refused_everywhere() -> None:
    float_value = 0.1 + 0.2
    with pytest.raises(MoneyError):
        money.quantize(float_value, "EUR")  # type: ignore[arg-type]
    with pytest.raises(MoneyError):
        money.split(Decimal("1.00"), {"a": float_value}, "EUR")  # type: ignore[dict-item]
    with pytest.raises(MoneyError):
        money.parse_amount(float_value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "mark", "expected"),
    [
        ("1,234.56", ".", "1234.56"),
        ("1.234,56", ",", "1234.56"),
        ("1 234,56", ",", "1234.56"),
        ("1\u00a0234,56", ",", "1234.56"),
        ("(12.50)", ".", "-12.50"),
        ("12.50-", ".", "-12.50"),
        ("\u221212.50", ".", "-12.50"),
        ("+7", ".", "7"),
        ("-41,00", ",", "-41.00"),
        ("0.99", ".", "0.99"),
        (".5", ".", "0.5"),
    ],
)
def test_parse_amount_accepts(text: str, mark: str, expected: str) -> None:
    assert money.parse_amount(text, decimal_mark=mark) == Decimal(expected)


@pytest.mark.parametrize(
    ("text", "mark"),
    [
        ("1e3", "."),
        ("NaN", "."),
        ("Infinity", "."),
        ("-Infinity", "."),
        ("1" * 30, "."),
        ("", "."),
        ("--5", "."),
        ("(-5)", "."),
        ("1,5", "."),
        ("1.234.5", ","),
        ("12,34,567.00", "."),
        ("1.234,56", "."),
        ("abc", "."),
        ("1 234.5 6", "."),
        ("0x10", "."),
    ],
)
def test_parse_amount_rejects(text: str, mark: str) -> None:
    with pytest.raises(MoneyError):
        money.parse_amount(text, decimal_mark=mark)


def test_more_precision_than_the_currency_is_rejected_not_rounded() -> None:
    with pytest.raises(MoneyError):
        money.parse_amount("0.001", currency="EUR")
    assert money.parse_amount("0.001", currency="KWD") == Decimal("0.001")


def test_format_money_through_babel() -> None:
    assert money.format_money(Decimal("1234.5"), "EUR", "en") == "€1,234.50"
    assert money.format_money(Decimal("1234.5"), "RUB", "ru") == "1\xa0234,50\xa0₽"
    # formatted amounts are remembered: equal amounts in one currency and language show alike,
    # and the same amount still shows per its currency and language
    assert money.format_money(Decimal("10.0"), "EUR", "en") == money.format_money(Decimal("10.00"), "EUR", "en") == "€10.00"
    assert money.format_money(Decimal("10"), "USD", "en") == "$10.00"
    assert money.format_money(Decimal("10"), "EUR", "ru") == "10,00\xa0€"
    assert money.format_money(Decimal("-0.00"), "EUR", "en") == money.format_money(Decimal("0"), "EUR", "en") == "€0.00"
    assert money.format_money(Decimal("-2.5"), "eur", "en") == "-€2.50"
    with pytest.raises(MoneyError):
        money.format_money(Decimal("NaN"), "EUR", "en")


# --- splitting (L1) ---------------------------------------------------------

weights_st = st.dictionaries(
    st.integers(min_value=1, max_value=10_000),
    st.one_of(
        st.integers(min_value=0, max_value=1000),
        st.decimals(min_value=0, max_value=1000, places=4, allow_nan=False, allow_infinity=False),
    ),
    min_size=1,
    max_size=12,
).filter(lambda w: any(v > 0 for v in w.values()))


def amounts(exp: int) -> st.SearchStrategy[Decimal]:
    return st.integers(min_value=-10**12, max_value=10**12).map(lambda u: Decimal(u).scaleb(-exp))


@pytest.mark.parametrize("exp", sorted(CURRENCIES))
@settings(max_examples=2000)
@given(data=st.data())
def test_split_is_exact_non_negative_and_order_free(exp: int, data: st.DataObject) -> None:
    currency = CURRENCIES[exp]
    amount = data.draw(amounts(exp))
    weights = data.draw(weights_st)
    parts = money.split(amount, weights, currency)
    assert sum(parts.values(), Decimal(0)) == amount
    assert all(isinstance(p, Decimal) for p in parts.values())
    assert all(money.quantize(p, currency) == p for p in parts.values())
    for key, part in parts.items():
        assert part * (1 if amount >= 0 else -1) >= 0
        if weights[key] == 0:
            assert part == 0
    items = list(weights.items())
    random.Random(data.draw(st.integers())).shuffle(items)
    assert money.split(amount, dict(items), currency) == parts


@given(st.integers(min_value=1, max_value=10**9), st.integers(min_value=1, max_value=8))
def test_equal_weights_differ_by_at_most_one_unit(units: int, n: int) -> None:
    amount = Decimal(units).scaleb(-2)
    parts = money.split(amount, dict.fromkeys(range(n), 1), "EUR")
    assert max(parts.values()) - min(parts.values()) <= Decimal("0.01")


@given(amount=amounts(2), fee_units=st.integers(min_value=0, max_value=10**6), weights=weights_st)
def test_fee_share_is_gross_share_minus_net_share(amount: Decimal, fee_units: int, weights: dict[int, Decimal]) -> None:
    gross = abs(amount) + Decimal("0.01")
    fee = min(Decimal(fee_units).scaleb(-2), gross)
    g = money.split(gross, weights, "EUR")
    n = money.split(gross - fee, weights, "EUR")
    fees = {k: g[k] - n[k] for k in weights}
    assert sum(fees.values(), Decimal(0)) == fee
    assert all(g[k] - fees[k] == n[k] for k in weights)


@given(
    units=st.integers(min_value=1, max_value=10**8),
    cuts=st.lists(st.integers(min_value=1, max_value=10**8), max_size=8),
    weights=weights_st,
)
def test_partial_refunds_adding_up_to_the_whole_return_every_part(units: int, cuts: list[int], weights: dict[int, Decimal]) -> None:
    whole = Decimal(units).scaleb(-2)
    points = sorted({min(c, units) for c in cuts} | {units})
    given_parts = money.split(whole, weights, "EUR")
    returned = dict.fromkeys(weights, Decimal(0))
    before = Decimal(0)
    for point in points:
        after = Decimal(point).scaleb(-2)
        step = money.split_cumulative(before, after, given_parts, "EUR")
        assert sum(step.values(), Decimal(0)) == after - before
        for key in weights:
            returned[key] += step[key]
            assert returned[key] <= given_parts[key]
        before = after
    assert returned == given_parts


def test_split_refuses_all_zero_or_negative_weights() -> None:
    with pytest.raises(MoneyError):
        money.split(Decimal("1.00"), {"a": 0, "b": 0}, "EUR")
    with pytest.raises(MoneyError):
        money.split(Decimal("1.00"), {"a": -1, "b": 2}, "EUR")
    with pytest.raises(MoneyError):
        money.split(Decimal("1.00"), {}, "EUR")


def test_tie_break_is_by_weight_then_key() -> None:
    assert money.split(Decimal("0.01"), {"b": 1, "a": 1}, "EUR") == {"a": Decimal("0.01"), "b": Decimal("0.00")}
    assert money.split(Decimal("0.02"), {"a": 1, "b": 2, "c": 2}, "EUR")["b"] == Decimal("0.01")
