"""Campaign and prisoner pages: create, edit, weights from a date, rules, the live match test."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from tests.admin.test_access import add_user, app, csrf, set_password, sign_in, treasurer  # noqa: F401 - fixtures


def _books(app: Any) -> Any:
    from tests.factories import Books
    from tracker.extensions import db

    return Books(db.session)


def _organiser(app: Any) -> Any:
    client = app.test_client()
    set_password(client, add_user(app, "org@example.org", "organiser"))
    assert sign_in(client, "org@example.org").status_code == 302
    return client


def _campaign_id(app: Any, tag: str) -> int:
    from tracker.extensions import db
    from tracker.models import Campaign

    with app.app_context():
        found = db.session.scalar(sa.select(Campaign.id).where(Campaign.tag == tag))
        db.session.rollback()
        return found


def _audit(app: Any) -> list[tuple[str, Any]]:
    from tracker.extensions import db
    from tracker.models import AuditEvent

    with app.app_context():
        rows = [(e.action, e.after) for e in db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id))]
        db.session.rollback()
        return rows


def _counts(app: Any) -> tuple[int, int, int]:
    from tracker.extensions import db
    from tracker.models import Campaign, Prisoner, TagRule

    with app.app_context():
        counts = tuple(db.session.scalar(sa.select(sa.func.count()).select_from(m)) for m in (Campaign, Prisoner, TagRule))
        db.session.rollback()
        return counts  # type: ignore[return-value]


def _error_beside(page: bytes, field_id: str) -> str:
    """The error message shown right after the named field, or ''."""
    match = re.search(rb'id="' + field_id.encode() + rb'"[^>]*>(?:[^<]*</textarea>)?\s*<span class="error" id="' + field_id.encode() + rb'-error">([^<]+)</span>', page)
    return match.group(1).decode() if match else ""


def _edit_form(page: bytes, **changes: Any) -> dict[str, Any]:
    """The edit form's current values, with changes."""
    def value(name: str) -> str:
        m = re.search(rb'name="' + name.encode() + rb'"[^>]*value="([^"]*)"', page) or re.search(rb'value="([^"]*)"[^>]*name="' + name.encode() + rb'"', page)
        return m.group(1).decode() if m else ""

    aliases = re.search(rb'<textarea[^>]*name="aliases"[^>]*>\r?\n?([^<]*)</textarea>', page)
    data: dict[str, Any] = {
        "csrf_token": csrf(page), "title": value("title"), "aliases": aliases.group(1).decode() if aliases else "",
        "starts_on": value("starts_on"), "ends_on": value("ends_on"), "currency": value("currency"), "amount": value("amount"),
        "rule_kind": "alias", "pattern": "", "priority": "0", "sample": "", "sample_provider": "paypal", "sample_field": "note",
        "sample_on": date.today().isoformat(),
    }
    if re.search(rb'name="public"[^>]*checked|checked[^>]*name="public"', page):
        data["public"] = "y"
    data.update(changes)
    return data


# --- prisoners -----------------------------------------------------------------------------


def test_prisoners_are_created_and_edited_with_errors_beside_fields(app: Any, treasurer: Any) -> None:
    from tracker.extensions import db
    from tracker.models import Fund, Prisoner

    client, _ = treasurer
    page = client.get("/admin/prisoners/new")
    assert page.status_code == 200
    bad = client.post("/admin/prisoners/new", data={"csrf_token": csrf(page.data), "slug": "Anna Smith", "name": "Anna", "public": "y"})
    assert bad.status_code == 200 and "lower-case letters" in _error_beside(bad.data, "slug")
    assert _counts(app)[1] == 0
    ok = client.post("/admin/prisoners/new", data={"csrf_token": csrf(page.data), "slug": "anna", "name": "Anna S.", "public": "y"})
    assert ok.status_code == 302
    again = client.post("/admin/prisoners/new", data={"csrf_token": csrf(page.data), "slug": "anna", "name": "Another"})
    assert "already exists" in _error_beside(again.data, "slug") and _counts(app)[1] == 1
    with app.app_context():
        prisoner_id = db.session.scalar(sa.select(Prisoner.id).where(Prisoner.slug == "anna"))
    edit = client.get(f"/admin/prisoners/{prisoner_id}")
    assert b"Anna S." in edit.data and b'name="slug"' not in edit.data  # the slug never changes
    blank = client.post(f"/admin/prisoners/{prisoner_id}", data={"csrf_token": csrf(edit.data), "name": "  "})
    assert blank.status_code == 200 and 'class="error"' in blank.data.decode()
    done = client.post(f"/admin/prisoners/{prisoner_id}", data={"csrf_token": csrf(edit.data), "name": "Anna Smirnova", "description": ""})
    assert done.status_code == 302
    with app.app_context():
        prisoner = db.session.get(Prisoner, prisoner_id)
        assert (prisoner.slug, prisoner.name, prisoner.public) == ("anna", "Anna Smirnova", False)
        assert db.session.scalar(sa.select(Fund.name).where(Fund.prisoner_id == prisoner_id)) == "Anna Smirnova"
    listing = client.get("/admin/prisoners").data.decode()
    assert "Anna Smirnova" in listing and "private" in listing
    actions = [a for a, _ in _audit(app)]
    assert actions.count("prisoner.add") == 1 and actions.count("prisoner.edit") == 1


# --- creating campaigns ---------------------------------------------------------------------


def test_campaign_is_created_with_weights_aliases_goal_and_window(app: Any, treasurer: Any) -> None:
    from tracker.extensions import db
    from tracker.models import Campaign, CampaignPrisoner, TagRule

    client, _ = treasurer
    with app.app_context():
        books = _books(app)
        books.prisoner("anna")
        books.prisoner("boris")
    page = client.get("/admin/campaigns/new")
    assert page.status_code == 200 and b'name="weight-anna"' in page.data
    form = {"csrf_token": csrf(page.data), "tag": "205", "title": "Penza case", "aliases": "penza\nпенза\n",  # noqa: RUF001
            "weight-anna": "2", "weight-boris": "0,5", "starts_on": "2025-01-01", "ends_on": "", "currency": "eur",
            "amount": "1 500,50", "public": "y", "description": "The Network case"}
    created = client.post("/admin/campaigns/new", data=form)
    assert created.status_code == 302, created.data
    with app.app_context():
        campaign = db.session.scalar(sa.select(Campaign).where(Campaign.tag == "205"))
        assert (campaign.title, campaign.goal_currency, campaign.goal_amount, campaign.starts_on, campaign.public) == (
            "Penza case", "EUR", Decimal("1500.50"), date(2025, 1, 1), True)
        weights = {r.prisoner.slug: r.weight for r in db.session.scalars(sa.select(CampaignPrisoner))}
        assert weights == {"anna": Decimal(2), "boris": Decimal("0.5")}
        rules = sorted((r.kind, r.pattern, r.valid_from) for r in db.session.scalars(sa.select(TagRule)))
        assert rules == [("alias", "penza", date(2025, 1, 1)), ("alias", "пенза", date(2025, 1, 1)), ("tag", "205", date(2025, 1, 1))]
    listing = client.get("/admin/campaigns").data.decode()
    assert "Penza case" in listing and "0.5" in listing and "public" in listing and "<progress" in listing
    assert ("campaign.add", {"tag": "205", "aliases": ["penza", "пенза"], "prisoners": {"anna": "2", "boris": "0.5"},
            "starts_on": "2025-01-01", "ends_on": None, "public": True}) in _audit(app)


def test_invalid_campaigns_are_refused_with_messages_beside_fields_and_nothing_stored(app: Any, treasurer: Any) -> None:
    client, _ = treasurer
    with app.app_context():
        books = _books(app)
        books.campaign("212", {"lev": 1}, aliases=["orlov"])
    before = _counts(app)
    page = client.get("/admin/campaigns/new")
    base = {"csrf_token": csrf(page.data), "tag": "205", "title": "Penza case", "aliases": "", "weight-lev": "", "currency": "", "amount": ""}
    cases = [
        ({"tag": "212"}, "tag", "already exists"),
        ({"tag": "orlov"}, "tag", "already means campaign 212"),
        ({"aliases": "#penza"}, "aliases", "must begin and end with a letter or digit"),
        ({"aliases": "penza\norlov"}, "aliases", "already means campaign 212"),
        ({"weight-lev": "-1"}, "weight-lev", "must be positive"),
        ({"weight-lev": "0"}, "weight-lev", "must be positive"),
        ({"weight-lev": "abc"}, "weight-lev", ""),
        ({"currency": "EUR", "amount": "12,5x"}, "amount", ""),
        ({"currency": "EUR", "amount": "0"}, "amount", "positive"),
        ({"currency": "EUR"}, "amount", "amount"),
        ({"amount": "100"}, "currency", "currency"),
        ({"starts_on": "2025-05-01", "ends_on": "2025-04-01"}, "ends_on", "ends before it starts"),
        ({"title": ""}, "title", ""),
    ]
    for change, field_id, words in cases:
        response = client.post("/admin/campaigns/new", data={**base, **change})
        assert response.status_code == 200, change
        message = _error_beside(response.data, field_id)
        assert message and words in message, (change, message)
    assert _counts(app) == before
    assert [a for a, _ in _audit(app)].count("campaign.add") == 1


def test_html_in_a_title_is_escaped(app: Any, treasurer: Any) -> None:
    client, _ = treasurer
    page = client.get("/admin/campaigns/new")
    title = '<script>alert("x")</script><b>bold</b>'
    assert client.post("/admin/campaigns/new", data={"csrf_token": csrf(page.data), "tag": "x1", "title": title}).status_code == 302
    for url in ("/admin/campaigns", f"/admin/campaigns/{_campaign_id(app, 'x1')}"):
        body = client.get(url).data.decode()
        assert "<script>alert" not in body and "<b>bold</b>" not in body
        assert "&lt;script&gt;" in body


# --- editing --------------------------------------------------------------------------------


def test_campaign_edit_saves_title_aliases_goal_window_and_visibility(app: Any, treasurer: Any) -> None:
    from tracker.extensions import db
    from tracker.models import Campaign, TagRule

    client, _ = treasurer
    with app.app_context():
        _books(app).campaign("205", {"anna": 1}, title="Penza", aliases=["penza"])
    campaign_id = _campaign_id(app, "205")
    url = f"/admin/campaigns/{campaign_id}"
    page = client.get(url)
    assert page.status_code == 200 and b"penza" in page.data
    data = _edit_form(page.data, title="Penza 'Network' case", aliases="пенза\nnetwork case", currency="EUR", amount="60.000,00",
                      starts_on="2025-01-01", action="save")
    data.pop("public", None)
    saved = client.post(url, data=data)
    assert saved.status_code == 302, saved.data
    with app.app_context():
        campaign = db.session.get(Campaign, campaign_id)
        assert (campaign.title, campaign.goal_amount, campaign.goal_currency, campaign.public, campaign.starts_on) == (
            "Penza 'Network' case", Decimal("60000.00"), "EUR", False, date(2025, 1, 1))
        rules = {(r.kind, r.pattern): (r.active, r.valid_from) for r in db.session.scalars(sa.select(TagRule))}
        assert rules == {
            ("tag", "205"): (True, date(2025, 1, 1)),
            ("alias", "penza"): (False, None),  # deactivated, kept for the record
            ("alias", "пенза"): (True, date(2025, 1, 1)),
            ("alias", "network case"): (True, date(2025, 1, 1)),
        }
    edits = [after for action, after in _audit(app) if action == "campaign.edit"]
    assert len(edits) == 1 and edits[0]["aliases"] == ["пенза", "network case"] and edits[0]["public"] == "False"
    cleared = client.post(url, data=_edit_form(client.get(url).data, currency="", amount="", action="save"))
    assert cleared.status_code == 302
    with app.app_context():
        assert db.session.get(Campaign, campaign_id).goal_amount is None


def test_edit_errors_are_shown_beside_fields_and_nothing_is_stored(app: Any, treasurer: Any) -> None:
    from tracker.extensions import db
    from tracker.models import Campaign

    client, _ = treasurer
    with app.app_context():
        _books(app).campaign("205", title="Penza")
        _books(app).campaign("212", aliases=["orlov"])
    campaign_id = _campaign_id(app, "205")
    url = f"/admin/campaigns/{campaign_id}"
    page = client.get(url)
    before = (_counts(app), len(_audit(app)))
    cases = [
        ({"title": "New title", "aliases": "orlov"}, "aliases", "already means campaign 212"),
        ({"title": "New title", "aliases": "bad\u200balias"}, "aliases", "invisible"),
        ({"title": "New title", "amount": "-5", "currency": "EUR"}, "amount", "positive"),
        ({"title": "New title", "starts_on": "2025-05-02", "ends_on": "2025-05-01"}, "ends_on", "ends before"),
        ({"title": "New title", "rule_kind": "regex", "pattern": "(unclosed"}, "pattern", "does not compile"),
        ({"title": "New title", "rule_kind": "alias", "pattern": "orlov"}, "pattern", "already means campaign 212"),
        ({"title": ""}, "title", ""),
    ]
    for change, field_id, words in cases:
        response = client.post(url, data=_edit_form(page.data, action="save", **change))
        assert response.status_code == 200, change
        message = _error_beside(response.data, field_id)
        assert message and words in message, (change, message)
    assert (_counts(app), len(_audit(app))) == before
    with app.app_context():
        assert db.session.get(Campaign, campaign_id).title == "Penza"


def test_rules_are_added_and_removed_through_the_edit_page(app: Any, treasurer: Any) -> None:
    from tracker.extensions import db
    from tracker.models import TagRule

    client, _ = treasurer
    with app.app_context():
        _books(app).campaign("205", title="Penza")
    url = f"/admin/campaigns/{_campaign_id(app, '205')}"
    page = client.get(url)
    added = client.post(url, data=_edit_form(page.data, action="save", rule_kind="regex", pattern=r"penza\s+20\d", priority="5",
                                             rule_from="2025-02-01", rule_until="2025-12-31", rule_providers=["paypal"], rule_fields=["note"]))
    assert added.status_code == 302, added.data
    with app.app_context():
        rule = db.session.scalar(sa.select(TagRule).where(TagRule.kind == "regex"))
        assert (rule.pattern, rule.priority, rule.valid_from, rule.valid_until, rule.providers, rule.fields, rule.active) == (
            r"penza\s+20\d", 5, date(2025, 2, 1), date(2025, 12, 31), ["paypal"], ["note"], True)
        rule_id = rule.id
        tag_rule_id = db.session.scalar(sa.select(TagRule.id).where(TagRule.kind == "tag"))
    page = client.get(url)
    assert f'name="remove_rule" value="{rule_id}"'.encode() in page.data
    assert f'name="remove_rule" value="{tag_rule_id}"'.encode() not in page.data  # the campaign's own tag stays
    removed = client.post(url, data=_edit_form(page.data, action="save", remove_rule=[str(rule_id)]))
    assert removed.status_code == 302
    with app.app_context():
        assert db.session.get(TagRule, rule_id).active is False
    actions = [a for a, _ in _audit(app)]
    assert actions.count("rule.add") == 1 and actions.count("rule.remove") == 1


# --- weights --------------------------------------------------------------------------------


def test_weights_change_from_a_date_and_history_is_kept(app: Any, treasurer: Any) -> None:
    from tracker.extensions import db
    from tracker.models import CampaignPrisoner

    client, _ = treasurer
    with app.app_context():
        books = _books(app)
        books.campaign("205", {"anna": 2, "boris": 1})
        books.prisoner("dmitri")
    url = f"/admin/campaigns/{_campaign_id(app, '205')}"
    token = csrf(client.get(url).data)

    def post(slug: str, weight: str, since: str) -> Any:
        return client.post(f"{url}/weights", data={"w-csrf_token": token, "w-prisoner": slug, "w-weight": weight, "w-since": since})

    assert post("anna", "1,5", "2025-06-01").status_code == 302
    assert post("dmitri", "1", "2025-06-01").status_code == 302
    assert post("boris", "0", "2025-07-01").status_code == 302
    bad = post("anna", "-1", "2025-08-01")
    assert bad.status_code == 200 and "negative" in _error_beside(bad.data, "w-weight")
    backwards = post("anna", "3", "2025-05-01")
    assert backwards.status_code == 200 and "forward in time" in _error_beside(backwards.data, "w-since")
    nothing = post("boris", "0", "2025-09-01")
    assert nothing.status_code == 200 and "no weight" in _error_beside(nothing.data, "w-weight")
    with app.app_context():
        rows = sorted(
            (r.prisoner.slug, r.weight, r.valid_from, r.valid_until) for r in db.session.scalars(sa.select(CampaignPrisoner))
        )
    assert rows == [
        ("anna", Decimal("1.5"), date(2025, 6, 1), None),
        ("anna", Decimal(2), None, date(2025, 6, 1)),
        ("boris", Decimal(1), None, date(2025, 7, 1)),
        ("dmitri", Decimal(1), date(2025, 6, 1), None),
    ]
    assert [a for a, _ in _audit(app)].count("campaign.weight") == 3


# --- the live match test --------------------------------------------------------------------


def _test(client: Any, url: str, **changes: Any) -> str:
    page = client.get(url)
    response = client.post(url, data=_edit_form(page.data, action="test", **changes))
    assert response.status_code == 200
    return response.data.decode()


def _sample_html(body: str) -> str:
    match = re.search(r'<p class="sample">(.*?)</p>', body, re.S)
    assert match, "the sample is shown"
    return match.group(1)


def test_the_sample_test_highlights_whole_token_matches_only(app: Any, treasurer: Any) -> None:
    client, _ = treasurer
    with app.app_context():
        _books(app).campaign("205", title="Penza")
    url = f"/admin/campaigns/{_campaign_id(app, '205')}"
    hit = _sample_html(_test(client, url, sample="for 205!"))
    assert re.fullmatch(r'for <mark title="[^"]*">205</mark>!', hit), hit
    body = _test(client, url, sample="for 205!")
    assert "would go to campaign 205" in body
    for miss in ("1205", "205.00", "order 1 205", "2050"):
        body = _test(client, url, sample=miss)
        assert "<mark" not in _sample_html(body), miss
        assert "general fund" in body
    lookalike = _test(client, url, sample="for 2\u041e5")  # a Cyrillic O
    assert 'class="near"' in _sample_html(lookalike) and "wait for review" in lookalike


def test_the_sample_test_uses_unsaved_aliases_and_a_draft_rule_and_escapes_html(app: Any, treasurer: Any) -> None:
    from tracker.extensions import db
    from tracker.models import TagRule

    client, _ = treasurer
    with app.app_context():
        _books(app).campaign("205", title="Penza")
    url = f"/admin/campaigns/{_campaign_id(app, '205')}"
    body = _test(client, url, aliases="пенза", sample="<b>Привет</b> из ПЕНЗА <script>x()</script>")
    sample = _sample_html(body)
    assert "<b>" not in sample and "<script>" not in sample and "&lt;script&gt;" in sample
    assert re.search(r"<mark[^>]*>ПЕНЗА</mark>", sample) and "not saved yet" in body
    regex = _sample_html(_test(client, url, rule_kind="regex", pattern=r"penza\s+20\d", sample="penza 205 appeal, penza 2025"))
    assert re.search(r"<mark[^>]*>penza 205</mark> appeal, penza 2025$", regex)  # a regex match ends on a token boundary too
    with app.app_context():  # testing stored nothing
        assert [(r.kind, r.pattern) for r in db.session.scalars(sa.select(TagRule))] == [("tag", "205")]
    assert [a for a, _ in _audit(app)].count("campaign.edit") == 0


def _import(app: Any, tmp_path: Any, notes: list[str]) -> None:
    from tests.importers.paypal_factory import Tx, build
    from tracker.services.importing import import_file

    now = datetime.now(UTC).replace(microsecond=0)
    txs = [
        Tx(now - timedelta(days=len(notes) - i), "donation", "EUR", Decimal("10.00") + i, Decimal("0.50"),
           name=f"Secret Donor{i}", from_email=f"d{i}@hidden.example", txn_id=f"TXN{i:08d}", note=note)
        for i, note in enumerate(notes)
    ]
    txs.append(Tx(now - timedelta(days=120), "donation", "EUR", Decimal("99.00"), Decimal("0"), name="Old Donor",
                  from_email="old@hidden.example", txn_id="OLD00001", note="old gift for penza"))
    path = tmp_path / "recent.csv"
    path.write_bytes(build("en_activity_2018", txs)[0])
    with app.app_context():
        assert import_file(path, account_name="PayPal").status == "committed"


def test_recent_donations_preview_compares_the_draft_with_what_they_are_tagged_to_now(app: Any, treasurer: Any, tmp_path: Any) -> None:
    from tracker.extensions import db
    from tracker.models import Donation

    client, _ = treasurer
    with app.app_context():
        books = _books(app)
        books.campaign("205", {"anna": 1}, title="Penza")
        books.campaign("212", {"lev": 1}, title="Orlov")
    notes = ["for 205", "solidarity with penza", "Penza and 212", "order 1205", "general gift", "<i>penza</i>"]
    _import(app, tmp_path, notes)
    with app.app_context():
        now = {d.gross: (d.destination, d.campaign_id) for d in db.session.scalars(sa.select(Donation))}
        db.session.rollback()
    assert now[Decimal("10.00")][0] == "campaign" and now[Decimal("11.00")][0] == "general"
    url = f"/admin/campaigns/{_campaign_id(app, '205')}"
    body = _test(client, url, aliases="penza")
    section = body.split('id="test-result"', 1)[1]
    rows = re.findall(r'<tr class="change-(\w+)">(.*?)</tr>', section, re.S)
    by_note = {}
    for change, row in rows:
        for note in notes:
            plain = re.sub(r"<[^>]+>", "", row).replace("&lt;", "<").replace("&gt;", ">")
            if note in plain:
                by_note[note] = change
    assert by_note == {
        "for 205": "same",
        "solidarity with penza": "joins",
        "Penza and 212": "changes",  # two campaigns: review
        "<i>penza</i>": "joins",
    }, by_note
    assert "order 1205" not in section and "general gift" not in section and "old gift" not in section  # no match, or older than 90 days
    assert "<i>penza</i>" not in section and "&lt;i&gt;<mark" in section  # escaped, highlighted
    assert "Secret Donor" not in body and "hidden.example" not in body  # sealed identity never shown
    with app.app_context():  # the preview changed nothing
        assert {d.gross: (d.destination, d.campaign_id) for d in db.session.scalars(sa.select(Donation))} == now
    leaving = _test(client, url, remove_rule=[], aliases="", rule_kind="alias", pattern="")
    assert "change-same" in leaving and "change-joins" not in leaving


def test_recent_preview_pages_by_id(app: Any, treasurer: Any, tmp_path: Any, monkeypatch: Any) -> None:
    from tracker.web.admin import catalog_preview

    client, _ = treasurer
    with app.app_context():
        _books(app).campaign("205", title="Penza")
    _import(app, tmp_path, [f"for 205 #{i}" for i in range(5)])
    monkeypatch.setattr(catalog_preview, "SHOWN", 2)
    url = f"/admin/campaigns/{_campaign_id(app, '205')}"
    first = _test(client, url)
    ids = [int(i) for i in re.findall(r'<tr class="change-\w+">\s*<td class="num">(\d+)</td>', first)]
    assert len(ids) == 2 and ids == sorted(ids, reverse=True)
    more = re.search(r'name="before" value="(\d+)"', first)
    assert more and int(more.group(1)) == ids[-1]
    second = _test(client, url, before=more.group(1))
    older = [int(i) for i in re.findall(r'<tr class="change-\w+">\s*<td class="num">(\d+)</td>', second)]
    assert len(older) == 2 and max(older) < min(ids)


# --- who may do what ------------------------------------------------------------------------


def test_organisers_see_public_facts_only_and_cannot_edit(app: Any) -> None:
    with app.app_context():
        books = _books(app)
        books.campaign("205", {"anna": 1}, title="Penza case", aliases=["penza"], goal=("EUR", Decimal(1000)))
        prisoner_id = books.prisoner("hidden", "Hidden Person", public=False).id
    campaign_id = _campaign_id(app, "205")
    organiser = _organiser(app)
    listing = organiser.get("/admin/campaigns")
    assert listing.status_code == 200
    body = listing.data.decode()
    assert "Penza case" in body and "205" in body and "public" in body
    assert "<progress" not in body and "goal" not in body.lower() and "penza<" not in body and "Rules" not in body
    assert "/admin/campaigns/new" not in body and f"/admin/campaigns/{campaign_id}" not in body
    people = organiser.get("/admin/prisoners")
    assert people.status_code == 200 and b"Hidden Person" in people.data and b"/admin/prisoners/new" not in people.data
    for url in ("/admin/campaigns/new", f"/admin/campaigns/{campaign_id}", "/admin/prisoners/new", f"/admin/prisoners/{prisoner_id}"):
        assert organiser.get(url).status_code == 403, url
    token = csrf(organiser.get("/admin/campaigns").data)
    assert organiser.post("/admin/campaigns/new", data={"csrf_token": token, "tag": "999", "title": "x"}).status_code == 403
    assert organiser.post(f"/admin/campaigns/{campaign_id}/weights", data={"w-csrf_token": token}).status_code == 403
    admin = app.test_client()
    set_password(admin, add_user(app, "admin@example.org", "admin"))
    sign_in(admin, "admin@example.org")
    for url in ("/admin/campaigns", "/admin/prisoners", f"/admin/campaigns/{campaign_id}"):
        assert admin.get(url).status_code in (302, 403), url  # admins pass TOTP first, then are refused
    anonymous = app.test_client()
    assert anonymous.get("/admin/campaigns").status_code == 302
    from tracker.web.admin.access import declared_roles

    assert declared_roles(app, "admin.campaigns_page") == {"treasurer", "organiser"}
    assert declared_roles(app, "admin.campaign_edit") == {"treasurer"}


def test_changes_need_a_csrf_token(app: Any, treasurer: Any) -> None:
    client, _ = treasurer
    with app.app_context():
        books = _books(app)
        books.campaign("205", {"anna": 1}, title="Penza")
    campaign_id = _campaign_id(app, "205")
    before = (_counts(app), len(_audit(app)))
    posts = [
        ("/admin/campaigns/new", {"tag": "999", "title": "No token"}),
        (f"/admin/campaigns/{campaign_id}", {"title": "No token", "action": "save", "pattern": "nope"}),
        (f"/admin/campaigns/{campaign_id}/weights", {"w-prisoner": "anna", "w-weight": "3", "w-since": "2025-06-01"}),
        ("/admin/prisoners/new", {"slug": "nobody", "name": "No token"}),
    ]
    for url, data in posts:
        response = client.post(url, data=data)
        assert response.status_code in (200, 400), url
        assert b"Penza" in client.get(f"/admin/campaigns/{campaign_id}").data
    assert (_counts(app), len(_audit(app))) == before


# --- the services behind the pages ---------------------------------------------------------


def test_services_refuse_tags_and_aliases_the_tagging_engine_could_not_compile(app: Any) -> None:
    from tracker.services import unit_of_work
    from tracker.services.campaigns import FieldConflict, create_campaign

    with app.app_context():
        for tag, aliases, field in (("#205", (), "tag"), ("205", ("penza!",), "aliases"), ("205", ("a\u200bb",), "aliases")):
            try:
                with unit_of_work() as s:
                    create_campaign(s, tag, "Penza", aliases=aliases)
            except FieldConflict as error:
                assert error.field == field, (tag, aliases)
            else:
                raise AssertionError(f"{tag} {aliases} accepted")
        with unit_of_work() as s:
            created = create_campaign(s, "205", "Penza", aliases=["penza", "PENZA", " penza "])
        from tracker.extensions import db
        from tracker.models import TagRule

        assert sorted(r.pattern for r in db.session.scalars(sa.select(TagRule).where(TagRule.campaign_id == created.id))) == ["205", "penza"]
        db.session.rollback()


def test_a_window_change_moves_rules_that_followed_it_and_keeps_rules_with_their_own(app: Any) -> None:
    from tracker.extensions import db
    from tracker.models import TagRule
    from tracker.services.campaigns import add_campaign, add_rule, edit_campaign

    with app.app_context():
        add_campaign("205", "Penza", aliases=["penza"], starts_on=date(2025, 1, 1))
        add_rule("205", "alias", "сеть", valid_from=date(2025, 3, 1), valid_until=date(2025, 3, 31))
        edit_campaign("205", starts_on=date(2025, 2, 1), ends_on=date(2025, 12, 31))
        windows = {r.pattern: (r.valid_from, r.valid_until) for r in db.session.scalars(sa.select(TagRule))}
        db.session.rollback()
    assert windows == {
        "205": (date(2025, 2, 1), date(2025, 12, 31)),
        "penza": (date(2025, 2, 1), date(2025, 12, 31)),
        "сеть": (date(2025, 3, 1), date(2025, 3, 31)),
    }
