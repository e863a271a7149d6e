"""Cutting publications: K, dominance, carries, the atom rule, yearly statements, the chain."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from tracker.models import Publication, PublicationCell, PublishedDonation
from tracker.services import publishing

JAN = datetime(2025, 1, 10, 12, tzinfo=UTC)
FEB = datetime(2025, 2, 10, 12, tzinfo=UTC)


def _cut(today: date, **kw: Any) -> list[publishing.CutReport]:
    return publishing.publish(today=today, group="ABC", **kw)


def _cells(session: Any, seq: int) -> dict[tuple[str, str], tuple[Decimal, int]]:
    pub = session.scalar(sa.select(Publication).where(Publication.seq == seq))
    rows = session.scalars(sa.select(PublicationCell).where(PublicationCell.publication_id == pub.id))
    return {(c.key, c.currency): (c.value, c.donors) for c in rows}


def _body(session: Any, seq: int) -> dict[str, Any]:
    return json.loads(session.scalar(sa.select(Publication.body).where(Publication.seq == seq)))


def test_month_publishes_k_donors_and_rounds_down(session: Any, books: Any) -> None:
    campaign = books.campaign("205", {"anna": 1, "boris": 1})
    for i in range(6):
        books.donation("20.50", fee="1", campaign=campaign, when=JAN, donor=f"d{i}")
    reports = _cut(date(2025, 2, 3))
    assert [r.kind for r in reports] == ["monthly"]
    cells = _cells(session, 1)
    assert cells[("campaign:205", "EUR")] == (Decimal("120"), 6)  # 123.00 rounded down to 10
    assert cells[("prisoner:anna", "EUR")] == (Decimal("60"), 6)  # 61.50
    assert cells[("prisoner:boris", "EUR")] == (Decimal("60"), 6)
    body = _body(session, 1)
    assert body["period"] == {"start": "2025-01-01", "end": "2025-01-31"}
    assert {c["key"] for c in body["cells"]} == {"campaign:205", "prisoner:anna", "prisoner:boris"}
    assert all(isinstance(c["received"], str) for c in body["cells"])
    # nothing is due again until the month closes
    assert _cut(date(2025, 2, 20)) == []
    assert session.scalar(sa.select(sa.func.count()).select_from(Publication)) == 1


def test_too_few_donors_is_withheld_and_carried(session: Any, books: Any) -> None:
    campaign = books.campaign("205", {"anna": 1})
    for i in range(3):
        books.donation("30", campaign=campaign, when=JAN, donor=f"d{i}")
    jan = _cut(date(2025, 2, 1))
    assert jan[0].published == 0
    assert "fewer than 5 distinct donors (3)" in jan[0].withheld["campaign:205 EUR"]
    for i in range(3, 5):
        books.donation("30", campaign=campaign, when=FEB, donor=f"d{i}")
    feb = _cut(date(2025, 3, 1))
    cells = _cells(session, feb[0].seq)
    assert cells[("campaign:205", "EUR")] == (Decimal("150"), 5)  # January's three carried in


def test_dominant_donor_is_withheld(session: Any, books: Any) -> None:
    """V6: one 2000 gift among four 5s is not published, and not recoverable from totals."""
    campaign = books.campaign("205", {"anna": 1})
    books.donation("2000", campaign=campaign, when=JAN, donor="big")
    for i in range(4):
        books.donation("5", campaign=campaign, when=JAN, donor=f"small{i}")
    report = _cut(date(2025, 2, 1))[0]
    assert report.published == 0
    assert "more than 50%" in report.withheld["campaign:205 EUR"]


def test_fully_refunded_gifts_do_not_count(session: Any, books: Any) -> None:
    campaign = books.campaign("205", {"anna": 1})
    gifts = [books.donation("30", campaign=campaign, when=JAN, donor=f"d{i}") for i in range(5)]
    books.refund(gifts[0], "30", when=JAN)
    report = _cut(date(2025, 2, 1))[0]
    assert "fewer than 5 distinct donors (4)" in report.withheld["campaign:205 EUR"]


def test_atom_rule_stops_subtraction_across_campaigns(session: Any, books: Any) -> None:
    """Anna is fed by 205 (five donors) and 206 (two donors): anna - 205 would expose 206's two."""
    big = books.campaign("205", {"anna": 1})
    small = books.campaign("206", {"anna": 1})
    for i in range(5):
        books.donation("40", campaign=big, when=JAN, donor=f"a{i}")
    for i in range(2):
        books.donation("40", campaign=small, when=JAN, donor=f"b{i}")
    report = _cut(date(2025, 2, 1))[0]
    cells = _cells(session, report.seq)
    assert ("campaign:205", "EUR") in cells
    assert ("prisoner:anna", "EUR") not in cells
    assert "subtraction" in report.withheld["prisoner:anna EUR"]
    _assert_atoms(session, k=5)


def test_published_cells_never_change(session: Any, books: Any) -> None:
    """V5: a late line, an undone gift or a retag after the cut leaves the release byte-identical."""
    campaign = books.campaign("205", {"anna": 1})
    for i in range(6):
        books.donation("25", campaign=campaign, when=JAN, donor=f"d{i}")
    _cut(date(2025, 2, 1))
    before = session.scalar(sa.select(Publication.body).where(Publication.seq == 1))
    books.donation("25", campaign=campaign, when=JAN, donor="late")  # dated inside January
    for i in range(5):
        books.donation("25", campaign=campaign, when=FEB, donor=f"f{i}")
    _cut(date(2025, 3, 1))
    assert session.scalar(sa.select(Publication.body).where(Publication.seq == 1)) == before
    feb = _cells(session, 2)
    # the late January gift appears in the next open period, not in January
    assert feb[("campaign:205", "EUR")] == (Decimal("150"), 6)
    assert _cells(session, 1)[("campaign:205", "EUR")] == (Decimal("150"), 6)


def test_year_statement_is_exact_and_chain_verifies(session: Any, books: Any) -> None:
    campaign = books.campaign("205", {"anna": 1})
    gifts = [books.donation("33.33", fee="1.11", campaign=campaign, when=JAN, donor=f"d{i}") for i in range(6)]
    books.refund(gifts[0], "10", when=FEB)
    reports = _cut(date(2026, 1, 5))
    kinds = [r.kind for r in reports]
    assert kinds.count("monthly") == 12 and kinds[-1] == "yearly"
    year = _body(session, reports[-1].seq)
    (anna,) = [line for line in year["funds"] if line["fund"] == "prisoner:anna"]
    assert anna["opening"] == "0.00"
    assert anna["received"] in {"199.98", "189.98"}  # refunds folded in when fewer than K donors got one
    assert anna["fees"] == "6.66"
    closing = Decimal(anna["closing"])
    assert closing == Decimal("199.98") - Decimal("10") - Decimal("6.66")
    assert publishing.verify_chain(session) == []
    # tampering is detected
    pub = session.scalar(sa.select(Publication).where(Publication.seq == 2))
    pub.body = pub.body.replace("2025", "2024", 1)
    session.flush()
    assert [p.seq for p in publishing.verify_chain(session)] == [2]
    session.rollback()


def assert_cells_and_atoms(session: Any, k: int) -> None:
    """V2 and V3(b): every published cell has >= k donors, none over half its sum; every atom >= k donors."""
    from tracker.models import Donation

    per_cell: dict[int, dict[str, Decimal]] = {}
    for cell_id, _donation_id, donor, gross in session.execute(
        sa.select(PublishedDonation.cell_id, Donation.id, Donation.donor_key, Donation.gross).join(Donation, Donation.id == PublishedDonation.donation_id)
    ):
        per_cell.setdefault(cell_id, {})
        per_cell[cell_id][donor] = per_cell[cell_id].get(donor, Decimal(0)) + gross
    for cell_id, donors in per_cell.items():
        assert len(donors) >= k, cell_id
        assert max(donors.values()) <= sum(donors.values()) / 2, cell_id
    _assert_atoms(session, k)


def _assert_atoms(session: Any, k: int) -> None:
    """V3(b): across all releases, donations grouped by the published cells containing them: >= k donors each."""
    from tracker.models import Donation

    groups: dict[int, set[int]] = {}
    donors: dict[int, str] = {}
    for cell_id, donation_id, donor in session.execute(
        sa.select(PublishedDonation.cell_id, PublishedDonation.donation_id, Donation.donor_key).join(
            Donation, Donation.id == PublishedDonation.donation_id
        )
    ):
        groups.setdefault(donation_id, set()).add(cell_id)
        donors[donation_id] = donor
    atoms: dict[frozenset[int], set[str]] = {}
    for donation_id, cells in groups.items():
        atoms.setdefault(frozenset(cells), set()).add(donors[donation_id])
    assert all(len(v) >= k for v in atoms.values()), atoms


def test_force_closes_the_current_month_early_within_the_rules(session: Any, books: Any) -> None:
    campaign = books.campaign("205", {"anna": 1})
    for i in range(6):
        books.donation("25", campaign=campaign, when=JAN, donor=f"d{i}")
    books.donation("25", campaign=campaign, when=datetime(2025, 1, 20, 9, tzinfo=UTC), donor="later")
    assert _cut(date(2025, 1, 15)) == []
    forced = _cut(date(2025, 1, 15), force=True)
    assert [(r.kind, r.period) for r in forced] == [("monthly", "2025-01-01..2025-01-14")]
    assert _cells(session, 1)[("campaign:205", "EUR")] == (Decimal("150"), 6)
    # the rest of the month is cut when it closes; a lone gift is withheld, never forced out
    rest = _cut(date(2025, 2, 1))
    assert rest[0].period == "2025-01-15..2025-01-31" and rest[0].published == 0


def test_publish_and_setting_commands(app: Any, books: Any) -> None:
    campaign = books.campaign("205", {"anna": 1})
    for i in range(6):
        books.donation("25", campaign=campaign, when=JAN, donor=f"d{i}")
    runner = app.test_cli_runner()
    bad = runner.invoke(args=["setting", "set", "k", "1"])
    assert bad.exit_code == 1 and "k:" in bad.output
    assert runner.invoke(args=["setting", "set", "k", "6"]).exit_code == 0
    assert runner.invoke(args=["setting", "set", "units", '{"EUR": "5"}']).exit_code == 0
    result = runner.invoke(args=["publish", "--json"])
    assert result.exit_code == 0, result.output
    assert '"withheld"' in result.output
    body = json.loads(session_body(app, 1))
    assert body["rules"]["k"] == 6 and body["rules"]["units"] == {"EUR": "5"}
    assert "fewer than 6 distinct donors (6)" not in result.output


def session_body(app: Any, seq: int) -> str:
    from tracker.extensions import db

    return db.session.scalar(sa.select(Publication.body).where(Publication.seq == seq))


def test_nothing_to_publish_is_refused(app: Any) -> None:
    result = app.test_cli_runner().invoke(args=["publish"])
    assert result.exit_code == 1
    assert "no donations" in result.output


def test_cash_gifts_without_a_donor_key_each_count_alone(session: Any, books: Any) -> None:
    """Manual entries get their own donor key when booked, so each counts as one donor."""
    campaign = books.campaign("205", {"anna": 1})
    for _ in range(5):
        books.donation("20", campaign=campaign, when=JAN, donor=None)
    report = _cut(date(2025, 2, 1))[0]
    assert _cells(session, report.seq)[("campaign:205", "EUR")] == (Decimal("100"), 5)
