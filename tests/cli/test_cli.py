"""The command line: contract shapes, exit codes, and the demo's totals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tracker import money
from tracker.demo_data import build_plan, fund_split

ROOT = Path(__file__).resolve().parents[2]


def invoke(app: Any, *args: str) -> Any:
    result = app.test_cli_runner(mix_stderr=False).invoke(args=list(args)) if _mix_stderr_supported() else app.test_cli_runner().invoke(args=list(args))
    return result


def _mix_stderr_supported() -> bool:
    import inspect

    from click.testing import CliRunner

    return "mix_stderr" in inspect.signature(CliRunner.__init__).parameters


def _add(target: dict[str, Decimal], cur: str, amount: Decimal) -> None:
    target[cur] = target.get(cur, Decimal(0)) + amount


def _fmt(values: dict[str, Decimal], codes: Any = ()) -> dict[str, str]:
    keys = set(values) | set(codes)
    return {cur: money.to_string(values.get(cur, Decimal(0)), cur) for cur in sorted(keys)}


def _accumulate(plan: Any, until: Any = None) -> dict[str, Any]:
    """Per campaign group and per fund figures from the plan, up to ``until``."""
    campaigns = {c.tag: c for c in plan.campaigns}
    by_ref = {d.ref: d for d in plan.donations}
    groups: dict[str | None, dict[str, Any]] = defaultdict(lambda: {"donations": 0, "gross": {}, "fee": {}})
    held: dict[str, dict[str, dict[str, Decimal]]] = defaultdict(lambda: {"raised": {}, "fees": {}, "spent": {}, "transfers": {}})
    gross_parts: dict[int, dict[str, Decimal]] = {}
    fee_parts: dict[int, dict[str, Decimal]] = {}

    def due(at: Any) -> bool:
        return until is None or at <= until

    for d in plan.donations:
        on = d.received_at.date()
        gp = fund_split(campaigns, d.campaign, on, d.gross, d.currency)
        np_ = fund_split(campaigns, d.campaign, on, d.gross - d.fee, d.currency)
        gross_parts[d.ref] = gp
        fee_parts[d.ref] = {k: gp[k] - np_[k] for k in gp}
        if not due(d.received_at):
            continue
        g = groups[d.campaign]
        g["donations"] += 1
        _add(g["gross"], d.currency, d.gross)
        _add(g["fee"], d.currency, d.fee)
        for k in gp:
            _add(held[k]["raised"], d.currency, gp[k])
            _add(held[k]["fees"], d.currency, gp[k] - np_[k])
    returned: dict[int, tuple[Decimal, Decimal]] = {}
    for r in sorted(plan.returns, key=lambda r: r.at):
        if not due(r.at):
            continue
        d = by_ref[r.donation]
        g = groups[d.campaign]
        _add(g["gross"], d.currency, -r.amount)
        _add(g["fee"], d.currency, r.dispute_fee - r.fee_returned)
        back, fee_back = returned.get(d.ref, (Decimal(0), Decimal(0)))
        gw = {k: v for k, v in gross_parts[d.ref].items() if v > 0}
        nw = {k: gross_parts[d.ref][k] - fee_parts[d.ref][k] for k in gw if gross_parts[d.ref][k] - fee_parts[d.ref][k] > 0} or gw
        g_step = money.split_cumulative(back, back + r.amount, gw, d.currency)
        n_step = money.split_cumulative(back - fee_back, back + r.amount - fee_back - r.fee_returned, nw, d.currency)
        for k in set(g_step) | set(n_step):
            _add(held[k]["raised"], d.currency, -g_step.get(k, Decimal(0)))
            _add(held[k]["fees"], d.currency, -(g_step.get(k, Decimal(0)) - n_step.get(k, Decimal(0))))
        if r.dispute_fee:
            for k, v in money.split(r.dispute_fee, gw, d.currency).items():
                _add(held[k]["fees"], d.currency, v)
        returned[d.ref] = (back + r.amount, fee_back + r.fee_returned)
    for c in plan.conversions:
        if not due(c.at):
            continue
        if c.donation is not None:
            d = by_ref[c.donation]
            shares = {k: gross_parts[d.ref][k] - fee_parts[d.ref][k] for k in gross_parts[d.ref]}
        else:
            # pro rata over the funds holding the sold currency at that moment
            before = _accumulate(plan, until=c.at - timedelta(microseconds=1))["held"]
            shares = {}
            for k, fig in before.items():
                amount = sum((fig[n].get(c.sold_currency, Decimal(0)) * sign for n, sign in (("raised", 1), ("fees", -1), ("spent", -1), ("transfers", 1))), Decimal(0))
                if amount > 0:
                    shares[k] = amount
        for k, v in money.split(c.sold, shares, c.sold_currency).items():
            _add(held[k]["transfers"], c.sold_currency, -v)
        for k, v in money.split(c.bought, shares, c.bought_currency).items():
            _add(held[k]["transfers"], c.bought_currency, v)
    for ft in plan.fund_transfers:
        if due(ft.at):
            _add(held[ft.source]["transfers"], ft.currency, -ft.amount)
            _add(held[ft.target]["transfers"], ft.currency, ft.amount)
    for x in plan.disbursements:
        if due(datetime.combine(x.paid_on, time(12, 0), UTC)):
            _add(held[x.fund]["spent"], x.currency, x.amount)
    return {"groups": groups, "held": held}


def expected_totals() -> dict[str, Any]:
    """The demo's totals, computed from the plan without the services."""
    plan = build_plan()
    return {**_accumulate(plan), "plan": plan}


def test_totals_json_on_the_demo_equals_an_independent_computation(app: Any) -> None:
    result = invoke(app, "demo")
    assert result.exit_code == 0, result.output
    again = invoke(app, "demo")
    assert again.exit_code == 0
    result = invoke(app, "totals", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) >= {"campaigns", "prisoners", "general", "review", "unclassified"}
    want = expected_totals()
    groups, held, plan = want["groups"], want["held"], want["plan"]
    for row in data["campaigns"]:
        g = groups[row["tag"]]
        assert row["donations"] == g["donations"], row["tag"]
        codes = set(g["gross"]) | set(g["fee"])
        assert row["gross"] == _fmt(g["gross"], codes), row["tag"]
        assert row["fee"] == _fmt(g["fee"], codes), row["tag"]
        assert row["net"] == _fmt({c: g["gross"].get(c, Decimal(0)) - g["fee"].get(c, Decimal(0)) for c in codes}), row["tag"]
        assert set(row) >= {"tag", "title", "donations", "gross", "fee", "net"}
    general = groups[None]
    codes = set(general["gross"]) | set(general["fee"])
    assert data["general"] == {
        "donations": general["donations"],
        "gross": _fmt(general["gross"], codes),
        "fee": _fmt(general["fee"], codes),
        "net": _fmt({c: general["gross"].get(c, Decimal(0)) - general["fee"].get(c, Decimal(0)) for c in codes}),
    }
    assert data["review"] == {"donations": groups["?"]["donations"], "gross": _fmt(groups["?"]["gross"])}
    assert data["unclassified"]["lines"] == 2
    # the opening cash and the pending payment, plus the review fund's share of
    # the pro rata GBP conversion (it held GBP of donations waiting for review)
    unclassified = {"EUR": Decimal("125.00")}
    for cur, amount in held["review"]["transfers"].items():
        unclassified[cur] = unclassified.get(cur, Decimal(0)) + amount
    assert data["unclassified"]["net"] == _fmt({c: v for c, v in unclassified.items() if v})
    assert len(data["prisoners"]) == len(plan.prisoners)
    for p in data["prisoners"]:
        h = held[p["slug"]]
        codes = set(p["balance"])
        assert p["raised"] == _fmt(h["raised"], codes), p["slug"]
        assert p["fees"] == _fmt(h["fees"], codes), p["slug"]
        assert p["spent"] == _fmt(h["spent"], codes), p["slug"]
        assert p["transfers"] == _fmt(h["transfers"], codes), p["slug"]
        for cur in p["balance"]:
            got = Decimal(p["raised"].get(cur, "0")) - Decimal(p["fees"].get(cur, "0")) - Decimal(p["spent"].get(cur, "0")) + Decimal(p["transfers"].get(cur, "0"))
            assert got == Decimal(p["balance"][cur])
    donors = {d.donor for d in plan.donations if d.donor}
    assert len(plan.donations) >= 5000 and len(donors) >= 1500
    result = invoke(app, "check")
    assert result.exit_code == 0, result.output
    assert "check ok" in result.stdout
    _check_demo_publications(app, plan)


def _check_demo_publications(app: Any, plan: Any) -> None:
    """The demo cuts its two years: most public funds show figures, every cell and atom is safe."""
    from tests.publishing.test_publishing import assert_cells_and_atoms
    from tracker.extensions import db
    from tracker.services import published

    verify = invoke(app, "publish", "--verify")
    assert verify.exit_code == 0, verify.output
    figures = published.figures(db.session)
    assert figures.head is not None and {r.kind for r in figures.releases} == {"monthly", "yearly"}
    public = [p.slug for p in plan.prisoners if p.public]
    shown = [f.slug for f in figures.prisoners if f.raised]
    assert len(shown) >= 0.8 * len(public), (shown, public)
    assert sum(1 for c in figures.campaigns.values() if c.raised) >= 0.6 * len(figures.campaigns)
    assert_cells_and_atoms(db.session, k=5)
    again = invoke(app, "publish")
    assert again.exit_code == 0 and "Nothing is due" in again.output


def test_totals_table_is_readable(app: Any, books: Any) -> None:
    campaign = books.campaign("205", {"ivan": 1})
    books.donation("10.00", fee="0.50", campaign=campaign)
    result = invoke(app, "totals")
    assert result.exit_code == 0
    assert "205" in result.stdout and "10.00 EUR" in result.stdout and "Ivan" in result.stdout


def test_account_prisoner_and_campaign_add(app: Any) -> None:
    assert invoke(app, "account", "add", "PayPal main", "--kind", "paypal").exit_code == 0
    assert invoke(app, "prisoner", "add", "ivan", "--name", "Ivan K.").exit_code == 0
    assert invoke(app, "prisoner", "add", "olga", "--name", "Olga", "--private").exit_code == 0
    result = invoke(
        app, "campaign", "add", "205", "--title", "Penza", "--alias", "penza", "--alias", "пенза",
        "--prisoner", "ivan:2", "--prisoner", "olga", "--from", "2025-01-01", "--until", "2025-12-31", "--goal", "EUR=5000",
    )
    assert result.exit_code == 0, result.output
    from tracker.extensions import db
    from tracker.models import Campaign, CampaignPrisoner, TagRule

    campaign = db.session.scalar(sa.select(Campaign).where(Campaign.tag == "205"))
    assert campaign.goal_amount == Decimal(5000) and campaign.goal_currency == "EUR"
    rules = db.session.scalars(sa.select(TagRule).where(TagRule.campaign_id == campaign.id)).all()
    assert sorted((r.kind, r.pattern) for r in rules) == [("alias", "penza"), ("alias", "пенза"), ("tag", "205")]
    weights = sorted(w.weight for w in db.session.scalars(sa.select(CampaignPrisoner)))
    assert weights == [Decimal(1), Decimal(2)]
    again = invoke(app, "campaign", "add", "205", "--title", "Again")
    assert again.exit_code == 1
    assert "already exists" in (again.stderr if hasattr(again, "stderr") else again.output)


def test_bad_arguments_exit_2_with_a_clear_message(app: Any) -> None:
    cases = [
        ("account", "add", "X", "--kind", "crypto"),
        ("account", "add", "X"),
        ("campaign", "add", "205", "--title", "T", "--from", "31/12/2025"),
        ("campaign", "add", "205", "--title", "T", "--goal", "5000"),
        ("campaign", "add", "205", "--title", "T", "--goal", "EUR=1e3"),
        ("totals", "--bogus"),
    ]
    for args in cases:
        result = invoke(app, *args)
        assert result.exit_code == 2, (args, result.output)
        assert "Error" in (result.output + getattr(result, "stderr", "")), args


def test_unknown_prisoner_is_an_input_error(app: Any) -> None:
    result = invoke(app, "campaign", "add", "205", "--title", "T", "--prisoner", "nobody")
    assert result.exit_code == 1
    assert "no prisoner with slug 'nobody'" in (result.output + getattr(result, "stderr", ""))


def test_check_exits_1_and_names_the_entry_on_a_corrupted_database(app: Any, books: Any) -> None:
    from tracker.extensions import db

    donation = books.donation("5.00", general=True)
    db.session.execute(
        sa.text("INSERT INTO postings (entry_id, ledger_account_id, currency, amount, role) VALUES (:e, 1, 'EUR', 700, 'transfer')"),
        {"e": donation.allocation_entry_id},
    )
    db.session.commit()
    result = invoke(app, "check")
    assert result.exit_code == 1
    assert f"entry {donation.allocation_entry_id} sums to +0.07 EUR" in (result.output + getattr(result, "stderr", ""))


def test_console_script_and_flask_cli_agree(tmp_path: Path) -> None:
    env = {**os.environ, "TRACKER_ENV": "development", "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3"}
    tracker = subprocess.run([sys.executable, "-m", "tracker", "--help"], capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    flask = subprocess.run([sys.executable, "-m", "flask", "--app", "tracker", "--help"], capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    assert tracker.returncode == 0, tracker.stderr
    for command in ("init-db", "demo", "check", "totals", "account", "prisoner", "campaign"):
        assert command in tracker.stdout
        assert command in flask.stdout


def test_missing_secret_key_outside_development_is_refused(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "TRACKER_ENV", "TRACKER_SECRET_KEY")}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path}/x.sqlite3"
    result = subprocess.run([sys.executable, "-m", "tracker", "check"], capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
