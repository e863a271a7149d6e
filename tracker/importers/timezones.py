"""Time-zone values of provider exports, turned into UTC by one written rule.

Exports label local times with IANA names (``America/Los_Angeles``), numeric
offsets (``UTC+2``) or abbreviations (``PDT``, ``CEST``, ``MESZ``).
:data:`ABBREVIATIONS` is the one table of abbreviations this project
understands. The rule, applied in this order:

1. An IANA name is looked up with :mod:`zoneinfo`. A local time that falls in
   a DST gap or overlap is resolved with ``fold=0`` (RELIABILITY P12): in a
   gap (02:30 on a spring-forward day) the offset in force *before* the
   transition applies, so 02:30 PST-ish becomes 10:30 UTC in Los Angeles; in
   an overlap (01:30 on a fall-back day) the *first* occurrence (daylight
   time) applies.
2. A numeric offset (``UTC+2``, ``GMT-07:00``, ``+0100``) is that offset.
3. An abbreviation, when the caller names a fallback zone (``--timezone``)
   that uses this abbreviation in that year, takes the offset it has there:
   ``CST`` with ``Asia/Shanghai`` is UTC+8, with ``America/Chicago`` UTC-6.
4. Otherwise an abbreviation that denotes one fixed offset in this table
   (``PDT`` = UTC-7, ``CEST`` = UTC+2) is that offset, whatever the date.
5. An ambiguous abbreviation (``IST``, ``CST``, ``AST`` ...), an unknown one,
   an empty cell or a missing column uses the fallback zone's own rules, as
   in step 1; without a fallback zone it is an error that names the
   ``timezone`` option (``--timezone``).

Sources: fixed offsets are those of the IANA tz database (``tzdata``) for the
zone families named in the comments; ``MEZ``/``MESZ`` are the German names of
CET/CEST. PayPal writes ``PST``/``PDT`` (US accounts), ``CET``/``CEST`` (German
and Italian accounts), ``GMT``/``BST`` (UK accounts) and IANA names in
statements (formats README section 1.7).

May import: the standard library, :mod:`tracker.i18n` and
:mod:`tracker.importers.cells` (for quoting cells in messages).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tracker.i18n import gettext as _
from tracker.importers.cells import shown

_H = 60  # minutes per hour, for readable offsets below

#: Abbreviation -> offset from UTC in minutes, or ``None`` when the
#: abbreviation names different offsets in different places (then only a
#: fallback zone can say which). Upper case; looked up after ``.upper()``.
ABBREVIATIONS: dict[str, int | None] = {
    # Universal
    "UTC": 0, "GMT": 0, "Z": 0, "UT": 0,
    # Europe (tzdata Europe/*). BST is British Summer Time in PayPal UK files
    # (README 1.7); Bangladesh also used "BST" long ago, tzdata now says +06.
    "WET": 0, "WEST": 1 * _H, "BST": 1 * _H,
    "CET": 1 * _H, "CEST": 2 * _H, "MEZ": 1 * _H, "MESZ": 2 * _H,
    "EET": 2 * _H, "EEST": 3 * _H,
    # Moscow used UTC+4 as "MSK" in 2011-2014 and UTC+3 since: ambiguous
    # across time; --timezone Europe/Moscow resolves it by date (step 3).
    "MSK": None,
    # North America (tzdata America/*). CST/CDT are also Cuba's (UTC-5/-4)
    # and CST China's (UTC+8): ambiguous.
    "EST": -5 * _H, "EDT": -4 * _H,
    "CST": None, "CDT": None,
    "MST": -7 * _H, "MDT": -6 * _H,
    # PST/PDT: US Pacific in PayPal exports. tzdata also labels Asia/Manila
    # "PST" (UTC+8); a Philippine account passes --timezone Asia/Manila (step 3).
    "PST": -8 * _H, "PDT": -7 * _H,
    "AKST": -9 * _H, "AKDT": -8 * _H, "HST": -10 * _H,
    "NST": -(3 * _H + 30), "NDT": -(2 * _H + 30),
    # Atlantic (UTC-4) or Arabia (UTC+3): ambiguous.
    "AST": None, "ADT": -3 * _H,
    # Asia / Pacific
    "IST": None,  # India +05:30, Ireland (summer) +01, Israel +02
    "JST": 9 * _H, "KST": 9 * _H, "HKT": 8 * _H, "SGT": 8 * _H, "AWST": 8 * _H,
    "ACST": 9 * _H + 30, "ACDT": 10 * _H + 30, "AEST": 10 * _H, "AEDT": 11 * _H,
    "NZST": 12 * _H, "NZDT": 13 * _H,
    # Africa / South America
    "SAST": 2 * _H, "WAT": 1 * _H, "CAT": 2 * _H, "EAT": 3 * _H,
    "BRT": -3 * _H, "ART": -3 * _H,
}  # fmt: skip

_OFFSET_RE = re.compile(r"^(?:UTC|GMT)?\s*([+-\u2212])(\d{1,2})(?::?(\d{2}))?$")
_IANA_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+){0,3}$")
_ABBR_RE = re.compile(r"^[A-Za-z]{1,6}$")


class ZoneError(ValueError):
    """A time-zone value that cannot be turned into UTC; the message is shown."""


@dataclass(frozen=True, slots=True)
class Zone:
    """How to turn a naive local time into UTC: a fixed offset or a tz zone."""

    label: str
    offset: timedelta | None = None
    zone: tzinfo | None = None

    def to_utc(self, local: datetime) -> datetime:
        """Convert a naive local time to an aware UTC datetime (fold=0).

        Raises:
            ZoneError: when the result leaves the range of ``datetime``.
        """
        try:
            if self.offset is not None:
                return (local - self.offset).replace(tzinfo=UTC)
            return local.replace(tzinfo=self.zone, fold=0).astimezone(UTC)
        except OverflowError:
            raise ZoneError(_("the time is out of range in UTC")) from None


UTC_ZONE = Zone("UTC", offset=timedelta(0))


@lru_cache(maxsize=256)
def iana_zone(name: str) -> tzinfo | None:
    """The zoneinfo zone called ``name``, or ``None`` if there is none."""
    if len(name) > 64 or not _IANA_RE.match(name):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def check_fallback(name: str | None) -> tzinfo | None:
    """Validate the caller's fallback zone (an IANA name).

    Raises:
        ZoneError: when ``name`` is given but is not an IANA zone.
    """
    if name is None:
        return None
    zone = iana_zone(name)
    if zone is None:
        raise ZoneError(
            _(
                "unknown IANA time zone %(value)s in the timezone option",
                value=shown(name[:40], "zone"),
            )
        )
    return zone


@lru_cache(maxsize=1024)
def _abbreviation_in_zone(abbr: str, zone_name: str, year: int) -> timedelta | None:
    """The offset ``zone_name`` uses under the name ``abbr`` in ``year``."""
    zone = iana_zone(zone_name)
    if zone is None:
        return None
    for month in (1, 7, 4, 10):
        probe = datetime(year, month, 15, 12, tzinfo=zone)
        if probe.tzname() == abbr:
            return probe.utcoffset()
    return None


def resolve(value: str, year: int, fallback: str | None) -> Zone:
    """Apply the module's rule to one cell.

    Args:
        value: the cell text (an IANA name, offset or abbreviation; may be empty).
        year: the local date's year (abbreviations can change meaning over time).
        fallback: the caller's IANA zone (``--timezone``), if any.

    Raises:
        ZoneError: the value cannot be resolved; the message names the option.
    """
    text = value.strip()
    if not text:
        if fallback is None:
            raise ZoneError(_("the time zone is empty; pass --timezone with an IANA zone"))
        return _local(fallback)
    upper = text.upper()
    if upper in ("UTC", "GMT", "Z"):
        return UTC_ZONE
    match = _OFFSET_RE.match(upper)
    if match:
        return _numeric(text, match)
    if _ABBR_RE.match(text) and (upper in ABBREVIATIONS or iana_zone(text) is None):
        return _abbreviation(text, upper, year, fallback)
    zone = iana_zone(text)
    if zone is not None:
        return Zone(text, zone=zone)
    if fallback is None:
        raise ZoneError(
            _(
                "unknown time zone %(value)s; pass --timezone with an IANA zone",
                value=shown(text[:40], "zone"),
            )
        )
    return _local(fallback)


def _local(name: str) -> Zone:
    zone = check_fallback(name)
    return Zone(name, zone=zone)


def _numeric(text: str, match: re.Match[str]) -> Zone:
    sign = -1 if match.group(1) != "+" else 1
    hours, minutes = int(match.group(2)), int(match.group(3) or 0)
    if hours > 14 or minutes >= 60:
        raise ZoneError(
            _("time zone offset %(value)s is out of range", value=shown(text[:40], "zone"))
        )
    return Zone(text, offset=sign * timedelta(hours=hours, minutes=minutes))


def _abbreviation(text: str, upper: str, year: int, fallback: str | None) -> Zone:
    if fallback is not None:
        offset = _abbreviation_in_zone(upper, fallback, year)
        if offset is not None:
            return Zone(text, offset=offset)
    minutes = ABBREVIATIONS.get(upper)
    if minutes is not None:
        return Zone(text, offset=timedelta(minutes=minutes))
    if fallback is not None:
        return _local(fallback)
    if upper in ABBREVIATIONS:
        raise ZoneError(
            _(
                "time zone %(value)s is ambiguous; pass --timezone with an IANA zone",
                value=shown(text, "zone"),
            )
        )
    raise ZoneError(
        _(
            "unknown time zone %(value)s; pass --timezone with an IANA zone",
            value=shown(text, "zone"),
        )
    )


class ZoneCache:
    """Resolves zone cells through :func:`resolve`, remembering each answer.

    A file repeats a handful of zone values a million times; the cache is
    keyed by (value, year) and cleared when it grows past ``limit``, so
    hostile input cannot make it unbounded.
    """

    def __init__(self, fallback: str | None, limit: int = 4096) -> None:
        """Remember the fallback zone (validated by the caller)."""
        self.fallback = fallback
        self.limit = limit
        self._cache: dict[tuple[str, int], Zone] = {}

    def get(self, value: str, year: int) -> Zone:
        """The :class:`Zone` for a cell (see :func:`resolve`)."""
        key = (value, year)
        zone = self._cache.get(key)
        if zone is None:
            zone = resolve(value, year, self.fallback)
            if len(self._cache) >= self.limit:
                self._cache.clear()
            self._cache[key] = zone
        return zone
