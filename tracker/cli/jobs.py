"""``tracker worker``: runs the background imports the web app queues.

May import: click, Flask's CLI, :mod:`tracker.services.jobs`, :mod:`tracker.i18n`.
"""

from __future__ import annotations

from datetime import timedelta

import click
from flask import current_app
from flask.cli import with_appcontext

from tracker.i18n import gettext as _
from tracker.i18n import ngettext


@click.command("worker", help=_("Run queued imports: an RQ worker when REDIS_URL is set, else a worker over the job table."))
@click.option("--burst", is_flag=True, help=_("Stop when no job is waiting."))
@click.option("--poll", default=1, show_default=True, type=click.IntRange(1, 60), help=_("Seconds between looks at the job table."))
@click.option("--upload-max-age", default=2, show_default=True, type=click.IntRange(1, 365), help=_("Days after which uploads nobody imported are deleted."))
@with_appcontext
def worker_command(burst: bool, poll: int, upload_max_age: int) -> None:
    from tracker.services import jobs

    if current_app.config.get("REDIS_URL"):
        click.echo(_("Worker %(name)s: RQ queue %(queue)s.", name=jobs.worker_name(), queue=jobs.queue_name()), err=True)
        jobs.rq_work(burst=burst, upload_max_age=timedelta(days=upload_max_age))
        return
    click.echo(_("Worker %(name)s: polling the job table.", name=jobs.worker_name()), err=True)
    ran = jobs.work(burst=burst, poll=poll, upload_max_age=timedelta(days=upload_max_age))
    click.echo(ngettext("%(num)d job done.", "%(num)d jobs done.", ran), err=True)
