"""Benchmark: the public pages on a small and a large database, in one run.

    python bench/public_pages.py [--small 1000] [--large 1000000] [--seconds 10]
        [--requests 200] [--skip-load] [--keep]

RELIABILITY.md X1 (public surge) and X2 (conditional requests). In one run:

1. **build**: two SQLite databases in a temporary folder, one with ``--small``
   and one with ``--large`` donations over 24 months (2023-2024), to 5 public
   prisoners through campaigns 205, 206 and 207 and the general fund, from
   5,000 donor keys, written with the bulk path (``insert_donations``); then
   ``publish`` cuts the 24 monthly releases and both yearly statements. Prints
   how long loading and publishing took.
2. **in-process**: Flask's test client requests ``/en/`` and
   ``/en/campaign/205`` ``--requests`` times on each database, alternating
   between them so that a busy machine slows both alike; median and p95 per
   page and size, and the ratio median(large)/median(small), target <= 1.2.
3. **load**: gunicorn (``-w 2 -k gthread --threads 4``, pinned to core 0) on
   127.0.0.1 serves each database; a load generator in this process (threads
   with keep-alive ``http.client`` connections, 64 at once, pinned to core 1)
   requests each URL for ``--seconds``. Prints requests/s, p99 latency,
   non-2xx and socket errors. Targets, same run: rps(large) >= 0.67 rps(small),
   p99(large) <= 1.5 p99(small), no errors, and the campaign page at least 0.7
   of the rate of a bare Flask app (same gunicorn settings) returning the very
   same bytes.
4. **conditional**: the campaign page with ``If-None-Match`` set to the ETag of
   a first response: 304s with no body, at least twice the rate of the 200s.

The load generator is Python: each run prints its CPU share of core 1; near
100% it, not the server, would be what limits the rate (the bare app needs
about half of it). Gunicorn also needs ``REDIS_URL`` outside development: a
private ``redis-server`` on a free loopback port is started for the run. A
single p99 from a 10 s window on a busy machine can be off by half: compare
the ratios of one run, and repeat before reading a miss into a p99.
``make bench-public`` runs the defaults: about 13 minutes here, 7 of them
loading the million donations and 3.5 publishing them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from flask import Flask, Response

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _common, also when loaded by path

from _common import (  # noqa: E402 - after the path
    CONNECTIONS,
    Load,
    Server,
    build,
    create_app,
    db,
    generator_core,
    overrides,
    percentile,
    pinned,
    ratio_line,
    redis,
    run_load,
    show,
    tracker_env,
)

__all__ = ["create_app", "overrides"]  # used by the smoke test

PAGES = ("/en/", "/en/campaign/205")
CAMPAIGN_PAGE = "/en/campaign/205"
LOAD_URLS = ("/en/", CAMPAIGN_PAGE, "/open-data/totals.json", "/badge/campaign/205.svg")
TARGET_MEDIAN = 1.2  # in-process median(large)/median(small) at most
TARGET_RPS = 0.67  # X1: throughput(large)/throughput(small) at least
TARGET_P99 = 1.5  # X1: p99(large)/p99(small) at most
TARGET_BARE = 0.7  # campaign page rps / bare Flask rps at least
TARGET_304 = 2.0  # X2: 304 rps / 200 rps at least


# --- the databases ---------------------------------------------------------------------------






# --- in-process latency ----------------------------------------------------------------------




def in_process(paths: dict[int, Path], requests: int,
               redis_url: str) -> dict[tuple[int, str], list[float]]:
    """Seconds per request for each (size, page), the sizes alternating request by request."""
    apps = {size: create_app(overrides(p, redis_url), instance_path=p.parent / "instance")
            for size, p in paths.items()}
    clients = {size: app.test_client() for size, app in apps.items()}
    timings: dict[tuple[int, str], list[float]] = {}
    statuses: dict[tuple[int, str], set[int]] = {}
    for page in PAGES:
        for client in clients.values():  # warm up templates, caches and connections
            for _n in range(5):
                client.get(page)
        for _n in range(requests):
            for size, client in clients.items():
                start = time.perf_counter()
                response = client.get(page)
                response.get_data()
                timings.setdefault((size, page), []).append(time.perf_counter() - start)
                statuses.setdefault((size, page), set()).add(response.status_code)
    for app in apps.values():
        with app.app_context():
            db.engine.dispose()
    for (size, page), codes in statuses.items():
        if codes != {200}:
            print(f"  NOTE {page} on {size:,} donations answered {sorted(codes)}")
    return timings


# --- load --------------------------------------------------------------------------------------










def tracker_app() -> Flask:
    """Gunicorn target: the tracker app, configured by the environment."""
    return create_app(instance_path=os.environ["BENCH_INSTANCE"])


def bare_app() -> Flask:
    """Gunicorn target: one route that returns the campaign page's bytes, nothing else."""
    body = Path(os.environ["BENCH_BODY"]).read_bytes()
    content_type = os.environ["BENCH_CONTENT_TYPE"]
    app = Flask("bare")

    @app.get(CAMPAIGN_PAGE)
    def page() -> Response:
        return Response(body, content_type=content_type)

    return app














def load_phase(paths: dict[int, Path], seconds: float, tmp: Path,
               redis_url: str) -> dict[str, Any]:
    """Each URL on each size (the bare app next to the campaign page), then the 304 runs."""
    loads: dict[tuple[int, str], Load] = {}
    conditional: dict[int, Load] = {}
    log = tmp / "gunicorn.log"
    servers = {size: Server("public_pages:tracker_app()", tracker_env(p, redis_url), log)
               for size, p in paths.items()}
    try:
        status, headers, body = servers[max(paths)].get(CAMPAIGN_PAGE)
        (tmp / "page.bin").write_bytes(body)
        bare_env = {"BENCH_BODY": str(tmp / "page.bin"),
                    "BENCH_CONTENT_TYPE": headers.get("Content-Type", "text/html; charset=utf-8")}
        servers[0] = Server("public_pages:bare_app()", bare_env, log)
        with generator_core():
            for url in LOAD_URLS:
                for size in paths:
                    loads[(size, url)] = run_load(servers[size], url, seconds)
                    show(f"{size:,}", url, loads[(size, url)])
                if url == CAMPAIGN_PAGE:
                    loads[(0, url)] = run_load(servers[0], url, seconds)
                    show("bare Flask", url, loads[(0, url)])
            for size in paths:
                status, headers, body = servers[size].get(CAMPAIGN_PAGE)
                etag = headers.get("ETag")
                if etag is None:
                    print(f"  {size:>10,} {CAMPAIGN_PAGE} answered {status} without an ETag")
                    continue
                conditional[size] = hit = run_load(servers[size], CAMPAIGN_PAGE, seconds,
                                                   expect=304, headers={"If-None-Match": etag})
                show(f"{size:,}", f"{CAMPAIGN_PAGE} (304)", hit, "non-304")
                if hit.body_bytes:
                    print(f"  304 responses carried {hit.body_bytes:,} body bytes")
    finally:
        for server in servers.values():
            server.stop()
    return {"loads": loads, "conditional": conditional, "bare": loads[(0, CAMPAIGN_PAGE)]}


# --- report ----------------------------------------------------------------------------------






def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--small", type=int, default=1_000, help="donations in the small database")
    parser.add_argument("--large", type=int, default=1_000_000, help="donations in the large one")
    parser.add_argument("--seconds", type=float, default=10.0, help="load per URL and size")
    parser.add_argument("--requests", type=int, default=200, help="in-process requests per page")
    parser.add_argument("--skip-load", action="store_true", help="in-process latency only")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    if args.small >= args.large:
        parser.error("--small must be smaller than --large")
    tmp = Path(tempfile.mkdtemp(prefix="tracker-bench-public-"))
    try:
        with redis(tmp) as redis_url:
            rows, errors = run(args, tmp, redis_url)
        print("\nsummary")
        print(f"  {'check':<52} {'value':>7}  {'target':<8} verdict")
        for label, value, target, word in rows:
            print(f"  {label:<52} {value:>7.2f}  {target:<8} {word}")
        if errors is not None:
            word = "ok" if errors == 0 else "FAILED"
            print(f"  {'unexpected statuses and socket errors':<52} {errors:>7}  {'= 0':<8} {word}")
        if args.keep:
            print(f"  databases kept in {tmp}")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


def run(args: argparse.Namespace, tmp: Path,
        redis_url: str) -> tuple[list[tuple[str, float, str, str]], int | None]:
    """Build, measure and print; the ratio rows and the error count (None without load)."""
    small, large = args.small, args.large
    names = {small: f"{small:,}", large: f"{large:,}"}
    rows: list[tuple[str, float, str, str]] = []
    paths = {}
    for size in (small, large):
        folder = tmp / f"d{size}"
        (folder / "instance").mkdir(parents=True)
        paths[size] = folder / "tracker.sqlite3"
        loaded, published, cut = build(paths[size], size, redis_url)
        megabytes = paths[size].stat().st_size / 2**20
        print(f"{names[size]:>10} donations: loaded in {loaded:.1f} s "
              f"({size / loaded:,.0f}/s), published in {published:.1f} s: {cut}; "
              f"{megabytes:,.0f} MB", flush=True)

    print(f"in-process, {args.requests} requests per page and size (ms):")
    timings = in_process(paths, args.requests, redis_url)
    for page in PAGES:
        for size in (small, large):
            values = timings[(size, page)]
            print(f"  {names[size]:>10} {page:<20} median "
                  f"{statistics.median(values) * 1000:7.2f}  p95 "
                  f"{percentile(values, 0.95) * 1000:7.2f}")
    for page in PAGES:
        value = (statistics.median(timings[(large, page)])
                 / statistics.median(timings[(small, page)]))
        ratio_line(rows, f"median {names[large]}/{names[small]} {page}", value,
                   TARGET_MEDIAN, at_most=True)
    if args.skip_load:
        return rows, None

    print(f"load: gunicorn -w 2 -k gthread --threads 4, {CONNECTIONS} connections, "
          f"{args.seconds:g} s per URL{', pinned to cores 0 and 1' if pinned() else ''}:")
    got = load_phase(paths, args.seconds, tmp, redis_url)
    loads, conditional, bare = got["loads"], got["conditional"], got["bare"]
    for url in LOAD_URLS:
        lo, hi = loads[(small, url)], loads[(large, url)]
        ratio_line(rows, f"rps {names[large]}/{names[small]} {url}",
                   hi.rps / lo.rps if lo.rps else float("nan"), TARGET_RPS, at_most=False)
        ratio_line(rows, f"p99 {names[large]}/{names[small]} {url}",
                   hi.p99 / lo.p99, TARGET_P99, at_most=True)
    for size in (small, large):
        page = loads[(size, CAMPAIGN_PAGE)]
        ratio_line(rows, f"rps campaign page/bare Flask ({names[size]})",
                   page.rps / bare.rps if bare.rps else float("nan"), TARGET_BARE,
                   at_most=False)
    for size in (small, large):
        hit = conditional.get(size)
        full = loads[(size, CAMPAIGN_PAGE)]
        value = hit.rps / full.rps if hit is not None and full.rps else float("nan")
        ratio_line(rows, f"rps 304/200 {CAMPAIGN_PAGE} ({names[size]})", value,
                   TARGET_304, at_most=False)
    everything = [*loads.values(), *conditional.values()]
    return rows, sum(r.unexpected + r.errors for r in everything)

if __name__ == "__main__":
    raise SystemExit(main())
