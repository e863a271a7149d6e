"""W11: every accepted bandit or pip-audit finding has a reason and an expiry that has not passed."""

from __future__ import annotations

import importlib.util
import sys
from datetime import date, timedelta
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: an ignore is a judgement to look at again, not a permanent pass
LONGEST = timedelta(days=400)


@pytest.fixture(scope="module")
def audit() -> ModuleType:
    spec = importlib.util.spec_from_file_location("security_audit", ROOT / "security" / "audit.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["security_audit"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_no_ignore_has_expired_and_each_gives_a_reason(audit: ModuleType) -> None:
    listed, problems = audit.load_ignores()
    inline, inline_problems = audit.inline_ignores()
    assert not problems + inline_problems
    assert listed, "security/ignores.toml is read"
    assert not audit.expired(listed + inline), "renew each with a fresh reason, or fix the finding"
    for ignore in listed + inline:
        assert ignore.expires - date.today() <= LONGEST, f"{ignore.where}: expires more than {LONGEST.days} days ahead"
        assert len(ignore.reason) >= 10


def test_ignored_files_exist(audit: ModuleType) -> None:
    listed, _ = audit.load_ignores()
    for ignore in listed:
        if ignore.tool == "bandit":
            assert (ROOT / ignore.path).exists(), f"{ignore.where}: {ignore.path} is gone"


def test_the_checks_catch_expired_malformed_and_inline_ignores(audit: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ignores = tmp_path / "ignores.toml"
    ignores.write_text(
        '[[bandit]]\nrule = "B608"\npath = "tracker/x.py"\nreason = "values are bound parameters"\nexpires = 2020-01-01\n\n'
        '[[bandit]]\nrule = "608"\npath = "tracker/"\nreason = ""\nexpires = "soon"\n\n'
        '[[pip-audit]]\nid = "PYSEC-2024-12"\nreason = "not reachable: we never call the affected API"\nexpires = 2999-01-01\n\n'
        '[[pip-audit]]\nid = "whatever"\nreason = "x"\nexpires = 2999-01-01\n',
        encoding="utf-8",
    )
    listed, problems = audit.load_ignores(ignores)
    text = "\n".join(problems)
    assert "rule must be a bandit id" in text and "a reason is required" in text and "expires must be a date" in text
    assert "id must be a PYSEC-, GHSA- or CVE- id" in text
    assert [i.key for i in listed] == ["B608", "PYSEC-2024-12", "whatever"]
    assert len(audit.expired(listed, today=date(2025, 6, 1))) == 1
    assert audit.expired(listed, today=date(2019, 12, 31)) == []
    b608 = listed[0]
    assert b608.matches("B608", "tracker/x.py") and not b608.matches("B608", "tracker/y.py") and not b608.matches("B101", "tracker/x.py")

    code = tmp_path / "tracker"
    code.mkdir()
    (code / "m.py").write_text(
        "a = 1  # nosec\n"
        "b = 2  # nosec B105 - a placeholder, not a secret (expires 2020-02-02)\n"
        "c = 3  # nosec B101, B311 - demo only, nothing secret (expires 2999-01-01)\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(audit, "ROOT", tmp_path)  # paths in messages are relative to it
    inline, inline_problems = audit.inline_ignores(code)
    assert len(inline_problems) == 1 and "m.py:1" in inline_problems[0]
    assert [(i.key, i.where) for i in inline] == [("B105", "tracker/m.py:2"), ("B101", "tracker/m.py:3"), ("B311", "tracker/m.py:3")]
    assert [e.split(":")[1] for e in audit.expired(inline, today=date(2025, 1, 1))] == ["2"]
