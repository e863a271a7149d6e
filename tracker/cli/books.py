"""Commands for the books: schema, demo, checks, totals, imports, batches, keys.

May import: services, models (read-only queries), :mod:`tracker.i18n`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from tracker.cli.common import fail_cleanly, print_json
from tracker.errors import TrackerError
from tracker.i18n import gettext as _


@click.command("init-db", help=_("Create or upgrade the database schema (runs the migrations)."))
@with_appcontext
@fail_cleanly
def init_db_command() -> None:
    from tracker.services.setup import init_database

    url = init_database()
    click.echo(_("Database ready: %(url)s", url=url), err=True)


@click.command("demo", help=_("Load the fictional demo data set (once; running it again changes nothing)."))
@with_appcontext
@fail_cleanly
def demo_command() -> None:
    from tracker.services.demo import load_demo

    result = load_demo()
    if result.loaded:
        click.echo(
            _(
                "Demo loaded: %(donations)d donations from %(donors)d donors; %(releases)d publications cut.",
                donations=result.donations,
                donors=result.donors,
                releases=result.releases,
            ),
            err=True,
        )
    else:
        click.echo(_("Demo data is already loaded; nothing changed."), err=True)


@click.command("check", help=_("Verify every ledger invariant; exit 1 listing what is broken."))
@click.option("--json", "as_json", is_flag=True, help=_("Print the report as JSON."))
@with_appcontext
@fail_cleanly
def check_command(as_json: bool) -> None:
    from tracker.extensions import db
    from tracker.services.checks import check_ledger

    report = check_ledger(db.session)
    if as_json:
        print_json(
            {
                "ok": report.ok,
                "entries": report.entries,
                "postings": report.postings,
                "donations": report.donations,
                "violations": [{"rule": v.rule, "message": v.message} for v in report.violations],
            }
        )
    else:
        for violation in report.violations:
            click.echo(str(violation), err=True)
        click.echo(report.summary())
    if not report.ok:
        sys.exit(1)


@click.command("totals", help=_("Show the treasurer's live totals (never public)."))
@click.option("--json", "as_json", is_flag=True, help=_("Print the totals as JSON."))
@with_appcontext
@fail_cleanly
def totals_command(as_json: bool) -> None:
    from tracker.extensions import db
    from tracker.services.totals import totals

    data = totals(db.session)
    if as_json:
        print_json(data)
        return
    from tracker.console import render_totals

    render_totals(data)


# --- account, prisoner, campaign ------------------------------------------------------


def _format_ids() -> list[str]:
    from tracker.importers import FORMATS

    return sorted(FORMATS)


@click.command("import", help=_("Import provider exports (all or nothing per file)."))
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--account", "account_name", help=_("The account the files belong to; created if unknown."))
@click.option("--format", "format_id", default="auto", show_default=True, type=click.Choice(["auto", *_format_ids()]), help=_("The export format."))
@click.option("--encoding", help=_("The file's encoding, when it cannot be detected (e.g. cp1251)."))
@click.option("--date-order", type=click.Choice(["dmy", "mdy", "ymd"]), help=_("The order of day, month and year, when the dates do not tell."))
@click.option("--decimal-mark", type=click.Choice([".", ","]), help=_("The decimal mark, when the amounts do not tell."))
@click.option("--timezone", help=_("The time zone (IANA name) for times without an unambiguous zone."))
@click.option("--currency", help=_("The currency, for exports without a currency column."))
@click.option("--dry-run", is_flag=True, help=_("Show what would happen; change nothing."))
@click.option("--json", "as_json", is_flag=True, help=_("Print the results as JSON."))
@with_appcontext
def import_command(
    files: tuple[str, ...],
    account_name: str | None,
    format_id: str,
    encoding: str | None,
    date_order: str | None,
    decimal_mark: str | None,
    timezone: str | None,
    currency: str | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    from tracker.console import import_progress, render_import
    from tracker.importers import ReadOptions
    from tracker.services.importing import import_file

    options = ReadOptions(encoding=encoding, date_order=date_order, decimal_mark=decimal_mark, timezone=timezone, currency=currency)
    results = []
    for name in files:
        with import_progress(enabled=not as_json) as progress:
            try:
                result = import_file(
                    name, name=name, account_name=account_name, format_id=format_id,
                    options=options, dry_run=dry_run, progress=progress,
                )
            except TrackerError as exc:
                raise click.ClickException(str(exc)) from None
        results.append(result)
        for error in result.errors:
            click.echo(str(error), err=True)
        if not as_json:
            render_import(result)
    if as_json:
        print_json({"batches": [r.as_dict() for r in results]})
    if any(not r.ok for r in results):
        sys.exit(1)



@click.group("batch", help=_("Import batches: list them, undo one."))
def batch_group() -> None:
    """Batches."""


@batch_group.command("list", help=_("List the newest import batches."))
@click.option("--json", "as_json", is_flag=True, help=_("Print the batches as JSON."))
@with_appcontext
@fail_cleanly
def batch_list(as_json: bool) -> None:
    from tracker.extensions import db
    from tracker.services.batches import list_batches

    rows = [
        {
            "batch_id": b.id, "file": b.filename, "format": b.format, "status": b.status,
            "account_id": b.account_id, "created_at": b.created_at.isoformat(),
            "counts": {"new": b.count_new, "updated": b.count_updated, "duplicate": b.count_duplicate},
        }
        for b in list_batches(db.session)
    ]
    if as_json:
        print_json({"batches": rows})
        return
    for r in rows:
        click.echo(f"{r['batch_id']:>6}  {r['status']:<10} {r['created_at'][:16]}  {r['file']}  (+{r['counts']['new']} ~{r['counts']['updated']} ={r['counts']['duplicate']})")


@batch_group.command("undo", help=_("Undo a committed batch as a whole (refused if a later change builds on it)."))
@click.argument("batch_id", type=int)
@with_appcontext
@fail_cleanly
def batch_undo(batch_id: int) -> None:
    from tracker.services.batches import undo_batch

    result = undo_batch(batch_id)
    click.echo(
        _("Batch %(id)d undone: %(entries)d entries reversed, %(donations)d donations voided, %(lines)d lines undone, %(restored)d lines restored.",
          id=batch_id, entries=result.entries_reversed, donations=result.donations_voided, lines=result.lines_undone, restored=result.lines_restored),
        err=True,
    )


@click.group("donor", help=_("Sealed donor data, opened on the treasurer's own machine."))
def donor_group() -> None:
    """Donor data."""


@donor_group.command("show", help=_("Open the sealed raw row of a statement line with the private key."))
@click.argument("line_id", type=int)
@click.option("--key", "key_file", required=True, type=click.Path(exists=True, dir_okay=False), help=_("The treasurer's private key file."))
@with_appcontext
@fail_cleanly
def donor_show(line_id: int, key_file: str) -> None:
    from tracker.extensions import db
    from tracker.services.sealed import open_line

    print_json(open_line(db.session, line_id, key_file))


@click.group("keys", help=_("The keys that seal donor identity."))
def keys_group() -> None:
    """Keys."""


@keys_group.command("generate", help=_("Make a new hash key and key pair in a folder outside the instance folder."))
@click.option("--dir", "directory", required=True, type=click.Path(file_okay=False), help=_("Where to write the keys."))
@with_appcontext
@fail_cleanly
def keys_generate(directory: str) -> None:
    from flask import current_app

    from tracker.sealing import generate_keys

    instance = Path(current_app.instance_path).resolve()
    target = Path(directory).resolve()
    if instance == target or instance in target.parents:
        raise click.BadParameter(_("keys must not live in the instance folder"), param_hint="--dir")
    paths = generate_keys(target)
    click.echo(
        _(
            "Wrote %(hash)s and %(public)s: configure them on the server with "
            "HASH_KEY_FILE and PUBLIC_KEY_FILE (outside the database, the instance "
            "folder and backups).\n"
            "Wrote %(private)s: the private key opens sealed donor data. Move it to the "
            "treasurer's own machine and delete it from the server.",
            hash=paths.hash_key,
            public=paths.public_key,
            private=paths.private_key,
        ),
        err=True,
    )




@click.command("export", help=_("Export the books for the group's accountant: a period as a CSV zip or XLSX, or the ledger (whole or a period) as a beancount file or an hledger journal."))
@click.option("--from", "start", help=_("First day, like 2025-01-01 (for beancount and hledger: omit for the beginning)."))
@click.option("--to", "end", help=_("Last day, like 2025-12-31 (for beancount and hledger: omit for the latest entry)."))
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "beancount", "hledger"]), default="xlsx", show_default=True, help=_("The file format."))
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True), help=_("Where to write the file."))
@click.option("--with-notes", is_flag=True, help=_("Include the private notes on disbursements (CSV and XLSX only)."))
@with_appcontext
@fail_cleanly
def export_command(start: str | None, end: str | None, fmt: str, out: str, with_notes: bool) -> None:
    from tracker.cli.common import parse_date
    from tracker.extensions import db
    from tracker.services import books_export, ledger_formats

    first, last = parse_date(start, "--from"), parse_date(end, "--to")
    if first is not None and last is not None and last < first:
        raise click.BadParameter(_("the last day is before the first"), param_hint="--to")
    if fmt in ledger_formats.FORMATS:
        if with_notes:
            raise click.BadParameter(_("private notes are never written to ledger files"), param_hint="--with-notes")
        target = Path(out)
        partial = target.with_name(f".{target.name}.partial")
        try:
            with partial.open("w", encoding="utf-8", newline="\n") as handle:
                for chunk in ledger_formats.export(db.session, fmt, first, last):
                    handle.write(chunk)
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
        click.echo(_("Wrote %(path)s (%(size)d bytes).", path=out, size=target.stat().st_size), err=True)
        return
    if first is None or last is None:
        raise click.UsageError(_("--from and --to are required for CSV and XLSX"))
    items = books_export.tables(db.session, first, last, with_notes=with_notes)
    data = books_export.to_xlsx(items) if fmt == "xlsx" else books_export.to_csv_zip(items)
    db.session.rollback()
    Path(out).write_bytes(data)
    click.echo(_("Wrote %(path)s (%(size)d bytes).", path=out, size=len(data)), err=True)
