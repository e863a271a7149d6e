"""Benchmark (RELIABILITY.md X4): a treasurer's import while the public pages are under load.

    python bench/mixed_load.py [--donations 20000] [--lines 100000] [--seconds 60]

One SQLite database (the documented small-group deployment; WAL), built with
``--donations`` published donations (:func:`bench._common.build`):

1. **idle import**: ``tracker import`` of a generated ``--lines``-line PayPal
   export (the import benchmark's mix), alone; its wall time;
2. **public load alone**: gunicorn (``deploy/gunicorn.conf.py``) serving the
   home and campaign pages to the load generator for ``--seconds``;
3. **mixed**: the same load while a second, different export of the same size
   is imported by ``tracker worker`` through the job table, as the web
   wizard queues it.

Printed: the import's time under load over its idle time (target <= 3),
public requests per second and p99 under load against alone, errors
(target 0) and any "database is locked" in the logs (target none). The
Stripe webhook stream of X4 is not part of this run: tracker has no Stripe
webhook yet.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from bench import _common as common  # noqa: E402
from bench.import_paypal import write_export  # noqa: E402

PAGES = ("/en/", "/en/campaign/205")


def _env(db_path: Path, redis_url: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKER_", "BENCH_"))}
    base.pop("REDIS_URL", None)  # the worker polls the job table; Redis only limits sign-ins
    env = {**base, **common.tracker_env(db_path, redis_url)}
    env.pop("REDIS_URL")
    env["TRACKER_ENV"] = "test"
    return env


def idle_import(db_path: Path, export: Path, redis_url: str, log: Path) -> float:
    start = time.perf_counter()
    with log.open("ab") as out:
        done = subprocess.run(
            [sys.executable, "-m", "tracker", "import", str(export), "--account", "PayPal idle", "--date-order", "mdy"],
            env=_env(db_path, redis_url), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, check=False,
        )
    if done.returncode != 0:
        raise SystemExit(f"the idle import failed:\n{log.read_text()[-3000:]}")
    return time.perf_counter() - start


def queue_import(db_path: Path, export: Path, redis_url: str) -> int:
    """Store the export as a sealed upload and queue its import, as the wizard does."""
    code = (
        "import sys\n"
        "from tracker import create_app\n"
        "from tracker.services import jobs, unit_of_work, uploads\n"
        "from tracker.services.keys import server_keys\n"
        "from tracker.importers import ReadOptions\n"
        "from tracker.models import JobKind\n"
        "app = create_app()\n"
        "with app.app_context():\n"
        "    spool = uploads.SealingSpool(server_keys().hash_key)\n"
        "    with open(sys.argv[1], 'rb') as f:\n"
        "        while block := f.read(1 << 20):\n"
        "            spool.write(block)\n"
        "    with unit_of_work() as s:\n"
        "        upload_id = uploads.store(s, spool, filename='mixed.csv', user_id=None).id\n"
        "    print(jobs.submit(JobKind.IMPORT, upload_id, jobs.params_for('PayPal mixed', 'auto', ReadOptions(date_order='mdy')), user_id=None))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(export)], env=_env(db_path, redis_url), cwd=ROOT,
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    return int(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--donations", type=int, default=20_000)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args(argv)
    rows: list[tuple[str, float, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="tracker-bench-mixed-") as folder:
        tmp = Path(folder)
        first, second = tmp / "idle.csv", tmp / "mixed.csv"
        write_export(first, args.lines)
        write_export(second, args.lines, newline="\r\n")  # other bytes, other dedup keys per account
        log = tmp / "server.log"
        with common.redis(tmp) as redis_url:
            db_path = tmp / "bench.sqlite3"
            print(f"building {args.donations:,} published donations ...", flush=True)
            common.build(db_path, args.donations, redis_url)
            print(f"idle import of {args.lines:,} lines ...", flush=True)
            idle = idle_import(db_path, first, redis_url, log)
            print(f"  {idle:.1f} s ({args.lines / idle:,.0f} lines/s)", flush=True)
            server = common.Server("_common:tracker_app()", common.tracker_env(db_path, redis_url), log,
                                   config=common.GUNICORN_CONF)
            try:
                with common.generator_core():
                    alone = common.run_load(server, PAGES[1], args.seconds)
                common.show("alone", PAGES[1], alone)
                job_id = queue_import(db_path, second, redis_url)
                worker_log = tmp / "worker.log"
                handle = worker_log.open("wb")
                started = time.perf_counter()
                worker = subprocess.Popen([sys.executable, "-m", "tracker", "worker", "--burst"],
                                          env=_env(db_path, redis_url), cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT)
                finished: list[float] = []
                threading.Thread(target=lambda: (worker.wait(), finished.append(time.perf_counter() - started)), daemon=True).start()
                with common.generator_core():
                    mixed = common.hammer(server.port, PAGES[1], args.seconds)
                common.show("mixed", PAGES[1], mixed)
                worker.wait()
                handle.close()
            finally:
                server.stop()
            under_load = finished[0] if finished else time.perf_counter() - started
            status = subprocess.run(
                [sys.executable, "-c", f"import sqlite3; print(sqlite3.connect('{db_path}').execute('select status, error from jobs where id={job_id}').fetchone())"],
                capture_output=True, text=True, check=False,
            ).stdout.strip()
            locked = sum(p.read_text(errors="replace").count("database is locked") for p in (log, worker_log))
    print(f"\nimport job {job_id}: {status}; idle {idle:.1f} s, under load {under_load:.1f} s (includes the worker's start)")
    common.ratio_line(rows, "import under load / idle", under_load / idle, 3.0, at_most=True)
    common.ratio_line(rows, "public req/s mixed / alone", mixed.rps / alone.rps, 0.5, at_most=False)
    common.ratio_line(rows, "public p99 mixed / alone", mixed.p99 / alone.p99, 3.0, at_most=True)
    print(f"public errors {mixed.errors + mixed.unexpected} (target 0); 'database is locked' in logs: {locked} (target 0)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
