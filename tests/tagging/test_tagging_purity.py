"""The tagging engine stays pure, and its benchmark runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_importing_tagging_loads_neither_flask_nor_sqlalchemy() -> None:
    code = (
        "import tracker.tagging, sys; "
        "assert not {'flask', 'sqlalchemy'} & set(sys.modules), "
        "sorted({'flask', 'sqlalchemy'} & set(sys.modules))"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=60)


def test_tagging_with_every_kind_of_rule_loads_neither() -> None:
    code = (
        "import sys, datetime\n"
        "from tracker.tagging import Rule, compile_rules\n"
        "t = compile_rules([Rule(1, '205', 'tag', '205'), Rule(2, '205', 'alias', 'пенза'),"
        " Rule(3, '300', 'regex', 'ст\\\\.? ?300')])\n"
        "r = t.tag([('note', 'Пенза ст.300 2\u041e5')], [('campaign', 'x')], provider='paypal',"
        " on=datetime.date(2024, 1, 1))\n"
        "assert r.outcome == 'review', r\n"
        "assert not {'flask', 'sqlalchemy'} & set(sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=60)


def test_benchmark_runs_and_prints_the_ratio() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "tagging.py"), "--notes", "3000", "--chunk", "1000"],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=240,
    )
    lines = done.stdout.splitlines()
    assert any(line.startswith("10,000 campaigns:") and "notes/s" in line for line in lines)
    assert any(line.startswith("ratio 10,000/10 campaigns:") for line in lines), done.stdout
