"""What the benchmarks share: the bench database, a gunicorn on loopback, a load generator.

- :func:`build` fills and publishes a SQLite database (donations over 24
  months to five prisoners through campaigns 205-207 and the general fund);
- :class:`Server` runs gunicorn on 127.0.0.1 (pinned to core 0 where there are
  two) with ``deploy/gunicorn.conf.py`` or explicit settings; :func:`redis`
  starts a private ``redis-server`` for the sign-in limits;
- :func:`hammer` is the load generator: keep-alive ``http.client``
  connections in threads, latencies and errors per run (:class:`Load`);
- :func:`ratio_line` prints a ratio against its target.

Targets for gunicorn: ``_common:tracker_app()`` (the tracker app, configured
by the environment).
"""

from __future__ import annotations

import gc
import http.client
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import Flask

from tracker import create_app
from tracker.extensions import db
from tracker.models import Account, Destination, DonationOrigin
from tracker.services import publishing, unit_of_work
from tracker.services.accounts import create_account
from tracker.services.campaigns import PrisonerShare, WeightBook, create_campaign, create_prisoner
from tracker.services.donations import NewDonation, insert_donations
from tracker.services.setup import init_database

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
#: the documented deployment's gunicorn settings (docs/deployment.md)
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"
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
CONNECTIONS = 64


def tracker_app() -> Flask:
    """Gunicorn target: the tracker app, configured by the environment."""
    return create_app(instance_path=os.environ["BENCH_INSTANCE"])


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


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


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
           headers: dict[str, str] | None = None, connections: int = CONNECTIONS) -> Load:
    """``connections`` keep-alive connections requesting ``path`` for ``seconds``."""
    results = [Load() for _n in range(connections)]
    ready = threading.Barrier(connections + 1)
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


class Server:
    """A gunicorn on 127.0.0.1 (pinned to core 0 where there are two)."""

    def __init__(self, target: str, env: dict[str, str], log: Path, *,
                 settings: list[str] | None = None, config: Path | None = None,
                 ready: str = "/") -> None:
        """Start gunicorn: ``config`` (a gunicorn.conf.py) first, then ``settings`` (command-line
        options; default ``-w 2 -k gthread --threads 4``), which win where both speak."""
        self.port = free_port()
        options = ["-w", "2", "-k", "gthread", "--threads", "4"] if settings is None else settings
        command = [sys.executable, "-m", "gunicorn", *(["-c", str(config)] if config else []),
                   *options, "-b", f"127.0.0.1:{self.port}", "--chdir", str(HERE), target]
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
                self.get(ready, timeout=5)
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

    def workers(self) -> list[int]:
        """The worker processes' ids: the master's children (taskset execs gunicorn itself)."""
        try:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        except OSError:
            return []
        return sorted(int(pid) for pid in children.split())


def rss_mib(pid: int) -> float:
    """Resident memory of a process, MiB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


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


# --- sign-ins ----------------------------------------------------------------------------------


@dataclass
class Answer:
    """One HTTP answer: status, body, headers."""

    status: int
    body: str
    headers: dict[str, str]


def sign_in_attempt(port: int, email: str, password: str, source: str = "127.0.0.1",
                    headers: dict[str, str] | None = None) -> Answer:
    """One sign-in as a browser makes it: the form (its cookie and CSRF token), then the POST,
    from the loopback address ``source`` (any 127.x.y.z works on Linux)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120, source_address=(source, 0))
    try:
        conn.request("GET", "/admin/login", headers=headers or {})
        page = conn.getresponse()
        form = page.read().decode()
        cookies = "; ".join(v.split(";", 1)[0] for k, v in page.getheaders()
                            if k.lower() == "set-cookie")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"'
                          r'|name="csrf_token" value="([^"]+)"', form)
        if token is None:
            raise RuntimeError(f"no CSRF token in the sign-in form ({page.status})")
        body = urllib.parse.urlencode({"csrf_token": token.group(1) or token.group(2),
                                       "email": email, "password": password})
        conn.request("POST", "/admin/login", body=body, headers={
            **(headers or {}), "Cookie": cookies,
            "Content-Type": "application/x-www-form-urlencoded"})
        response = conn.getresponse()
        return Answer(response.status, response.read().decode(), dict(response.getheaders()))
    finally:
        conn.close()


def add_organisers(db_path: Path, redis_url: str, emails: list[str], password: str) -> None:
    """Organisers (password only, no second factor) in a bench database."""
    from tracker.services import users

    app = create_app(overrides(db_path, redis_url), instance_path=db_path.parent / "instance")
    with app.app_context():
        with unit_of_work() as session:
            for email in emails:
                user, token = users.add_user(session, email, "organiser")
                users.set_password(session, user, password, token=token)
        db.session.remove()
        db.engine.dispose()
