"""Commands that decide where money goes: rules, the review queue, re-tagging, transfers.

May import: services, models (read-only queries), :mod:`tracker.i18n`.
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from tracker.cli.common import fail_cleanly, parse_date, print_json
from tracker.i18n import gettext as _
from tracker.i18n import ngettext


@click.group("rule", help=_("Tagging rules: how payment text maps to a campaign."))
def rule_group() -> None:
    """Rules."""


@rule_group.command("add", help=_("Add a tag, alias or regular-expression rule to a campaign."))
@click.argument("tag")
@click.argument("pattern")
@click.option("--kind", type=click.Choice(["tag", "alias", "regex"]), default="alias", show_default=True, help=_("How the pattern is read."))
@click.option("--provider", "providers", multiple=True, type=click.Choice(["paypal", "stripe", "bank", "cash"]), help=_("Only for money from this provider."))
@click.option("--field", "fields", multiple=True, help=_("Only in this field (note, subject, item_title, description, remittance)."))
@click.option("--from", "valid_from", metavar="DATE", help=_("First day the rule applies."))
@click.option("--until", "valid_until", metavar="DATE", help=_("Last day the rule applies."))
@click.option("--priority", type=int, default=0, show_default=True, help=_("Orders the rules of one campaign."))
@with_appcontext
@fail_cleanly
def rule_add(tag: str, pattern: str, kind: str, providers: tuple[str, ...], fields: tuple[str, ...], valid_from: str | None, valid_until: str | None, priority: int) -> None:
    from tracker.services.campaigns import add_rule

    rule = add_rule(
        tag, kind, pattern, providers=list(providers), fields=list(fields),
        valid_from=parse_date(valid_from, "--from"), valid_until=parse_date(valid_until, "--until"), priority=priority,
    )
    click.echo(_("Rule %(id)d added to %(tag)s.", id=rule.id, tag=tag), err=True)


@rule_group.command("list", help=_("List the active rules."))
@click.option("--json", "as_json", is_flag=True, help=_("Print the rules as JSON."))
@with_appcontext
@fail_cleanly
def rule_list(as_json: bool) -> None:
    import sqlalchemy as sa

    from tracker.extensions import db
    from tracker.models import Campaign, TagRule

    rows = db.session.execute(
        sa.select(TagRule, Campaign.tag).join(Campaign, Campaign.id == TagRule.campaign_id).where(TagRule.active.is_(True)).order_by(Campaign.tag, TagRule.id)
    ).all()
    data = [
        {
            "id": r.id, "campaign": tag, "kind": r.kind, "pattern": r.pattern, "providers": r.providers, "fields": r.fields,
            "from": r.valid_from.isoformat() if r.valid_from else None, "until": r.valid_until.isoformat() if r.valid_until else None,
            "priority": r.priority,
        }
        for r, tag in rows
    ]
    if as_json:
        print_json({"rules": data})
        return
    for r in data:
        window = f" {r['from'] or ''}..{r['until'] or ''}" if r["from"] or r["until"] else ""
        click.echo(f"{r['id']:>5}  {r['campaign']:<12} {r['kind']:<6} {r['pattern']}{window}")


@rule_group.command("remove", help=_("Deactivate a rule (donations keep their campaign until re-tagged)."))
@click.argument("rule_id", type=int)
@with_appcontext
@fail_cleanly
def rule_remove(rule_id: int) -> None:
    from tracker.services.campaigns import remove_rule

    remove_rule(rule_id)
    click.echo(_("Rule %(id)d removed.", id=rule_id), err=True)


@click.group("review", help=_("Donations waiting for a campaign."))
def review_group() -> None:
    """Review queue."""


@review_group.command("list", help=_("List the donations waiting for review, with what matched."))
@click.option("--json", "as_json", is_flag=True, help=_("Print the queue as JSON."))
@with_appcontext
@fail_cleanly
def review_list(as_json: bool) -> None:
    from tracker.extensions import db
    from tracker.services.review import review_queue

    items = review_queue(db.session)
    if as_json:
        print_json({"donations": [i.as_dict() for i in items]})
        return
    for item in items:
        text = " | ".join(t for _f, t in item.texts)
        click.echo(f"{item.donation_id:>7}  {item.received_at}  {item.gross:>10} {item.currency}  {item.reason}")
        if text:
            click.echo(f"         {text!r}")
    click.echo(
        ngettext("%(num)d donation waiting.", "%(num)d donations waiting.", len(items)), err=True
    )


@review_group.command("assign", help=_("Settle donations to a campaign or to the general fund."))
@click.argument("donation_ids", nargs=-1, required=True, type=int)
@click.option("--campaign", "tag", help=_("The campaign's tag."))
@click.option("--general", is_flag=True, help=_("Send them to the general fund."))
@with_appcontext
@fail_cleanly
def review_assign(donation_ids: tuple[int, ...], tag: str | None, general: bool) -> None:
    from tracker.services.review import assign

    if bool(tag) == general:
        raise click.UsageError(_("give exactly one of --campaign TAG and --general"))
    done = assign(list(donation_ids), campaign_tag=tag)
    message = ngettext(
        "%(num)d donation settled to %(to)s.",
        "%(num)d donations settled to %(to)s.",
        len(done),
        to=tag or _("the general fund"),
    )
    click.echo(message, err=True)


@click.command("retag", help=_("Re-run the tagging rules over donations not settled by hand."))
@click.option("--dry-run", is_flag=True, help=_("Show what would change; change nothing."))
@click.option("--json", "as_json", is_flag=True, help=_("Print the changes as JSON."))
@with_appcontext
@fail_cleanly
def retag_command(dry_run: bool, as_json: bool) -> None:
    from tracker.extensions import db
    from tracker.services.review import retag, retag_preview

    changes = retag_preview(db.session) if dry_run else retag()
    if as_json:
        print_json({"dry_run": dry_run, "changes": [c.as_dict() for c in changes]})
        return
    for c in changes:
        click.echo(f"{c.donation_id:>7}  {c.gross:>10} {c.currency}  {c.before} -> {c.after}  {c.reason}")
    message = (
        ngettext("%(num)d donation would change.", "%(num)d donations would change.", len(changes))
        if dry_run
        else ngettext("%(num)d donation re-tagged.", "%(num)d donations re-tagged.", len(changes))
    )
    click.echo(message, err=True)


@click.command("transfer", help=_("Move money between funds (a prisoner released, a fund closed), with a reason."))
@click.argument("source", metavar="FROM")
@click.argument("target", metavar="TO")
@click.argument("amount")
@click.argument("currency")
@click.option("--reason", required=True, help=_("Why the money moves (kept in the audit log)."))
@with_appcontext
@fail_cleanly
def transfer_command(source: str, target: str, amount: str, currency: str, reason: str) -> None:
    from tracker import money
    from tracker.errors import MoneyError
    from tracker.services.review import transfer

    try:
        value = money.parse_amount(amount, currency=money.normalise_currency(currency))
    except MoneyError as exc:
        raise click.BadParameter(str(exc), param_hint="AMOUNT") from None
    entry = transfer(source, target, value, currency, reason=reason)
    click.echo(_("Transfer booked (entry %(id)d).", id=entry), err=True)
