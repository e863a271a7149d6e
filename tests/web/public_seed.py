"""Seeding books whose donors carry distinctive, searchable identity, then cutting releases."""

from __future__ import annotations

import urllib.parse
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from html import escape
from pathlib import Path
from typing import Any

from tests.importers.paypal_factory import Tx, build

START = datetime(2025, 1, 3, 13, 37, 42, tzinfo=UTC)
DONORS = 12


def donor_secrets(i: int) -> dict[str, str]:
    return {
        "name": f"Zebulon Quxworth{i:02d}",
        "email": f"zq{i:02d}@secret-donor.example",
        "note": f"for 205 whisperednote{i:02d}",
        "txn": f"SECRETTXN{i:06d}",
    }


def secrets() -> list[str]:
    """Every string that must never reach a public byte, with the exact times."""
    found = []
    for i in range(DONORS):
        found += list(donor_secrets(i).values())
        found.append(donor_secrets(i)["note"].removeprefix("for 205 "))
    for when in _times():
        found += [when.strftime("%H:%M:%S"), when.isoformat(), when.strftime("%Y-%m-%dT%H:%M"), str(int(when.timestamp()))]
    return found


def variants(text: str) -> set[str]:
    """The forms a leak could take: as is, case-folded, URL- and HTML-encoded."""
    return {text, text.casefold(), urllib.parse.quote(text), urllib.parse.quote_plus(text), escape(text), escape(text).casefold()}


def _times() -> list[datetime]:
    return [START + timedelta(days=i % 20, minutes=i * 7, seconds=i) for i in range(DONORS * 2)]


def seed(books: Any, tmp_path: Path) -> None:
    """Two prisoners, campaign 205, a PayPal export of distinctive donors; January and February 2025."""
    from tracker.services.importing import import_file

    books.campaign("205", {"anna": 2, "boris": 1}, title="Penza case")
    books.prisoner("hidden", "Hidden Person", public=False)
    times = _times()
    txs = []
    for n, when in enumerate(times):
        i = n % DONORS
        s = donor_secrets(i)
        txs.append(
            Tx(when, "donation", "EUR", Decimal("20.00") + i, Decimal("0.93"), name=s["name"], from_email=s["email"],
               txn_id=f"{s['txn']}{n}", note=s["note"])
        )
    path = tmp_path / "secret-export.csv"
    path.write_bytes(build("en_activity_2018", txs)[0])
    result = import_file(path, account_name="PayPal")
    assert result.status == "committed", result


def cut(today: date = date(2025, 3, 1)) -> list[Any]:
    from tracker.services import publishing

    return publishing.publish(today=today, group="ABC Test")
