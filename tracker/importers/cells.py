"""Cell parsers shared by every CSV importer: dates, times, amounts.

Nothing here guesses per row. A file's date order and decimal mark are voted
on once, from every cell of the column (:class:`DateOrderVote`,
:class:`DecimalMarkVote`, fed by the importer's first pass), then applied
strictly by :class:`DateParser` and :class:`AmountParser`: a cell that does
not fit the decided format raises :class:`CellError`, which the importer turns
into an :class:`~tracker.errors.InputError` at that line and column.

Messages may quote a cell only through :func:`shown`, which refuses text that
could be an identity value (a name or e-mail in a shifted column).

May import: the standard library, Babel (through :mod:`tracker.money`),
:mod:`tracker.errors`, :mod:`tracker.money`, :mod:`tracker.i18n`.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from decimal import Decimal

from tracker.errors import MoneyError
from tracker.i18n import gettext as _
from tracker.money import exponent, normalise_currency, parse_amount, quantum

#: Years outside this range are errors: no provider export predates them, and
#: converting year 1 or 9999 to UTC can leave the range of ``datetime``.
MIN_YEAR, MAX_YEAR = 1900, 2199

DATE_ORDERS = ("dmy", "mdy", "ymd")
DECIMAL_MARKS = (".", ",")


class CellError(ValueError):
    """A cell that does not fit its column; ``column`` is a header name or number."""

    def __init__(self, column: int | str, message: str) -> None:
        """Remember where (column) and what (a translated message)."""
        super().__init__(message)
        self.column = column
        self.message = message


_SHOWN = {
    "amount": re.compile(
        r"^[0-9\s.,'+\-\u2212()eE]{0,40}(?:\s?[A-Z]{3})?$"
        r"|^(?i:[+-]?(?:nan|s?nan|inf|infinity))$"
    ),
    "date": re.compile(r"^[0-9./\-\s:]{0,24}$"),
    "time": re.compile(r"^[0-9:.\s]{0,16}$|^[0-9:.\s]{0,16}\s?(?i:am|pm)$"),
    "zone": re.compile(r"^[A-Z]{2,5}$|^[A-Za-z_]+/[A-Za-z_/\-]+$|^(?:UTC|GMT)?[+\-][0-9:]{1,5}$"),
    "currency": re.compile(r"^[A-Za-z]{1,4}$"),
}


def shown(text: str, kind: str) -> str:
    """``text`` quoted for an error message, or a placeholder when it could be identity.

    Args:
        text: the cell.
        kind: ``amount``, ``date``, ``time``, ``zone`` or ``currency``; picks
            the shape of text that is safe to repeat.
    """
    if _SHOWN[kind].match(text):
        return f"'{text}'"
    return _("(value not shown)")


# --- dates and times ------------------------------------------------------------

_DATE_RE = re.compile(r"^\s*(\d{1,4})([./-])(\d{1,2})\2(\d{1,4})\s*$")
_TIME_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")


class DateOrderVote:
    """Collects the evidence of a date column for D/M/Y, M/D/Y or Y/M/D.

    A date whose first number has four digits votes Y/M/D; a first number
    above 12 votes D/M/Y, a second above 12 votes M/D/Y. Dates whose day and
    month are equal fit every order; other dates with both numbers up to 12
    are ambiguous.
    """

    def __init__(self) -> None:
        """Start with no evidence."""
        self.first: dict[str, int] = {}
        self.ambiguous_line = 0

    def feed(self, text: str, line: int) -> None:
        """Add one cell's evidence (cells that are not dates add none)."""
        m = _DATE_RE.match(text)
        if m is None:
            return
        a, _sep, b, c = m.groups()
        if len(a) == 4:
            vote = "ymd"
        elif len(c) != 4:
            return
        else:
            x, y = int(a), int(b)
            if x > 12 >= y:
                vote = "dmy"
            elif y > 12 >= x:
                vote = "mdy"
            else:
                if x != y and x <= 12 and not self.ambiguous_line:
                    self.ambiguous_line = line
                return
        self.first.setdefault(vote, line)

    @property
    def conclusive(self) -> bool:
        """Whether more cells can no longer change the outcome."""
        return len(self.first) > 1

    def decide(self) -> tuple[str | None, str]:
        """The order and how it was decided.

        Returns:
            ``(order, "detected")`` when exactly one order has votes,
            ``("dmy", "irrelevant")`` when no date is ambiguous and none
            votes (every day equals its month, or there are no dates),
            ``(None, "ambiguous")`` or ``(None, "conflict")`` otherwise.
        """
        if len(self.first) == 1:
            return next(iter(self.first)), "detected"
        if len(self.first) > 1:
            return None, "conflict"
        if self.ambiguous_line:
            return None, "ambiguous"
        return "dmy", "irrelevant"


class DateParser:
    """Parses dates in one decided order, strictly, with a bounded cache."""

    def __init__(self, order: str) -> None:
        """Use ``order`` (one of :data:`DATE_ORDERS`)."""
        if order not in DATE_ORDERS:
            raise ValueError(f"unknown date order {order!r}")
        self.order = order
        self._cache: dict[str, date] = {}

    def parse(self, text: str, column: int | str) -> date:
        """The date in ``text``.

        Raises:
            CellError: not a date, not in the file's order, impossible
                (31/02, 29 Feb of a common year) or outside the year range.
        """
        hit = self._cache.get(text)
        if hit is not None:
            return hit
        m = _DATE_RE.match(text)
        if m is None:
            raise CellError(column, _("cannot read the date %(value)s", value=shown(text, "date")))
        a, _sep, b, c = m.groups()
        if self.order == "ymd":
            if len(a) != 4:
                raise CellError(
                    column,
                    _(
                        "the date %(value)s is not in the file's order %(order)s",
                        value=shown(text, "date"),
                        order="Y/M/D",
                    ),
                )
            year, month, day = int(a), int(b), int(c)
        else:
            if len(c) != 4:
                raise CellError(
                    column,
                    _(
                        "the date %(value)s does not have a four-digit year",
                        value=shown(text, "date"),
                    ),
                )
            year = int(c)
            day, month = (int(a), int(b)) if self.order == "dmy" else (int(b), int(a))
            if month > 12 >= day:
                raise CellError(
                    column,
                    _(
                        "the date %(value)s is not in the file's order %(order)s",
                        value=shown(text, "date"),
                        order="D/M/Y" if self.order == "dmy" else "M/D/Y",
                    ),
                )
        if not MIN_YEAR <= year <= MAX_YEAR:
            raise CellError(
                column,
                _(
                    "the year of %(value)s is outside %(low)s-%(high)s",
                    value=shown(text, "date"),
                    low=MIN_YEAR,
                    high=MAX_YEAR,
                ),
            )
        try:
            result = date(year, month, day)
        except ValueError:
            raise CellError(
                column, _("the date %(value)s does not exist", value=shown(text, "date"))
            ) from None
        if len(self._cache) >= 4096:
            self._cache.clear()
        self._cache[text] = result
        return result


def parse_time(text: str, column: int | str) -> time:
    """A 24-hour ``HH:MM[:SS]`` time.

    Raises:
        CellError: not such a time, or an hour, minute or second out of range.
    """
    m = _TIME_RE.match(text)
    if m is None:
        raise CellError(column, _("cannot read the time %(value)s", value=shown(text, "time")))
    hour, minute, second = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise CellError(column, _("the time %(value)s does not exist", value=shown(text, "time")))
    return time(hour, minute, second)


def combine(day: date, moment: time) -> datetime:
    """The naive local datetime of a date cell and a time cell."""
    return datetime(day.year, day.month, day.day, moment.hour, moment.minute, moment.second)


# --- amounts --------------------------------------------------------------------

_SIGN_CHARS = " \u00a0-+()\u2212\u2012\u2013\ufe63\uff0d"


_GROUPED = {".": re.compile(r"^\d{1,3}(?:\.\d{3})+$"), ",": re.compile(r"^\d{1,3}(?:,\d{3})+$")}


def mark_evidence(text: str) -> str | None:
    """Which decimal mark one amount cell proves, if any.

    ``1.234,56`` and ``-41,00`` prove ``,``; ``1,234.56`` and ``41.5`` prove
    ``.``; ``1,234,567`` proves ``.`` (repeated thousands groups). Cells that
    prove nothing: ``1,234`` or ``1.234`` (three digits after a single mark),
    ``12``, and anything that is not a well-formed number (``12.5.0``), which
    the second pass reports as an unreadable amount instead.
    """
    core = text.strip(_SIGN_CHARS).replace("\u00a0", "").replace(" ", "")
    dot, comma = core.rfind("."), core.rfind(",")
    if dot < 0 and comma < 0:
        return None
    if dot >= 0 and comma >= 0:
        mark, pos = (".", dot) if dot > comma else (",", comma)
        group = "," if mark == "." else "."
        head, tail = core[:pos], core[pos + 1 :]
        if mark in head or not tail.isdigit() or not _GROUPED[group].match(head):
            return None
        return mark
    mark, pos = (".", dot) if dot >= 0 else (",", comma)
    if core.count(mark) > 1:
        return ("," if mark == "." else ".") if _GROUPED[mark].match(core) else None
    head, tail = core[:pos], core[pos + 1 :]
    if not tail.isdigit() or not (head.isdigit() or not head) or len(tail) == 3:
        return None
    return mark


class DecimalMarkVote:
    """Collects the decimal-mark evidence of every amount cell of a file."""

    def __init__(self) -> None:
        """Start with no evidence."""
        self.first: dict[str, tuple[int, int | str]] = {}
        self.undecided_line = 0

    def feed(self, text: str, line: int, column: int | str) -> None:
        """Add one cell's evidence."""
        if not text:
            return
        if len(self.first) == 1:
            # Only a cell whose last mark is the other one can contradict.
            if "." in self.first:
                if text.rfind(",") < text.rfind("."):
                    return
            elif text.rfind(".") < text.rfind(","):
                return
        mark = mark_evidence(text)
        if mark is None:
            if not self.undecided_line and ("," in text or "." in text):
                self.undecided_line = line
            return
        if mark not in self.first:
            self.first[mark] = (line, column)

    @property
    def conclusive(self) -> bool:
        """Whether more cells can no longer change the outcome."""
        return len(self.first) > 1

    def decide(self) -> tuple[str | None, str]:
        """``(mark, "detected")``, ``(".", "irrelevant")`` or ``(None, reason)``."""
        if len(self.first) == 1:
            return next(iter(self.first)), "detected"
        if len(self.first) > 1:
            return None, "conflict"
        if self.undecided_line:
            return None, "ambiguous"
        return ".", "irrelevant"


# Plain amounts with the file's mark: at most 14 integer digits (money.MAX_ABS),
# grouped in threes or not, and up to 4 decimals. Anything else takes the slow,
# fully checked path.
_INT = {
    ".": r"(?:\d{1,2}(?:,\d{3}){4}|\d{1,3}(?:,\d{3}){1,3}|\d{1,14})",
    ",": r"(?:\d{1,2}(?:\.\d{3}){4}|\d{1,3}(?:\.\d{3}){1,3}|\d{1,14})",
}
_FAST = {
    ".": re.compile(r"^-?" + _INT["."] + r"(?:\.(\d{1,4}))?$"),
    ",": re.compile(r"^-?" + _INT[","] + r"(?:,(\d{1,4}))?$"),
}


class AmountParser:
    """Parses amounts with one decided decimal mark, exactly, per currency.

    Plain cells (``-1,234.56`` with the file's mark) take a fast path; all
    others go through :func:`tracker.money.parse_amount`, which accepts the
    rarer spellings (``(12.50)``, ``12.50-``, ``1 234,56``) and words the
    errors. Both paths give the same Decimal for the same text.
    """

    def __init__(self, decimal_mark: str) -> None:
        """Use ``decimal_mark`` (``.`` or ``,``)."""
        if decimal_mark not in DECIMAL_MARKS:
            raise ValueError(f"unknown decimal mark {decimal_mark!r}")
        self.mark = decimal_mark
        self._group = "," if decimal_mark == "." else "."
        self._fast = _FAST[decimal_mark]
        self._currencies: dict[str, str] = {}
        self._cache: dict[str, dict[str, Decimal]] = {}
        self._places: dict[str, int] = {}

    def currency(self, text: str, column: int | str) -> str:
        """An ISO 4217 code from a cell (cached).

        Raises:
            CellError: empty or unknown code.
        """
        code = self._currencies.get(text)
        if code is not None:
            return code
        try:
            code = normalise_currency(text)
        except MoneyError:
            if not text.strip():
                raise CellError(column, _("the currency is empty")) from None
            raise CellError(
                column, _("unknown currency %(value)s", value=shown(text.strip(), "currency"))
            ) from None
        if len(self._currencies) < 1024:
            self._currencies[text] = code
        return code

    def parse(self, text: str, currency: str, column: int | str) -> Decimal:
        """The exact amount in ``text`` at ``currency``'s scale (cached per text).

        Raises:
            CellError: empty, not a number in the file's format, NaN or
                infinite, too large, or more decimals than the currency has.
        """
        cache = self._cache.get(currency)
        if cache is None:
            cache = self._cache[currency] = {}
        value = cache.get(text)
        if value is None:
            value = self._parse(text, currency, column)
            if len(cache) >= 16384:
                cache.clear()
            cache[text] = value
        return value

    def parse_unique(self, text: str, currency: str, column: int | str) -> Decimal:
        """Like :meth:`parse`, without the cache (for running balances, all different)."""
        return self._parse(text, currency, column)

    def _parse(self, text: str, currency: str, column: int | str) -> Decimal:
        m = self._fast.match(text)
        if m is not None:
            frac = m.group(1)
            places = self._places.get(currency)
            if places is None:
                places = self._places[currency] = exponent(currency)
            if frac is None or len(frac) <= places:
                body = text.replace(self._group, "") if self._group in text else text
                if self.mark == ",":
                    body = body.replace(",", ".")
                value = Decimal(body)
                if frac is None or len(frac) != places:
                    value = value.quantize(quantum(currency))
                return value if value or text[0] != "-" else -value
        try:
            value = parse_amount(text, decimal_mark=self.mark, currency=currency)
        except MoneyError as exc:
            raise CellError(
                column,
                _(
                    "cannot read the amount %(value)s: %(reason)s",
                    value=shown(text.strip(), "amount"),
                    reason=str(exc),
                ),
            ) from None
        return value if value else abs(value)
