"""Public pages, open data and badges: figures from publications only, stable bytes, headers."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import sqlalchemy as sa

from tests.web import public_seed
from tests.web.test_privacy_scan import public_urls

ROOT = Path(__file__).resolve().parents[2]


def _get(client: Any, url: str, **headers: str) -> Any:
    response = client.get(url, headers=headers)
    response.get_data()
    response.close()
    return response


def test_home_before_any_publication_shows_no_figures(app: Any, books: Any) -> None:
    books.prisoner("ivan", "Ivan K.")
    campaign = books.campaign("205", {"ivan": 1}, title="Penza case")
    books.donation("1234.56", campaign=campaign, donor="donor-key-1")
    response = _get(app.test_client(), "/en/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Nothing has been published yet" in page
    assert "1234" not in page and "1,234" not in page
    assert "Set-Cookie" not in response.headers


def test_root_redirects_by_accept_language(app: Any) -> None:
    client = app.test_client()
    ru = _get(client, "/", **{"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"})
    assert ru.status_code == 302 and ru.headers["Location"].endswith("/ru/")
    assert ru.headers["Vary"] == "Accept-Language"
    en = _get(client, "/", **{"Accept-Language": "de"})
    assert en.headers["Location"].endswith("/en/")
    assert "Vary" not in _get(client, "/en/").headers


def test_pages_show_published_figures_in_both_languages(published: Any) -> None:
    client = published.test_client()
    en = _get(client, "/en/campaign/205").get_data(as_text=True)
    ru = _get(client, "/ru/campaign/205").get_data(as_text=True)
    assert "How to give" in en and "write 205 in the note" in en
    assert 'lang="ru"' in ru and "Как пожертвовать" in ru
    totals = json.loads(_get(client, "/open-data/totals.json").get_data())
    raised = Decimal(totals["campaigns"][0]["raised"]["EUR"])
    assert raised > 0
    assert "€" in en and "€" in ru
    home = _get(client, "/en/").get_data(as_text=True)
    assert "Anna" in home and "Penza case" in home


def test_totals_are_sums_of_published_cells(published: Any) -> None:
    """Every figure is a sum of published cells; the ledger equals published plus withheld."""
    from tracker.extensions import db
    from tracker.models import Donation, Publication, PublicationCell

    cells = db.session.execute(
        sa.select(PublicationCell.key, PublicationCell.currency, PublicationCell.value)
        .join(Publication, Publication.id == PublicationCell.publication_id)
        .where(Publication.kind == "monthly")
    ).all()
    by_key: dict[str, Decimal] = {}
    for key, _currency, value in cells:
        by_key[key] = by_key.get(key, Decimal(0)) + value
    client = published.test_client()
    campaign = json.loads(_get(client, "/campaign/205.json").get_data())
    assert Decimal(campaign["raised"]["EUR"]) == by_key["campaign:205"]
    assert sum(Decimal(p["received"].get("EUR", "0")) for p in campaign["periods"]) == by_key["campaign:205"]
    anna = json.loads(_get(client, "/prisoner/anna.json").get_data())
    assert Decimal(anna["raised"]["EUR"]) == by_key["prisoner:anna"]
    totals = json.loads(_get(client, "/open-data/totals.json").get_data())
    funds = sum(v for k, v in by_key.items() if not k.startswith("campaign:"))
    assert Decimal(totals["raised"]["EUR"]) == funds
    # the ledger's gross at the cut-off is what was published plus what rounding and withholding kept back
    gross = db.session.scalar(sa.select(sa.func.sum(Donation.gross)).where(Donation.received_at < datetime(2025, 3, 1, tzinfo=UTC)))
    assert by_key["campaign:205"] <= gross
    assert gross - by_key["campaign:205"] < Decimal(10) * 2  # two monthly cells, each rounded down to 10


def test_public_bytes_change_only_when_a_release_is_cut(published: Any, books: Any) -> None:
    """V4 and V8: polling while money arrives sees nothing move until the next cut; bytes repeat exactly."""
    from tracker.models import Campaign
    from tracker.services import published as read_side

    client = published.test_client()
    urls = [u for u in public_urls(published) if "nobody" not in u and "999" not in u]
    before = {u: (_get(client, u).get_data(), _get(client, u).headers.get("ETag")) for u in urls}
    campaign = books.session.scalar(sa.select(Campaign).where(Campaign.tag == "205"))
    for i in range(8):
        books.donation("50", campaign=campaign, when=datetime(2025, 3, 2 + i, 12, tzinfo=UTC), donor=f"new{i}")
        for url in urls[:: max(1, len(urls) // 10)]:
            assert _get(client, url).get_data() == before[url][0], url
    read_side._cache.clear()  # a restart: nothing cached
    again = published.test_client()
    for url in urls:
        assert (_get(again, url).get_data(), _get(again, url).headers.get("ETag")) == before[url], url
    public_seed.cut(date(2025, 4, 1))
    after = _get(client, "/campaign/205.json")
    assert after.get_data() != before["/campaign/205.json"][0]
    assert after.headers["ETag"] != before["/campaign/205.json"][1]


def test_conditional_requests_and_cache_headers(published: Any) -> None:
    client = published.test_client()
    for url in ("/en/", "/en/campaign/205", "/open-data/totals.json", "/badge/campaign/205.svg", "/campaign/205.csv"):
        first = _get(client, url)
        cache = first.headers["Cache-Control"]
        for part in ("public", "max-age", "s-maxage", "stale-while-revalidate", "stale-if-error"):
            assert part in cache, (url, cache)
        etag = first.headers["ETag"]
        assert etag.startswith('"r')
        second = _get(client, url, **{"If-None-Match": etag})
        assert second.status_code == 304 and second.get_data() == b""
    assert _get(client, "/en/").headers["ETag"] != _get(client, "/ru/").headers["ETag"]


def test_security_headers_on_every_response(published: Any) -> None:
    """W8: CSP without inline script, no framing except badges, nosniff, no referrer; errors too."""
    client = published.test_client()
    for url in [*public_urls(published), "/nothing-here"]:
        response = _get(client, url)
        csp = response.headers["Content-Security-Policy"]
        script = next(part for part in csp.split(";") if part.strip().startswith("script-src"))
        assert "unsafe-inline" not in script
        assert "object-src 'none'" in csp and "base-uri 'none'" in csp
        if url.startswith("/badge/"):
            assert "frame-ancestors *" in csp and "X-Frame-Options" not in response.headers
        else:
            assert "frame-ancestors 'none'" in csp, url
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"


def test_open_data_matches_its_schemas(published: Any) -> None:
    client = published.test_client()
    for url, name in (("/open-data/totals.json", "totals"), ("/campaign/205.json", "campaign"), ("/prisoner/anna.json", "prisoner"), ("/open-data/publications.json", "publications")):
        schema = json.loads(_get(client, f"/open-data/schema/{name}.json").get_data())
        jsonschema.Draft202012Validator.check_schema(schema)
        jsonschema.validate(json.loads(_get(client, url).get_data()), schema)
    csv_text = _get(client, "/campaign/205.csv").get_data(as_text=True)
    assert csv_text.splitlines()[0] == "period_start,period_end,currency,received"


def test_badge_is_an_accessible_svg(published: Any) -> None:
    response = _get(published.test_client(), "/badge/campaign/205.svg")
    assert response.mimetype == "image/svg+xml"
    svg = response.get_data(as_text=True)
    assert svg.startswith("<svg") and 'role="img"' in svg and "raised for 205" in svg and "€" in svg
    assert "<script" not in svg


def test_chain_download_verifies_with_the_standalone_script(published: Any, tmp_path: Path) -> None:
    client = published.test_client()
    listing = _get(client, "/open-data/publications.json").get_data()
    (tmp_path / "publications").mkdir()
    (tmp_path / "publications.json").write_bytes(listing)
    for item in json.loads(listing)["publications"]:
        (tmp_path / "publications" / f"{item['seq']}.json").write_bytes(_get(client, f"/open-data/publications/{item['seq']}.json").get_data())
    script = ROOT / "scripts" / "verify_publications.py"
    ok = subprocess.run([sys.executable, "-I", str(script), str(tmp_path)], capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    assert "chain intact: 2 publications" in ok.stdout
    first = tmp_path / "publications" / "1.json"
    first.write_bytes(first.read_bytes().replace(b'"2025-01-01"', b'"2024-12-01"'))
    bad = subprocess.run([sys.executable, "-I", str(script), str(tmp_path)], capture_output=True, text=True, check=False)
    assert bad.returncode == 1 and "#1" in bad.stderr


def test_publish_verify_detects_tampering(published: Any) -> None:
    from tracker.extensions import db
    from tracker.models import Publication

    runner = published.test_cli_runner()
    ok = runner.invoke(args=["publish", "--verify"])
    assert ok.exit_code == 0, ok.output
    row = db.session.scalar(sa.select(Publication).where(Publication.seq == 1))
    db.session.execute(sa.update(Publication).where(Publication.id == row.id).values(body=row.body.replace("ABC Test", "ABC Tost")))
    db.session.commit()
    bad = runner.invoke(args=["publish", "--verify"])
    assert bad.exit_code == 1
    assert "publication 1" in bad.output


def test_public_blueprint_reads_only_the_published_figures() -> None:
    """The import graph: public web modules reach the books only through tracker.services.published."""
    code = (
        "import sys, tracker.web.public.views, tracker.web.public.open_data, tracker.web.public.charts, tracker.web.public.badges\n"
        "mods = [m for m in sys.modules if m.startswith('tracker.web.public')]\n"
        "import ast, pathlib\n"
        "bad = []\n"
        "for m in mods:\n"
        "    f = sys.modules[m].__file__\n"
        "    for node in ast.walk(ast.parse(pathlib.Path(f).read_text())):\n"
        "        names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ''] if isinstance(node, ast.ImportFrom) else []\n"
        "        for n in names:\n"
        "            if n.startswith(('tracker.models', 'tracker.services')) and n != 'tracker.services.published' and not (isinstance(node, ast.ImportFrom) and n == 'tracker.services' and [a.name for a in node.names] == ['published']):\n"
        "                bad.append((m, n))\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False)
    assert result.returncode == 0, result.stderr


def test_undo_retag_and_late_lines_never_change_a_release(published: Any, books: Any, tmp_path: Path) -> None:
    """V5: after a cut, a retag, a late import and an undone batch leave every release and page byte-identical."""
    from tracker.extensions import db
    from tracker.models import ImportBatch, Publication
    from tracker.services import batches, review
    from tracker.services.campaigns import add_rule

    client = published.test_client()
    bodies = dict(db.session.execute(sa.select(Publication.seq, Publication.body)).tuples().all())
    pages = {u: _get(client, u).get_data() for u in ("/en/", "/campaign/205.json", "/prisoner/anna.json", "/badge/campaign/205.svg")}
    books.campaign("206", {"boris": 1}, title="Other case")
    add_rule("206", "regex", "whisperednote0[0-5]", priority=10)
    assert review.retag(), "the retag moved donations that were published"
    batch_id = db.session.scalar(sa.select(sa.func.max(ImportBatch.id)))
    db.session.rollback()
    batches.undo_batch(batch_id)
    assert dict(db.session.execute(sa.select(Publication.seq, Publication.body)).tuples().all()) == bodies
    for url, data in pages.items():
        assert _get(client, url).get_data() == data, url


def test_front_cache_serves_the_same_bytes_and_headers_until_the_next_release(published: Any) -> None:
    """With the head cached for a moment, answers skip Flask but stay byte-identical, 304s included."""
    import time

    published.config["PUBLIC_HEAD_MAX_AGE"] = 30.0
    client = published.test_client()
    first = _get(client, "/en/campaign/205")
    second = _get(client, "/en/campaign/205")
    assert second.get_data() == first.get_data()
    assert dict(second.headers) == dict(first.headers)
    assert "X-Tracker-Release" not in second.headers
    conditional = _get(client, "/en/campaign/205", **{"If-None-Match": first.headers["ETag"]})
    assert conditional.status_code == 304 and conditional.get_data() == b""
    assert conditional.headers["Content-Security-Policy"] == first.headers["Content-Security-Policy"]
    public_seed.cut(date(2025, 4, 1))
    assert _get(client, "/en/campaign/205").headers["ETag"] == first.headers["ETag"]  # within the head's max age
    published.config["PUBLIC_HEAD_MAX_AGE"] = 0.0
    time.sleep(0.01)
    assert _get(client, "/en/campaign/205").headers["ETag"] != first.headers["ETag"]


def test_behind_a_tls_proxy_hsts_is_sent(db_url: str, tmp_path: Path) -> None:
    from tests.conftest import make_app

    proxied = make_app(db_url, tmp_path, PROXY_COUNT=1)
    response = _get(proxied.test_client(), "/en/methodology", **{"X-Forwarded-Proto": "https"})
    assert "max-age" in response.headers.get("Strict-Transport-Security", "")
    plain = _get(proxied.test_client(), "/en/methodology")
    assert "Strict-Transport-Security" not in plain.headers
    with proxied.app_context():
        from tracker.extensions import db

        db.engine.dispose()
