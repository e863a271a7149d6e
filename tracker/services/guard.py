"""Only the ledger's entry writer may write ledger rows.

Installs session events that refuse, with :class:`InvariantError`, any ORM
object or DML statement touching postings, journal entries or balances unless
it runs inside :func:`ledger_writer` (which only
:func:`tracker.services.ledger.write_entries` enters). The database adds
triggers that refuse UPDATE and DELETE on postings and entries outright.

May import: SQLAlchemy, :mod:`tracker.errors`, :mod:`tracker.models`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from tracker.errors import InvariantError

PROTECTED_TABLES = frozenset({"postings", "journal_entries", "balances", "donation_totals", "open_review_items"})

_inside_writer: ContextVar[bool] = ContextVar("tracker_ledger_writer", default=False)
_installed = False


@contextmanager
def ledger_writer() -> Iterator[None]:
    """Mark the current context as the ledger's entry writer."""
    token = _inside_writer.set(True)
    try:
        yield
    finally:
        _inside_writer.reset(token)


def _refuse_orm_objects(session: Session, _flush_context: Any, _instances: Any) -> None:
    if _inside_writer.get():
        return
    for obj in (*session.new, *session.dirty, *session.deleted):
        table = getattr(obj, "__tablename__", None)
        if table in PROTECTED_TABLES:
            raise InvariantError(
                f"{table} rows are written only by the ledger's entry writer"
            )


def _refuse_statements(state: ORMExecuteState) -> None:
    if _inside_writer.get() or not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(getattr(state.statement, "table", None), "name", None)
    if table in PROTECTED_TABLES:
        raise InvariantError(f"{table} rows are written only by the ledger's entry writer")


def install() -> None:
    """Register the session events once per process."""
    global _installed  # noqa: PLW0603 - one registration per process
    if _installed:
        return
    event.listen(Session, "before_flush", _refuse_orm_objects)
    event.listen(Session, "do_orm_execute", _refuse_statements)
    _installed = True
