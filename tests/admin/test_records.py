"""Donation and statement line search and record pages; organisers and admins kept out (W2)."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.admin.test_access import add_user, app, enrol, set_password, sign_in, treasurer  # noqa: F401 - fixtures
from tests.web import public_seed

MANUAL_NOTE = "handed over by Yevlampiya Xerxesova at the gig"


@pytest.fixture
def seeded(app: Any, tmp_path: Path) -> dict[str, int]:
    """Distinctive donors imported from PayPal, plus a cash gift with a private note."""
    from tests.factories import Books
    from tracker.extensions import db
    from tracker.models import Destination, Donation, ImportBatch, StatementLine
    from tracker.services import unit_of_work
    from tracker.services.donations import NewDonation, create_donation

    with app.app_context():
        books = Books(db.session)
        public_seed.seed(books, tmp_path)
        cash = books.account("Cash box", "cash")
        with unit_of_work() as s:
            gift = create_donation(s, NewDonation(account=cash, received_at=datetime(2025, 2, 1, 12, tzinfo=UTC), currency="EUR", gross=Decimal("40"), destination=Destination.GENERAL, note=MANUAL_NOTE))
            manual_id = gift.id
        donation = db.session.scalar(sa.select(Donation).where(Donation.statement_line_id.is_not(None)).order_by(Donation.id))
        ids = {
            "donation_id": donation.id,
            "line_id": donation.statement_line_id,
            "batch_id": db.session.scalar(sa.select(ImportBatch.id)),
            "manual_id": manual_id,
            "lines": db.session.scalar(sa.select(sa.func.count()).select_from(StatementLine)),
        }
        db.session.rollback()
    return ids


def secrets() -> list[str]:
    return [*public_seed.secrets()[: 5 * public_seed.DONORS], MANUAL_NOTE, "Xerxesova"]


def leaks(body: bytes) -> list[str]:
    text = body.decode("utf-8", "replace")
    found = []
    for secret in secrets():
        if any(v in text or v in text.casefold() for v in public_seed.variants(secret) if len(secret) >= 8):
            found.append(secret)
    return found


def _signed_in(app: Any, email: str, role: str) -> Any:
    client = app.test_client()
    set_password(client, add_user(app, email, role))
    assert sign_in(client, email).status_code == 302
    if role == "admin":
        enrol(client)
    return client


def _links(body: bytes, rel: str) -> str | None:
    match = re.search(rf'<a href="([^"]+)" rel="{rel}">'.encode(), body)
    return html.unescape(match.group(1).decode()) if match else None


def _ids(body: bytes, kind: str) -> list[int]:
    return [int(i) for i in re.findall(rf'href="/admin/{kind}/(\d+)"'.encode(), body)]


# --- treasurer ---------------------------------------------------------------------------


def test_treasurer_filters_and_pages_through_donations_and_lines(app: Any, treasurer: Any, seeded: dict[str, int]) -> None:
    client, _ = treasurer
    page = client.get("/admin/donations")
    assert page.status_code == 200 and b"whisperednote" in page.data  # notes are for treasurers
    assert leaks(page.data)  # so the organiser scan below would see them
    assert len(_ids(page.data, "donations")) == 25
    assert len(_ids(client.get("/admin/donations?text=whisperednote03").data, "donations")) == 2
    assert len(_ids(client.get("/admin/donations?text=Xerxesova").data, "donations")) == 1
    found = client.get("/admin/lines?txn_id=SECRETTXN0000055")  # donor 5, line 5
    assert found.status_code == 200 and len(_ids(found.data, "lines")) == 1
    # either decimal mark
    assert len(_ids(client.get("/admin/donations?amount=23,00").data, "donations")) == 2
    assert len(_ids(client.get("/admin/donations?amount=23.00").data, "donations")) == 2
    # a day in the page's language, or ISO
    ru = client.get("/admin/donations?date_from=21.01.2025&account=", headers={"Accept-Language": "ru"})
    en = client.get("/admin/donations?date_from=1/21/25", headers={"Accept-Language": "en"})
    iso = client.get("/admin/donations?date_from=2025-01-21")
    assert ru.status_code == en.status_code == iso.status_code == 200
    assert _ids(ru.data, "donations") == _ids(en.data, "donations") == _ids(iso.data, "donations")
    assert 0 < len(_ids(iso.data, "donations")) < 25
    assert len(_ids(client.get("/admin/donations?status=general").data, "donations")) == 1
    assert len(_ids(client.get("/admin/donations?kind=manual").data, "donations")) == 1
    assert len(_ids(client.get("/admin/donations?campaign=205&prisoner=anna").data, "donations")) == 24
    # keyset pages of five: every line once, then back again
    url: str | None = "/admin/lines?size=5"
    pages: list[list[int]] = []
    while url:
        got = client.get(url)
        assert got.status_code == 200
        pages.append(_ids(got.data, "lines"))
        url = _links(got.data, "next")
    seen = [i for p in pages for i in p]
    assert len(seen) == len(set(seen)) == seeded["lines"] and len(pages) > 2
    back = _links(got.data, "prev")
    assert back and _ids(client.get(back).data, "lines") == pages[-2]


def test_record_pages_show_sealed_columns_by_name_only(app: Any, treasurer: Any, seeded: dict[str, int]) -> None:
    client, _ = treasurer
    gift = client.get(f"/admin/donations/{seeded['donation_id']}")
    assert gift.status_code == 200
    body = gift.data.decode()
    assert "Zebulon" not in body and "secret-donor.example" not in body and "SECRETTXN" not in body
    assert "whisperednote" in body  # the note, readable to treasurers
    assert re.search(r"From Email Address</th><td><em>sealed</em>", body)
    assert re.search(r"Name</th><td><em>sealed</em>", body)
    assert f"/admin/imports/batches/{seeded['batch_id']}" in body
    assert "A tagging rule matched" in body and "<mark>205</mark>" in body
    assert body.count("<h3>#") >= 1 and "gross" in body  # the journal entry and its postings
    line = client.get(f"/admin/lines/{seeded['line_id']}")
    assert line.status_code == 200 and "Versions" in line.data.decode() and "Zebulon" not in line.data.decode()
    manual = client.get(f"/admin/donations/{seeded['manual_id']}")
    assert manual.status_code == 200 and MANUAL_NOTE in manual.data.decode()
    assert client.get("/admin/donations/999999").status_code == 404
    assert client.get("/admin/lines/999999").status_code == 404


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("amount=abc", b"Not an amount"),
        ("amount_min=1e5", b"Not an amount"),
        ("date_from=31.02.2025", b"Not a day"),
        ("date_to=yesterday", b"Not a day"),
        ("date_from=2025-03-01&date_to=2025-02-01", b"The last day is before the first"),
        ("currency=EURO", b"currency"),
        ("cursor=eyJhIjoxfQ.tampered", b"damaged"),
        ("size=100000000", b"from 1 to 200 rows"),
        ("size=" + "9" * 5000, b"from 1 to 200 rows"),
        ("size=-1", b"from 1 to 200 rows"),
        ("status=lost", b"Not a valid choice"),
        ("campaign=nope", b"Not a valid choice"),
        ("account=x", b"Not a valid choice"),
        ("text=" + "+".join(["w"] * 30), b"at most 8 words"),
    ],
)
def test_bad_filter_input_is_a_clear_message_not_a_500(app: Any, treasurer: Any, query: str, message: bytes) -> None:
    client, _ = treasurer
    for path in ("/admin/donations", "/admin/lines"):
        page = client.get(f"{path}?{query}")
        assert page.status_code == 400, (path, query)
        assert message in page.data, (path, query)


def test_a_cursor_from_the_lines_list_does_not_page_donations(app: Any, treasurer: Any, seeded: dict[str, int]) -> None:
    client, _ = treasurer
    following = _links(client.get("/admin/lines?size=3").data, "next")
    assert following
    swapped = following.replace("/admin/lines", "/admin/donations")
    assert client.get(swapped).status_code == 400


# --- organisers and admins (W2) -------------------------------------------------------------


def _fill(rule: Any, ids: dict[str, int]) -> str | None:
    values: dict[str, Any] = {}
    for arg in rule.arguments:
        converter = rule._converters[arg].__class__.__name__  # noqa: SLF001
        if arg in ids:
            values[arg] = ids[arg]
        elif converter == "IntegerConverter":
            values[arg] = 1
        elif arg == "lang":
            values[arg] = "en"
        elif arg in ("tag", "campaign"):
            values[arg] = "205"
        elif arg == "slug":
            values[arg] = "anna"
        else:
            values[arg] = "x"
    try:
        return str(rule.build(values, append_unknown=False)[1])
    except Exception:  # noqa: BLE001 - a rule this walk cannot fill
        return None


def test_organisers_and_admins_get_403_on_donor_objects_and_never_see_donor_data(app: Any, seeded: dict[str, int]) -> None:
    organiser = _signed_in(app, "org@example.org", "organiser")
    admin = _signed_in(app, "adm@example.org", "admin")
    objects = [
        "/admin/donations",
        "/admin/lines",
        f"/admin/donations/{seeded['donation_id']}",
        f"/admin/donations/{seeded['manual_id']}",
        f"/admin/lines/{seeded['line_id']}",
        f"/admin/imports/batches/{seeded['batch_id']}",
        "/admin/export",
        "/admin/donations?text=whisperednote01&txn_id=SECRETTXN0000011",
    ]
    for client in (organiser, admin):
        for url in objects:
            got = client.get(url)
            assert got.status_code == 403, url
            assert not leaks(got.data), url
    # every GET route in the URL map, as an organiser: no donor field in any response
    ids = {**seeded, "upload_id": 1, "job_id": 1}
    walked = 0
    with app.test_request_context():
        rules = [r for r in app.url_map.iter_rules() if "GET" in (r.methods or ()) and r.endpoint != "static"]
    for rule in rules:
        url = _fill(rule, ids)
        if url is None:
            continue
        got = organiser.get(url)
        assert got.status_code != 500, url
        assert not leaks(got.data), (url, leaks(got.data))
        walked += 1
    assert walked > 20
