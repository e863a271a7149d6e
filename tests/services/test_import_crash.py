"""Crash safety and races of imports (RELIABILITY.md C1, C2 client kill, C4, C5).

C1: a subprocess runs ``tracker import``; it is killed with SIGKILL either at
the moment its transaction is complete but not committed (a test-only hook
announces it) or at a uniformly random moment of the whole import. Afterwards
the database passes its integrity check, holds the whole batch or nothing of
it, ``check`` holds, and importing again leaves exactly the file's lines.

Full counts: ``CRASH_RUNS=100`` (nightly); CI runs a tenth.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import TEST_CONFIG, make_app
from tests.importers.paypal_factory import build, transactions

ROOT = Path(__file__).resolve().parents[2]
RUNS = int(os.environ.get("CRASH_RUNS", "100" if os.environ.get("HYPOTHESIS_PROFILE") == "nightly" else "4"))


def big_export(tmp: Path, count: int = 1200, seed: int = 21) -> tuple[Path, int]:
    txs = transactions("en", count=count, seed=seed, start=__import__("datetime").datetime(2024, 1, 13, tzinfo=__import__("datetime").UTC))
    data, expected = build("en_activity_2018", txs)
    path = tmp / f"big-{seed}.csv"
    path.write_bytes(data)
    return path, len(expected)


def _env(db_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env.update(
        {
            "DATABASE_URL": db_url,
            "SECRET_KEY": "crash-test",
            "TRACKER_HASH_KEY": TEST_CONFIG["HASH_KEY"],
            "TRACKER_PUBLIC_KEY": TEST_CONFIG["PUBLIC_KEY"],
            "TRACKER_ENV": "test",
            **extra,
        }
    )
    return env


def _counts(app: Any) -> tuple[int, int, bool]:
    from tracker.extensions import db
    from tracker.models import ImportBatch, StatementLine
    from tracker.services.checks import check_ledger

    with app.app_context():
        batches = db.session.scalar(sa.select(sa.func.count()).select_from(ImportBatch))
        lines = db.session.scalar(sa.select(sa.func.count()).select_from(StatementLine))
        ok = check_ledger(db.session).ok
        db.session.remove()
        db.engine.dispose()
    return batches, lines, ok


# journal modes are SQLite's: PostgreSQL runs once
@pytest.mark.parametrize(("engine_name", "journal"), [("sqlite", "WAL"), ("sqlite", "DELETE"), ("postgresql", "WAL")], indirect=["engine_name"])
def test_sigkill_during_import_leaves_all_or_nothing(journal: str, engine_name: str, db_url: str, tmp_path: Path) -> None:
    path, lines = big_export(tmp_path)
    rng = random.Random(205)
    url = db_url
    for run in range(RUNS):
        if engine_name == "sqlite":
            fresh = tmp_path / f"run{run}.sqlite3"
            fresh.write_bytes(Path(sa.make_url(db_url).database).read_bytes())
            url = f"sqlite:///{fresh}"
        else:
            from tests.conftest import _databases

            _databases["postgresql"].reset()
        marker = tmp_path / f"ready-{run}"
        at_commit = run % 2 == 0
        extra = {"TRACKER_SQLITE_JOURNAL_MODE": journal}
        if at_commit:
            extra["TRACKER_TEST_PAUSE_BEFORE_COMMIT"] = str(marker)
        proc = subprocess.Popen(
            [sys.executable, "-m", "tracker", "import", str(path)],
            env=_env(url, **extra), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        if at_commit:
            deadline = time.monotonic() + 120
            while not marker.exists():
                assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
                assert time.monotonic() < deadline, "the import never reached its commit"
                time.sleep(0.01)
        else:
            time.sleep(rng.uniform(0.3, 3.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if proc.stderr:
            proc.stderr.close()
        if engine_name == "sqlite":
            with sqlite3.connect(sa.make_url(url).database) as raw:
                assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        app = make_app(url, tmp_path / f"app{run}")
        batches, stored, ok = _counts(app)
        assert ok
        assert (batches, stored) in ((0, 0), (1, lines)), (run, batches, stored)
        if at_commit:
            assert (batches, stored) == (0, 0)
        done = subprocess.run(
            [sys.executable, "-m", "tracker", "import", str(path), "--json"],
            env=_env(url), cwd=ROOT, capture_output=True, text=True, check=False,
        )
        assert done.returncode == 0, done.stderr
        batches, stored, ok = _counts(app)
        assert (batches, stored, ok) == (1, lines, True)


# --- races ------------------------------------------------------------------------------------


def _race_worker(url: str, tmp: str, files: list[str], barrier: Any, results: Any, threads: int) -> None:
    app = make_app(url, Path(tmp) / f"w{os.getpid()}")

    def one(name: str) -> None:
        from tracker.services.importing import import_file

        with app.app_context():
            barrier.wait()
            try:
                result = import_file(name, account_name="PayPal")
                results.append((result.status, result.counts.new, result.counts.duplicate))
            except Exception as exc:  # noqa: BLE001 - reported to the parent
                results.append(("error", repr(exc)[:300], 0))
            finally:
                from tracker.extensions import db

                db.session.remove()

    workers = [threading.Thread(target=one, args=(files[i % len(files)],)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


def _race(url: str, tmp: Path, files: list[Path], processes: int = 2, threads: int = 4) -> list[tuple[Any, ...]]:
    ctx = multiprocessing.get_context("spawn")
    manager = ctx.Manager()
    barrier = manager.Barrier(processes * threads)
    results = manager.list()
    procs = [ctx.Process(target=_race_worker, args=(url, str(tmp), [str(f) for f in files], barrier, results, threads)) for _ in range(processes)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(300)
        assert p.exitcode == 0
    found = list(results)
    manager.shutdown()
    return found


def test_concurrent_imports_of_the_same_file_store_each_line_once(engine_name: str, db_url: str, tmp_path: Path) -> None:
    """C4: 2 processes x 4 threads released together by a barrier."""
    path, lines = big_export(tmp_path, count=400, seed=22)
    results = _race(db_url, tmp_path, [path])
    assert all(status != "error" for status, *_ in results), results
    statuses = sorted(status for status, *_ in results)
    assert statuses.count("committed") == 1, statuses
    assert statuses.count("already_imported") == len(results) - 1
    batches, stored, ok = _counts(make_app(db_url, tmp_path / "check"))
    assert (batches, stored, ok) == (1, lines, True)


def test_overlapping_exports_racing_end_with_the_union(engine_name: str, db_url: str, tmp_path: Path) -> None:
    """C5: lines 1-600 and 300-900 of one history, imported at once."""
    from tests.services.test_importing import export

    txs = transactions("en", count=900, seed=23, start=__import__("datetime").datetime(2024, 1, 13, tzinfo=__import__("datetime").UTC))
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_bytes(export(txs, 0, 600))
    second.write_bytes(export(txs, 300, None))
    whole = len(list(__import__("csv").reader(__import__("io").StringIO(export(txs).decode())))) - 1
    results = _race(db_url, tmp_path, [first, second], processes=2, threads=2)
    assert all(status != "error" for status, *_ in results), results
    batches, stored, ok = _counts(make_app(db_url, tmp_path / "check"))
    assert ok and batches == 2 and stored == whole
