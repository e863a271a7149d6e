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
    accounts = session.scalars(sa.select(Account).order_by(Account.name)).all()
    lines = {a.id: AccountLine(a.name, a.kind) for a in accounts}
    by_ledger = {a.asset_ledger_id: lines[a.id] for a in accounts}
    for ledger_id, currency, amount in session.execute(
        sa.select(Balance.ledger_account_id, Balance.currency, Balance.amount)
        .where(Balance.ledger_account_id.in_(list(by_ledger)), Balance.amount != Decimal(0))
        .order_by(Balance.currency)
    ):
        by_ledger[ledger_id].balances[currency] = amount
    last = (
        sa.select(sa.func.max(ImportBatch.id))
        .where(ImportBatch.status == BatchStatus.COMMITTED.value)
        .group_by(ImportBatch.account_id)
    )
    for batch in session.scalars(sa.select(ImportBatch).where(ImportBatch.id.in_(last))):
        line = lines[batch.account_id]
        line.last_import, line.last_file = batch.committed_at, batch.filename
        check = batch.balance_check or {}
        line.balance_check = check.get("status") if isinstance(check, dict) else None
    return Dashboard(
        accounts=[lines[a.id] for a in accounts],
        review=totals.waiting_for_review(session),
        unclassified=totals.unclassified(session),
        due=publishing.due_months(session, today),
        years_due=publishing.due_years(session),
        releases=publishing.chain_length(session),
    )
