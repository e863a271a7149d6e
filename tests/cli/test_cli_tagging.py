"""The tagging and review commands, end to end through the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.cli.test_cli import invoke
from tests.importers.paypal_factory import Tx, build


def test_rule_review_retag_weight_and_transfer_commands(app: Any, tmp_path: Path) -> None:
    for slug in ("a", "b", "c"):
        assert invoke(app, "prisoner", "add", slug, "--name", slug.upper()).exit_code == 0
    assert invoke(app, "campaign", "add", "205", "--title", "Penza", "--prisoner", "a", "--prisoner", "b").exit_code == 0
    assert invoke(app, "campaign", "add", "212", "--title", "Orlov", "--prisoner", "c").exit_code == 0
    result = invoke(app, "rule", "add", "205", "penza")
    assert result.exit_code == 0, result.output
    assert invoke(app, "rule", "add", "205", "(oops", "--kind", "regex").exit_code == 1
    rules = json.loads(invoke(app, "rule", "list", "--json").stdout)["rules"]
    assert {(r["campaign"], r["kind"], r["pattern"]) for r in rules} >= {("205", "tag", "205"), ("205", "alias", "penza"), ("212", "tag", "212")}

    when = datetime(2025, 5, 14, 9, tzinfo=UTC)
    txs = [
        Tx(when + timedelta(minutes=i), "donation", "EUR", Decimal("10.00"), Decimal("0.64"), txn_id=f"T{i}", note=note)
        for i, note in enumerate(["205 and 212", "for penza", "сеть"])
    ]
    path = tmp_path / "x.csv"
    path.write_bytes(build("en_activity_2018", txs)[0])
    assert invoke(app, "import", str(path)).exit_code == 0
    queue = json.loads(invoke(app, "review", "list", "--json").stdout)["donations"]
    assert len(queue) == 1 and queue[0]["candidates"] == ["205", "212"]
    assert invoke(app, "review", "assign", str(queue[0]["donation_id"])).exit_code == 2
    assert invoke(app, "review", "assign", str(queue[0]["donation_id"]), "--campaign", "212").exit_code == 0
    assert json.loads(invoke(app, "review", "list", "--json").stdout)["donations"] == []

    assert invoke(app, "rule", "add", "205", "сеть").exit_code == 0
    preview = json.loads(invoke(app, "retag", "--dry-run", "--json").stdout)
    assert [(c["from"], c["to"]) for c in preview["changes"]] == [("general", "205")]
    assert json.loads(invoke(app, "retag", "--json").stdout)["changes"] == preview["changes"]

    assert invoke(app, "campaign", "weight", "205", "b", "0", "--from", "2025-05-01").exit_code == 0
    plan = json.loads(invoke(app, "campaign", "reallocate", "205", "--dry-run", "--json").stdout)
    assert len(plan["donations"]) == 2
    assert invoke(app, "campaign", "reallocate", "205").exit_code == 2  # the public note is required
    assert invoke(app, "campaign", "reallocate", "205", "--note", "B was released").exit_code == 0
    listed = json.loads(invoke(app, "campaign", "list", "--json").stdout)["campaigns"]
    penza = next(c for c in listed if c["tag"] == "205")
    assert {p["slug"]: p["until"] for p in penza["prisoners"]} == {"a": None, "b": "2025-05-01"}
    assert invoke(app, "campaign", "edit", "205", "--title", "Penza case", "--goal", "EUR=9000").exit_code == 0
    assert invoke(app, "transfer", "a", "c", "5.00", "EUR", "--reason", "shared costs").exit_code == 0
    assert invoke(app, "transfer", "a", "c", "5.001", "EUR", "--reason", "x").exit_code == 2
    assert invoke(app, "check").exit_code == 0
