"""The import wizard: upload, preview, commit or cancel; batch history with undo.

Each uploaded file is sealed as it arrives (:mod:`tracker.web.uploading`),
stored in chunks and previewed by a background job: the web worker only
stores and queues, so a 1M-line export never ties it up. The preview is the
import run as a dry run (counts, errors with line and column, how lines would
be tagged, the balance check, the reading assumptions); the treasurer may
change the assumptions and preview again, then import (a second job, the same
all-or-nothing import) or cancel (the upload is deleted).

May import: Flask, Flask-WTF, services, models (read-only queries), :mod:`tracker.web.admin`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import MultipleFileField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from tracker.errors import TrackerError
from tracker.extensions import db
from tracker.i18n import gettext, ngettext
from tracker.importers import FORMATS, ReadOptions
from tracker.models import Account, ImportBatch, Job, JobKind, JobStatus, Role, Upload
from tracker.services import jobs, unit_of_work, uploads
from tracker.services.batches import dependents, list_batches, undo_batch
from tracker.web.admin.access import requires
from tracker.web.admin.views import bp

#: Files one upload form may carry (each is sealed, stored and previewed on its own).
MAX_FILES = 20


class AssumptionsForm(FlaskForm):  # type: ignore[misc]
    """Where a file goes and how to read what it does not say itself."""

    account = SelectField(_l("Account"), validators=[Optional()])
    new_account = StringField(_l("or a new account named"), validators=[Optional(), Length(max=120)])
    format = SelectField(_l("Format"), default="auto")
    encoding = StringField(_l("Encoding"), validators=[Optional(), Length(max=40)], description=_l("Leave empty to detect (e.g. cp1251)."))
    date_order = SelectField(_l("Date order"), choices=[SelectChoice("", _l("detect")), SelectChoice("dmy", _l("day month year")), SelectChoice("mdy", _l("month day year")), SelectChoice("ymd", _l("year month day"))], default="")
    decimal_mark = SelectField(_l("Decimal mark"), choices=[SelectChoice("", _l("detect")), SelectChoice(".", _l("point (1,234.56)")), SelectChoice(",", _l("comma (1.234,56)"))], default="")
    timezone = StringField(_l("Time zone"), validators=[Optional(), Length(max=64)], description=_l("An IANA name such as Europe/Berlin, for times without a clear zone."))
    currency = StringField(_l("Currency"), validators=[Optional(), Length(min=3, max=3)], description=_l("Only for exports without a currency column."))

    def fill_choices(self) -> None:
        """Accounts and formats known now."""
        self.account.choices = [SelectChoice("", gettext("the provider's default account"))] + [
            SelectChoice(a.name, f"{a.name} ({a.kind})") for a in db.session.scalars(sa.select(Account).order_by(Account.name))
        ]
        self.format.choices = [SelectChoice("auto", gettext("detect"))] + [SelectChoice(f, f) for f in sorted(FORMATS)]

    def params(self) -> dict[str, Any]:
        """The job parameters the form describes (raises ValueError for impossible options)."""
        options = ReadOptions(
            encoding=(self.encoding.data or "").strip() or None,
            date_order=self.date_order.data or None,
            decimal_mark=self.decimal_mark.data or None,
            timezone=(self.timezone.data or "").strip() or None,
            currency=(self.currency.data or "").strip().upper() or None,
        )
        account = (self.new_account.data or "").strip() or self.account.data or None
        return jobs.params_for(account, self.format.data or "auto", options)

    def load(self, params: dict[str, Any]) -> None:
        """Show a job's parameters in the form."""
        options = params.get("options") or {}
        self.account.data = params.get("account") or ""
        self.format.data = params.get("format") or "auto"
        for name in jobs.OPTION_FIELDS:
            getattr(self, name).data = options.get(name) or ""


class UploadForm(AssumptionsForm):
    """Files to import, with the assumptions for all of them."""

    files = MultipleFileField(_l("Export files"))


class ConfirmForm(FlaskForm):  # type: ignore[misc]
    """A button that changes something (CSRF only)."""


def _refusal(storage: Any) -> str | None:
    """Why an uploaded file part is refused before it is stored, or None."""
    spool = storage.stream
    if not isinstance(spool, uploads.SealingSpool):
        return gettext("the upload could not be received")
    spool.seal()
    if spool.size == 0:
        return gettext("the file is empty")
    if spool.head.startswith(uploads.COMPRESSED_MAGIC):
        return gettext("compressed files and archives are not accepted: unpack the export and upload the CSV itself")
    return None


def _latest_jobs(upload_ids: list[int]) -> dict[int, Job]:
    if not upload_ids:
        return {}
    newest = sa.select(sa.func.max(Job.id)).where(Job.upload_id.in_(upload_ids)).group_by(Job.upload_id)
    return {j.upload_id: j for j in db.session.scalars(sa.select(Job).where(Job.id.in_(newest)))}


@bp.route("/imports", methods=["GET", "POST"])
@requires(Role.TREASURER)
def imports_page() -> Any:
    """Upload exports; see what waits for a decision; batch history."""
    form = UploadForm()
    form.fill_choices()
    if form.validate_on_submit():
        files = [f for f in request.files.getlist(form.files.name) if f and (f.filename or f.stream)]
        if not files:
            form.files.errors = [gettext("Choose at least one file.")]
        elif len(files) > MAX_FILES:
            form.files.errors = [ngettext(
                "At most %(num)d file at a time.", "At most %(num)d files at a time.", MAX_FILES
            )]
        else:
            try:
                params = form.params()
            except ValueError:
                params = None
                form.date_order.errors = [gettext("These reading options cannot be used together.")]
            if params is not None:
                started = _store_and_preview(files, params, form)
                if started and not form.files.errors:
                    return redirect(url_for("admin.imports_page"))
    pending = list(db.session.scalars(sa.select(Upload).where(Upload.discarded_at.is_(None)).order_by(Upload.id.desc()).limit(100)))
    return render_template(
        "admin/imports.html",
        form=form,
        pending=pending,
        latest=_latest_jobs([u.id for u in pending]),
        batches=list_batches(db.session, limit=30),
        confirm=ConfirmForm(),
        stalled=jobs.stalled,
    )


def _store_and_preview(files: list[Any], params: dict[str, Any], form: UploadForm) -> int:
    started = 0
    refused = []
    for storage in files:
        shown = uploads.safe_filename(storage.filename)
        why = _refusal(storage)
        if why:
            refused.append(gettext("%(file)s: %(why)s", file=shown, why=why))
            continue
        with unit_of_work() as session:
            upload = uploads.store(session, storage.stream, filename=shown, user_id=current_user.user.id)
            upload_id = upload.id
        jobs.submit(JobKind.PREVIEW, upload_id, params, user_id=current_user.user.id)
        started += 1
    if refused:
        form.files.errors = refused
    if started:
        flash(ngettext(
            "%(num)d file received and sealed; the preview is being prepared.",
            "%(num)d files received and sealed; the previews are being prepared.",
            started,
        ))
    return started


def _waiting_upload(upload_id: int) -> Upload:
    """The upload, if its content is still there; 404 otherwise."""
    upload = db.session.get(Upload, upload_id)
    if upload is None or upload.discarded_at is not None:
        abort(404)
    return upload


@bp.route("/imports/<int:upload_id>", methods=["GET", "POST"])
@requires(Role.TREASURER)
def upload_page(upload_id: int) -> Any:
    """One upload: progress, then the preview with its assumptions; preview again."""
    upload = db.session.get(Upload, upload_id) if request.method == "GET" else _waiting_upload(upload_id)
    if upload is None:
        abort(404)
    job = _latest_jobs([upload_id]).get(upload_id)
    form = AssumptionsForm()
    form.fill_choices()
    if form.validate_on_submit():
        try:
            params = form.params()
        except ValueError:
            form.date_order.errors = [gettext("These reading options cannot be used together.")]
        else:
            jobs.submit(JobKind.PREVIEW, upload_id, params, user_id=current_user.user.id)
            return redirect(url_for("admin.upload_page", upload_id=upload_id))
    elif request.method == "GET" and job is not None:
        form.load(job.params)
    return render_template(
        "admin/upload.html", upload=upload, job=job, form=form, confirm=ConfirmForm(),
        stalled=job is not None and jobs.stalled(job), report=(job.result if job else None),
    )


@bp.route("/imports/<int:upload_id>/commit", methods=["POST"])
@requires(Role.TREASURER)
def upload_commit(upload_id: int) -> Any:
    """Import the upload with the assumptions of its last preview."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    _waiting_upload(upload_id)
    job = _latest_jobs([upload_id]).get(upload_id)
    if job is None or job.kind != JobKind.PREVIEW.value or job.status != JobStatus.DONE.value:
        flash(gettext("Wait for the preview before importing."))
        return redirect(url_for("admin.upload_page", upload_id=upload_id))
    if (job.result or {}).get("status") == "rejected":
        flash(gettext("The preview found errors: correct the file or the reading assumptions first."))
        return redirect(url_for("admin.upload_page", upload_id=upload_id))
    jobs.submit(JobKind.IMPORT, upload_id, dict(job.params), user_id=current_user.user.id)
    flash(gettext("The import has started."))
    return redirect(url_for("admin.upload_page", upload_id=upload_id))


@bp.route("/imports/<int:upload_id>/discard", methods=["POST"])
@requires(Role.TREASURER)
def upload_discard(upload_id: int) -> Any:
    """Cancel an upload: its sealed copy is deleted, queued jobs cancelled."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    _waiting_upload(upload_id)
    with unit_of_work() as session:
        running = session.scalar(
            sa.select(sa.func.count()).select_from(Job).where(Job.upload_id == upload_id, Job.status == JobStatus.RUNNING.value)
        )
        if running:
            flash(gettext("A job is still working on this file: cancel it first."))
            return redirect(url_for("admin.upload_page", upload_id=upload_id))
        session.execute(
            sa.update(Job).where(Job.upload_id == upload_id, Job.status == JobStatus.QUEUED.value).values(status=JobStatus.CANCELLED.value)
        )
        uploads.discard(session, upload_id)
        from tracker.services import audit

        audit.record(session, "upload.discard", "upload", upload_id)
    flash(gettext("The upload was deleted; nothing was imported."))
    return redirect(url_for("admin.imports_page"))


@bp.route("/jobs/<int:job_id>.json")
@requires(Role.TREASURER)
def job_status(job_id: int) -> Any:
    """A job's progress, for the page's live update."""
    job = db.session.get(Job, job_id)
    if job is None:
        abort(404)
    return jsonify(
        id=job.id, kind=job.kind, status="stalled" if jobs.stalled(job) else job.status,
        phase=job.phase, done=job.done, total=job.total, finished=job.finished_at is not None,
    )


def _on_job(job_id: int, action: Callable[[], object]) -> Any:
    """Run a button's action on a job; back to its upload's page, with any refusal shown."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    job = db.session.get(Job, job_id)
    if job is None:
        abort(404)
    upload_id = job.upload_id
    try:
        action()
    except TrackerError as exc:
        flash(str(exc))
    return redirect(url_for("admin.upload_page", upload_id=upload_id) if upload_id else url_for("admin.imports_page"))


@bp.route("/jobs/<int:job_id>/cancel", methods=["POST"])
@requires(Role.TREASURER)
def job_cancel(job_id: int) -> Any:
    """Stop a job; a running import rolls back."""
    return _on_job(job_id, lambda: jobs.cancel(job_id))


@bp.route("/jobs/<int:job_id>/retry", methods=["POST"])
@requires(Role.TREASURER)
def job_retry(job_id: int) -> Any:
    """Run a failed or stalled job again."""
    return _on_job(job_id, lambda: jobs.retry(job_id, user_id=current_user.user.id))


@bp.route("/imports/batches/<int:batch_id>", methods=["GET", "POST"])
@requires(Role.TREASURER)
def batch_page(batch_id: int) -> Any:
    """A committed batch: its report, and undo (with what blocks it, if anything)."""
    batch = db.session.get(ImportBatch, batch_id)
    if batch is None:
        abort(404)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            done = undo_batch(batch_id)
        except TrackerError as exc:
            flash(str(exc))
        else:
            flash(ngettext(
                "Batch %(id)d was undone: %(num)d entry reversed.",
                "Batch %(id)d was undone: %(num)d entries reversed.",
                done.entries_reversed,
                id=done.batch_id,
            ))
        return redirect(url_for("admin.batch_page", batch_id=batch_id))
    blockers = dependents(db.session, batch_id) if batch.status == "committed" else []
    return render_template("admin/batch.html", batch=batch, account=db.session.get(Account, batch.account_id), blockers=blockers, confirm=form)
