"""W10 (downloads): every file sent carries an RFC 6266 name built from internal data.

The public files (CSV, JSON, the chain, the schemas) and the accountant's books
export: a ``Content-Disposition`` whose ``filename=`` is safe, quoted ASCII and
whose ``filename*=UTF-8''...`` carries a name that needs more; the name comes
from the database (the campaign's own tag, the prisoner's own slug), never from
the request.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote, unquote

import pytest
from werkzeug.http import parse_options_header

from tests.admin.test_access import add_user, csrf, enrol, set_password, sign_in
from tracker.web.http import content_disposition

SAFE_ASCII = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*$")
HOSTILE = [
    "../../etc/passwd",
    "..\\..\\boot.ini",
    "a.csv.php",
    'quote".csv',
    "semi;colon=x.csv",
    "line\r\nSet-Cookie: x=1.csv",
    "nul\x00byte.csv",
    ".hidden",
    "",
    "Пенза 205.csv",
    "Café Noël.json",
    "emoji \U0001f512.zip",
    "tab\tand\u2028separator.csv",
    "x" * 400 + ".csv",
]


def parse(value: str) -> tuple[str, dict[str, str]]:
    """The disposition type and its parameters, the way a standard parser reads them."""
    kind, options = parse_options_header(value)
    return kind, options


def raw_params(value: str) -> dict[str, str]:
    """The header's own parameters, unparsed: to tell filename= from filename*=."""
    found = {}
    for part in value.split(";")[1:]:
        key, _, val = part.strip().partition("=")
        found[key] = val
    return found


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_name_becomes_a_safe_header(name: str) -> None:
    value = content_disposition(name)
    assert all(32 <= ord(c) < 127 for c in value), value  # a header is ASCII, no CR/LF
    params = raw_params(value)
    assert value.startswith("attachment; ")
    ascii_name = params["filename"]
    assert ascii_name.startswith('"') and ascii_name.endswith('"')
    assert SAFE_ASCII.match(ascii_name[1:-1]), value
    assert len(ascii_name) <= 160
    if "filename*" in params:
        encoded = params["filename*"]
        assert encoded.startswith("UTF-8''")
        full = unquote(encoded[len("UTF-8''"):], errors="strict")
        assert "/" not in full and "\\" not in full and not full.startswith(".")
        assert not any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 or c in "\u2028\u2029" for c in full)
    kind, options = parse(value)
    assert kind == "attachment"
    assert "/" not in options["filename"] and "\\" not in options["filename"]


def test_a_plain_name_is_sent_as_is_and_a_non_ascii_one_twice() -> None:
    assert content_disposition("books-2025-01-01-2025-12-31.xlsx") == 'attachment; filename="books-2025-01-01-2025-12-31.xlsx"'
    assert content_disposition("totals.json", "inline") == 'inline; filename="totals.json"'
    value = content_disposition("campaign-Пенза.csv")
    assert value == "attachment; filename=\"campaign.csv\"; filename*=UTF-8''" + quote("campaign-Пенза.csv")
    assert parse(value)[1]["filename"] == "campaign-Пенза.csv"  # readers of RFC 8187 get the whole name
    assert raw_params(content_disposition("Ольга.csv"))["filename"] == '"download.csv"'  # the extension stays
    assert raw_params(content_disposition("café.csv"))["filename"] == '"cafe.csv"'  # accents folded


def _public_files(app: Any) -> list[str]:
    """Every open-data URL the app serves, from its URL map (badges are images, not files)."""
    from tests.web.test_privacy_scan import public_urls

    kinds = {r.rule.rsplit(".", 1)[-1] for r in app.url_map.iter_rules() if r.endpoint.startswith("open_data.") and not r.rule.startswith("/badge/")}
    assert kinds == {"json", "csv"}  # a new kind of file: name it and add it here
    return [u for u in public_urls(app) if u.endswith((".json", ".csv")) and not u.startswith("/badge/")]


def test_every_public_file_names_itself(published: Any) -> None:
    client = published.test_client()
    expected = {
        "/open-data/totals.json": ("inline", "totals.json"),
        "/open-data/totals.csv": ("attachment", "totals.csv"),
        "/campaign/205.json": ("inline", "campaign-205.json"),
        "/campaign/205.csv": ("attachment", "campaign-205.csv"),
        "/prisoner/anna.json": ("inline", "prisoner-anna.json"),
        "/prisoner/anna.csv": ("attachment", "prisoner-anna.csv"),
        "/open-data/publications.json": ("inline", "publications.json"),
        "/open-data/publications/1.json": ("inline", "publication-1.json"),
        "/open-data/schema/totals.json": ("inline", "schema-totals.json"),
    }
    seen = 0
    for url in _public_files(published):
        for _twice in range(2):  # built once, then served from the caches: the same header
            response = client.get(url)
            response.close()
            value = response.headers.get("Content-Disposition")
            if response.status_code != 200:
                assert value is None, url  # an error page is no file
                continue
            seen += 1
            assert value, f"{url} has no Content-Disposition"
            kind, options = parse(value)
            assert SAFE_ASCII.match(raw_params(value)["filename"].strip('"')), value
            if url in expected:
                assert (kind, options["filename"]) == expected[url], url
            else:
                assert kind == ("attachment" if url.endswith(".csv") else "inline"), url
                assert options["filename"].endswith(url.rsplit(".", 1)[-1]), url
    assert seen >= 2 * len(expected)


def test_the_name_is_the_campaigns_own_tag(app: Any, books: Any) -> None:
    """A tag that is not plain ASCII: both forms of the name, from the database's tag."""
    from tracker.services import publishing

    tag = 'Пенза"7'
    campaign = books.campaign(tag, {"anna": 1})
    for i in range(6):
        books.donation("25", campaign=campaign, when=datetime(2025, 1, 10, tzinfo=UTC), donor=f"d{i}")
    publishing.publish(today=date(2025, 3, 1), group="ABC Test")
    client = app.test_client()
    response = client.get(f"/campaign/{quote(tag)}.csv")
    assert response.status_code == 200, response.status_code
    value = response.headers["Content-Disposition"]
    assert raw_params(value)["filename"] == '"campaign-_7.csv"'
    assert parse(value)[1]["filename"] == f"campaign-{tag}.csv"
    assert client.get(f"/campaign/{quote(tag)}.json").headers["Content-Disposition"].startswith('inline; filename="campaign-_7.json"')


def test_the_books_export_names_its_period(db_url: str, tmp_path: Any) -> None:
    from tests.conftest import make_app
    from tracker.extensions import db

    admin_app = make_app(db_url, tmp_path)  # no pushed context: each request its own, as in production
    client = admin_app.test_client()
    set_password(client, add_user(admin_app, "tess@example.org", "treasurer"))
    sign_in(client, "tess@example.org")
    enrol(client)
    page = client.get("/admin/export")
    for fmt, suffix in (("xlsx", "xlsx"), ("csv", "zip")):
        response = client.post("/admin/export", data={"csrf_token": csrf(page.data), "start": "2025-01-01",
                                                      "end": "2025-12-31", "fmt": fmt, "with_notes": "no"})
        assert response.status_code == 200
        assert response.headers["Content-Disposition"] == f'attachment; filename="books-2025-01-01-2025-12-31.{suffix}"'
    with admin_app.app_context():
        db.session.remove()
        db.engine.dispose()
