"""W5: brute force and credential stuffing against gunicorn with two workers and Redis.

The app runs as in production (``TRACKER_ENV=production``, the deployment's
``deploy/gunicorn.conf.py`` with two workers) against the test database, its
sign-in limits kept in the local Redis (a database of its own, flushed before
and after). Client addresses are distinct loopback addresses (127.0.x.y), so
"from many addresses" is real, not a header.

- 50 bad passwords for one account from 50 addresses: exactly the account's
  limit get through, across both workers (the access log names the worker
  that answered each); then 429 with a page that says how long to wait;
- one bad password for each of 50 accounts from one address, each with a
  different forged ``X-Forwarded-For``: exactly the address's limit get
  through (the header changes nothing); another address is not affected;
- behind one proxy (``TRACKER_PROXY_COUNT=1``) the right-most hop counts, and
  whatever a client writes to the left of it does not;
- the lockout is temporary: every limit key expires within its window, and
  once it has, the right password works.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_app, missing

pytestmark = pytest.mark.slow  # about half a minute per engine: gunicorn, argon2 per allowed attempt

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
from _common import GUNICORN_CONF, HASH_KEY, PUBLIC_KEY, SECRET_KEY, Answer, Server  # noqa: E402
from _common import sign_in_attempt as attempt  # noqa: E402

PASSWORD = "correct horse battery staple"
ADDRESS_LIMIT = 10  # per minute (tracker/web/admin/views.py)
ACCOUNT_LIMIT = 5  # per 15 minutes
ACCOUNT_WINDOW = 15 * 60


def _redis_url() -> str:
    """A Redis database no one else uses: one per pytest-xdist worker (13, 14, 15)."""
    base = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379").rstrip("/")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw-1")
    number = 14 + int(re.sub(r"\D", "", worker) or -1) if worker != "gw-1" else 13
    return f"{base}/{min(number, 15)}"


@pytest.fixture
def redis_db() -> Iterator[Any]:
    import redis

    url = _redis_url()
    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        missing(f"no Redis at {url} (.ci/run starts one; `make redis` installs it)")
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def accounts(db_url: str, tmp_path: Path) -> list[str]:
    """Four organisers with PASSWORD (organisers sign in with a password alone)."""
    from tracker.extensions import db
    from tracker.services import unit_of_work, users

    app = make_app(db_url, tmp_path)
    emails = [f"organiser{n:02d}@example.org" for n in range(4)]
    with app.app_context():
        with unit_of_work() as session:
            for email in emails:
                user, token = users.add_user(session, email, "organiser")
                users.set_password(session, user, PASSWORD, token=token)
        db.session.remove()
        db.engine.dispose()
    return emails


def _server(db_url: str, redis_url: str, tmp_path: Path, **env: str) -> Server:
    instance = tmp_path / "instance"
    instance.mkdir(exist_ok=True)
    settings = {
        "TRACKER_ENV": "production",
        "SECRET_KEY": SECRET_KEY,
        "DATABASE_URL": db_url,
        "REDIS_URL": redis_url,
        "TRACKER_HASH_KEY": HASH_KEY,
        "TRACKER_PUBLIC_KEY": PUBLIC_KEY,
        "BENCH_INSTANCE": str(instance),
        "TRACKER_GUNICORN_ACCESSLOG": "-",
        **env,
    }
    return Server("_common:tracker_app()", settings, tmp_path / "gunicorn.log", config=GUNICORN_CONF,
                  settings=["-w", "2", "--threads", "4"], ready="/admin/login")


def _posts_by_worker(log: Path, expected: int) -> dict[int, list[int]]:
    """Worker pid -> statuses of the sign-in POSTs it answered (from the access log).

    A worker writes its log line just after the answer: wait until all ``expected`` are in.
    """
    deadline = time.monotonic() + 10
    while True:
        found: dict[int, list[int]] = {}
        for line in log.read_text(errors="replace").splitlines():
            match = re.search(r" <(\d+)> \"POST /admin/login\" (\d{3}) ", line)
            if match:
                found.setdefault(int(match.group(1)), []).append(int(match.group(2)))
        if sum(map(len, found.values())) >= expected or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def _refused(answer: Answer) -> bool:
    assert answer.status in (200, 302, 429), answer.status
    if answer.status != 429:
        return False
    assert "Too many attempts" in answer.body, answer.body[:500]
    assert "try again" in answer.body
    assert 0 < int(answer.headers["Retry-After"]) <= ACCOUNT_WINDOW + 1  # the limiter rounds the reset up to a whole second
    return True


def test_one_account_from_many_addresses_is_limited_across_workers_then_unlocks(
    db_url: str, tmp_path: Path, accounts: list[str], redis_db: Any
) -> None:
    server = _server(db_url, _redis_url(), tmp_path)
    try:
        target = accounts[0]
        sources = [f"127.0.1.{n}" for n in range(1, 51)]
        with ThreadPoolExecutor(4) as pool:  # several at once: both workers busy
            answers = list(pool.map(lambda s: attempt(server.port, target, "wrong password", s), sources))
        allowed = [a for a in answers if not _refused(a)]
        assert len(allowed) == ACCOUNT_LIMIT, [a.status for a in answers]
        assert all("Wrong e-mail address or password" in a.body for a in allowed)
        by_worker = _posts_by_worker(server.log, len(sources))
        assert len(by_worker) == 2, f"both workers answered sign-ins: {by_worker}"
        # what one worker let through the other counted: the count lives in Redis, not in a worker
        assert sum(s.count(200) for s in by_worker.values()) == ACCOUNT_LIMIT
        assert all(429 in s or 200 in s for s in by_worker.values())
        # the right password does not get through a locked account, from any address
        assert _refused(attempt(server.port, target, PASSWORD, "127.0.2.1"))
        # another account is unaffected
        assert attempt(server.port, accounts[1], PASSWORD, "127.0.2.2").status == 302

        # temporary: every limit key expires within its window (no permanent lockout) ...
        keys = redis_db.keys("*")
        assert keys
        ttls = [redis_db.pttl(k) for k in keys]
        assert all(0 < ttl <= ACCOUNT_WINDOW * 1000 for ttl in ttls), ttls
        # ... and once the window has passed (the keys expire now), the right password works
        for key in keys:
            redis_db.pexpire(key, 1)
        redis_db.ping()
        time.sleep(0.05)
        assert attempt(server.port, target, PASSWORD, "127.0.2.3").status == 302
    finally:
        server.stop()


def test_many_accounts_from_one_address_are_limited_per_address_whatever_x_forwarded_for_says(
    db_url: str, tmp_path: Path, accounts: list[str], redis_db: Any
) -> None:
    server = _server(db_url, _redis_url(), tmp_path)
    try:
        emails = accounts + [f"nobody{n:02d}@example.org" for n in range(50 - len(accounts))]  # most unknown
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(
                lambda n: attempt(server.port, emails[n], "wrong password", "127.0.3.1",
                                  {"X-Forwarded-For": f"203.0.113.{n + 1}"}),
                range(50)))
        allowed = [a for a in answers if not _refused(a)]
        assert len(allowed) == ADDRESS_LIMIT, [a.status for a in answers]
        assert len(_posts_by_worker(server.log, 50)) == 2
        # another address is still welcome
        assert attempt(server.port, accounts[-1], PASSWORD, "127.0.3.2").status == 302
    finally:
        server.stop()


def test_behind_one_proxy_the_right_most_hop_counts(
    db_url: str, tmp_path: Path, accounts: list[str], redis_db: Any
) -> None:
    server = _server(db_url, _redis_url(), tmp_path, TRACKER_PROXY_COUNT="1")
    try:
        # the proxy (127.0.0.1) appends the address it saw; a client forges what comes before it
        def via_proxy(n: int, client: str) -> Answer:
            forged = f"10.9.{n}.{n}, 192.0.2.{n}"
            return attempt(server.port, f"nobody{n:02d}@example.org", "wrong password", "127.0.4.1",
                           {"X-Forwarded-For": f"{forged}, {client}"})

        answers = [via_proxy(n, "198.51.100.7") for n in range(ADDRESS_LIMIT + 3)]
        assert [_refused(a) for a in answers] == [False] * ADDRESS_LIMIT + [True] * 3
        # another client behind the same proxy has its own count
        assert not _refused(via_proxy(99, "198.51.100.8"))
        assert attempt(server.port, accounts[2], PASSWORD, "127.0.4.1", {"X-Forwarded-For": "198.51.100.9"}).status == 302
    finally:
        server.stop()
