"""What the treasurer's dashboard shows: balances, what waits, last imports, next release.

Live figures, for treasurers only (never organisers or the public).

May import: models, services (totals, publishing).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.models import Account, Balance, BatchStatus, ImportBatch
from tracker.services import publishing, totals


@dataclass
class AccountLine:
    """One account's balances and its last import."""

    name: str
    kind: str
    balances: dict[str, Decimal] = field(default_factory=dict)
    last_import: datetime | None = None
    last_file: str | None = None
    #: "ok", "mismatch" or "no_balance" (the export had no balance column)
    balance_check: str | None = None


@dataclass
class Dashboard:
    """The dashboard's figures."""

    accounts: list[AccountLine]
    review: dict[str, Any]
    unclassified: dict[str, Any]
    due: list[tuple[date, date]]
    years_due: list[int]
    releases: int


def dashboard(session: Session, today: date | None = None) -> Dashboard:
    """Gather the dashboard (read-only)."""
    today = today or datetime.now(UTC).date()
    lines: dict[int, AccountLine] = {}
    for account in session.scalars(sa.select(Account).order_by(Account.name)):
        line = AccountLine(account.name, account.kind)
        for currency, amount in session.execute(
            sa.select(Balance.currency, Balance.amount).where(Balance.ledger_account_id == account.asset_ledger_id).order_by(Balance.currency)
        ):
            if amount:
                line.balances[currency] = amount
        batch = session.scalar(
            sa.select(ImportBatch)
            .where(ImportBatch.account_id == account.id, ImportBatch.status == BatchStatus.COMMITTED.value)
            .order_by(ImportBatch.id.desc())
            .limit(1)
        )
        if batch is not None:
            line.last_import, line.last_file = batch.committed_at, batch.filename
            check = batch.balance_check or {}
            line.balance_check = check.get("status") if isinstance(check, dict) else None
        lines[account.id] = line
    figures = totals.totals(session)
    return Dashboard(
        accounts=list(lines.values()),
        review=figures["review"],
        unclassified=figures["unclassified"],
        due=publishing.due_months(session, today),
        years_due=publishing.due_years(session),
        releases=publishing.chain_length(session),
    )
