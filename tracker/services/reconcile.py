"""Reconciliation: the provider's running balance against ours (rule 6).

Per account and currency, walking the export in file order: the balance before
the file's first line must equal the ledger's balance at that moment, and each
line's balance must equal the previous one plus the line's net (ascending
files) or minus the previous line's net (newest-first files). Every booking
moves the asset by exactly the line's net, so agreement line by line means
the provider and the ledger agree everywhere. A mismatch is reported with the
line, both figures and the difference, never absorbed; the tolerance is zero.

May import: models, :mod:`tracker.money`, staging records.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker import money
from tracker.models import JournalEntry, Posting
from tracker.services.staging import Edge, StagedLine


@dataclass
class _Walk:
    ascending: bool
    previous: tuple[int, Decimal, Decimal] | None = None  # line, balance, net
    mismatch: dict[str, Any] | None = None
    checked: int = 0


@dataclass
class BalanceCheck:
    """The result per currency, JSON-ready through :meth:`as_dict`."""

    currencies: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether every currency agreed everywhere."""
        return all(c["status"] == "ok" for c in self.currencies.values())

    def as_dict(self) -> dict[str, Any]:
        """``{"status": ok|mismatch|no_balance, "currencies": {...}}``."""
        if not self.currencies:
            status = "no_balance"
        else:
            status = "ok" if self.ok else "mismatch"
        return {"status": status, "currencies": self.currencies}


def _s(value: Decimal, currency: str) -> str:
    return money.to_string(money.round_money(value, currency), currency)


def ledger_balance_before(session: Session, asset_ledger_id: int, currency: str, moment: datetime) -> Decimal:
    """The asset's balance from entries that happened strictly before ``moment``."""
    total = session.scalar(
        sa.select(sa.func.sum(Posting.amount))
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(
            Posting.ledger_account_id == asset_ledger_id,
            Posting.currency == currency,
            JournalEntry.occurred_at < moment,
        )
    )
    return total or money.ZERO


def check_running_balances(
    session: Session, asset_ledger_id: int, edges: dict[str, Edge], chunks: Iterable[list[StagedLine]]
) -> BalanceCheck:
    """Compare the export's running balance with the ledger, line by line."""
    result = BalanceCheck()
    walks: dict[str, _Walk] = {}
    for currency, edge in edges.items():
        assert edge.first is not None and edge.last is not None
        walks[currency] = _Walk(ascending=edge.first[1] <= edge.last[1])
    for chunk in chunks:
        for line in chunk:
            walk = walks.get(line.currency)
            if walk is None or walk.mismatch is not None or not line.booked or line.balance is None:
                continue
            if walk.previous is not None:
                prev_line, prev_balance, prev_net = walk.previous
                ours = prev_balance + line.net if walk.ascending else prev_balance - prev_net
                if ours != line.balance:
                    walk.mismatch = {
                        "line": line.line_no,
                        "previous_line": prev_line,
                        "provider": _s(line.balance, line.currency),
                        "ours": _s(ours, line.currency),
                        "delta": _s(line.balance - ours, line.currency),
                    }
            walk.previous = (line.line_no, line.balance, line.net)
            walk.checked += 1
    for currency, edge in edges.items():
        assert edge.first is not None and edge.last is not None
        walk = walks[currency]
        earliest = edge.first if walk.ascending else edge.last
        latest = edge.last if walk.ascending else edge.first
        line_no, moment, balance, net = earliest
        provider_start = balance - net
        ours_start = ledger_balance_before(session, asset_ledger_id, currency, moment)
        entry: dict[str, Any] = {
            "lines_checked": walk.checked,
            "order": "oldest first" if walk.ascending else "newest first",
            "start": {"line": line_no, "provider": _s(provider_start, currency), "ours": _s(ours_start, currency)},
            "end": {"line": latest[0], "provider": _s(latest[2], currency)},
        }
        problems = []
        if provider_start != ours_start:
            problems.append("start")
        if walk.mismatch is not None:
            entry["first_mismatch"] = walk.mismatch
            problems.append("running")
        entry["status"] = "mismatch" if problems else "ok"
        result.currencies[currency] = entry
    return result
