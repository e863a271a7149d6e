"""``tracker classify``: money waiting in the review fund, assigned by a treasurer.

    tracker classify list [--json] [--account NAME] [--currency CUR] [--kind KIND]
    tracker classify ITEM_ID... --as disbursement|fee|fund|account [options] [--dry-run]
    tracker classify undo ENTRY_ID
    tracker classify history [--json]

``classify ITEM_ID...`` is short for ``classify items ITEM_ID...``.

May import: click, services, :mod:`tracker.i18n`, :mod:`tracker.cli.common`.
"""

from __future__ import annotations

from typing import Any

import click
from flask.cli import with_appcontext

from tracker.cli.common import fail_cleanly, print_json
from tracker.i18n import gettext as _
from tracker.i18n import ngettext
from tracker.models import DisbursementCategory
from tracker.records import LineKind

#: the subcommand that ``classify ITEM_ID...`` stands for
_ITEMS = "items"
_KINDS = ["opening_balance", *(k.value for k in LineKind)]
#: the option that goes with each choice's required field
_OPTION = {"fund": "--fund", "category": "--category", "account": "--account", "as_": "--as", "items": "ITEM_ID"}


class _ClassifyGroup(click.Group):
    """A group whose first argument may be an item id instead of a subcommand."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Read ``classify 12 13 --as fee`` as ``classify items 12 13 --as fee``."""
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = [_ITEMS, *args]
        return super().parse_args(ctx, args)


@click.group(
    "classify",
    cls=_ClassifyGroup,
    help=_(
        "Money waiting in the review fund (outgoing payments, unknown kinds, opening balances, "
        "pending money): list it, classify it, undo a classification. "
        "'tracker classify ITEM_ID... --as KIND' is short for 'tracker classify items ...'."
    ),
)
def classify_group() -> None:
    """Classification."""


@classify_group.command("list", help=_("List the review items waiting for classification, oldest first."))
@click.option("--json", "as_json", is_flag=True, help=_("Print the items as JSON."))
@click.option("--account", "account_name", metavar="NAME", help=_("Only items of this account."))
@click.option("--currency", metavar="CUR", help=_("Only items in this currency."))
@click.option("--kind", type=click.Choice(_KINDS), help=_("Only items of this kind."))
@click.option("--after", type=int, metavar="ITEM_ID", help=_("Start after this item (the previous page's last)."))
@click.option("--limit", type=click.IntRange(1, 10_000), default=500, show_default=True, help=_("At most this many items."))
@with_appcontext
@fail_cleanly
def classify_list(as_json: bool, account_name: str | None, currency: str | None, kind: str | None, after: int | None, limit: int) -> None:
    from tracker import money
    from tracker.extensions import db
    from tracker.services.accounts import get_account
    from tracker.services.review_items import open_items

    account_id = get_account(db.session, account_name).id if account_name else None
    code = money.normalise_currency(currency) if currency else None
    page = open_items(db.session, account_id=account_id, currency=code, kind=kind, after=after, limit=limit)
    db.session.rollback()
    if as_json:
        print_json({"items": [i.as_dict() for i in page.items], "next_after": page.next_after})
        return
    for item in page.items:
        amount = money.to_string(item.amount, item.currency)
        click.echo(f"{item.item_id:>7}  {item.occurred_at.date()}  {item.account:<12} {item.kind:<16} {amount:>12} {item.currency}  {item.reason}")
        text = " | ".join(t for _f, t in item.texts)
        if text:
            click.echo(f"         {text!r}")
    click.echo(
        ngettext("%(num)d item waiting.", "%(num)d items waiting.", len(page.items)), err=True
    )
    if page.next_after is not None:
        click.echo(_("More: --after %(id)d", id=page.next_after), err=True)


@classify_group.command(_ITEMS, help=_("Classify review items (several only if in one currency) with one choice."))
@click.argument("item_ids", metavar="ITEM_ID...", nargs=-1, required=True, type=int)
@click.option("--as", "as_", required=True, type=click.Choice(["disbursement", "fee", "fund", "account"]), help=_("What the money was."))
@click.option("--fund", metavar="KEY", help=_("The fund: general, a prisoner's slug or campaign:TAG (disbursement, fund; a fee defaults to general)."))
@click.option("--category", type=click.Choice([c.value for c in DisbursementCategory]), help=_("The spending category (disbursement)."))
@click.option("--description", default="", help=_("The public description (disbursement; published)."))
@click.option("--note", help=_("A private note for treasurers (disbursement; never published)."))
@click.option("--account", "account_name", metavar="NAME", help=_("The group's other account the money moved to or from (account)."))
@click.option("--dry-run", is_flag=True, help=_("Show what would be booked; book nothing."))
@click.option("--json", "as_json", is_flag=True, help=_("Print the result as JSON."))
@with_appcontext
@fail_cleanly
def classify_items(
    item_ids: tuple[int, ...], as_: str, fund: str | None, category: str | None, description: str,
    note: str | None, account_name: str | None, dry_run: bool, as_json: bool,
) -> None:
    from tracker.extensions import db
    from tracker.services import classification as c

    needed = {"disbursement": ("fund", "category"), "fund": ("fund",), "account": ("account",)}.get(as_, ())
    given = {"fund": fund, "category": category, "account": account_name}
    for name in needed:
        if not given[name]:
            raise click.UsageError(_("--as %(choice)s needs %(option)s", choice=as_, option=_OPTION[name]))
    choice = c.Choice(
        c.ClassifyAs(as_), fund=fund, category=category, public_description=description,
        private_note=note, account=account_name,
    )
    try:
        if dry_run:
            plan = c.preview(db.session, list(item_ids), choice)
        else:
            done = c.classify(list(item_ids), choice)
    except c.FieldConflict as error:
        where = _OPTION.get(error.field or "", "")
        raise click.ClickException(f"{where}: {error}" if where else str(error)) from None
    if dry_run:
        _print_plan(plan.as_dict(), as_json)
        return
    if as_json:
        print_json({"classified": [{"item_id": d.item_id, "entry_id": d.entry_id, "disbursement_id": d.disbursement_id} for d in done]})
        return
    for d in done:
        click.echo(_("Item %(item)d classified (entry %(entry)d).", item=d.item_id, entry=d.entry_id))
    click.echo(ngettext(
        "%(num)d item classified; undo it with 'tracker classify undo ENTRY_ID'.",
        "%(num)d items classified; undo one with 'tracker classify undo ENTRY_ID'.",
        len(done),
    ), err=True)


def _print_plan(plan: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json({"dry_run": True, **plan})
        return
    for item in plan["items"]:
        click.echo(f"{item['item_id']:>7}  {item['date']}  {item['account']:<12} {item['amount']:>12} {item['currency']}  -> {item['to']}")
    message = ngettext(
        "Would book %(num)d item as %(choice)s, %(total)s %(cur)s in all; nothing was written.",
        "Would book %(num)d items as %(choice)s, %(total)s %(cur)s in all; nothing was written.",
        len(plan["items"]), choice=plan["as"], total=plan["total"], cur=plan["currency"],
    )
    click.echo(message, err=True)


@classify_group.command("undo", help=_("Undo a classification (by its entry id): a correcting entry; the item waits again."))
@click.argument("entry_id", type=int)
@with_appcontext
@fail_cleanly
def classify_undo(entry_id: int) -> None:
    from tracker.services.classification import undo

    correction = undo(entry_id)
    click.echo(_("Classification %(id)d undone (entry %(correction)d); the item waits again.", id=entry_id, correction=correction), err=True)


@classify_group.command("history", help=_("The newest classifications that stand, with their entry ids."))
@click.option("--json", "as_json", is_flag=True, help=_("Print them as JSON."))
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True, help=_("At most this many."))
@with_appcontext
@fail_cleanly
def classify_history(as_json: bool, limit: int) -> None:
    from tracker import money
    from tracker.extensions import db
    from tracker.services.classification import recent

    done = recent(db.session, limit=limit)
    db.session.rollback()
    if as_json:
        print_json({"classifications": [d.as_dict() for d in done]})
        return
    for d in done:
        amount = money.to_string(d.amount, d.currency)
        click.echo(f"{d.entry_id:>7}  item {d.item_id:>7}  {d.occurred_at.date()}  {d.as_:<12} {amount:>12} {d.currency}  {d.description}")
