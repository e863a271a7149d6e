"""Benchmark: sign-ins (argon2, 64 MiB each) while the public pages are under load.

    python bench/login_dos.py [--seconds 20] [--logins 20] [--addresses 1]
        [--connections 64] [--donations 1000]

RELIABILITY.md X5. Gunicorn serves a small published database with the
deployment's settings (``deploy/gunicorn.conf.py``, ``-w 2 --threads 4``,
pinned to core 0 where there are two), sign-in limits in a private Redis.

1. **baseline**: X1's load generator (bench/public_pages.py's, from
   bench/_common.py) on the campaign page for ``--seconds``: p99, req/s.
2. **with sign-ins**: the same load while rounds of ``--logins`` concurrent
   sign-ins with wrong passwords (from ``--addresses`` loopback addresses,
   each round for other accounts) run for the whole window.

Prints the public p99 ratio (with sign-ins / without, target <= 2), how many
sign-ins the limiter refused (429: it engages), and each worker's RSS before
and after (argon2 takes 64 MiB per hash in flight; the RSS must come back
down or at least stay bounded by threads x 64 MiB).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _common, also when loaded by path

from _common import (  # noqa: E402 - after the path
    GUNICORN_CONF,
    Load,
    Server,
    add_organisers,
    build,
    generator_core,
    hammer,
    pinned,
    ratio_line,
    redis,
    rss_mib,
    sign_in_attempt,
    tracker_env,
)

PAGE = "/en/campaign/205"
TARGET_P99 = 2.0  # X5: public p99 with sign-ins / without, at most
PASSWORD = "correct horse battery staple"
#: the argon2 memory of one hash in flight (tracker.services.users), MiB
ARGON2_MIB = 64


def sign_ins(port: int, logins: int, addresses: int, stop: threading.Event) -> dict[int, int]:
    """Rounds of ``logins`` concurrent wrong-password sign-ins until ``stop``; statuses counted."""
    counts: dict[int, int] = {}
    lock = threading.Lock()
    round_no = 0

    def one(n: int) -> None:
        source = f"127.0.9.{1 + (n % addresses)}"
        try:
            status = sign_in_attempt(port, f"someone{round_no}-{n}@example.org", "wrong password",
                                     source).status
        except OSError:
            status = 0
        with lock:
            counts[status] = counts.get(status, 0) + 1

    with ThreadPoolExecutor(logins) as pool:
        while not stop.is_set():
            list(pool.map(one, range(logins)))
            round_no += 1
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="each load window")
    parser.add_argument("--logins", type=int, default=20, help="concurrent sign-ins per round")
    parser.add_argument("--addresses", type=int, default=1, help="client addresses they come from")
    parser.add_argument("--connections", type=int, default=64, help="public load connections")
    parser.add_argument("--donations", type=int, default=1000)
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="tracker-bench-login-"))
    server = None
    try:
        folder = tmp / "db"
        (folder / "instance").mkdir(parents=True)
        db_path = folder / "tracker.sqlite3"
        with redis(tmp) as redis_url:
            build(db_path, args.donations, redis_url)
            add_organisers(db_path, redis_url, ["org@example.org"], PASSWORD)
            server = Server("_common:tracker_app()", {**tracker_env(db_path, redis_url), "TRACKER_GUNICORN_ACCESSLOG": ""}, tmp / "gunicorn.log",
                            config=GUNICORN_CONF, settings=["-w", "2", "--threads", "4"], ready=PAGE)
            print(f"sign-ins during public load: gunicorn -w 2 --threads 4 (deploy/gunicorn.conf.py), "
                  f"{args.connections} connections on {PAGE}, {args.seconds:g} s per window"
                  f"{', pinned to cores 0 and 1' if pinned() else ''}", flush=True)
            with generator_core():
                hammer(server.port, PAGE, min(1.0, args.seconds / 5), connections=args.connections)
                before = {pid: rss_mib(pid) for pid in server.workers()}
                base = hammer(server.port, PAGE, args.seconds, connections=args.connections)
                show("baseline", base)
                stop = threading.Event()
                counts: dict[int, int] = {}
                thread = threading.Thread(
                    target=lambda: counts.update(sign_ins(server.port, args.logins, args.addresses, stop)),
                    daemon=True)
                thread.start()
                loaded = hammer(server.port, PAGE, args.seconds, connections=args.connections)
                stop.set()
                thread.join()
                show("sign-ins", loaded)
                peak = {pid: rss_mib(pid) for pid in server.workers()}
            right = sign_in_attempt(server.port, "org@example.org", PASSWORD, "127.0.8.1").status
        limited = counts.get(429, 0)
        total = sum(counts.values())
        print(f"sign-ins: {total} attempts from {args.addresses} address(es): "
              f"{counts.get(200, 0)} checked (wrong password), {limited} refused by the limiter (429), "
              f"{total - limited - counts.get(200, 0)} other; the right password from elsewhere: {right}")
        print(f"limiter engaged: {'yes' if limited else 'NO'}")
        for pid in sorted(set(before) | set(peak)):
            print(f"worker {pid} RSS: before {before.get(pid, 0):.0f} MiB, "
                  f"after {peak.get(pid, 0):.0f} MiB")
        rows: list[tuple[str, float, str, str]] = []
        ratio_line(rows, "public p99 with sign-ins/without", loaded.p99 / base.p99, TARGET_P99,
                   at_most=True)
        growth = max((peak.get(pid, 0) - before.get(pid, 0) for pid in before), default=0.0)
        bound = 4 * ARGON2_MIB  # threads per worker x one argon2 hash each
        ratio_line(rows, f"worker RSS growth/{bound} MiB (4 threads x argon2)", growth / bound, 1.0,
                   at_most=True)
        errors = base.errors + loaded.errors + base.unexpected + loaded.unexpected
        print(f"public non-2xx and socket errors: {errors}")
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def show(label: str, result: Load) -> None:
    print(f"  {label:>9}: {result.rps:8,.0f} req/s  p99 {result.p99 * 1000:7.1f} ms  "
          f"non-2xx {result.unexpected}  errors {result.errors}", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
