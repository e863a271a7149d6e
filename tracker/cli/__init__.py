"""The ``tracker`` command line: a FlaskGroup whose commands live on ``app.cli``.

Commands are thin: they parse arguments, call one service, and print. JSON goes
to stdout, messages to stderr. Exit codes: 0 success, 1 input rejected or a
check failed, 2 usage error. The commands live in :mod:`tracker.cli.books`,
:mod:`tracker.cli.catalog`, :mod:`tracker.cli.classify`,
:mod:`tracker.cli.money_moves` and :mod:`tracker.cli.publishing`.

May import: click, Flask's CLI, the command modules.
"""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import FlaskGroup

from tracker.i18n import current_locale, locale_from_environment

current_locale.set(locale_from_environment())


def commands() -> list[click.Command]:
    """Every top-level command and group."""
    from tracker.cli import books, catalog, classify, jobs, money_moves, publishing, retention

    return [
        books.init_db_command,
        books.demo_command,
        books.check_command,
        books.totals_command,
        books.import_command,
        books.batch_group,
        books.donor_group,
        books.keys_group,
        books.export_command,
        catalog.account_group,
        catalog.prisoner_group,
        catalog.campaign_group,
        catalog.user_group,
        money_moves.rule_group,
        money_moves.review_group,
        money_moves.retag_command,
        money_moves.transfer_command,
        classify.classify_group,
        publishing.publish_command,
        publishing.setting_group,
        retention.purge_command,
        jobs.worker_command,
    ]


def register(app: Flask) -> None:
    """Put every command on ``app.cli``."""
    for command in commands():
        app.cli.add_command(command)


def _create_app() -> Flask:
    from tracker.app import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=True)
def cli() -> None:
    """Solidarity fund tracker."""


def main() -> None:
    """Entry point of the ``tracker`` console script."""
    cli.main(prog_name="tracker")
