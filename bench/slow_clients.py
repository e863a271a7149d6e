"""Benchmark: slow clients (slowloris) against gunicorn, sync and gthread workers.

    python bench/slow_clients.py [--clients 100] [--interval 10] [--seconds 60]
        [--steps 2,4,8,16] [--step-seconds 15] [--workers sync,gthread]

RELIABILITY.md X6. Gunicorn serves a small published database with the
deployment's settings (``deploy/gunicorn.conf.py``, two workers; ``sync`` and
the documented ``gthread`` with four threads each). For each worker class:

1. **baseline**: one client requests ``/en/`` again and again for
   ``--step-seconds``; p50 latency.
2. **steps**: for each count in ``--steps``, that many sockets each send one
   byte of a request head every ``--interval`` seconds while the probe keeps
   requesting; a probe request that takes longer than 5 s counts as failed.
   The largest count at which the probe's p50 stays within 2x the baseline
   and nothing fails is the measured limit of gunicorn alone.
3. **full**: ``--clients`` slow sockets for ``--seconds``; p50 ratio to the
   baseline (target <= 2 for the documented deployment) and failures.

Slow sockets that the server closes are reopened, as an attacker would.
Gunicorn alone has no header timeout: only a buffering reverse proxy in front
(nginx, ``client_header_timeout``) keeps slow clients away from the workers;
docs/deployment.md has the numbers and the recommended setup.
"""

from __future__ import annotations

import argparse
import http.client
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _common, also when loaded by path

from _common import GUNICORN_CONF, Server, build, redis, tracker_env  # noqa: E402

PROBE_URL = "/en/"
PROBE_TIMEOUT = 5.0
TARGET_P50 = 2.0  # X6: p50 under slow clients / baseline p50 at most
HEAD = b"GET /en/ HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow\r\nX-Padding: " + b"a" * 4000


@dataclass
class Probe:
    """What the normal client saw."""

    latencies: list[float] = field(default_factory=list)
    failed: int = 0

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies) if self.latencies else float("nan")


def probe(port: int, stop: threading.Event, out: Probe) -> None:
    """Sequential GETs, a fresh connection each (as a new visitor), until ``stop``."""
    while not stop.is_set():
        start = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=PROBE_TIMEOUT)
        try:
            conn.request("GET", PROBE_URL)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                out.failed += 1
            else:
                out.latencies.append(time.perf_counter() - start)
        except (OSError, http.client.HTTPException):
            out.failed += 1
        finally:
            conn.close()
        time.sleep(0.05)


def baseline(port: int, seconds: float) -> Probe:
    out, stop = Probe(), threading.Event()
    thread = threading.Thread(target=probe, args=(port, stop, out), daemon=True)
    thread.start()
    time.sleep(seconds)
    stop.set()
    thread.join()
    return out


def slow_attack(port: int, clients: int, interval: float, seconds: float) -> tuple[Probe, int]:
    """``clients`` sockets, one head byte each every ``interval`` s, for ``seconds``, while probing.

    Returns what the probe saw and how many times the server closed a slow socket.
    """
    def opened() -> tuple[socket.socket, int] | None:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=2), 0
        except OSError:
            return None

    sockets: list[tuple[socket.socket, int] | None] = [opened() for _n in range(clients)]
    closed = 0
    out, stop = Probe(), threading.Event()
    thread = threading.Thread(target=probe, args=(port, stop, out), daemon=True)
    thread.start()
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            for n, item in enumerate(sockets):
                if item is None:
                    sockets[n] = opened()
                    continue
                sock, sent = item
                try:
                    sock.sendall(HEAD[sent % len(HEAD):sent % len(HEAD) + 1])
                    sockets[n] = (sock, sent + 1)
                except OSError:
                    closed += 1
                    sock.close()
                    sockets[n] = opened()
            time.sleep(min(interval, max(0.0, end - time.monotonic())))
    finally:
        stop.set()
        thread.join()
        for item in sockets:
            if item is not None:
                item[0].close()
    return out, closed


def run_mode(worker: str, env: dict[str, str], log: Path, args: argparse.Namespace) -> dict[str, object]:
    settings = ["-w", "2", "-k", worker] + (["--threads", "4"] if worker == "gthread" else [])
    server = Server("_common:tracker_app()", env, log, config=GUNICORN_CONF, settings=settings,
                    ready=PROBE_URL)
    result: dict[str, object] = {}
    try:
        base = baseline(server.port, args.step_seconds)
        print(f"  {worker:>8} baseline: p50 {base.p50 * 1000:7.1f} ms  "
              f"({len(base.latencies)} requests, {base.failed} failed)", flush=True)
        limit = 0
        for count in args.steps:
            seen, closed = slow_attack(server.port, count, args.interval, args.step_seconds)
            ok = not seen.failed and seen.latencies and seen.p50 <= TARGET_P50 * base.p50
            print(f"  {worker:>8} {count:>4} slow clients: p50 {seen.p50 * 1000:7.1f} ms  "
                  f"{len(seen.latencies)} answered, {seen.failed} failed, "
                  f"{closed} slow sockets closed by the server  {'ok' if ok else 'STALLED'}",
                  flush=True)
            if not ok:
                break
            limit = count
        full, closed = slow_attack(server.port, args.clients, args.interval, args.seconds)
        ratio = full.p50 / base.p50 if full.latencies else float("inf")
        print(f"  {worker:>8} {args.clients:>4} slow clients for {args.seconds:g} s: "
              f"p50 {full.p50 * 1000:7.1f} ms, {len(full.latencies)} answered, "
              f"{full.failed} failed, {closed} slow sockets closed", flush=True)
        result = {"limit": limit, "ratio": ratio, "failed": full.failed,
                  "answered": len(full.latencies)}
    finally:
        server.stop()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--clients", type=int, default=100, help="slow sockets in the full run")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between bytes")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the full run")
    parser.add_argument("--steps", default="2,4,8,16", help="slow-socket counts to find the limit")
    parser.add_argument("--step-seconds", type=float, default=15.0, help="length of each step")
    parser.add_argument("--workers", default="sync,gthread", help="gunicorn worker classes")
    parser.add_argument("--donations", type=int, default=500)
    args = parser.parse_args(argv)
    args.steps = [int(n) for n in args.steps.split(",") if n]
    tmp = Path(tempfile.mkdtemp(prefix="tracker-bench-slow-"))
    try:
        folder = tmp / "db"
        (folder / "instance").mkdir(parents=True)
        db_path = folder / "tracker.sqlite3"
        with redis(tmp) as redis_url:
            build(db_path, args.donations, redis_url)
            env = {**tracker_env(db_path, redis_url), "TRACKER_GUNICORN_ACCESSLOG": ""}
            print(f"slow clients: one byte every {args.interval:g} s; gunicorn -w 2 with "
                  f"{GUNICORN_CONF.relative_to(GUNICORN_CONF.parents[1])}, no proxy in front:")
            results = {w: run_mode(w, env, tmp / f"gunicorn-{w}.log", args)
                       for w in args.workers.split(",")}
        print("\nsummary (gunicorn alone, no proxy)")
        for worker, r in results.items():
            word = "ok" if r["ratio"] <= TARGET_P50 and not r["failed"] else "ABOVE TARGET"
            print(f"ratio p50 {args.clients} slow clients/baseline ({worker}): {r['ratio']:.2f} "
                  f"(target <= {TARGET_P50}) {word}; {r['failed']} probe requests failed")
            print(f"limit ({worker}): p50 within {TARGET_P50}x and no failure up to "
                  f"{r['limit']} slow clients (steps {args.steps})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
