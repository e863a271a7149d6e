"""``tracker purge``: the retention purge of payment notes (ARCHITECTURE.md rule 10).

May import: click, Flask's CLI, :mod:`tracker.cli.common`, services (retention).
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from tracker.cli.common import fail_cleanly, print_json
from tracker.i18n import gettext as _


@click.command(
    "purge",
    help=_(
        "Remove payment notes (lines, raw rows, the search index, audit payloads) that are past "
        "the retention setting and whose review is over; amounts and decisions stay."
    ),
)
@click.option("--dry-run", is_flag=True, help=_("Count what would be removed; change nothing."))
@with_appcontext
@fail_cleanly
def purge_command(dry_run: bool) -> None:
    from tracker.services import retention

    report = retention.purge(dry_run=dry_run)
    print_json(report.as_dict())
    if dry_run:
        click.echo(_("Dry run: nothing was removed."), err=True)
    else:
        click.echo(
            _("Purged the notes of %(lines)d lines and %(raw)d raw rows older than %(cutoff)s.", lines=report.lines, raw=report.raw_rows, cutoff=report.cutoff),
            err=True,
        )
