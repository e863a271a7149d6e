"""Background imports: a job table, and two ways to run it.

A web request never imports a big file itself: it stores the sealed upload,
adds a :class:`~tracker.models.Job` row (ids and reading assumptions only,
never file content) and hands the job's id to a queue:

- with ``REDIS_URL`` set, to RQ (``tracker worker`` then runs an RQ worker,
  which forks a work horse per job);
- otherwise ``tracker worker`` polls the job table itself, claiming one job at
  a time (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, a conditional update on
  SQLite).

Either way :func:`run` does the work, and the job row is the one place its
state lives: phase, lines done of total, a heartbeat, the import's report.
A monitor thread writes that state through its own connection every couple of
seconds, so the import itself never waits for bookkeeping (on SQLite, while
the import holds the write lock, the monitor's writes are skipped and resume
after). The import is one transaction, so a worker killed mid-import leaves
nothing of the batch; the job is then found stalled (its process is gone, or
its heartbeat is old) and queued again, at most :data:`MAX_ATTEMPTS` times.
Running an import twice is harmless: a committed file is ``already_imported``.

May import: services, models, :mod:`tracker.services.uploads`; ``rq`` and
``redis`` lazily, only when configured.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from tracker.dbtypes import utcnow
from tracker.errors import Conflict, NotFound, TrackerError
from tracker.importers import ReadOptions
from tracker.models import Job, JobKind, JobStatus, Upload
from tracker.services import audit, unit_of_work, uploads

MAX_ATTEMPTS = 3
QUEUE = "tracker-imports"
#: How often the monitor writes progress and reads a cancel request.
MONITOR_SECONDS = 2
OPTION_FIELDS = ("encoding", "date_order", "decimal_mark", "timezone", "currency")


class JobCancelled(TrackerError):
    """The treasurer cancelled the job while it ran; its transaction rolls back."""


def worker_name() -> str:
    """``host:pid`` of this process, to tell whether a running job's process is alive."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _process_gone(worker: str | None) -> bool:
    if not worker or ":" not in worker:
        return False
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def stalled(job: Job, now: datetime | None = None) -> bool:
    """A running job whose process is gone (same host) or whose heartbeat is too old."""
    if job.status != JobStatus.RUNNING.value:
        return False
    if _process_gone(job.worker):
        return True
    limit = timedelta(seconds=int(current_app.config.get("JOB_STALE_SECONDS", 900)))
    beat = job.heartbeat_at or job.started_at or job.created_at
    return (now or utcnow()) - beat > limit


# --- submitting ---------------------------------------------------------------


def params_for(account: str | None, format_id: str, options: ReadOptions) -> dict[str, Any]:
    """The job parameters: where to import and the reading assumptions."""
    return {
        "account": account or None,
        "format": format_id or "auto",
        "options": {name: getattr(options, name) for name in OPTION_FIELDS if getattr(options, name)},
    }


def options_of(params: dict[str, Any]) -> ReadOptions:
    """The reading assumptions stored in a job's parameters."""
    given = params.get("options") or {}
    return ReadOptions(**{k: v for k, v in given.items() if k in OPTION_FIELDS})


def submit(kind: JobKind, upload_id: int, params: dict[str, Any], *, user_id: int | None) -> int:
    """Add a job for an upload and hand it to the queue; returns its id."""
    with unit_of_work() as session:
        stored = session.get(Upload, upload_id)
        if stored is None or stored.discarded_at is not None:
            raise NotFound(f"upload {upload_id} is gone (imported or cancelled)")
        job = Job(kind=kind.value, upload_id=upload_id, params=params, created_by=user_id)
        session.add(job)
        session.flush()
        audit.record(session, f"job.{kind.value}", "job", job.id, after={"upload": upload_id, **params})
        job_id = job.id
    dispatch(job_id)
    return job_id


def dispatch(job_id: int) -> None:
    """Give the job to RQ when Redis is configured; the polling worker needs nothing."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return
    from redis import Redis
    from rq import Queue

    timeout = int(current_app.config.get("JOB_TIMEOUT_SECONDS", 6 * 3600))
    Queue(queue_name(), connection=Redis.from_url(url)).enqueue(
        "tracker.services.jobs.run_from_rq", job_id, job_timeout=timeout, job_id=f"tracker-job-{job_id}-{int(time.time())}"
    )


def queue_name() -> str:
    """The RQ queue of this installation's imports."""
    return str(current_app.config.get("JOB_QUEUE") or QUEUE)


def cancel(job_id: int) -> None:
    """Cancel a queued job now, or ask a running one to stop (it rolls back)."""
    with unit_of_work() as session:
        job = session.get(Job, job_id)
        if job is None:
            raise NotFound(f"job {job_id} does not exist")
        if job.status == JobStatus.QUEUED.value or stalled(job):
            job.status, job.finished_at = JobStatus.CANCELLED.value, utcnow()
        elif job.status == JobStatus.RUNNING.value:
            job.cancel_requested = True
        else:
            raise Conflict(f"job {job_id} has already ended")
        audit.record(session, "job.cancel", "job", job.id, after={"status": job.status})


def retry(job_id: int, *, user_id: int | None) -> int:
    """Run a stalled or failed job again as a new job for the same upload."""
    from tracker.extensions import db

    job = db.session.get(Job, job_id)
    if job is None:
        raise NotFound(f"job {job_id} does not exist")
    if not (job.status == JobStatus.FAILED.value or stalled(job)):
        raise Conflict(f"job {job_id} is {job.status}; only a failed or stalled job runs again")
    if job.upload_id is None:
        raise Conflict(f"job {job_id}'s upload is gone")
    kind, upload_id, params = JobKind(job.kind), job.upload_id, dict(job.params)
    db.session.rollback()
    with unit_of_work() as session:
        old = session.get(Job, job_id)
        if old is not None and old.status == JobStatus.RUNNING.value:
            old.status, old.error, old.finished_at = JobStatus.FAILED.value, "stalled", utcnow()
    return submit(kind, upload_id, params, user_id=user_id)


# --- claiming (the polling worker) ------------------------------------------


def claim_next(worker: str) -> int | None:
    """Mark the oldest queued job running for ``worker``; its id, or None."""
    with unit_of_work() as session:
        query = sa.select(Job.id).where(Job.status == JobStatus.QUEUED.value).order_by(Job.id).limit(1)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        job_id = session.scalar(query)
        if job_id is None:
            return None
        session.execute(
            sa.update(Job)
            .where(Job.id == job_id)
            .values(status=JobStatus.RUNNING.value, worker=worker, started_at=utcnow(), heartbeat_at=utcnow(), attempts=Job.attempts + 1)
        )
    return job_id


def requeue_stalled() -> list[int]:
    """Queue stalled jobs again (or fail them after :data:`MAX_ATTEMPTS`); their ids."""
    from tracker.extensions import db

    running = db.session.scalars(sa.select(Job).where(Job.status == JobStatus.RUNNING.value)).all()
    ids = [j.id for j in running if stalled(j)]
    db.session.rollback()
    if not ids:
        return []
    with unit_of_work() as session:
        for job in session.scalars(sa.select(Job).where(Job.id.in_(ids))):
            if job.attempts >= MAX_ATTEMPTS:
                job.status, job.error, job.finished_at = JobStatus.FAILED.value, "the worker stopped responding", utcnow()
            else:
                job.status, job.worker = JobStatus.QUEUED.value, None
            audit.record(session, "job.stalled", "job", job.id, after={"status": job.status, "attempts": job.attempts})
    for job_id in ids:
        dispatch(job_id)
    return ids


def discard_old_uploads(max_age: timedelta) -> int:
    """Delete uploads older than ``max_age`` that no queued or running job needs."""
    cutoff = utcnow() - max_age
    with unit_of_work() as session:
        busy = sa.select(Job.upload_id).where(
            Job.upload_id.is_not(None), Job.status.in_([JobStatus.QUEUED.value, JobStatus.RUNNING.value])
        )
        old = session.scalars(
            sa.select(Upload.id).where(Upload.created_at < cutoff, Upload.discarded_at.is_(None), Upload.id.not_in(busy))
        ).all()
        for upload_id in old:
            uploads.discard(session, upload_id)
    return len(old)


# --- running -----------------------------------------------------------------


@dataclass
class _State:
    phase: str = "starting"
    done: int = 0
    total: int = 0


class _Monitor(threading.Thread):
    """Writes a running job's progress and heartbeat; notices a cancel request."""

    def __init__(self, engine: sa.Engine, job_id: int, state: _State) -> None:
        super().__init__(daemon=True, name=f"job-{job_id}-monitor")
        self.engine, self.job_id, self.state = engine, job_id, state
        self.stop = threading.Event()
        self.cancelled = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(MONITOR_SECONDS):
            self.beat()

    def beat(self) -> None:
        """One write of progress and heartbeat, skipped if the database is busy."""
        try:
            with self.engine.connect() as conn:
                if conn.dialect.name == "sqlite":
                    conn.exec_driver_sql("PRAGMA busy_timeout = 100")
                try:
                    with conn.begin():
                        conn.execute(
                            sa.update(Job).where(Job.id == self.job_id).values(
                                phase=self.state.phase, done=self.state.done, total=self.state.total, heartbeat_at=utcnow()
                            )
                        )
                        if conn.scalar(sa.select(Job.cancel_requested).where(Job.id == self.job_id)):
                            self.cancelled.set()
                finally:
                    if conn.dialect.name == "sqlite":
                        conn.exec_driver_sql("PRAGMA busy_timeout = 30000")
        except sa.exc.OperationalError:
            pass  # the import holds SQLite's write lock: try again next beat


def run(job_id: int, worker: str | None = None) -> str:
    """Do a claimed (or RQ-delivered) job; returns its final status. Never raises for bad input."""
    from tracker.extensions import db
    from tracker.services.importing import import_file
    from tracker.services.keys import server_keys

    worker = worker or worker_name()
    session = db.session()
    job = session.get(Job, job_id)
    if job is None or job.status in (JobStatus.DONE.value, JobStatus.FAILED.value, JobStatus.CANCELLED.value):
        session.rollback()
        return job.status if job else "missing"
    kind, upload_id, params, actor = JobKind(job.kind), job.upload_id, dict(job.params), job.created_by
    session.rollback()
    with unit_of_work() as s:
        s.execute(
            sa.update(Job).where(Job.id == job_id).values(
                status=JobStatus.RUNNING.value, worker=worker, started_at=utcnow(), heartbeat_at=utcnow(),
                attempts=sa.case((Job.worker == worker, Job.attempts), else_=Job.attempts + 1),
            )
        )
    state = _State()
    monitor = _Monitor(db.engine, job_id, state)

    def progress(phase: str, done: int, total: int) -> None:
        state.phase, state.done, state.total = phase, done, total
        if monitor.cancelled.is_set():
            raise JobCancelled(f"job {job_id} was cancelled")

    status, result, error = JobStatus.DONE, None, None
    monitor.start()
    token = audit.current_actor.set(f"user:{actor}" if actor else "worker")
    try:
        if upload_id is None:
            raise NotFound("the upload is gone (imported or cancelled)")
        source = uploads.SealedUpload(db.engine, upload_id, server_keys().hash_key)
        outcome = import_file(
            source, name=source.filename, account_name=params.get("account"), format_id=params.get("format", "auto"),
            options=options_of(params), dry_run=kind is JobKind.PREVIEW, progress=progress,
        )
        result = outcome.as_dict()
    except JobCancelled:
        status = JobStatus.CANCELLED
    except TrackerError as exc:
        status, error = JobStatus.FAILED, str(exc)
    except Exception as exc:  # noqa: BLE001 - recorded on the job, then re-raised for the worker's log
        _finish(job_id, JobStatus.FAILED, None, f"{type(exc).__name__}: the import stopped on an internal error", monitor, state)
        raise
    finally:
        audit.current_actor.reset(token)
    _finish(job_id, status, result, error, monitor, state)
    return status.value


def _finish(job_id: int, status: JobStatus, result: dict[str, Any] | None, error: str | None, monitor: _Monitor, state: _State) -> None:
    from tracker.extensions import db

    monitor.stop.set()
    monitor.join()
    db.session.rollback()
    with unit_of_work() as session:
        job = session.get(Job, job_id)
        if job is None:
            return
        job.status, job.result, job.error, job.finished_at = status.value, result, error, utcnow()
        job.phase = "done" if status is JobStatus.DONE else state.phase
        job.done, job.total = state.done, state.total
        imported = bool(result) and result.get("status") in ("committed", "already_imported") and job.kind == JobKind.IMPORT.value
        if imported and job.upload_id is not None:
            uploads.discard(session, job.upload_id)
        audit.record(session, "job.finish", "job", job.id, after={"status": status.value, "result": (result or {}).get("status")})


def run_from_rq(job_id: int) -> str:
    """RQ's entry point: the work horse runs inside the app the worker created."""
    from tracker.extensions import db

    db.engine.dispose(close=False)  # connections inherited over fork are the parent's
    return run(job_id)


#: How often either kind of worker sweeps, in seconds.
SWEEP_SECONDS = 60


def sweep(upload_max_age: timedelta) -> None:
    """Housekeeping either kind of worker does: stalled jobs queued again, abandoned uploads deleted."""
    requeue_stalled()
    discard_old_uploads(upload_max_age)


def work(*, burst: bool = False, poll: int = 1, upload_max_age: timedelta = timedelta(days=2)) -> int:
    """The polling worker's loop; returns how many jobs it ran (``burst``: stop when idle)."""
    name = worker_name()
    ran = 0
    last_sweep: float | None = None
    while True:
        if last_sweep is None or time.monotonic() - last_sweep > SWEEP_SECONDS:
            sweep(upload_max_age)
            last_sweep = time.monotonic()
        job_id = claim_next(name)
        if job_id is None:
            if burst:
                return ran
            time.sleep(poll)
            continue
        run(job_id, name)
        ran += 1


def rq_work(*, burst: bool = False, upload_max_age: timedelta = timedelta(days=2)) -> None:
    """Run an RQ worker on the imports queue (``REDIS_URL`` must be set).

    The worker sweeps (:func:`sweep`) as part of RQ's own maintenance: when it
    starts and then every :data:`SWEEP_SECONDS`, also while no job comes.
    """
    from redis import Redis
    from rq import Queue, Worker

    class SweepingWorker(Worker):
        def run_maintenance_tasks(self) -> None:
            super().run_maintenance_tasks()  # type: ignore[no-untyped-call]
            sweep(upload_max_age)

    connection = Redis.from_url(current_app.config["REDIS_URL"])
    worker = SweepingWorker([Queue(queue_name(), connection=connection)], connection=connection, maintenance_interval=SWEEP_SECONDS)
    worker.work(burst=burst)
