"""Benchmark: parse a generated 100,000-line PayPal activity export.

    python bench/parse_paypal.py [--lines N] [--profile]

Writes a deterministic activity download (default 41 columns, donations with
notes and fees, refunds, conversions, withdrawals, holds, four currencies) to a
temporary file, streaming, then times ``paypal.extract`` over it and prints
lines per second and the process's peak RSS (``resource.getrusage``). The
target on a 2-core machine is at least 50,000 lines/s with peak RSS flat in
the file size. CPU time is printed too: on a shared machine wall time
depends on what else runs.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.importers.paypal_factory import encode, iter_transactions, render
from tracker.importers import ReadOptions, paypal

CURRENCIES = ("EUR", "USD", "GBP", "RUB")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_export(path: Path, lines: int) -> int:
    """Stream a deterministic export of ``lines`` lines to ``path``; return its size."""
    txs = iter_transactions("en", count=lines, seed=7, currencies=CURRENCIES)
    size = 0
    with path.open("wb") as out:
        for text, _expect in render("en_activity_2018", txs):
            data = encode(text, "utf-8")
            size += len(data)
            out.write(data)
    return size


def run(path: Path, options: ReadOptions) -> tuple[int, float, float]:
    """Extract every line once; return (count, wall seconds, CPU seconds)."""
    wall, cpu = time.perf_counter(), time.process_time()
    count = 0
    with path.open("rb") as stream:
        for _line in paypal.extract(stream, path.name, options):
            count += 1
    return count, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    """Generate, parse, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--profile", action="store_true", help="print the top of a cProfile")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "activity.csv"
        size = write_export(path, args.lines)
        rss_before = _peak_rss_mb()
        print(f"file: {size / 1e6:.1f} MB, {args.lines} lines")
        cases = (
            ("extract (the file decides everything)", ReadOptions()),
            ("extract --date-order mdy --decimal-mark . (no first pass)",
             ReadOptions(date_order="mdy", decimal_mark=".")),
        )  # fmt: skip
        for label, options in cases:
            if args.profile:
                prof = cProfile.Profile()
                prof.enable()
            count, seconds, cpu = run(path, options)
            if args.profile:
                prof.disable()
                pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
            print(f"{label}: {count} lines")
            print(f"  {seconds:.2f} s wall, {count / seconds:,.0f} lines/s;"
                  f" {cpu:.2f} s CPU, {count / cpu:,.0f} lines/s of CPU time")  # fmt: skip
        print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
        print(f"peak RSS: {rss_before:.0f} MB after generating, {_peak_rss_mb():.0f} MB after"
              " parsing")  # fmt: skip


if __name__ == "__main__":
    main()
