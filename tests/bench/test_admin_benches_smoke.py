"""The admin list pages (issue 7) and mixed-load (X4) benchmarks run end to end at tiny sizes.

No timing is asserted: each must build its databases, drive the app and print
its ratios.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest

from tests.bench.test_hardening_benches_smoke import _load


@pytest.mark.slow
def test_admin_pages_bench_prints_a_ratio_per_list_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    bench = _load("admin_pages", monkeypatch)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert bench.main(["--lines", "300", "--requests", "1"]) == 0
    out = capsys.readouterr().out
    assert "answered" not in out, out  # every list page answered 200 on both databases
    for label, _path in bench.PAGES:
        assert re.search(rf"^{re.escape(label)}\s+[\d.]+\s+[\d.]+\s+[\d.]+", out, re.M), (label, out)
    assert re.search(r"^worst ratio [\d.]+", out, re.M), out


@pytest.mark.slow
def test_mixed_load_bench_prints_the_import_ratio(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    bench = _load("mixed_load", monkeypatch)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert bench.main(["--donations", "60", "--lines", "300", "--seconds", "1"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^ratio import under load / idle: [\d.]+ \(target <= 3\.0\)", out, re.M), out
    assert re.search(r"import job \d+: \('done', None\)", out), out
    assert re.search(r"'database is locked' in logs: 0", out), out
