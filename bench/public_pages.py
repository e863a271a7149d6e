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
import gc
import http.client
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import Flask, Response

from tracker import create_app
from tracker.extensions import db
from tracker.models import Account, Destination, DonationOrigin
from tracker.services import publishing, unit_of_work
from tracker.services.accounts import create_account
from tracker.services.campaigns import PrisonerShare, WeightBook, create_campaign, create_prisoner
from tracker.services.donations import NewDonation, insert_donations
from tracker.services.setup import init_database

HERE = Path(__file__).resolve().parent
HASH_KEY = "42" * 32
PUBLIC_KEY = "a1" * 32  # any 32 bytes make a valid X25519 public key for sealing
SECRET_KEY = "bench-secret-key"
PRISONERS = (("anna", "Anna K."), ("boris", "Boris L."), ("clara", "Clara M."),
             ("dmitry", "Dmitry N."), ("elena", "Elena O."))
CAMPAIGNS = (("205", "Penza case", ("anna", "boris", "clara")),
             ("206", "Kansk case", ("clara", "dmitry")),
             ("207", "Fakes case", ("elena",)))
START = datetime(2023, 1, 1, tzinfo=UTC)
END = datetime(2025, 1, 1, tzinfo=UTC)  # 24 months
TODAY = date(2025, 1, 15)  # every month and both years are closed
DONORS = 5_000
BATCH = 20_000  # donations per unit of work
PAGES = ("/en/", "/en/campaign/205")
CAMPAIGN_PAGE = "/en/campaign/205"
LOAD_URLS = ("/en/", CAMPAIGN_PAGE, "/open-data/totals.json", "/badge/campaign/205.svg")
CONNECTIONS = 64
TARGET_MEDIAN = 1.2  # in-process median(large)/median(small) at most
TARGET_RPS = 0.67  # X1: throughput(large)/throughput(small) at least
TARGET_P99 = 1.5  # X1: p99(large)/p99(small) at most
TARGET_BARE = 0.7  # campaign page rps / bare Flask rps at least
TARGET_304 = 2.0  # X2: 304 rps / 200 rps at least


# --- the databases ---------------------------------------------------------------------------


def overrides(db_path: Path, redis_url: str) -> dict[str, Any]:
    """Configuration for an app in this process (keys from files in the environment unset)."""
    return {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}",
        "TRACKER_ENV": "production",
        "REDIS_URL": redis_url,
        "SECRET_KEY": SECRET_KEY,
        "HASH_KEY": HASH_KEY,
        "PUBLIC_KEY": PUBLIC_KEY,
        "HASH_KEY_FILE": None,
        "PUBLIC_KEY_FILE": None,
        "GROUP_NAME": "Bench",
    }


def build(db_path: Path, count: int, redis_url: str, seed: int = 205) -> tuple[float, float, str]:
    """Create, fill and publish a database; seconds to load and to publish, what was cut."""
    app = create_app(overrides(db_path, redis_url), instance_path=db_path.parent / "instance")
    rng = random.Random(seed)
    span = (END - START).total_seconds()
    amounts = [Decimal(a) for a in ("5", "10", "10", "15", "20", "25", "25", "50", "100")]
    with app.app_context():
        init_database()
        with unit_of_work() as session:
            account_id = create_account(session, "PayPal", "paypal").id
            for slug, name in PRISONERS:
                create_prisoner(session, slug, name)
            campaign_ids = [
                create_campaign(session, tag, title, prisoners=[PrisonerShare(p) for p in who]).id
                for tag, title, who in CAMPAIGNS
            ]
        # 205 gets four gifts in nine, 206 and 207 two each, the general fund one.
        destinations = [*[campaign_ids[0]] * 4, *[campaign_ids[1]] * 2, *[campaign_ids[2]] * 2,
                        None]
        start = time.perf_counter()
        for lo in range(0, count, BATCH):
            with unit_of_work() as session:
                account = session.get(Account, account_id)
                items = []
                for n in range(lo, min(count, lo + BATCH)):
                    gross = rng.choice(amounts)
                    campaign_id = rng.choice(destinations)
                    currency = "EUR" if rng.random() < 0.9 else "USD"
                    items.append(NewDonation(
                        account=account,
                        received_at=START + timedelta(seconds=span * (n + rng.random()) / count),
                        currency=currency,
                        gross=gross,
                        fee=(gross * Decimal("0.029") + Decimal("0.35")).quantize(Decimal("0.01")),
                        destination=Destination.GENERAL if campaign_id is None
                        else Destination.CAMPAIGN,
                        campaign_id=campaign_id,
                        donor_key=f"bench-donor-{rng.randrange(DONORS):05d}",
                        origin=DonationOrigin.IMPORT,
                    ))
                insert_donations(session, items, weights=WeightBook(session), created_by="bench")
            if count >= 10 * BATCH and (lo // BATCH) % 10 == 9:
                done = lo + BATCH
                print(f"  {done:>10,} donations  {time.perf_counter() - start:7.1f} s", flush=True)
        loaded = time.perf_counter() - start
        if count >= 10 * BATCH:
            print("  cutting the releases ...", flush=True)
        start = time.perf_counter()
        reports = publishing.publish(today=TODAY, group="Bench")
        published = time.perf_counter() - start
        monthly = [r for r in reports if r.kind == "monthly"]
        cells = sum(r.published for r in monthly)
        withheld = sum(len(r.withheld) for r in monthly)
        cut = (f"{len(monthly)} monthly releases ({cells:,} cells, {withheld:,} withheld), "
               f"{len(reports) - len(monthly)} yearly")
        db.session.remove()
        db.engine.dispose()
    gc.collect()
    return loaded, published, cut


# --- in-process latency ----------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


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


@dataclass
class Load:
    """What one load run saw."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    unexpected: int = 0  # responses with another status than the one expected
    errors: int = 0  # socket errors, timeouts, broken responses
    body_bytes: int = 0
    cpu: float = 0.0  # the load generator's CPU seconds per second (1.0 = a whole core)

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    @property
    def p99(self) -> float:
        return percentile(self.latencies, 0.99) if self.latencies else float("nan")


def hammer(port: int, path: str, seconds: float, *, expect: int = 200,
           headers: dict[str, str] | None = None) -> Load:
    """``CONNECTIONS`` keep-alive connections requesting ``path`` for ``seconds``."""
    results = [Load() for _n in range(CONNECTIONS)]
    ready = threading.Barrier(CONNECTIONS + 1)
    stop_at = [0.0]

    def worker(out: Load) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        ready.wait()
        clock = time.perf_counter
        try:
            while clock() < stop_at[0]:
                start = clock()
                try:
                    conn.request("GET", path, headers=headers or {})
                    response = conn.getresponse()
                    body = response.read()
                except (OSError, http.client.HTTPException):
                    out.errors += 1
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    continue
                out.latencies.append(clock() - start)
                out.body_bytes += len(body)
                if response.status != expect:
                    out.unexpected += 1
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, args=(r,), daemon=True) for r in results]
    for thread in threads:
        thread.start()
    begin, cpu = time.perf_counter(), time.process_time()
    stop_at[0] = begin + seconds
    ready.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - begin
    total = Load(seconds=elapsed, cpu=(time.process_time() - cpu) / elapsed)
    for r in results:
        total.latencies += r.latencies
        total.unexpected += r.unexpected
        total.errors += r.errors
        total.body_bytes += r.body_bytes
    return total


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def redis(tmp: Path) -> Iterator[str]:
    """A private redis-server: outside development the app requires REDIS_URL (sign-in limits).

    Public pages never use it; without redis-server the URL names a closed port.
    """
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    binary = shutil.which("redis-server")
    if binary is None:
        print("  no redis-server: REDIS_URL names a closed port (public pages do not use it)")
        yield url
        return
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and process.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


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


class Server:
    """A gunicorn on 127.0.0.1 (pinned to core 0 where there are two)."""

    def __init__(self, target: str, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        command = [sys.executable, "-m", "gunicorn", "-w", "2", "-k", "gthread", "--threads", "4",
                   "-b", f"127.0.0.1:{self.port}", "--chdir", str(HERE), target]
        if pinned() and shutil.which("taskset"):
            command = ["taskset", "-c", "0", *command]
        base = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKER_", "BENCH_"))}
        base.pop("DATABASE_URL", None)
        base.pop("REDIS_URL", None)
        self.log = log
        self.handle = log.open("ab")
        self.process = subprocess.Popen(command, env={**base, **env}, stdout=self.handle,
                                        stderr=subprocess.STDOUT, cwd=HERE)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # until a worker has booted and answers
            if self.process.poll() is not None:
                self.stop()
                raise SystemExit(f"gunicorn exited:\n{log.read_text()[-3000:]}")
            try:
                self.get("/", timeout=5)
                return
            except (OSError, http.client.HTTPException):
                time.sleep(0.2)
        self.stop()
        raise SystemExit(f"gunicorn did not answer within 60 s:\n{log.read_text()[-3000:]}")

    def get(self, path: str, timeout: float = 60) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.handle.close()


def pinned() -> bool:
    return hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) >= 2


def tracker_env(db_path: Path, redis_url: str) -> dict[str, str]:
    return {
        "TRACKER_ENV": "production",
        "REDIS_URL": redis_url,
        "SECRET_KEY": SECRET_KEY,
        "DATABASE_URL": f"sqlite:///{db_path}",
        "TRACKER_HASH_KEY": HASH_KEY,
        "TRACKER_PUBLIC_KEY": PUBLIC_KEY,
        "BENCH_INSTANCE": str(db_path.parent / "instance"),
    }


def run_load(server: Server, path: str, seconds: float, **options: Any) -> Load:
    hammer(server.port, path, min(1.0, seconds / 5), **options)  # warm up every worker
    return hammer(server.port, path, seconds, **options)


@contextmanager
def generator_core() -> Iterator[None]:
    """Run this process (the load generator) on core 1 while gunicorn has core 0."""
    mask = os.sched_getaffinity(0) if pinned() else None
    if mask is not None:
        os.sched_setaffinity(0, {sorted(mask)[1]})
    try:
        yield
    finally:
        if mask is not None:
            os.sched_setaffinity(0, mask)


def show(who: str, url: str, result: Load, expected: str = "non-2xx") -> None:
    print(f"  {who:>10} {url:<28} {result.rps:>8,.0f} req/s  p99 {result.p99 * 1000:7.1f} ms  "
          f"{expected} {result.unexpected}  errors {result.errors}  "
          f"generator CPU {result.cpu:.0%}", flush=True)


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


def verdict(value: float, target: float, at_most: bool) -> str:
    if value != value:  # NaN
        return "n/a"
    return "ok" if (value <= target if at_most else value >= target) else "BELOW TARGET"


def ratio_line(rows: list[tuple[str, float, str, str]], label: str, value: float,
               target: float, *, at_most: bool) -> None:
    sign = "<=" if at_most else ">="
    word = verdict(value, target, at_most)
    print(f"ratio {label}: {value:.2f} (target {sign} {target}) {word}")
    rows.append((label, value, f"{sign} {target}", word))


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
