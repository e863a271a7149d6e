"""Exact money: ISO 4217 minor units, quantising, parsing, splitting, formatting.

Money is :class:`decimal.Decimal` quantised to its currency's minor unit
(ARCHITECTURE.md rule 1). Minor units come from Babel's CLDR currency data, a
maintained source, not a table typed here. ``float`` is refused everywhere.

Splitting uses the largest-remainder method on integer minor units with a
deterministic tie-break that depends on the parts' keys, never on their order,
so the same weights give the same split however the caller lists them.

May import: the standard library, Babel, :mod:`tracker.errors`.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Mapping
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal, InvalidOperation
from fractions import Fraction
from functools import lru_cache
from math import lcm
from typing import TypeVar

from babel.numbers import format_currency, get_currency_precision, is_currency

from tracker.errors import MoneyError

K = TypeVar("K", bound=Hashable)

#: Scale of every money column in the database: 4 decimal places cover every
#: ISO 4217 minor unit in use (CLF and UYW have 4).
DB_SCALE = 4
#: Largest absolute amount in major units we accept: 10**14 - 1 keeps
#: amount * 10**DB_SCALE, and sums of millions of them, inside a signed 64-bit
#: integer.
MAX_MAJOR_DIGITS = 14
MAX_ABS = Decimal(10) ** MAX_MAJOR_DIGITS - 1

ZERO = Decimal(0)

_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")


def normalise_currency(code: str) -> str:
    """Return an ISO 4217 code in upper case, or raise :class:`MoneyError`.

    Args:
        code: a three-letter code in any case, surrounding blanks allowed.
    """
    if not isinstance(code, str):
        raise MoneyError(f"currency must be a string, not {type(code).__name__}")
    cur = code.strip().upper()
    if not _CURRENCY_RE.match(cur) or not _known_currency(cur):
        raise MoneyError(f"unknown currency code {code.strip()[:8]!r}")
    return cur


@lru_cache(maxsize=512)
def _known_currency(code: str) -> bool:
    return bool(is_currency(code))


@lru_cache(maxsize=512)
def exponent(currency: str) -> int:
    """Number of decimal places of the currency's minor unit (EUR 2, JPY 0, KWD 3)."""
    cur = normalise_currency(currency)
    digits = int(get_currency_precision(cur))
    if not 0 <= digits <= DB_SCALE:
        raise MoneyError(f"currency {cur} has {digits} decimal places; at most {DB_SCALE}")
    return digits


@lru_cache(maxsize=512)
def quantum(currency: str) -> Decimal:
    """The currency's minor unit as a Decimal (``Decimal('0.01')`` for EUR)."""
    return Decimal(1).scaleb(-exponent(currency))


def _check_decimal(amount: object) -> Decimal:
    if isinstance(amount, bool) or not isinstance(amount, (Decimal, int)):
        raise MoneyError(f"money must be Decimal or int, not {type(amount).__name__}")
    value = Decimal(amount)
    if not value.is_finite():
        raise MoneyError("money must be a finite number")
    if abs(value) > MAX_ABS:
        raise MoneyError(f"amount has more than {MAX_MAJOR_DIGITS} digits before the decimal mark")
    return value


def quantize(amount: Decimal | int, currency: str) -> Decimal:
    """Return ``amount`` at the currency's scale, refusing to drop precision.

    ``Decimal('1.50')`` in EUR is fine; ``Decimal('1.505')`` raises, because
    silently rounding money is how ledgers drift. Use :func:`round_money` where
    rounding is the intent (conversions).
    """
    value = _check_decimal(amount)
    q = quantum(currency)
    result = value.quantize(q, rounding=ROUND_DOWN)
    if result != value:
        raise MoneyError(
            f"{value} has more decimal places than {normalise_currency(currency)} allows "
            f"({exponent(currency)})"
        )
    return result


def round_money(amount: Decimal | int, currency: str) -> Decimal:
    """Round ``amount`` to the currency's minor unit, half to even."""
    value = _check_decimal(amount)
    return value.quantize(quantum(currency), rounding=ROUND_HALF_EVEN)


def is_exact(amount: Decimal, currency: str) -> bool:
    """Whether ``amount`` is representable in the currency's minor unit."""
    try:
        quantize(amount, currency)
    except MoneyError:
        return False
    return True


def to_minor(amount: Decimal, currency: str) -> int:
    """The amount as an integer count of minor units (exact or raises)."""
    value = quantize(amount, currency)
    return int(value.scaleb(exponent(currency)))


def from_minor(units: int, currency: str) -> Decimal:
    """The Decimal for an integer count of minor units."""
    if isinstance(units, bool) or not isinstance(units, int):
        raise MoneyError(f"minor units must be int, not {type(units).__name__}")
    return Decimal(units).scaleb(-exponent(currency)).quantize(quantum(currency))


# --- parsing ------------------------------------------------------------------

_MINUS_SIGNS = "-\u2212\u2012\u2013\ufe63\uff0d"
_GROUP_SPACES = " \u00a0\u202f\u2009'"
_AMOUNT_BODY = re.compile(r"^\d+(?:[.,]\d+)*$|^\d*[.,]\d+$|^\d+[.,]$")


def parse_amount(
    text: str,
    *,
    decimal_mark: str = ".",
    currency: str | None = None,
) -> Decimal:
    """Parse a human-written amount strictly, with one declared decimal mark.

    Accepts a leading or trailing minus (ASCII or typographic), parentheses for
    negatives, a leading plus, and thousands groups of exactly three digits
    separated by the other mark, a space, a no-break or thin space or an
    apostrophe. Rejects exponents, NaN, infinities, empty strings, two signs,
    misplaced groups and, when ``currency`` is given, more decimal places than
    the currency has (never rounds).

    Args:
        text: the cell's text.
        decimal_mark: ``"."`` or ``","``: the file's decimal mark.
        currency: if given, the result is quantised to it (exactly).

    Raises:
        MoneyError: with a message that says what is wrong (not where: the
            caller knows the position).
    """
    if decimal_mark not in {".", ","}:
        raise ValueError("decimal_mark must be '.' or ','")
    if not isinstance(text, str):
        raise MoneyError(f"amount must be text, not {type(text).__name__}")
    s = text.strip()
    if not s:
        raise MoneyError("amount is empty")
    if len(s) > 64:
        raise MoneyError("amount is too long")
    negative = False
    if s.startswith("(") and s.endswith(")"):
        negative = True
        s = s[1:-1].strip()
    signs = 0
    if s and s[0] in _MINUS_SIGNS + "+":
        negative ^= s[0] != "+"
        signs += 1
        s = s[1:].lstrip()
    if s and s[-1] in _MINUS_SIGNS:
        negative = not negative
        signs += 1
        s = s[:-1].rstrip()
    if signs > 1 or (signs and text.strip().startswith("(")):
        raise MoneyError("amount has more than one sign")
    group_mark = "," if decimal_mark == "." else "."
    for space in _GROUP_SPACES:
        s = s.replace(space, "\x00")
    if "\x00" in s:
        if group_mark in s:
            raise MoneyError("amount mixes two kinds of thousands separators")
        s = s.replace("\x00", group_mark)
    if not _AMOUNT_BODY.match(s):
        raise MoneyError("not a number")
    int_part, _, frac_part = s.partition(decimal_mark)
    if decimal_mark in frac_part:
        raise MoneyError("more than one decimal mark")
    if group_mark in frac_part:
        raise MoneyError(f"thousands separator after the decimal mark {decimal_mark!r}")
    if group_mark in int_part:
        groups = int_part.split(group_mark)
        if not (1 <= len(groups[0]) <= 3) or any(len(g) != 3 for g in groups[1:]):
            raise MoneyError(
                f"misplaced thousands separator (is the decimal mark {group_mark!r}?)"
            )
        int_part = "".join(groups)
    digits = (int_part or "0") + ("." + frac_part if frac_part else "")
    try:
        value = Decimal(digits)
    except InvalidOperation:  # pragma: no cover - the regex admits only digits
        raise MoneyError("not a number") from None
    if negative:
        value = -value
    value = _check_decimal(value)
    if currency is not None:
        value = quantize(value, currency)
    return value


# --- splitting ----------------------------------------------------------------


@lru_cache(maxsize=4096)
def _integer_weights(weights: tuple[Decimal | int | Fraction, ...]) -> tuple[int, ...]:
    """Weights as integers with the same ratios (cached: a ledger reuses a few weight sets)."""
    fracs = tuple(_as_fraction(w) for w in weights)
    if not any(fracs):
        raise MoneyError("cannot split over weights that are all zero")
    denominator = lcm(*(f.denominator for f in fracs))
    return tuple(int(f * denominator) for f in fracs)


def _as_fraction(weight: object) -> Fraction:
    if isinstance(weight, bool) or not isinstance(weight, (Decimal, int, Fraction)):
        raise MoneyError(f"weight must be Decimal, int or Fraction, not {type(weight).__name__}")
    if isinstance(weight, Decimal) and not weight.is_finite():
        raise MoneyError("weight must be finite")
    frac = Fraction(weight)
    if frac < 0:
        raise MoneyError("weights must not be negative")
    return frac


def split(amount: Decimal, weights: Mapping[K, Decimal | int | Fraction], currency: str) -> dict[K, Decimal]:
    """Split ``amount`` over ``weights`` exactly, by largest remainder.

    Each part is the floor of its exact share in minor units; the units left
    over go one each to the largest remainders. Ties go to the larger weight,
    then to the smaller key (keys must be mutually orderable), so the result
    depends only on the mapping, never on its order. Parts sum exactly to
    ``amount``; for a negative amount every part is the negation of the
    split of its absolute value; a zero weight gets zero.

    Args:
        amount: the money to split, exact in ``currency``.
        weights: key -> non-negative weight; at least one positive.
        currency: ISO 4217 code.

    Raises:
        MoneyError: for inexact money, negative or non-numeric weights, or
            weights that are all zero.
    """
    if not weights:
        raise MoneyError("cannot split over no weights")
    keys = list(weights)
    values = tuple(weights[k] for k in keys)
    for value in values:
        if isinstance(value, (float, bool)):  # they hash like numbers: refuse before the cache
            raise MoneyError(f"weight must be Decimal, int or Fraction, not {type(value).__name__}")
    ints = _integer_weights(values)
    units = to_minor(amount, currency)
    if len(keys) == 1:
        return {keys[0]: from_minor(units, currency)}
    sign = -1 if units < 0 else 1
    units = abs(units)
    total = sum(ints)
    floors: list[int] = []
    rems: list[int] = []
    for w in ints:
        q, r = divmod(units * w, total)
        floors.append(q)
        rems.append(r)
    left = units - sum(floors)
    if left:
        order = sorted(range(len(keys)), key=lambda i: (-rems[i], -ints[i], keys[i]))  # type: ignore[arg-type,return-value]
        for i in order[:left]:
            floors[i] += 1
    return {k: from_minor(sign * f, currency) for k, f in zip(keys, floors, strict=True)}


def split_cumulative(
    before: Decimal, after: Decimal, weights: Mapping[K, Decimal | int | Fraction], currency: str
) -> dict[K, Decimal]:
    """The parts of a step from a running total ``before`` to ``after``.

    ``split(after) - split(before)``: the split of everything so far minus the
    split of everything before (rule 3), so any sequence of steps that reaches
    the same total leaves every part where one step would.
    """
    now = split(after, weights, currency) if after else dict.fromkeys(weights, ZERO)
    then = split(before, weights, currency) if before else dict.fromkeys(weights, ZERO)
    return {k: now[k] - then[k] for k in weights}


def total(amounts: Iterable[Decimal]) -> Decimal:
    """Exact sum of Decimals (``sum`` with a Decimal start, for readability)."""
    return sum(amounts, ZERO)


# --- formatting ---------------------------------------------------------------


def format_money(amount: Decimal, currency: str, locale: str = "en") -> str:
    """Format for people in a locale through Babel (``€1,234.50``, ``1 234,50 ₽``)."""
    value = _check_decimal(amount)
    # -0 and 0 are one key of the cache below (they compare equal): both show as 0
    return _formatted(value if value else ZERO, normalise_currency(currency), locale)


@lru_cache(maxsize=4096)
def _formatted(value: Decimal, currency: str, locale: str) -> str:
    # Babel takes ~15 µs an amount; gifts repeat a few amounts (5, 10, 25 ...) page after page
    return str(format_currency(value, currency, locale=locale))


def to_string(amount: Decimal, currency: str) -> str:
    """The contract's decimal string: plain digits at the currency's scale."""
    return format(quantize(amount, currency), "f")
