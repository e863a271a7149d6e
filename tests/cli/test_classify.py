"""``tracker classify``: list, classify (one or many, dry run), undo, history; exit codes."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.admin.test_classification import balance, check_ok, seed, waiting
from tests.cli.test_cli import invoke


@pytest.fixture
def items(app: Any, tmp_path: Path) -> dict[str, int]:
    return seed(tmp_path)


def test_list_prints_the_queue_as_json_with_filters_and_pages(app: Any, items: dict[str, int]) -> None:
    result = invoke(app, "classify", "list", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert sorted(i["item_id"] for i in data["items"]) == sorted(items.values()) and data["next_after"] is None
    outgoing = next(i for i in data["items"] if i["item_id"] == items["outgoing"])
    assert outgoing["amount"] == "-50.00" and outgoing["currency"] == "EUR" and outgoing["kind"] == "payment"
    assert "lawyer@example.org" not in result.stdout
    usd = json.loads(invoke(app, "classify", "list", "--json", "--currency", "usd").stdout)
    assert [i["item_id"] for i in usd["items"]] == [items["usd"]]
    first = json.loads(invoke(app, "classify", "list", "--json", "--limit", "2").stdout)
    assert len(first["items"]) == 2 and first["next_after"] == first["items"][-1]["item_id"]
    rest = json.loads(invoke(app, "classify", "list", "--json", "--after", str(first["next_after"])).stdout)
    assert len(rest["items"]) == 4
    text = invoke(app, "classify", "list")
    assert text.exit_code == 0 and "outgoing payment" in text.stdout and "6 items waiting." in text.stderr
    assert invoke(app, "classify", "list", "--account", "Nowhere").exit_code == 1


def test_classify_several_then_undo_one(app: Any, items: dict[str, int]) -> None:
    ids = [str(items["outgoing"]), str(items["outgoing2"])]
    dry = invoke(app, "classify", *ids, "--as", "disbursement", "--fund", "anna", "--category", "lawyer",
                 "--description", "Appeal hearing", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    plan = json.loads(dry.stdout)
    assert plan["dry_run"] is True and plan["total"] == "-62.35" and plan["to"] == "Anna"
    assert waiting()["lines"] == 6
    done = invoke(app, "classify", *ids, "--as", "disbursement", "--fund", "anna", "--category", "lawyer",
                  "--description", "Appeal hearing", "--note", "invoices 17 and 18", "--json")
    assert done.exit_code == 0, done.output
    booked = json.loads(done.stdout)["classified"]
    assert [b["item_id"] for b in booked] == [items["outgoing"], items["outgoing2"]]
    assert all(b["disbursement_id"] for b in booked)
    assert balance("anna") == Decimal("-62.35") and waiting()["lines"] == 4
    check_ok()
    history = json.loads(invoke(app, "classify", "history", "--json").stdout)["classifications"]
    assert {h["entry_id"] for h in history} == {b["entry_id"] for b in booked}
    undone = invoke(app, "classify", "undo", str(booked[0]["entry_id"]))
    assert undone.exit_code == 0, undone.output
    assert balance("anna") == Decimal("-12.35") and waiting()["lines"] == 5
    assert invoke(app, "classify", "undo", str(booked[0]["entry_id"])).exit_code == 1
    check = invoke(app, "check")
    assert check.exit_code == 0, check.output


def test_fee_fund_and_account_from_the_command_line(app: Any, items: dict[str, int]) -> None:
    assert invoke(app, "classify", "items", str(items["outgoing2"]), "--as", "fee").exit_code == 0
    assert invoke(app, "classify", str(items["opening"]), "--as", "fund", "--fund", "general").exit_code == 0
    assert invoke(app, "classify", str(items["usd"]), "--as", "account", "--account", "Bank").exit_code == 0
    assert balance("general") == Decimal("117.65")  # 30 gift + 100 opening - 12.35 fee
    assert waiting()["lines"] == 3
    check_ok()


def test_refusals_and_usage_errors(app: Any, items: dict[str, int]) -> None:
    mixed = invoke(app, "classify", str(items["outgoing"]), str(items["usd"]), "--as", "fee")
    assert mixed.exit_code == 1 and "different currencies" in mixed.stderr
    missing = invoke(app, "classify", str(items["outgoing"]), "--as", "disbursement", "--fund", "anna")
    assert missing.exit_code == 2 and "--category" in missing.stderr
    assert invoke(app, "classify", str(items["outgoing"]), "--as", "gift").exit_code == 2
    nothing = invoke(app, "classify", "999999", "--as", "fee")
    assert nothing.exit_code == 1 and "not waiting" in nothing.stderr
    incoming = invoke(app, "classify", str(items["pending"]), "--as", "fee")
    assert incoming.exit_code == 1 and "--as" in incoming.stderr
    assert invoke(app, "classify", "undo", "999999").exit_code == 1
    assert waiting()["lines"] == 6
