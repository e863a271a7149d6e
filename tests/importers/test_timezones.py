"""The one abbreviation table and the written rule for turning local times into UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tracker.importers.timezones import ABBREVIATIONS, ZoneCache, ZoneError, resolve

# Abbreviation -> a zone where tzdata uses it with the table's offset.
WITNESSES = {
    "PST": ("America/Los_Angeles", 1),
    "PDT": ("America/Los_Angeles", 7),
    "EST": ("America/New_York", 1),
    "EDT": ("America/New_York", 7),
    "MST": ("America/Denver", 1),
    "MDT": ("America/Denver", 7),
    "CET": ("Europe/Berlin", 1),
    "CEST": ("Europe/Berlin", 7),
    "GMT": ("Europe/London", 1),
    "BST": ("Europe/London", 7),
    "EET": ("Europe/Helsinki", 1),
    "EEST": ("Europe/Helsinki", 7),
    "WET": ("Europe/Lisbon", 1),
    "WEST": ("Europe/Lisbon", 7),
    "AKST": ("America/Anchorage", 1),
    "AKDT": ("America/Anchorage", 7),
    "HST": ("Pacific/Honolulu", 1),
    "NST": ("America/St_Johns", 1),
    "NDT": ("America/St_Johns", 7),
    "ADT": ("America/Halifax", 7),
    "JST": ("Asia/Tokyo", 1),
    "KST": ("Asia/Seoul", 1),
    "HKT": ("Asia/Hong_Kong", 1),
    "AEST": ("Australia/Sydney", 7),
    "AEDT": ("Australia/Sydney", 1),
    "ACST": ("Australia/Adelaide", 7),
    "ACDT": ("Australia/Adelaide", 1),
    "AWST": ("Australia/Perth", 1),
    "NZST": ("Pacific/Auckland", 7),
    "NZDT": ("Pacific/Auckland", 1),
    "SAST": ("Africa/Johannesburg", 1),
    "WAT": ("Africa/Lagos", 1),
    "CAT": ("Africa/Maputo", 1),
    "EAT": ("Africa/Nairobi", 1),
}


@pytest.mark.parametrize("abbr", sorted(WITNESSES))
def test_fixed_abbreviations_match_tzdata(abbr: str) -> None:
    zone_name, month = WITNESSES[abbr]
    probe = datetime(2021, month, 15, 12, tzinfo=ZoneInfo(zone_name))
    assert probe.tzname() == abbr
    assert probe.utcoffset() == timedelta(minutes=ABBREVIATIONS[abbr])  # type: ignore[arg-type]


def test_german_names_and_ambiguous_entries() -> None:
    assert ABBREVIATIONS["MEZ"] == ABBREVIATIONS["CET"]
    assert ABBREVIATIONS["MESZ"] == ABBREVIATIONS["CEST"]
    assert {a for a, v in ABBREVIATIONS.items() if v is None} == {"IST", "CST", "CDT", "AST", "MSK"}


def utc(value: str, local: datetime, fallback: str | None = None) -> datetime:
    return resolve(value, local.year, fallback).to_utc(local)


def test_iana_gap_and_overlap_use_fold_zero() -> None:
    gap = datetime(2021, 3, 14, 2, 30)  # does not exist in Los Angeles
    assert utc("America/Los_Angeles", gap) == datetime(2021, 3, 14, 10, 30, tzinfo=UTC)
    overlap = datetime(2021, 11, 7, 1, 30)  # happens twice: the first (PDT) is taken
    assert utc("America/Los_Angeles", overlap) == datetime(2021, 11, 7, 8, 30, tzinfo=UTC)


def test_abbreviations_are_fixed_whatever_the_date() -> None:
    # PayPal wrote CET in September in a statement; CET means UTC+1.
    assert utc("CET", datetime(2018, 9, 27, 18, 16, 12)) == datetime(
        2018, 9, 27, 17, 16, 12, tzinfo=UTC
    )
    assert utc("pdt", datetime(2021, 1, 1)) == datetime(2021, 1, 1, 7, tzinfo=UTC)


def test_fallback_zone_says_which_abbreviation_is_meant() -> None:
    summer = datetime(2012, 7, 1, 12)
    assert utc("MSK", summer, "Europe/Moscow") == datetime(2012, 7, 1, 8, tzinfo=UTC)  # +4
    assert utc("MSK", datetime(2020, 7, 1, 12), "Europe/Moscow") == datetime(
        2020, 7, 1, 9, tzinfo=UTC
    )  # +3
    assert utc("CDT", summer, "America/Havana") == datetime(2012, 7, 1, 16, tzinfo=UTC)
    assert utc("CST", summer, "America/Chicago") == datetime(2012, 7, 1, 18, tzinfo=UTC)
    assert utc("AST", summer, "Asia/Riyadh") == datetime(2012, 7, 1, 9, tzinfo=UTC)
    # the fallback zone does not use this abbreviation: the table's offset stands
    assert utc("PDT", summer, "Europe/Berlin") == datetime(2012, 7, 1, 19, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "offset"),
    [
        ("UTC+2", 120),
        ("GMT-07:00", -420),
        ("+0530", 330),
        ("UTC\u22123", -180),
        ("Z", 0),
    ],
)
def test_numeric_offsets(value: str, offset: int) -> None:
    assert resolve(value, 2021, None).offset == timedelta(minutes=offset)


@pytest.mark.parametrize(
    ("value", "fallback", "message"),
    [
        ("IST", None, "time zone 'IST' is ambiguous; pass --timezone with an IANA zone"),
        ("XYZ", None, "unknown time zone 'XYZ'; pass --timezone with an IANA zone"),
        ("", None, "the time zone is empty; pass --timezone with an IANA zone"),
        ("UTC+15", None, "time zone offset 'UTC+15' is out of range"),
        (
            "../../etc/passwd",
            None,
            "unknown time zone (value not shown); pass --timezone with an IANA zone",
        ),
        ("IST", "Not/AZone", "unknown IANA time zone 'Not/AZone' in the timezone option"),
    ],
)
def test_errors(value: str, fallback: str | None, message: str) -> None:
    with pytest.raises(ZoneError) as caught:
        resolve(value, 2021, fallback)
    assert str(caught.value) == message


def test_out_of_range_after_conversion() -> None:
    with pytest.raises(ZoneError):
        utc("UTC+14", datetime(1, 1, 1))


def test_cache_is_bounded() -> None:
    cache = ZoneCache(None, limit=8)
    for offset in range(12):
        cache.get(f"UTC+{offset}", 2021)
    assert len(cache._cache) <= 8
