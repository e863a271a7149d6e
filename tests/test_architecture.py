"""Structural rules: pure layers stay pure, money is never a float."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
import typing
from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "tracker"


@pytest.mark.parametrize(
    "modules",
    ["tracker.importers, tracker.tagging", "tracker.money, tracker.records, tracker.errors, tracker.sealing", "tracker.demo_data"],
)
def test_pure_layers_load_neither_flask_nor_sqlalchemy(modules: str) -> None:
    code = f"import {modules}, sys; bad = {{'flask', 'sqlalchemy'}} & set(sys.modules); assert not bad, bad"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False)
    assert result.returncode == 0, result.stderr


def test_importing_the_package_does_not_load_flask() -> None:
    code = "import tracker, sys; assert 'flask' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=False).returncode == 0


def test_money_columns_are_fixed_scale_integers_never_float_or_numeric() -> None:
    from tracker.dbtypes import Money
    from tracker.extensions import db

    import tracker.models  # noqa: F401

    money_names = {"amount", "gross", "fee", "net", "balance", "goal_amount", "weight"}
    for table in db.metadata.tables.values():
        for column in table.columns:
            assert not isinstance(column.type, (sa.Float, sa.Numeric)), f"{table.name}.{column.name}"
            if column.name in money_names:
                assert isinstance(column.type, Money), f"{table.name}.{column.name} is not Money"
                assert isinstance(column.type.impl_instance, sa.BigInteger)


def _money_functions() -> list[object]:
    from tracker import money
    from tracker.services import booking, donations, ledger, totals

    found = []
    for module in (money, ledger, booking, donations, totals):
        for _name, obj in inspect.getmembers(module, inspect.isfunction):
            if obj.__module__ == module.__name__:
                found.append(obj)
    return found


def test_no_money_function_takes_or_returns_float() -> None:
    for func in _money_functions():
        hints = typing.get_type_hints(func)
        for name, hint in hints.items():
            assert "float" not in str(hint), f"{func.__module__}.{func.__qualname__} {name}: {hint}"


def test_no_float_in_the_package_source() -> None:
    """No float() and no float literal, except on lines marked as not money
    (``# noqa: money-ok``, e.g. a charset detector's confidence score)."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        allowed = {n for n, line in enumerate(text.splitlines(), 1) if "noqa: money-ok" in line}
        tree = ast.parse(text)
        for node in ast.walk(tree):
            if getattr(node, "lineno", 0) in allowed:
                continue
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "float":
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: float()")
            if isinstance(node, ast.Constant) and isinstance(node.value, float):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: float literal {node.value}")
    assert not offenders, "\n".join(offenders)


def test_the_factory_is_pure(tmp_path: Path) -> None:
    """create_app neither migrates nor connects: a URL to nowhere is fine until used."""
    from tracker import create_app

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:1/none"}, instance_path=tmp_path)
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("/none")


def test_module_size_and_docstrings() -> None:
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert len(text.splitlines()) <= 600, f"{path} is over 600 lines"
        assert ast.get_docstring(ast.parse(text)), f"{path} has no module docstring"
