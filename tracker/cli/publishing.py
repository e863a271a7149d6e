"""Commands for what the public sees: cutting publications, checking the chain, settings.

May import: services, :mod:`tracker.i18n`, the CLI helpers.
"""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from tracker.cli.common import fail_cleanly, print_json
from tracker.i18n import gettext as _
from tracker.i18n import ngettext


@click.command("publish", help=_("Cut every publication that is due (closed months, closed years)."))
@click.option("--force", is_flag=True, help=_("Also close the current month early (never past the privacy rules)."))
@click.option("--verify", is_flag=True, help=_("Check the publication chain instead; exit 1 if it was tampered with."))
@click.option("--json", "as_json", is_flag=True, help=_("Print what was cut and withheld as JSON."))
@with_appcontext
@fail_cleanly
def publish_command(force: bool, verify: bool, as_json: bool) -> None:
    from tracker.extensions import db
    from tracker.services import publishing

    if verify:
        problems = publishing.verify_chain(db.session)
        count = publishing.chain_length(db.session)
        db.session.rollback()
        if as_json:
            print_json({"ok": not problems, "publications": count, "problems": [{"seq": p.seq, "message": p.message} for p in problems]})
        for problem in problems:
            click.echo(_("publication %(seq)d: %(problem)s", seq=problem.seq, problem=problem.message), err=True)
        if problems:
            sys.exit(1)
        if not as_json:
            message = ngettext(
                "Publication chain intact: %(num)d publication.",
                "Publication chain intact: %(num)d publications.",
                count,
            )
            click.echo(message, err=True)
        return
    reports = publishing.publish(force=force, group=current_app.config["GROUP_NAME"])
    if as_json:
        print_json({"releases": [r.as_dict() for r in reports]})
    for report in reports:
        click.echo(
            _(
                "#%(seq)d %(kind)s %(period)s: %(published)d figures published",
                seq=report.seq,
                kind=report.kind,
                period=report.period,
                published=report.published,
            ),
            err=True,
        )
        for cell, reason in sorted(report.withheld.items()):
            click.echo("  " + _("withheld %(cell)s: %(reason)s", cell=cell, reason=reason), err=True)
    if not reports:
        if publishing.chain_length(db.session) == 0 and not publishing.has_donations(db.session):
            raise click.ClickException(_("Nothing can be published: there are no donations yet."))
        click.echo(_("Nothing is due: every closed period is published."), err=True)


@click.group("setting", help=_("Group settings: publication rules, base currency, page texts."))
def setting_group() -> None:
    """Show or change settings."""


@setting_group.command("list", help=_("Show every setting and its value."))
@with_appcontext
@fail_cleanly
def setting_list() -> None:
    from tracker.extensions import db
    from tracker.services import settings

    print_json({key: settings.get(db.session, key) for key in sorted(settings.SPECS)})


@setting_group.command("set", help=_("Change a setting (VALUE is JSON or plain text); applies from the next publication."))
@click.argument("key")
@click.argument("value")
@with_appcontext
@fail_cleanly
def setting_set(key: str, value: str) -> None:
    from tracker.services import settings, unit_of_work

    with unit_of_work() as session:
        clean = settings.set_value(session, key, value)
    click.echo(_("%(key)s set to %(value)s", key=key, value=clean), err=True)
