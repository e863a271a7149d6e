"""Tagging end to end: the review queue, manual choices that stick, re-tagging,
weights over time and re-allocation (issue: campaign tagging and allocation)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.importers.paypal_factory import Tx, build
from tests.services.test_importing import check_ok
from tracker.errors import Conflict
from tracker.models import AllocationNote, AuditEvent, Donation
from tracker.services.totals import totals

WHEN = datetime(2025, 3, 14, 10, tzinfo=UTC)


def gift(n: int, note: str, gross: str = "20.00", days: int = 0) -> Tx:
    return Tx(WHEN + timedelta(days=days, minutes=n), "donation", "EUR", Decimal(gross), Decimal("0.93"), txn_id=f"G{n}", from_email=f"d{n}@example.org", note=note)


@pytest.fixture
def setup(books: Any) -> Any:
    books.campaign("205", {"a": 1, "b": 1}, title="Penza")
    books.campaign("212", {"c": 1}, title="Orlov")
    from tracker.services.campaigns import add_rule

    add_rule("205", "alias", "penza")
    return books


def imported(tmp_path: Path, txs: list[Tx], name: str = "x.csv", **kw: Any) -> Any:
    from tracker.services.importing import import_file

    path = tmp_path / name
    path.write_bytes(build("en_activity_2018", txs, **kw)[0])
    result = import_file(path, account_name="PayPal")
    assert result.status == "committed", [str(e) for e in result.errors]
    return result


def row(data: dict[str, Any], tag: str) -> dict[str, Any]:
    return next(c for c in data["campaigns"] if c["tag"] == tag)


def test_review_assign_retag_and_refunds_follow_the_choice(setup: Any, session: Any, tmp_path: Path) -> None:
    from tracker.services.review import assign, retag, retag_preview, review_queue

    txs = [gift(1, "for 205!"), gift(2, "205 and 212"), gift(3, "2\u041e5 (Cyrillic O)"), gift(4, "thanks"), gift(5, "Penza case"), gift(6, "сеть")]
    result = imported(tmp_path, txs)
    assert result.summary["tagging"] == {"campaign": 2, "review": 2, "general": 2}
    data = totals(session)
    assert row(data, "205")["donations"] == 2 and data["review"]["donations"] == 2
    session.rollback()
    queue = review_queue(session)
    assert [q.reason for q in queue][0].startswith("matches several campaigns")
    assert "Cyrillic" in queue[1].reason
    assert queue[1].texts == [("note", "2\u041e5 (Cyrillic O)")]
    assert queue[0].candidates == ["205", "212"]
    session.rollback()
    assign([queue[0].donation_id], campaign_tag="212")
    assign([queue[1].donation_id], campaign_tag=None)
    check_ok(session)
    data = totals(session)
    assert data["review"]["donations"] == 0
    assert row(data, "212")["donations"] == 1 and row(data, "212")["gross"] == {"EUR": "20.00"}
    assert data["general"]["donations"] == 3
    session.rollback()
    # a refund of the settled donation, in a later file, follows 212
    back = Tx(WHEN + timedelta(days=3), "refund", "EUR", Decimal("-20.00"), Decimal("-0.63"), txn_id="R2", ref_id="G2")
    imported(tmp_path, [back], "refund.csv")
    check_ok(session)
    data = totals(session)
    assert row(data, "212")["gross"] == {"EUR": "0.00"} and row(data, "212")["fee"] == {"EUR": "0.30"}
    session.rollback()
    # new rule, previewed then applied; hand-made choices are never overridden
    from tracker.services.campaigns import add_rule

    add_rule("205", "alias", "сеть")
    preview = retag_preview(session)
    assert [(c.before, c.after) for c in preview] == [("general", "205")]
    changed = retag()
    assert [c.donation_id for c in changed] == [c.donation_id for c in preview]
    assert retag_preview(session) == []
    check_ok(session)
    data = totals(session)
    assert row(data, "205")["donations"] == 3 and row(data, "205")["gross"] == {"EUR": "60.00"}
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action.in_(["review.assign", "retag"]))) == 3


def test_manual_choice_survives_undo_and_reimport(setup: Any, session: Any, tmp_path: Path) -> None:
    from tracker.services.batches import undo_batch
    from tracker.services.review import assign

    first = imported(tmp_path, [gift(1, "205 and 212")])
    donation = session.scalar(sa.select(Donation))
    session.rollback()
    assign([donation.id], campaign_tag="212")
    undo_batch(first.batch_id)
    check_ok(session)
    again = imported(tmp_path, [gift(1, "205 and 212")], "again.csv", newline="\r\n")
    assert again.summary["tagging"] == {"campaign": 1}
    data = totals(session)
    assert row(data, "212")["donations"] == 1 and data["review"]["donations"] == 0
    check_ok(session)


def test_weights_change_with_effective_dates_and_reallocation_is_explicit(setup: Any, books: Any, session: Any, tmp_path: Path) -> None:
    from tracker.services.campaigns import change_weight
    from tracker.services.review import reallocate_campaign, reallocation_preview

    books.prisoner("d")
    change_weight("205", "d", Decimal(2), since=date(2025, 3, 20))
    imported(tmp_path, [gift(1, "205", "40.00"), gift(2, "205", "40.00", days=10)])
    fa, fd = books.fund_of("a"), books.fund_of("d")
    from tracker.services.totals import fund_figures

    figs = fund_figures(session, [fa.ledger_account_id, fd.ledger_account_id])
    assert figs[fa.ledger_account_id].raised == {"EUR": Decimal("30.00")}  # 20 before + 10 after
    assert figs[fd.ledger_account_id].raised == {"EUR": Decimal("20.00")}  # only after 20 March
    session.rollback()
    assert reallocation_preview(session, "205") == []
    # a weight change dated before the first gift: booked money keeps its split until re-allocated
    with pytest.raises(Conflict):
        change_weight("205", "d", Decimal(1), since=date(2025, 3, 1))
    change_weight("205", "b", Decimal(0), since=date(2025, 3, 22))
    preview = reallocation_preview(session, "205")
    assert [c.received_on for c in preview] == ["2025-03-24"]
    with pytest.raises(Conflict):
        reallocate_campaign("205", public_note="  ")
    moved = reallocate_campaign("205", public_note="Boris was released on 22 March; his share goes to the others.")
    assert len(moved) == 1
    check_ok(session)
    figs = fund_figures(session, [fa.ledger_account_id, fd.ledger_account_id, books.fund_of("b").ledger_account_id])
    assert sum(f.raised["EUR"] for f in figs.values()) == Decimal("80.00")
    assert figs[books.fund_of("b").ledger_account_id].raised["EUR"] == Decimal("20.00")  # only the first gift
    note = session.scalar(sa.select(AllocationNote))
    assert note.donations == 1 and "released" in note.public_note
    session.rollback()
    assert reallocation_preview(session, "205") == []


def test_transfer_between_funds_needs_a_reason_and_money(setup: Any, books: Any, session: Any, tmp_path: Path) -> None:
    from tracker.services.review import transfer

    imported(tmp_path, [gift(1, "212", "50.00")])
    with pytest.raises(Conflict):
        transfer("c", "a", Decimal("100.00"), "EUR", reason="too much")
    with pytest.raises(Conflict):
        transfer("c", "a", Decimal("10.00"), "EUR", reason=" ")
    transfer("c", "a", Decimal("10.00"), "EUR", reason="Orlov released; his remaining fund goes to the Penza case")
    check_ok(session)
    data = totals(session)
    by_slug = {p["slug"]: p for p in data["prisoners"]}
    assert by_slug["a"]["transfers"] == {"EUR": "10.00"} and by_slug["c"]["transfers"] == {"EUR": "-10.00"}


def test_bad_rules_are_refused_clearly(setup: Any) -> None:
    from tracker.services.campaigns import add_rule

    with pytest.raises(Conflict):
        add_rule("205", "regex", "(unclosed")
    with pytest.raises(Conflict):
        add_rule("205", "regex", "a*")
    with pytest.raises(Conflict):
        add_rule("205", "alias", "")
    rule = add_rule("205", "regex", r"penza\s+20\d")
    assert rule.id
