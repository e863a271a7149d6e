"""The sign-in DoS (X5) and slow-client (X6) benchmarks run end to end at tiny sizes.

No timing is asserted: they must start gunicorn with the deployment's settings,
drive it, and print their ratios and limits.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import tempfile
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _load(name: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)  # dataclasses look it up
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_login_dos_prints_the_limiter_the_ratio_and_the_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = _load("login_dos", monkeypatch)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert bench.main(["--seconds", "1", "--logins", "12", "--connections", "4", "--donations", "60"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^ratio public p99 with sign-ins/without: [\d.]+ \(target <= 2\.0\)", out, re.M), out
    assert re.search(r"^ratio worker RSS growth/256 MiB", out, re.M), out
    assert "limiter engaged: yes" in out, out  # 12 at once from one address: more than its 10
    assert re.search(r"the right password from elsewhere: 302", out), out
    assert len(re.findall(r"^worker \d+ RSS: before \d+ MiB, after \d+ MiB", out, re.M)) >= 2, out
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("tracker-bench-login-")]


@pytest.mark.slow
def test_slow_clients_prints_ratios_and_limits_for_both_worker_classes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = _load("slow_clients", monkeypatch)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    args = ["--clients", "3", "--interval", "0.5", "--seconds", "1.5", "--steps", "1", "--step-seconds", "1",
            "--donations", "60"]
    assert bench.main(args) == 0
    out = capsys.readouterr().out
    for worker in ("sync", "gthread"):
        assert re.search(rf"^ratio p50 3 slow clients/baseline \({worker}\): (inf|[\d.]+) \(target <= 2\.0\)", out, re.M), out
        assert re.search(rf"^limit \({worker}\): p50 within 2\.0x and no failure up to \d+ slow clients", out, re.M), out
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("tracker-bench-slow-")]
