"""Accounts: where money sits (PayPal, Stripe, bank, cash box).

May import: models, :mod:`tracker.services.ledger`, :mod:`tracker.services.audit`.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.errors import Conflict, NotFound
from tracker.models import Account, LedgerKind
from tracker.records import Provider
from tracker.services import audit, unit_of_work
from tracker.services.ledger import new_ledger_account

_NAME_RE = re.compile(r"^[^\x00-\x1f]{1,80}$")


def create_account(session: Session, name: str, kind: Provider | str) -> Account:
    """Create an account with its asset and in-transit ledger accounts (flush only)."""
    name = name.strip()
    if not _NAME_RE.match(name):
        raise Conflict("an account name is 1 to 80 printable characters")
    provider = Provider(kind)
    if session.scalar(sa.select(Account.id).where(Account.name == name)) is not None:
        raise Conflict(f"an account named {name!r} already exists")
    asset = new_ledger_account(session, LedgerKind.ASSET, f"asset:{name}")
    transit = new_ledger_account(session, LedgerKind.TRANSIT, f"transit:{name}")
    account = Account(
        name=name,
        kind=provider.value,
        asset_ledger_id=asset.id,
        transit_ledger_id=transit.id,
        settings={},
    )
    session.add(account)
    session.flush()
    audit.record(session, "account.add", "account", account.id, after={"name": name, "kind": provider.value})
    return account


def add_account(name: str, kind: Provider | str) -> Account:
    """Create an account (one unit of work)."""
    with unit_of_work() as session:
        return create_account(session, name, kind)


def get_account(session: Session, name: str) -> Account:
    """The account with this name, or :class:`NotFound`."""
    account = session.scalar(sa.select(Account).where(Account.name == name))
    if account is None:
        raise NotFound(f"no account named {name!r}")
    return account
