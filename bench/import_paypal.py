"""Benchmark: importing generated PayPal exports end to end, against a bulk-load baseline.

    python bench/import_paypal.py [--lines 100000 1000000] [--engines sqlite postgresql]

For each size and engine, in one run:

1. **import**: ``tracker import`` of a deterministic activity export (donations
   with notes and fees in four currencies, refunds, linked currency
   conversions, withdrawals, dispute fees), in a child process: lines per
   second end to end (parse, seal, tag, insert, book, commit) and peak memory
   (VmHWM of that process);
2. **re-import**: the same lines re-exported with other bytes (CRLF line ends,
   so the file-hash shortcut does not apply): all duplicates;
3. **baseline**: exactly the rows the import wrote (statement lines, versions,
   raw rows, donations, entries, postings, balances), read back from the
   database, bulk-loaded into an empty copy of the schema in one transaction
   with the engine's fastest path (PostgreSQL COPY, SQLite executemany).

It prints lines/s for each and the ratio import/baseline: the import's own
overhead over the storage cost it cannot avoid. Targets: ratio >= 0.5 on each
engine, re-import at least as fast as the first import, peak memory under
200 MB for a million lines. Timings on a shared machine are noisy: compare
the ratios of one run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.importers.paypal_factory import Tx, render  # noqa: E402

TABLES = ("raw_rows", "statement_lines", "statement_line_versions", "donations", "journal_entries", "postings", "balances")
HASH_KEY = "42" * 32
PUBLIC_KEY = "a1" * 32  # any 32 bytes make a valid X25519 public key for sealing
NOTES = ("for 205", "205 Penza", "", "solidarity 212", "на 205", "Spende 280", "", "thanks", "pour 207", "#212")


def transactions(count: int, seed: int = 5) -> Iterator[Tx]:
    """A realistic month-after-month mix; refunds and conversions refer to earlier gifts."""
    rng = random.Random(seed)
    when = datetime(2023, 1, 13, 8, 0, tzinfo=UTC)
    gifts: list[tuple[str, str, Decimal, Decimal]] = []
    n = 0
    while n < count:
        when += timedelta(seconds=rng.randint(5, 90))
        pick = rng.randrange(100)
        tid = f"B{n:09d}"
        if pick < 84 or not gifts:
            cur = rng.choice(("EUR", "EUR", "EUR", "USD", "USD", "GBP", "CHF"))
            gross = Decimal(rng.choice(("5.00", "10.00", "15.00", "20.00", "25.00", "50.00", "100.00", "12.34")))
            fee = (gross * Decimal("0.029") + Decimal("0.35")).quantize(Decimal("0.01"))
            gifts.append((tid, cur, gross, fee))
            yield Tx(when, "donation", cur, gross, fee, name=f"Donor {rng.randrange(50_000)}", from_email=f"d{rng.randrange(50_000)}@example.org", txn_id=tid, note=rng.choice(NOTES))
        elif pick < 89:
            ref, cur, gross, _fee = gifts[rng.randrange(max(0, len(gifts) - 500), len(gifts))]
            part = gross if rng.random() < 0.7 else (gross / 2).quantize(Decimal("0.01"))
            yield Tx(when, "refund", cur, -part, Decimal("0.00"), txn_id=tid, ref_id=ref)
        elif pick < 95:
            ref, cur, gross, fee = gifts[-1]
            if cur == "EUR":
                n += 1
                continue
            net = gross - fee
            yield Tx(when, "conversion", cur, -net, txn_id=tid + "A", ref_id=ref)
            yield Tx(when, "conversion", "EUR", (net * Decimal("0.91")).quantize(Decimal("0.01")), txn_id=tid + "B", ref_id=ref)
            n += 1
        elif pick < 98:
            yield Tx(when, "withdrawal", "EUR", Decimal("-200.00"), txn_id=tid)
        else:
            ref, cur, _g, _f = gifts[rng.randrange(len(gifts))]
            yield Tx(when, "dispute_fee", cur, Decimal("-15.00"), txn_id=tid, ref_id=ref)
        n += 1


def write_export(path: Path, lines: int, newline: str = "\n") -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        for text, _ in render("en_activity_2018", transactions(lines), newline=newline):
            out.write(text)


def _env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env.update({"DATABASE_URL": url, "SECRET_KEY": "bench", "TRACKER_ENV": "test", "TRACKER_HASH_KEY": HASH_KEY, "TRACKER_PUBLIC_KEY": PUBLIC_KEY})
    return env


CHILD = r"""
import json, sys, time
from tracker import create_app
from tracker.importers import ReadOptions
app = create_app()
with app.app_context():
    from tracker.services.setup import init_database
    from tracker.services.importing import import_file
    if sys.argv[2] == "setup":
        init_database()
        from tracker.services import unit_of_work
        from tracker.services.campaigns import PrisonerShare, create_campaign, create_prisoner
        with unit_of_work() as s:
            for slug in ("a", "b", "c", "d"):
                create_prisoner(s, slug, slug)
            create_campaign(s, "205", "Penza", aliases=["penza"], prisoners=[PrisonerShare("a"), PrisonerShare("b"), PrisonerShare("c")])
            for tag in ("212", "280", "207"):
                create_campaign(s, tag, tag, prisoners=[PrisonerShare("d")])
        print(json.dumps({}))
        sys.exit(0)
    start = time.perf_counter()
    result = import_file(sys.argv[1], account_name="PayPal", options=ReadOptions(date_order="mdy", decimal_mark="."))
    seconds = time.perf_counter() - start
    with open("/proc/self/status") as status:
        hwm = next(int(l.split()[1]) for l in status if l.startswith("VmHWM")) // 1024
    print(json.dumps({"seconds": seconds, "status": result.status, "counts": result.counts.as_dict(), "rss_mb": hwm, "balance": (result.balance_check or {}).get("status")}))
"""


def child(url: str, path: Path | str, mode: str = "import") -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-c", CHILD, str(path), mode], env=_env(url), cwd=ROOT, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def fresh_database(engine: str, tmp: Path, name: str) -> str:
    if engine == "sqlite":
        return f"sqlite:///{tmp / (name + '.sqlite3')}"
    import sqlalchemy as sa

    db = f"tracker_bench_{name}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{db}"')
    admin.dispose()
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{db}"


def drop_database(url: str) -> None:
    if not url.startswith("postgresql"):
        return
    import sqlalchemy as sa

    name = sa.make_url(url).database
    admin = sa.create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def baseline(source_url: str, target_url: str) -> float:
    """Seconds to bulk-load the rows the import wrote into an empty schema."""
    import sqlalchemy as sa

    src = sa.create_engine(source_url)
    dst = sa.create_engine(target_url)
    data: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = {}
    with src.connect() as conn:
        for table in TABLES:
            result = conn.exec_driver_sql(f"SELECT * FROM {table}")
            data[table] = (list(result.keys()), [tuple(r) for r in result])
    src.dispose()
    with dst.connect() as conn:
        for table in reversed(TABLES):
            conn.exec_driver_sql(f"DELETE FROM {table}") if dst.dialect.name == "sqlite" else None
        if dst.dialect.name == "postgresql":
            conn.exec_driver_sql("SET session_replication_role = replica")  # no trigger/FK checks on load
        conn.commit()
    start = time.perf_counter()
    with dst.begin() as conn:
        if dst.dialect.name == "postgresql":
            raw = conn.connection.dbapi_connection
            with raw.cursor() as cur:
                cur.execute("SET LOCAL session_replication_role = replica")
                for table, (columns, rows) in data.items():
                    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row([json.dumps(v) if isinstance(v, (dict, list)) else v for v in row])
        else:
            raw = conn.connection.dbapi_connection
            raw.execute("PRAGMA foreign_keys = OFF")
            for table, (columns, rows) in data.items():
                marks = ", ".join("?" for _ in columns)
                raw.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
    seconds = time.perf_counter() - start
    dst.dispose()
    return seconds


def run(engine: str, lines: int, tmp: Path) -> None:
    export, again = tmp / f"export-{lines}.csv", tmp / f"export-{lines}-crlf.csv"
    write_export(export, lines)
    write_export(again, lines, newline="\r\n")
    url = fresh_database(engine, tmp, f"i{lines}")
    empty = fresh_database(engine, tmp, f"b{lines}")
    try:
        child(url, export, "setup")
        child(empty, export, "setup")
        first = child(url, export)
        second = child(url, again)
        base = baseline(url, empty)
    finally:
        drop_database(url)
        drop_database(empty)
    rate = lines / first["seconds"]
    base_rate = lines / base
    again_rate = lines / second["seconds"]
    print(
        f"{engine:<10} {lines:>9,} lines  import {rate:>8,.0f} lines/s  (peak {first['rss_mb']} MB, "
        f"{first['counts']['new']:,} new, balance {first['balance']})  re-import {again_rate:>8,.0f} lines/s "
        f"({second['counts']['duplicate']:,} duplicate)  baseline {base_rate:>8,.0f} lines/s  "
        f"ratio {rate / base_rate:.2f}  re-import/import {again_rate / rate:.2f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--engines", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tracker-bench-"))
    try:
        for lines in args.lines:
            for engine in args.engines:
                run(engine, lines, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
