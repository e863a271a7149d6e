"""Uploads waiting to be imported, and the background jobs that import them.

An upload is stored sealed (ARCHITECTURE.md rule 10): its bytes are split into
chunks encrypted with a data key derived from the server's hash key, which
never enters the database, so a seized database or backup cannot read it.
Jobs carry ids only; their results hold counts and line numbers, never values
from the file's identity columns.

May import: SQLAlchemy, :mod:`tracker.dbtypes`.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tracker.dbtypes import enum_check, utcnow
from tracker.extensions import db


class Upload(db.Model):
    """A file a treasurer uploaded, sealed, until it is imported or cancelled."""

    __tablename__ = "uploads"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the file's name as uploaded, reduced to safe characters (display only)
    filename: Mapped[str] = mapped_column(sa.String(255))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    #: random salt the data key is derived from (with the server's hash key)
    key_salt: Mapped[bytes] = mapped_column(sa.LargeBinary(32))
    chunks: Mapped[int]
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: when its content was deleted (imported, cancelled or expired); the row stays as a record
    discarded_at: Mapped[datetime | None]


class UploadChunk(db.Model):
    """One encrypted piece of an upload (nonce + ciphertext of up to 1 MiB)."""

    __tablename__ = "upload_chunks"

    upload_id: Mapped[int] = mapped_column(sa.ForeignKey("uploads.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)


class JobKind(enum.StrEnum):
    """What a job does."""

    PREVIEW = "preview"
    IMPORT = "import"


class JobStatus(enum.StrEnum):
    """Where a job is."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Job(db.Model):
    """A background import or preview of one upload."""

    __tablename__ = "jobs"
    __table_args__ = (
        enum_check("kind", JobKind, "job_kind"),
        enum_check("status", JobStatus, "job_status"),
        sa.Index("ix_jobs_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16), default=JobStatus.QUEUED.value)
    upload_id: Mapped[int | None] = mapped_column(sa.ForeignKey("uploads.id", ondelete="SET NULL"), index=True)
    #: account name, format id and reading assumptions (no file content)
    params: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    phase: Mapped[str] = mapped_column(sa.String(16), default="")
    done: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    total: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    #: the import's report (counts, errors with line numbers, balance check...)
    result: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    error: Mapped[str | None] = mapped_column(sa.Text)
    attempts: Mapped[int] = mapped_column(default=0)
    #: set by "cancel" while the job runs; the worker stops and rolls back
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    worker: Mapped[str | None] = mapped_column(sa.String(120))
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
