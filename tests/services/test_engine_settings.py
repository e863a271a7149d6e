"""RELIABILITY.md C3: durability settings of each engine, and exact money storage."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from tracker.errors import MoneyError


def test_sqlite_pragmas_and_immediate_writes(app, session, engine_name) -> None:
    from tracker.extensions import db
    from tracker.services import unit_of_work

    if engine_name != "sqlite":
        assert db.engine.dialect.name == "postgresql"
        return
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2
    statements = []
    sa.event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    session.rollback()
    with unit_of_work() as s:
        s.execute(sa.text("SELECT 1"))
    assert "BEGIN IMMEDIATE" in statements


def test_postgresql_runs_pages_without_jit_or_parallel_workers(app, session, engine_name) -> None:
    """Web requests read a page: no JIT anywhere, no parallel workers inside a request."""
    from tracker.extensions import db

    if engine_name != "postgresql":
        assert db.engine.dialect.name == "sqlite"
        return
    session.rollback()
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW jit").scalar() == "off"
        # where the value outside a request comes from: the server (default or its configuration)
        outside = conn.exec_driver_sql("SELECT source FROM pg_settings WHERE name = 'max_parallel_workers_per_gather'").scalar()
    with app.test_request_context("/admin/"):
        assert session.scalar(sa.text("SHOW max_parallel_workers_per_gather")) == "0"
        session.rollback()
        assert session.scalar(sa.text("SHOW max_parallel_workers_per_gather")) == "0"  # every transaction
        session.rollback()
    assert outside in ("default", "configuration file")  # imports, checks and exports keep the server's


def test_money_round_trips_exactly_and_sums_as_integers(app, books, session) -> None:
    from tracker.models import Posting

    books.donation("0.10", general=True)
    books.donation("0.20", general=True)
    books.donation("12345678901.23", general=True)
    total = session.scalar(sa.select(sa.func.sum(Posting.amount)).where(Posting.amount > 0, Posting.role == "gross"))
    assert isinstance(total, Decimal)
    assert total == Decimal("12345678901.53")
    raw = session.execute(sa.text("SELECT amount FROM postings ORDER BY id LIMIT 1")).scalar()
    assert isinstance(raw, int) and raw == 1000


def test_money_type_refuses_floats_and_extra_precision() -> None:
    from tracker.dbtypes import Money

    money = Money()
    assert money.process_bind_param(Decimal("1.2345"), None) == 12345  # type: ignore[arg-type]
    for bad in (0.1, Decimal("1.23456"), Decimal("NaN")):
        try:
            money.process_bind_param(bad, None)  # type: ignore[arg-type]
        except MoneyError:
            continue
        raise AssertionError(f"{bad!r} was accepted")


def test_naive_datetimes_are_refused(app, books) -> None:
    from datetime import datetime

    import pytest

    with pytest.raises(ValueError, match="naive"):
        books.donation("1.00", general=True, when=datetime(2025, 1, 1))  # noqa: DTZ001
