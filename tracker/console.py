"""Readable terminal output for the CLI (rich tables, not hand-padded text).

May import: rich, :mod:`tracker.i18n`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from tracker.i18n import gettext as _
from tracker.i18n import ngettext


def _lines(values: dict[str, str]) -> str:
    return "\n".join(f"{amount} {cur}" for cur, amount in values.items()) or "-"


def render_totals(data: dict[str, Any], console: Console | None = None) -> None:
    """Print ``tracker totals`` as tables."""
    console = console or Console()
    table = Table(title=_("Campaigns"))
    for header in (_("Tag"), _("Title"), _("Donations"), _("Gross"), _("Fee"), _("Net")):
        table.add_column(header, justify="right" if header != _("Title") else "left")
    for c in data["campaigns"]:
        table.add_row(c["tag"], c["title"], str(c["donations"]), _lines(c["gross"]), _lines(c["fee"]), _lines(c["net"]))
    g = data["general"]
    table.add_row("-", _("General fund"), str(g["donations"]), _lines(g["gross"]), _lines(g["fee"]), _lines(g["net"]))
    r = data["review"]
    table.add_row("?", _("Waiting for review"), str(r["donations"]), _lines(r["gross"]), "", "")
    console.print(table)

    table = Table(title=_("Prisoners"))
    for header in (_("Prisoner"), _("Raised"), _("Fees"), _("Spent"), _("Transfers"), _("Balance")):
        table.add_column(header, justify="right" if header != _("Prisoner") else "left")
    for p in data["prisoners"]:
        table.add_row(
            f"{p['name']} ({p['slug']})",
            _lines(p["raised"]),
            _lines(p["fees"]),
            _lines(p["spent"]),
            _lines(p["transfers"]),
            _lines(p["balance"]),
        )
    console.print(table)
    u = data["unclassified"]
    console.print(
        _("Unclassified: %(lines)d line(s), %(net)s", lines=u["lines"], net=_lines(u["net"]).replace("\n", ", "))
    )


@contextmanager
def import_progress(*, enabled: bool = True) -> Iterator[Callable[[str, int, int], None] | None]:
    """A progress bar on stderr while a large file is read and applied (terminals only)."""
    console = Console(stderr=True)
    if not enabled or not console.is_terminal:
        yield None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def update(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(_("reading") if phase == "reading" else _("applying"), total=total or None)
            bar.update(tasks[phase], completed=done, total=total or None)

        yield update


def render_import(result: Any, console: Console | None = None) -> None:
    """One file's import summary, for people (stderr)."""
    console = console or Console(stderr=True)
    counts = result.counts
    status = {
        "committed": _("imported"),
        "dry_run": _("dry run, nothing written"),
        "already_imported": _("already imported, nothing changed"),
        "rejected": _("rejected, nothing written"),
    }.get(result.status, result.status)
    console.print(f"[bold]{result.file}[/bold]: {status}", highlight=False)
    if result.account_created:
        console.print(_("  account %(name)s was created (kind %(kind)s)", name=result.account, kind=result.format), highlight=False)
    if result.status in ("committed", "dry_run"):
        console.print(
            _("  %(new)d new, %(updated)d updated, %(duplicate)d duplicate, %(rejected)d rejected",
              new=counts.new, updated=counts.updated, duplicate=counts.duplicate, rejected=counts.rejected),
            highlight=False,
        )
        tagging = result.summary.get("tagging", {})
        if tagging:
            console.print(
                _("  donations: %(campaign)d to campaigns, %(general)d to the general fund, %(review)d waiting for review",
                  campaign=tagging.get("campaign", 0), general=tagging.get("general", 0), review=tagging.get("review", 0)),
                highlight=False,
            )
        for kind, n in result.summary.get("unknown_types", {}).items():
            message = ngettext(
                "  %(num)d line of unknown type %(type)s kept as 'other'",
                "  %(num)d lines of unknown type %(type)s kept as 'other'",
                n,
                type=kind,
            )
            console.print(message, highlight=False)
        for move in result.summary.get("transitions", []):
            console.print(_("  line %(line)d: status %(old)s -> %(new)s (%(effect)s)", line=move["line"], old=move["from"], new=move["to"], effect=move["effect"]), highlight=False)
        check = result.balance_check or {}
        for cur, info in check.get("currencies", {}).items():
            if info["status"] == "ok":
                message = ngettext(
                    "  %(cur)s balance agrees with the provider (%(num)d line)",
                    "  %(cur)s balance agrees with the provider (%(num)d lines)",
                    info["lines_checked"],
                    cur=cur,
                )
                console.print(message, highlight=False)
            else:
                mismatch = info.get("first_mismatch")
                if mismatch:
                    console.print(_("  %(cur)s balance differs from line %(line)d: provider %(provider)s, ours %(ours)s (difference %(delta)s)", cur=cur, **mismatch), highlight=False)
                else:
                    start = info["start"]
                    console.print(_("  %(cur)s balance before the file differs: provider %(provider)s, ours %(ours)s", cur=cur, provider=start["provider"], ours=start["ours"]), highlight=False)
