"""Factories as fixtures: build accounts, prisoners, campaigns and money quickly.

Listed in ``pytest_plugins`` (never star-imported). Each factory call is its
own committed unit of work, like a treasurer's action.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

WHEN = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


class Books:
    """Helpers that write through the services, committing each step."""

    def __init__(self, session: Any) -> None:
        self.session = session

    def _uow(self) -> Any:
        from tracker.services import unit_of_work

        return unit_of_work()

    def account(self, name: str = "PayPal", kind: str = "paypal") -> Any:
        from tracker.models import Account
        from tracker.services.accounts import create_account

        existing = self.session.scalar(sa.select(Account).where(Account.name == name))
        if existing is not None:
            return existing
        with self._uow() as s:
            account = create_account(s, name, kind)
        return account

    def prisoner(self, slug: str, name: str | None = None, public: bool = True) -> Any:
        from tracker.services.campaigns import create_prisoner

        with self._uow() as s:
            prisoner = create_prisoner(s, slug, name or slug.title(), public=public)
        return prisoner

    def fund_of(self, slug: str) -> Any:
        from tracker.models import Fund, Prisoner

        return self.session.scalar(sa.select(Fund).join(Prisoner, Prisoner.id == Fund.prisoner_id).where(Prisoner.slug == slug))

    def campaign(self, tag: str, prisoners: dict[str, Decimal | int] | None = None, **options: Any) -> Any:
        from tracker.services.campaigns import PrisonerShare, create_campaign, get_prisoner

        shares = []
        for slug, weight in (prisoners or {}).items():
            try:
                get_prisoner(self.session, slug)
            except Exception:
                self.session.rollback()
                self.prisoner(slug)
            shares.append(PrisonerShare(slug, Decimal(weight)))
        with self._uow() as s:
            campaign = create_campaign(s, tag, options.pop("title", f"Campaign {tag}"), prisoners=shares, **options)
        return campaign

    def donation(
        self,
        gross: str | Decimal,
        *,
        fee: str | Decimal = "0",
        currency: str = "EUR",
        campaign: Any = None,
        general: bool = False,
        account: Any = None,
        when: datetime = WHEN,
        donor: str | None = None,
    ) -> Any:
        from tracker.models import Destination
        from tracker.services.donations import NewDonation, create_donation

        if campaign is not None:
            destination = Destination.CAMPAIGN
        elif general:
            destination = Destination.GENERAL
        else:
            destination = Destination.REVIEW
        account = account or self.account()
        with self._uow() as s:
            donation = create_donation(
                s,
                NewDonation(
                    account=account,
                    received_at=when,
                    currency=currency,
                    gross=Decimal(gross),
                    fee=Decimal(fee),
                    destination=destination,
                    campaign_id=campaign.id if campaign is not None else None,
                    donor_key=donor,
                ),
            )
        return donation

    def refund(self, donation: Any, amount: str | Decimal, fee_returned: str | Decimal = "0", **kw: Any) -> int:
        from tracker.services.donations import refund

        with self._uow() as s:
            entry_id = refund(s, donation, amount=Decimal(amount), fee_returned=Decimal(fee_returned), occurred_at=kw.pop("when", WHEN), **kw)
        return entry_id

    def check(self) -> Any:
        from tracker.services.checks import check_ledger

        report = check_ledger(self.session)
        self.session.rollback()
        return report


@pytest.fixture
def books(session: Any) -> Books:
    return Books(session)


def canonical_dump(session: Any) -> dict[str, Any]:
    """Sorted rows of the money tables plus row counts of every table (RELIABILITY.md)."""
    from tracker.extensions import db

    money_tables = ("postings", "balances", "donations", "journal_entries", "statement_lines", "disbursements")
    dump: dict[str, Any] = {}
    for name, table in sorted(db.metadata.tables.items()):
        if name in money_tables:
            rows = session.execute(sa.select(table)).all()
            dump[name] = sorted(tuple(str(v) for v in row) for row in rows)
        else:
            dump[name] = session.scalar(sa.select(sa.func.count()).select_from(table))
    session.rollback()
    return dump


@pytest.fixture
def published(app: Any, books: Books, tmp_path: Any) -> Any:
    """Books with distinctive donors imported from a PayPal export, January and February 2025 published."""
    from tests.web import public_seed

    public_seed.seed(books, tmp_path)
    public_seed.cut()
    return app
