"""The import wizard: sealed uploads, background preview and import, refusals, undo.

RELIABILITY.md rows: W10 (upload names, lying types, empty files, 413 before
the body is read), P9 (archives and compressed bodies refused before
decompressing), C8 (a worker killed mid-import leaves nothing; a retry makes
no duplicate), and rule 10 (nothing of an upload in clear, on disk or in the
database).
"""

from __future__ import annotations

import gzip
import io
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.admin.test_access import add_user, app, csrf, set_password, sign_in, treasurer  # noqa: F401 - fixtures
from tests.importers.paypal_factory import build, transactions

DONOR = "Zinaida Quillfeather"
EMAIL = "zinaida.quill@example.net"


def export(count: int = 40, seed: int = 5) -> bytes:
    """A PayPal activity export made by the project's own generator, with a distinctive donor."""
    txs = transactions("en", count=count, seed=seed, start=datetime(2025, 3, 13, tzinfo=UTC))
    data, _ = build("en_activity_2018", txs)
    text = data.decode("utf-8-sig")
    names = re.findall(r'"([A-Z][a-z]+ [A-Z][a-z]+)"', text)
    mails = re.findall(r"[\w.+-]+@[\w-]+\.[\w.]+", text)
    if names:
        text = text.replace(names[0], DONOR)
    if mails:
        text = text.replace(mails[0], EMAIL)
    return text.encode("utf-8-sig")


def run_worker(app: Any) -> int:
    """Run every queued job in this process (the polling worker, burst mode)."""
    from tracker.extensions import db
    from tracker.services import jobs

    with app.app_context():
        ran = jobs.work(burst=True)
        db.session.remove()
    return ran


def upload(client: Any, files: list[tuple[bytes, str]], **fields: str) -> Any:
    page = client.get("/admin/imports")
    data: dict[str, Any] = {"csrf_token": csrf(page.data), **fields}
    data["files"] = [(io.BytesIO(content), name) for content, name in files]
    return client.post("/admin/imports", data=data, content_type="multipart/form-data")


def count(app: Any, model: str) -> int:
    from tracker import models
    from tracker.extensions import db

    with app.app_context():
        n = db.session.scalar(sa.select(sa.func.count()).select_from(getattr(models, model)))
        db.session.remove()
    return int(n or 0)


def only_upload_id(app: Any) -> int:
    """The one upload still waiting (not imported, cancelled or expired)."""
    from tracker.extensions import db
    from tracker.models import Upload

    with app.app_context():
        ids = db.session.scalars(sa.select(Upload.id).where(Upload.discarded_at.is_(None))).all()
        db.session.remove()
    assert len(ids) == 1, ids
    return ids[0]


def test_upload_previews_in_the_background_then_imports(app: Any, treasurer: Any) -> None:
    client, _secret = treasurer
    response = upload(client, [(export(), "Download.CSV")])
    assert response.status_code == 302, response.data
    upload_id = only_upload_id(app)
    waiting = client.get(f"/admin/imports/{upload_id}")
    assert b"waiting for a worker" in waiting.data and count(app, "ImportBatch") == 0
    assert run_worker(app) == 1
    preview = client.get(f"/admin/imports/{upload_id}")
    assert b"This is a preview" in preview.data and b"paypal" in preview.data, preview.data.decode()[preview.data.find(b"<main"):]
    assert re.search(rb"\d+ new, 0 updated", preview.data)
    assert count(app, "ImportBatch") == 0 and count(app, "StatementLine") == 0
    commit = client.post(f"/admin/imports/{upload_id}/commit", data={"csrf_token": csrf(preview.data)})
    assert commit.status_code == 302
    assert run_worker(app) == 1
    assert count(app, "ImportBatch") == 1 and count(app, "UploadChunk") == 0
    assert b"Imported as batch" in client.get(f"/admin/imports/{upload_id}").data
    listing = client.get("/admin/imports")
    assert b"Download.CSV" in listing.data and b"No files are waiting" in listing.data
    # The same file again is recognised, and nothing is booked twice.
    upload(client, [(export(), "again.csv")])
    again = only_upload_id(app)
    run_worker(app)
    page = client.get(f"/admin/imports/{again}")
    client.post(f"/admin/imports/{again}/commit", data={"csrf_token": csrf(page.data)})
    run_worker(app)
    assert count(app, "ImportBatch") == 1
    assert b"imported before" in client.get(f"/admin/imports/{again}").data and count(app, "UploadChunk") == 0


def test_uploads_are_sealed_in_the_database_and_never_in_clear_on_disk(app: Any, treasurer: Any, tmp_path: Path, monkeypatch: Any) -> None:
    client, _secret = treasurer
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool_dir))
    seen: list[bytes] = []
    real = tempfile.TemporaryFile

    def watched(*args: Any, **kwargs: Any) -> Any:
        handle = real(*args, **kwargs)
        seen.append(handle)
        return handle

    monkeypatch.setattr(tempfile, "TemporaryFile", watched)
    content = export(count=40)
    assert DONOR.encode() in content
    upload(client, [(content, "paypal.csv")])
    from tracker.extensions import db
    from tracker.models import UploadChunk

    with app.app_context():
        stored = b"".join(bytes(d) for d in db.session.scalars(sa.select(UploadChunk.data)))
        db.session.remove()
    assert stored and DONOR.encode() not in stored and EMAIL.encode() not in stored
    assert seen, "the upload went through the sealing spool"
    for handle in seen:
        if not handle.closed:
            handle.seek(0)
            assert DONOR.encode() not in handle.read()
    for path in spool_dir.rglob("*"):
        if path.is_file():
            assert DONOR.encode() not in path.read_bytes()
    # The worker reads it back exactly.
    run_worker(app)
    page = client.get(f"/admin/imports/{only_upload_id(app)}")
    assert b"This is a preview" in page.data


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "empty.csv", b"the file is empty"),
        (gzip.compress(b"Date,Time\n" * 100, mtime=0), "export.csv.gz", b"compressed files and archives are not accepted"),
        (None, "export.zip", b"compressed files and archives are not accepted"),
    ],
    ids=["empty", "gzip", "zip-bomb-with-traversal"],
)
def test_empty_and_compressed_uploads_are_refused_and_nothing_is_stored(app: Any, treasurer: Any, content: bytes | None, name: str, message: bytes) -> None:
    client, _secret = treasurer
    if content is None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("../../evil.csv", b"0" * 10_000_000)
        content = buffer.getvalue()
    response = upload(client, [(content, name)])
    assert response.status_code == 200
    assert message in response.data
    assert count(app, "Upload") == 0 and count(app, "Job") == 0


def test_oversized_bodies_get_413_before_the_body_is_read(app: Any, treasurer: Any) -> None:
    client, _secret = treasurer
    app.config["IMPORT_MAX_BYTES"] = 50_000
    body = io.BytesIO(b"x" * 10)
    response = client.post(
        "/admin/imports",
        input_stream=body,
        content_type="multipart/form-data; boundary=zzz",
        environ_overrides={"CONTENT_LENGTH": str(10**9)},
    )
    assert response.status_code == 413
    assert body.tell() == 0, "the body was not read"
    big = upload(client, [(b"Date,Time\n" + b"1" * 60_000, "big.csv")])
    assert big.status_code == 413
    # Elsewhere the ordinary cap applies.
    elsewhere = client.post("/admin/review", input_stream=io.BytesIO(b"x"), content_type="application/x-www-form-urlencoded", environ_overrides={"CONTENT_LENGTH": str(10**8)})
    assert elsewhere.status_code == 413
    assert count(app, "Upload") == 0


def test_encoded_request_bodies_are_refused(app: Any, treasurer: Any) -> None:
    client, _secret = treasurer
    bomb = gzip.compress(b"\0" * 5_000_000)
    response = client.post("/admin/imports", data=bomb, headers={"Content-Encoding": "gzip", "Content-Type": "multipart/form-data; boundary=zzz"})
    assert response.status_code == 415
    assert count(app, "Upload") == 0


@pytest.mark.parametrize("name", ["../../etc/passwd.csv", "..\\..\\x.csv", "a.csv.php", "<script>alert(1)</script>.csv", "\x00evil.csv"])
def test_upload_names_are_reduced_to_safe_display_names(app: Any, treasurer: Any, name: str) -> None:
    client, _secret = treasurer
    upload(client, [(export(count=30), name)])
    from tracker.extensions import db
    from tracker.models import Upload

    with app.app_context():
        stored = db.session.scalar(sa.select(Upload.filename))
        db.session.remove()
    assert stored and "/" not in stored and "\\" not in stored and "<" not in stored and "\x00" not in stored
    assert not stored.startswith(".")
    page = client.get("/admin/imports")
    assert b"<script>alert" not in page.data


def test_a_file_that_is_not_an_export_gets_a_clear_preview_error(app: Any, treasurer: Any) -> None:
    client, _secret = treasurer
    upload(client, [(b"%PDF-1.7\n" + b"\x00\xff" * 500, "statement.csv")], )
    upload_id = only_upload_id(app)
    run_worker(app)
    page = client.get(f"/admin/imports/{upload_id}")
    assert b"cannot be imported as it is" in page.data
    assert b"Import this file" not in page.data
    refused = client.post(f"/admin/imports/{upload_id}/commit", data={"csrf_token": csrf(page.data)}, follow_redirects=True)
    assert b"The preview found errors" in refused.data
    assert count(app, "ImportBatch") == 0


def test_changing_assumptions_previews_again_and_cancel_deletes_the_upload(app: Any, treasurer: Any) -> None:
    client, _secret = treasurer
    upload(client, [(export(count=30), "p.csv")])
    upload_id = only_upload_id(app)
    run_worker(app)
    page = client.get(f"/admin/imports/{upload_id}")
    again = client.post(
        f"/admin/imports/{upload_id}",
        data={"csrf_token": csrf(page.data), "account": "", "new_account": "PayPal Berlin", "format": "auto", "timezone": "Europe/Berlin", "date_order": "", "decimal_mark": ""},
    )
    assert again.status_code == 302, again.data
    run_worker(app)
    page = client.get(f"/admin/imports/{upload_id}")
    assert b"PayPal Berlin" in page.data and b"Europe/Berlin" in page.data
    gone = client.post(f"/admin/imports/{upload_id}/discard", data={"csrf_token": csrf(page.data)})
    assert gone.status_code == 302
    assert count(app, "UploadChunk") == 0 and count(app, "ImportBatch") == 0
    gone_page = client.get(f"/admin/imports/{upload_id}")
    assert b"content has been deleted" in gone_page.data and b"Import this file" not in gone_page.data
    assert client.post(f"/admin/imports/{upload_id}/commit", data={"csrf_token": csrf(gone_page.data)}).status_code in (302, 404)
    assert count(app, "ImportBatch") == 0


def test_job_status_and_cancel_of_a_queued_job(app: Any, treasurer: Any) -> None:
    client, _secret = treasurer
    upload(client, [(export(count=30), "p.csv")])
    from tracker.extensions import db
    from tracker.models import Job

    with app.app_context():
        job_id = db.session.scalar(sa.select(Job.id))
        db.session.remove()
    status = client.get(f"/admin/jobs/{job_id}.json").get_json()
    assert status["status"] == "queued" and status["kind"] == "preview"
    page = client.get("/admin/imports")
    client.post(f"/admin/jobs/{job_id}/cancel", data={"csrf_token": csrf(page.data)})
    assert client.get(f"/admin/jobs/{job_id}.json").get_json()["status"] == "cancelled"
    assert run_worker(app) == 0


def test_undo_a_batch_from_its_page(app: Any, treasurer: Any) -> None:
    client, _secret = treasurer
    upload(client, [(export(count=30), "p.csv")])
    upload_id = only_upload_id(app)
    run_worker(app)
    page = client.get(f"/admin/imports/{upload_id}")
    client.post(f"/admin/imports/{upload_id}/commit", data={"csrf_token": csrf(page.data)})
    run_worker(app)
    from tracker.extensions import db
    from tracker.models import ImportBatch

    with app.app_context():
        batch_id = db.session.scalar(sa.select(ImportBatch.id))
        db.session.remove()
    page = client.get(f"/admin/imports/batches/{batch_id}")
    assert b"Undo this batch" in page.data
    done = client.post(f"/admin/imports/batches/{batch_id}", data={"csrf_token": csrf(page.data)}, follow_redirects=True)
    assert b"was undone" in done.data
    with app.app_context():
        assert db.session.get(ImportBatch, batch_id).status != "committed"
        db.session.remove()


def test_organisers_cannot_use_the_wizard(app: Any) -> None:
    client = app.test_client()
    set_password(client, add_user(app, "olga@example.org", "organiser"))
    sign_in(client, "olga@example.org")
    for path in ("/admin/imports", "/admin/imports/1", "/admin/jobs/1.json", "/admin/imports/batches/1"):
        assert client.get(path).status_code == 403, path


def _worker_env(db_url: str, **extra: str) -> dict[str, str]:
    from tests.conftest import TEST_CONFIG

    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_") and k != "REDIS_URL"}
    env.update(
        DATABASE_URL=db_url, SECRET_KEY="worker-test", TRACKER_HASH_KEY=TEST_CONFIG["HASH_KEY"],
        TRACKER_PUBLIC_KEY=TEST_CONFIG["PUBLIC_KEY"], TRACKER_ENV="test", **extra,
    )
    return env


def test_a_worker_killed_mid_import_leaves_nothing_and_the_job_runs_again(app: Any, treasurer: Any, db_url: str, tmp_path: Path) -> None:
    """C8: the killed worker's transaction is lost whole; the stalled job is queued again and imports once."""
    client, _secret = treasurer
    upload(client, [(export(count=300, seed=8), "big.csv")])
    upload_id = only_upload_id(app)
    run_worker(app)
    page = client.get(f"/admin/imports/{upload_id}")
    client.post(f"/admin/imports/{upload_id}/commit", data={"csrf_token": csrf(page.data)})
    marker = tmp_path / "ready"
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(
        [sys.executable, "-m", "tracker", "worker", "--burst"],
        env=_worker_env(db_url, TRACKER_TEST_PAUSE_BEFORE_COMMIT=str(marker), TRACKER_TEST_PAUSE_SECONDS="60"),
        stdout=subprocess.DEVNULL, stderr=log,
    )
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert worker.poll() is None, (tmp_path / "worker.log").read_text()
        assert time.monotonic() < deadline, "the worker never reached its commit"
        time.sleep(0.1)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    log.close()
    assert count(app, "ImportBatch") == 0 and count(app, "StatementLine") == 0
    from tracker.extensions import db
    from tracker.models import Job
    from tracker.services import jobs

    with app.app_context():
        job = db.session.scalar(sa.select(Job).where(Job.kind == "import"))
        assert job.status == "running" and jobs.stalled(job)
        db.session.remove()
    assert b"stalled" in client.get(f"/admin/imports/{upload_id}").data
    with app.app_context():
        assert jobs.requeue_stalled()
        db.session.remove()
    assert run_worker(app) == 1
    assert count(app, "ImportBatch") == 1
    with app.app_context():
        from tracker.services.checks import check_ledger

        assert check_ledger(db.session).ok
        db.session.remove()


def test_with_redis_the_job_goes_through_rq(app: Any, treasurer: Any) -> None:
    """With REDIS_URL set, the web app enqueues the job's id on RQ and an RQ worker runs it."""
    import uuid

    from redis import Redis

    from tests.conftest import missing

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
    try:
        Redis.from_url(url).ping()
    except Exception:  # noqa: BLE001 - any connection problem
        missing(f"no Redis at {url}")
    app.config.update(REDIS_URL=url, JOB_QUEUE=f"tracker-test-{uuid.uuid4().hex[:8]}", RATELIMIT_STORAGE_URI="memory://")
    client, _secret = treasurer
    upload(client, [(export(count=30), "p.csv")])
    from rq import Queue

    queue = Queue(app.config["JOB_QUEUE"], connection=Redis.from_url(url))
    try:
        assert queue.count == 1
        assert list(queue.jobs[0].args) == [1], "the payload is the job id only"
        from datetime import timedelta

        from tracker.extensions import db
        from tracker.services import jobs

        swept = []
        real_sweep = jobs.sweep
        jobs.sweep = lambda age: swept.append(age) or real_sweep(age)  # type: ignore[assignment]
        try:
            with app.app_context():
                jobs.rq_work(burst=True)
                db.session.remove()
        finally:
            jobs.sweep = real_sweep  # type: ignore[assignment]
        assert swept == [timedelta(days=2)], "the RQ worker sweeps in its maintenance"
        page = client.get(f"/admin/imports/{only_upload_id(app)}")
        assert b"This is a preview" in page.data, page.data[-3000:]
    finally:
        queue.empty()
        queue.delete(delete_jobs=True)


def test_too_many_form_parts_are_refused(app: Any, treasurer: Any) -> None:
    """P9: MAX_FORM_PARTS bounds the multipart parser (413, nothing stored)."""
    client, _secret = treasurer
    page = client.get("/admin/imports")
    data: dict[str, Any] = {"csrf_token": csrf(page.data)}
    data.update({f"x{i}": "1" for i in range(150)})
    response = client.post("/admin/imports", data=data, content_type="multipart/form-data")
    assert response.status_code == 413
    assert count(app, "Upload") == 0


def test_uploads_nobody_imported_are_deleted_after_their_age(app: Any, treasurer: Any) -> None:
    """The worker's sweep deletes the content of old uploads no job is working on; new ones stay."""
    from datetime import timedelta

    from tracker.extensions import db
    from tracker.models import Job, Upload
    from tracker.services import jobs

    client, _secret = treasurer
    upload(client, [(export(count=30), "old.csv")])
    run_worker(app)
    upload(client, [(export(count=30, seed=9), "new.csv")])
    with app.app_context():
        old_id, new_id = db.session.scalars(sa.select(Upload.id).order_by(Upload.id)).all()
        long_ago = datetime.now(UTC) - timedelta(days=3)
        db.session.execute(sa.update(Upload).values(created_at=long_ago))
        db.session.commit()
        jobs.sweep(timedelta(days=2))
        old, new = db.session.get(Upload, old_id), db.session.get(Upload, new_id)
        queued = db.session.scalar(sa.select(Job.status).where(Job.upload_id == new_id))
        assert old.discarded_at is not None and old.chunks == 0
        assert queued == "queued" and new.discarded_at is None, "a queued job keeps its upload"
        db.session.remove()
    assert count(app, "UploadChunk") > 0
