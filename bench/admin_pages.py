"""Benchmark: the treasurer's list pages on a demo-sized database against the same plus a big import.

    python bench/admin_pages.py [--lines 1000000] [--demo-lines 5000] [--engine sqlite|postgresql]
                                [--requests 15] [--keep DIR] [--only LABEL ...]

Two databases, built in this run from the same pieces:

1. **demo**: ``tracker demo`` (about 5,600 donations) plus a generated PayPal
   activity export of ``--demo-lines`` lines, so that its statement-line
   pages and note searches list rows as the big database's do (``tracker
   demo`` books its donations without statement lines; with
   ``--demo-lines 0`` those pages are empty and their ratio measures drawing
   50 rows, not the size of the tables);
2. **big**: ``tracker demo`` plus an export of ``--lines`` lines (the import
   benchmark's deterministic mix: gifts with notes in four currencies,
   refunds, conversions, withdrawals), imported through the same service the
   wizard's worker runs.

Each list page is requested ``--requests`` times by a signed-in treasurer (the
Flask test client, in this process, after two warm-up requests); the median
of each is printed for both databases with the ratio big/demo and the rows
each lists. Target (issue 7): every list page within 1.5x of its demo time,
because list pages read one keyset page and never whole tables. Compare the
ratios of one run: the absolute times on a shared machine are noise.

``--keep DIR`` keeps the two databases and reuses them when they are there
(building the big one takes most of a run): SQLite files in DIR, PostgreSQL
databases named in DIR/databases (drop them by hand). ``--only`` measures the
pages whose labels contain one of the words given.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.import_paypal import HASH_KEY, PUBLIC_KEY, write_export  # noqa: E402

PASSWORD = "bench treasurer password 205"
EMAIL = "bench-treasurer@example.org"
TARGET = 1.5
#: (label, path): the list pages, with a few common filters; {campaign} and
#: {account} are filled from the database.
PAGES = (
    ("dashboard", "/admin/"),
    ("imports", "/admin/imports"),
    ("review queue", "/admin/review"),
    ("classify", "/admin/classify"),
    ("audit log", "/admin/audit"),
    ("donations", "/admin/donations"),
    ("donations of a campaign", "/admin/donations?campaign=205"),
    ("donations, amount", "/admin/donations?amount=25"),
    ("donations, note words", "/admin/donations?text=penza"),
    ("donations, transaction id", "/admin/donations?txn_id=B000100001"),
    ("lines, transaction id", "/admin/lines?txn_id=B000100001"),
    ("lines, note words", "/admin/lines?text=solidarity"),
    ("lines", "/admin/lines"),
    ("lines, kind", "/admin/lines?kind=payout"),
    ("campaigns", "/admin/campaigns"),
    ("transfers", "/admin/transfers"),
    ("events", "/admin/events"),
)


def make_app(url: str, instance: Path) -> Any:
    from tracker import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url, "ENV": "test", "SECRET_KEY": "bench", "HASH_KEY": HASH_KEY,
            "PUBLIC_KEY": PUBLIC_KEY, "HASH_KEY_FILE": None, "PUBLIC_KEY_FILE": None,
            "REQUIRE_SECOND_FACTOR": False, "RATELIMIT_ENABLED": False, "WTF_CSRF_ENABLED": True,
        },
        instance_path=instance,
    )


def database(engine: str, tmp: Path, name: str, *, kept: bool = False) -> str:
    """The database's URL; ``kept``: one that ``--keep`` built before (PostgreSQL: named in DIR/databases)."""
    if engine == "sqlite":
        tmp.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{tmp / (name + '.sqlite3')}"
    import sqlalchemy as sa

    server = os.environ.get("BENCH_POSTGRES_SERVER", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    names = tmp / "databases"
    if kept:
        db_name = dict(line.split("=", 1) for line in names.read_text().split())[name]
        return sa.make_url(server).set(database=db_name).render_as_string(hide_password=False)
    db_name = f"tracker_bench_admin_{name}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{db_name}"')
    admin.dispose()
    tmp.mkdir(parents=True, exist_ok=True)
    with names.open("a") as out:
        out.write(f"{name}={db_name}\n")
    return sa.make_url(server).set(database=db_name).render_as_string(hide_password=False)


def drop(url: str) -> None:
    if not url.startswith("postgresql"):
        return
    import sqlalchemy as sa

    admin = sa.create_engine(sa.make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{sa.make_url(url).database}" WITH (FORCE)')
    admin.dispose()


def build(url: str, instance: Path, export: Path | None) -> dict[str, Any]:
    """Demo data, a treasurer, and (for the big database) the export imported."""
    from tracker.extensions import db
    from tracker.importers import ReadOptions
    from tracker.services import unit_of_work, users
    from tracker.services.demo import load_demo
    from tracker.services.importing import import_file
    from tracker.services.setup import init_database

    app = make_app(url, instance)
    facts: dict[str, Any] = {}
    with app.app_context():
        init_database()
        load_demo()
        with unit_of_work() as session:
            user, _link = users.add_user(session, EMAIL, "treasurer")
            users.set_password(session, user, PASSWORD)
        if export is not None:
            start = time.perf_counter()
            result = import_file(export, account_name="PayPal bench", options=ReadOptions(date_order="mdy", decimal_mark="."))
            facts["import_seconds"] = time.perf_counter() - start
            facts["import"] = result.status
            facts["lines"] = result.counts.new
        if db.engine.dialect.name == "postgresql":
            # what autovacuum does on a server that has it on (this machine's has it off)
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
        db.session.remove()
        db.engine.dispose()
    return facts


def sign_in(client: Any) -> None:
    page = client.get("/admin/login")
    token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page.data).group(1).decode()
    done = client.post("/admin/login", data={"csrf_token": token, "email": EMAIL, "password": PASSWORD})
    if done.status_code != 302:
        raise SystemExit(f"sign-in failed: {done.status_code}")


def table_rows(body: bytes) -> int:
    """Rows a page lists: body rows of its tables, less "nothing here" rows (one cell across)."""
    rows = 0
    for tbody in re.findall(rb"<tbody>(.*?)</tbody>", body, re.S):
        rows += len(re.findall(rb"<tr[ >]", tbody)) - len(re.findall(rb"<td colspan=", tbody))
    return rows


def measure(url: str, instance: Path, requests: int, pages: tuple[tuple[str, str], ...]) -> dict[str, tuple[float, int]]:
    """Median seconds per page, and the rows it lists."""
    app = make_app(url, instance)
    client = app.test_client()
    sign_in(client)
    medians: dict[str, tuple[float, int]] = {}
    for label, path in pages:
        for _ in range(2):
            warm = client.get(path)
        if warm.status_code != 200:
            print(f"  {label}: {path} answered {warm.status_code}; left out", flush=True)
            continue
        times = []
        for _ in range(requests):
            start = time.perf_counter()
            response = client.get(path)
            times.append(time.perf_counter() - start)
            assert response.status_code == 200
        medians[label] = (statistics.median(times), table_rows(response.data))
    with app.app_context():
        from tracker.extensions import db

        db.engine.dispose()
    return medians


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--demo-lines", type=int, default=5_000, help="lines imported into the demo database too (0: none)")
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--requests", type=int, default=15)
    parser.add_argument("--keep", type=Path, help="keep (and reuse) the databases: SQLite files, or PostgreSQL names, in this folder")
    parser.add_argument("--only", nargs="+", help="measure only pages whose label contains one of these")
    args = parser.parse_args(argv)
    pages = tuple(p for p in PAGES if not args.only or any(word in p[0] for word in args.only))
    with tempfile.TemporaryDirectory(prefix="tracker-bench-admin-") as folder:
        tmp = args.keep.resolve() if args.keep else Path(folder)
        kept = args.keep is not None and (tmp / "built").exists()
        if not kept:
            (tmp / "databases").unlink(missing_ok=True)
        urls = {name: database(args.engine, tmp, name, kept=kept) for name in ("demo", "big")}
        try:
            if kept:
                built = (tmp / "built").read_text().split()
                args.lines, args.demo_lines = int(built[0]), int(built[1]) if len(built) > 1 else 0
                print(f"reusing the databases in {tmp} ({args.demo_lines:,} and {args.lines:,} imported lines)", flush=True)
            else:
                for name, lines in (("demo", args.demo_lines), ("big", args.lines)):
                    export = tmp / "export.csv" if lines else None
                    if export:
                        print(f"writing a {lines:,}-line export ...", flush=True)
                        write_export(export, lines)
                    print(f"building the {name} database (demo + {lines:,} lines) ...", flush=True)
                    facts = build(urls[name], tmp / f"{name}-instance", export)
                    if export:
                        export.unlink()
                        print(f"  imported {facts.get('lines', 0):,} lines in {facts.get('import_seconds', 0):.1f} s ({facts.get('import')})", flush=True)
                (tmp / "built").write_text(f"{args.lines} {args.demo_lines}\n")
            demo = measure(urls["demo"], tmp / "demo-instance", args.requests, pages)
            big = measure(urls["big"], tmp / "big-instance", args.requests, pages)
        finally:
            if not args.keep:
                for url in urls.values():
                    drop(url)
    print(f"\n{'page':<26} {'demo ms':>9} {'big ms':>9} {'ratio':>7}  {'rows':>9}  target <= {TARGET}")
    worst = 0.0
    for label, _path in pages:
        if label not in demo or label not in big:
            continue
        (demo_s, demo_rows), (big_s, big_rows) = demo[label], big[label]
        ratio = big_s / demo_s
        worst = max(worst, ratio)
        flag = "ok" if ratio <= TARGET else "MISSED"
        # a page the demo lists (almost) nothing on also measures drawing a full page of rows
        if ratio > TARGET and demo_rows < big_rows / 2:
            flag += f" (demo lists {demo_rows} rows)"
        print(f"{label:<26} {demo_s * 1000:9.1f} {big_s * 1000:9.1f} {ratio:7.2f}  {demo_rows:>4}/{big_rows:<4}  {flag}")
    print(f"\nworst ratio {worst:.2f} ({args.engine}, {args.demo_lines:,} against {args.lines:,} imported lines)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
