"""Commands for accounts, prisoners and campaigns.

May import: services, models (read-only queries), :mod:`tracker.i18n`.
"""

from __future__ import annotations


import click
from flask.cli import with_appcontext

from tracker.cli.common import fail_cleanly, parse_date, parse_goal, print_json
from tracker.i18n import gettext as _
from tracker.i18n import ngettext


@click.group("account", help=_("Accounts where money sits."))
def account_group() -> None:
    """Accounts."""


@account_group.command("add", help=_("Add an account."))
@click.argument("name")
@click.option(
    "--kind",
    required=True,
    type=click.Choice(["paypal", "stripe", "bank", "cash"]),
    help=_("What kind of account it is."),
)
@with_appcontext
@fail_cleanly
def account_add(name: str, kind: str) -> None:
    from tracker.services.accounts import add_account

    account = add_account(name, kind)
    click.echo(_("Account %(name)s (%(kind)s) added.", name=account.name, kind=account.kind), err=True)


@click.group("prisoner", help=_("Prisoners the group supports."))
def prisoner_group() -> None:
    """Prisoners."""


@prisoner_group.command("add", help=_("Add a prisoner and their fund."))
@click.argument("slug")
@click.option("--name", required=True, help=_("The prisoner's name as shown."))
@click.option("--private", is_flag=True, help=_("Keep the prisoner off public pages."))
@with_appcontext
@fail_cleanly
def prisoner_add(slug: str, name: str, private: bool) -> None:
    from tracker.services.campaigns import add_prisoner

    prisoner = add_prisoner(slug, name, public=not private)
    click.echo(_("Prisoner %(slug)s added.", slug=prisoner.slug), err=True)


@click.group("campaign", help=_("Campaigns and their tags."))
def campaign_group() -> None:
    """Campaigns."""


@campaign_group.command("add", help=_("Add a campaign with its tag, aliases and prisoners."))
@click.argument("tag")
@click.option("--title", required=True, help=_("The campaign's title."))
@click.option("--alias", "aliases", multiple=True, help=_("Another word that means this campaign."))
@click.option("--prisoner", "prisoners", multiple=True, metavar="SLUG[:WEIGHT]", help=_("A prisoner it supports, with an optional weight."))
@click.option("--from", "starts_on", metavar="DATE", help=_("First day of the campaign."))
@click.option("--until", "ends_on", metavar="DATE", help=_("Last day of the campaign."))
@click.option("--goal", metavar="CUR=AMOUNT", help=_("A fundraising goal."))
@click.option("--private", is_flag=True, help=_("Keep the campaign off public pages."))
@with_appcontext
@fail_cleanly
def campaign_add(
    tag: str,
    title: str,
    aliases: tuple[str, ...],
    prisoners: tuple[str, ...],
    starts_on: str | None,
    ends_on: str | None,
    goal: str | None,
    private: bool,
) -> None:
    from tracker.services.campaigns import PrisonerShare, add_campaign

    shares = [PrisonerShare.parse(p) for p in prisoners]
    campaign = add_campaign(
        tag,
        title,
        aliases=aliases,
        prisoners=shares,
        starts_on=parse_date(starts_on, "--from"),
        ends_on=parse_date(ends_on, "--until"),
        goal=parse_goal(goal),
        public=not private,
    )
    click.echo(_("Campaign %(tag)s added.", tag=campaign.tag), err=True)




@campaign_group.command("list", help=_("List the campaigns, their windows and prisoners."))
@click.option("--json", "as_json", is_flag=True, help=_("Print the campaigns as JSON."))
@with_appcontext
@fail_cleanly
def campaign_list(as_json: bool) -> None:
    import sqlalchemy as sa

    from tracker.extensions import db
    from tracker.models import Campaign, CampaignPrisoner, Prisoner

    data = []
    for c in db.session.scalars(sa.select(Campaign).order_by(Campaign.tag)):
        weights = db.session.execute(
            sa.select(Prisoner.slug, CampaignPrisoner.weight, CampaignPrisoner.valid_from, CampaignPrisoner.valid_until)
            .join(Prisoner, Prisoner.id == CampaignPrisoner.prisoner_id)
            .where(CampaignPrisoner.campaign_id == c.id)
            .order_by(Prisoner.slug, CampaignPrisoner.valid_from)
        ).all()
        data.append(
            {
                "tag": c.tag, "title": c.title, "public": c.public,
                "from": c.starts_on.isoformat() if c.starts_on else None, "until": c.ends_on.isoformat() if c.ends_on else None,
                "goal": {c.goal_currency: format(c.goal_amount, "f")} if c.goal_currency and c.goal_amount is not None else None,
                "prisoners": [
                    {"slug": s, "weight": format(w.normalize(), "f"), "from": f.isoformat() if f else None, "until": u.isoformat() if u else None}
                    for s, w, f, u in weights
                ],
            }
        )
    if as_json:
        print_json({"campaigns": data})
        return
    for c in data:
        people = ", ".join(f"{p['slug']}:{p['weight']}" + (f" from {p['from']}" if p["from"] else "") + (f" until {p['until']}" if p["until"] else "") for p in c["prisoners"])
        click.echo(f"{c['tag']:<10} {c['title']}" + ("" if c["public"] else " [private]") + (f"  ({people})" if people else ""))


@campaign_group.command("edit", help=_("Change a campaign's title, window, goal or visibility."))
@click.argument("tag")
@click.option("--title", help=_("The campaign's title."))
@click.option("--from", "starts_on", metavar="DATE", help=_("First day of the campaign."))
@click.option("--until", "ends_on", metavar="DATE", help=_("Last day of the campaign."))
@click.option("--goal", metavar="CUR=AMOUNT", help=_("A fundraising goal."))
@click.option("--public/--private", default=None, help=_("Show the campaign on public pages or not."))
@with_appcontext
@fail_cleanly
def campaign_edit(tag: str, title: str | None, starts_on: str | None, ends_on: str | None, goal: str | None, public: bool | None) -> None:
    from tracker.services.campaigns import edit_campaign

    changes: dict[str, object] = {}
    if title is not None:
        changes["title"] = title
    if starts_on is not None:
        changes["starts_on"] = parse_date(starts_on, "--from")
    if ends_on is not None:
        changes["ends_on"] = parse_date(ends_on, "--until")
    if goal is not None:
        changes["goal"] = parse_goal(goal)
    if public is not None:
        changes["public"] = public
    if not changes:
        raise click.UsageError(_("nothing to change"))
    edit_campaign(tag, **changes)
    click.echo(_("Campaign %(tag)s changed.", tag=tag), err=True)


@campaign_group.command("weight", help=_("Give a prisoner a new weight in a campaign from a date (0 stops support)."))
@click.argument("tag")
@click.argument("slug")
@click.argument("weight")
@click.option("--from", "since", required=True, metavar="DATE", help=_("The first day the new weight applies."))
@with_appcontext
@fail_cleanly
def campaign_weight(tag: str, slug: str, weight: str, since: str) -> None:
    from tracker import money
    from tracker.errors import MoneyError
    from tracker.services.campaigns import change_weight

    try:
        value = money.parse_amount(weight)
    except MoneyError as exc:
        raise click.BadParameter(str(exc), param_hint="WEIGHT") from None
    day = parse_date(since, "--from")
    assert day is not None
    change_weight(tag, slug, value, since=day)
    click.echo(_("From %(day)s, %(slug)s has weight %(weight)s in %(tag)s. Donations already booked keep their split until 'tracker campaign reallocate %(tag)s'.", day=since, slug=slug, weight=weight, tag=tag), err=True)


@campaign_group.command("reallocate", help=_("Move a campaign's donations to the weights in force on their dates."))
@click.argument("tag")
@click.option("--note", help=_("A public note saying why (required unless --dry-run)."))
@click.option("--dry-run", is_flag=True, help=_("Show what would move; change nothing."))
@click.option("--json", "as_json", is_flag=True, help=_("Print the donations as JSON."))
@with_appcontext
@fail_cleanly
def campaign_reallocate(tag: str, note: str | None, dry_run: bool, as_json: bool) -> None:
    from tracker.extensions import db
    from tracker.services.review import reallocate_campaign, reallocation_preview

    if not dry_run and not note:
        raise click.UsageError(_("--note is required: the public pages show why money moved"))
    changes = reallocation_preview(db.session, tag) if dry_run else reallocate_campaign(tag, public_note=note or "")
    if as_json:
        print_json({"dry_run": dry_run, "donations": [c.as_dict() for c in changes]})
        return
    for c in changes:
        click.echo(f"{c.donation_id:>7}  {c.received_on}  {c.gross:>10} {c.currency}")
    if dry_run:
        message = ngettext(
            "%(num)d donation to re-allocate.", "%(num)d donations to re-allocate.", len(changes)
        )
    else:
        message = ngettext(
            "%(num)d donation re-allocated.", "%(num)d donations re-allocated.", len(changes)
        )
    click.echo(message, err=True)


@click.group("user", help=_("People who sign in to the admin pages."))
def user_group() -> None:
    """Manage users."""


@user_group.command("add", help=_("Add a user; prints a one-time link to set the password (or asks for one)."))
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(["treasurer", "organiser", "admin"]), help=_("What the user may do."))
@click.option("--password", "ask_password", is_flag=True, help=_("Set the password now from a prompt instead of printing a link."))
@click.option("--base-url", default="http://127.0.0.1:5000", show_default=True, help=_("The site's address, for the link."))
@with_appcontext
@fail_cleanly
def user_add(email: str, role: str, ask_password: bool, base_url: str) -> None:
    from tracker.services import unit_of_work, users

    password = click.prompt(_("Password"), hide_input=True, confirmation_prompt=True) if ask_password else None
    with unit_of_work() as session:
        user, token = users.add_user(session, email, role)
        if password is not None:
            users.set_password(session, user, password, token=token)
    if password is None:
        click.echo(f"{base_url.rstrip('/')}/admin/set-password/{token}")
        click.echo(_("Send this link to %(email)s; it works once and expires in 48 hours.", email=user.email), err=True)
    else:
        click.echo(_("User %(email)s added.", email=user.email), err=True)
