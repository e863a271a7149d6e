"""Helpers every command module shares: error mapping, dates, JSON output.

May import: click, :mod:`tracker.errors`, :mod:`tracker.i18n`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from functools import wraps
from typing import Any, TypeVar

import click

from tracker.errors import MoneyError, TrackerError
from tracker.i18n import gettext as _

F = TypeVar("F", bound=Callable[..., Any])


def fail_cleanly(func: F) -> F:
    """Turn tracker's errors into a one-line message and exit code 1."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except TrackerError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper  # type: ignore[return-value]


def parse_date(value: str | None, option: str) -> date | None:
    """An ISO date option, or a usage error naming the option."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(_("expected a date like 2025-03-31"), param_hint=option) from None


def parse_goal(value: str | None) -> tuple[str, Decimal] | None:
    """``CUR=AMOUNT`` as a (currency, amount) pair."""
    if value is None:
        return None
    cur, sep, amount = value.partition("=")
    if not sep:
        raise click.BadParameter(_("expected CUR=AMOUNT, like EUR=5000"), param_hint="--goal")
    try:
        from tracker import money

        code = money.normalise_currency(cur)
        return code, money.parse_amount(amount, currency=code)
    except MoneyError as exc:
        raise click.BadParameter(str(exc), param_hint="--goal") from None


def print_json(data: Any) -> None:
    """JSON on stdout, keys in the order given."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False))
