"""gunicorn settings for tracker, behind a buffering reverse proxy (docs/deployment.md).

    gunicorn -c deploy/gunicorn.conf.py "tracker:create_app()"

The proxy (nginx) terminates TLS, buffers whole requests and responses, and
times out slow clients; gunicorn listens on loopback only. Threads (gthread)
let a worker answer other requests while one waits on the database or on an
argon2 hash; ``timeout`` restarts a worker that stops answering. Without a
buffering proxy a client that sends its headers slowly holds a thread until
it finishes: bench/slow_clients.py measures how many such clients it takes
to stall the site (docs/deployment.md has the numbers).

Each value can be overridden from the environment (``TRACKER_GUNICORN_*``)
or on the command line, which wins over this file.
"""

import os
import sys

if sys.flags.optimize:
    # assert states the ledger's invariants; python -O would strip them (security/ignores.toml B101)
    raise SystemExit("tracker must not run with python -O or PYTHONOPTIMIZE: its assertions are checks")


def _int(name: str, default: int) -> int:
    return int(os.environ.get(f"TRACKER_GUNICORN_{name}", default))


bind = os.environ.get("TRACKER_GUNICORN_BIND", "127.0.0.1:8000")
worker_class = "gthread"
# two processes per core; each sign-in hashes with argon2 (64 MiB), so memory bounds this too
workers = _int("WORKERS", 2 * (os.cpu_count() or 1))
threads = _int("THREADS", 4)
# a worker that does not answer for this long is killed and replaced
timeout = _int("TIMEOUT", 30)
graceful_timeout = _int("GRACEFUL_TIMEOUT", 30)
# idle keep-alive connections from the proxy are closed after this many seconds
keepalive = _int("KEEPALIVE", 5)
# no recycling by request count: cached public pages run at thousands of requests a second,
# and a recycled worker drops its keep-alive connections; set it (e.g. 100000) only if the
# soak test (RELIABILITY.md X7) ever shows memory creeping up
max_requests = _int("MAX_REQUESTS", 0)
max_requests_jitter = _int("MAX_REQUESTS_JITTER", 0)
# bounded request heads: a request line, at most 50 headers of at most 8 KiB each
limit_request_line = 4094
limit_request_fields = 50
limit_request_field_size = 8190
# no more clients than the threads can answer, plus a short queue
worker_connections = _int("WORKER_CONNECTIONS", 100)
backlog = _int("BACKLOG", 256)
# the heartbeat file in memory, not on a disk that may stall
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# client addresses come from the proxy's X-Forwarded-For through the app's ProxyFix
# (TRACKER_PROXY_COUNT); gunicorn itself trusts no forwarded header
forwarded_allow_ips = ""
proxy_allow_ips = ""
accesslog = os.environ.get("TRACKER_GUNICORN_ACCESSLOG", "-") or None  # "" turns it off
errorlog = "-"
# the worker's pid (%(p)s) shows which worker answered; no query strings, no referrers
access_log_format = '%(h)s %(p)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
