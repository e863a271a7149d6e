"""Benchmark (RELIABILITY.md C8): a 1M-line export uploaded through the wizard to gunicorn's defaults.

    python bench/upload_big.py [--lines 1000000] [--timeout 30]

gunicorn runs with its default sync workers and ``--timeout`` (30 s, the
default). A signed-in treasurer posts the export to ``/admin/imports`` as a
browser does (multipart, streamed). The request must end well within the
timeout, because the web worker only seals and stores the file and queues a
preview job; the import itself runs later in ``tracker worker``. Printed: the
upload's seconds (and its ratio to the timeout, target < 1), its throughput,
the job queued, and, with ``--preview``, how long the worker took to preview
it.
"""

from __future__ import annotations

import argparse
import http.client
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from bench import _common as common  # noqa: E402
from bench.import_paypal import write_export  # noqa: E402

EMAIL = "bench-treasurer@example.org"
PASSWORD = "bench treasurer password 205"


def prepare(db_path: Path, redis_url: str) -> None:
    from tracker import create_app
    from tracker.extensions import db
    from tracker.services import unit_of_work, users
    from tracker.services.setup import init_database

    app = create_app({**common.overrides(db_path, redis_url), "REQUIRE_SECOND_FACTOR": False}, instance_path=db_path.parent / "instance")
    with app.app_context():
        init_database()
        with unit_of_work() as session:
            user, _link = users.add_user(session, EMAIL, "treasurer")
            users.set_password(session, user, PASSWORD)
        db.session.remove()
        db.engine.dispose()


class Browser:
    """Just enough of a browser: one cookie, forms with their CSRF token."""

    def __init__(self, port: int) -> None:
        self.port, self.cookies = port, {}

    def request(self, method: str, path: str, body: object = None, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        try:
            cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            # as nginx in front says it (docs/deployment.md): TLS ended by the proxy
            proxy = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "127.0.0.1", "X-Forwarded-Host": "127.0.0.1"}
            conn.request(method, path, body=body, headers={**proxy, **(headers or {}), **({"Cookie": cookie} if cookie else {})})
            response = conn.getresponse()
            data = response.read()
            answer = dict(response.getheaders())
            for header in response.headers.get_all("Set-Cookie") or []:
                name, _, value = header.split(";", 1)[0].partition("=")
                if value and "Max-Age=0" not in header and "1970" not in header:
                    self.cookies[name] = value
                else:
                    self.cookies.pop(name, None)
        finally:
            conn.close()
        return response.status, answer, data

    def token(self, path: str) -> str:
        status, _headers, page = self.request("GET", path)
        found = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page)
        if found is None:
            raise SystemExit(f"no form at {path}: HTTP {status} {page[:300]!r}")
        return found.group(1).decode()


def upload(browser: Browser, export: Path) -> tuple[int, float]:
    token = browser.token("/admin/imports")
    boundary = uuid.uuid4().hex
    head = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n"
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{export.name}\"\r\n"
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    size = len(head) + export.stat().st_size + len(tail)

    def body():  # type: ignore[no-untyped-def]
        yield head
        with export.open("rb") as handle:
            while block := handle.read(1 << 20):
                yield block
        yield tail

    start = time.perf_counter()
    status, _headers, _page = browser.request(
        "POST", "/admin/imports", body=body(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}", "Content-Length": str(size)},
    )
    return status, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--timeout", type=int, default=30)
    parser.add_argument("--preview", action="store_true", help="also run the worker's preview of the upload")
    args = parser.parse_args(argv)
    rows: list[tuple[str, float, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="tracker-bench-upload-") as folder:
        tmp = Path(folder)
        export = tmp / "Download.CSV"
        print(f"writing a {args.lines:,}-line export ...", flush=True)
        write_export(export, args.lines)
        megabytes = export.stat().st_size / 1e6
        with common.redis(tmp) as redis_url:
            db_path = tmp / "bench.sqlite3"
            prepare(db_path, redis_url)
            log = tmp / "gunicorn.log"
            # behind a TLS proxy, as deployed (so the session cookie is the __Host- one)
            env = {**common.tracker_env(db_path, redis_url), "TRACKER_REQUIRE_SECOND_FACTOR": "false", "TRACKER_PROXY_COUNT": "1"}
            server = common.Server("_common:tracker_app()", env, log,
                                   settings=["-w", "2", "--timeout", str(args.timeout)], ready="/admin/login")
            try:
                browser = Browser(server.port)
                token = browser.token("/admin/login")
                status, signed_in, _p = browser.request(
                    "POST", "/admin/login", body=f"csrf_token={token}&email={EMAIL}&password={PASSWORD.replace(' ', '+')}",
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                )
                if status != 302 or "/admin/login" in signed_in.get("Location", ""):
                    raise SystemExit(f"sign-in failed: {status} -> {signed_in.get('Location')} {browser.cookies}")
                status, seconds = upload(browser, export)
            finally:
                server.stop()
            killed = log.read_text(errors="replace").count("WORKER TIMEOUT")
            import sqlite3

            with sqlite3.connect(db_path) as conn:
                jobs = conn.execute("select id, kind, status from jobs").fetchall()
                chunks = conn.execute("select count(*) from upload_chunks").fetchone()[0]
            print(f"upload of {megabytes:,.0f} MB: HTTP {status} in {seconds:.1f} s ({megabytes / seconds:,.0f} MB/s); "
                  f"{chunks} sealed chunks; jobs {jobs}; worker timeouts {killed}")
            common.ratio_line(rows, f"upload seconds / gunicorn timeout {args.timeout} s", seconds / args.timeout, 1.0, at_most=True)
            if args.preview:
                env = {**common.tracker_env(db_path, redis_url), "TRACKER_ENV": "test"}
                env.pop("REDIS_URL")
                start = time.perf_counter()
                subprocess.run([sys.executable, "-m", "tracker", "worker", "--burst"], env=env, cwd=ROOT, check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                took = time.perf_counter() - start
                with sqlite3.connect(db_path) as conn:
                    print("preview job:", conn.execute("select status, phase, done from jobs").fetchall(),
                          f"in {took:.0f} s ({args.lines / took:,.0f} lines/s)")
    return 0 if status == 302 else 1


if __name__ == "__main__":
    raise SystemExit(main())
