"""The public-pages benchmark runs end to end at tiny sizes (no timing is asserted)."""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from pathlib import Path
from types import ModuleType

import pytest
from werkzeug.exceptions import NotFound

BENCH = Path(__file__).resolve().parents[2] / "bench" / "public_pages.py"


def _load(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    spec = importlib.util.spec_from_file_location("public_pages", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "public_pages", module)  # dataclasses look it up
    spec.loader.exec_module(module)
    return module


def _routes_exist(bench: ModuleType, tmp: Path) -> bool:
    config = bench.overrides(tmp / "probe.sqlite3", "redis://127.0.0.1:1/0")  # never connected
    app = bench.create_app(config, instance_path=tmp / "instance")
    adapter = app.url_map.bind("localhost")
    try:
        for url in bench.LOAD_URLS:
            adapter.match(url)
    except NotFound:
        return False
    return True


@pytest.mark.slow
def test_benchmark_prints_its_ratios(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = _load(monkeypatch)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert bench.main(["--small", "50", "--large", "200", "--seconds", "1", "--requests", "5"]) == 0
    out = capsys.readouterr().out
    ratios = [line for line in out.splitlines() if line.startswith("ratio ")]
    labels = " | ".join(ratios)
    for page in bench.PAGES:
        assert f"ratio median 200/50 {page}:" in labels
    for url in bench.LOAD_URLS:
        assert f"ratio rps 200/50 {url}:" in labels
        assert f"ratio p99 200/50 {url}:" in labels
    assert "ratio rps campaign page/bare Flask (200):" in labels
    assert "ratio rps 304/200 /en/campaign/205 (200):" in labels
    assert "summary" in out
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("tracker-bench-public-")]
    if _routes_exist(bench, tmp_path):
        # With the public pages in place every request answers as expected:
        # 200s, and 304s to a matching If-None-Match.
        errors = next(line for line in out.splitlines() if "unexpected statuses" in line)
        assert errors.split()[-1] == "ok", errors
        assert "n/a" not in labels, labels
