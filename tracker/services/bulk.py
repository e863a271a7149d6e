"""Bulk row writes on each engine's fastest path, inside the caller's transaction.

Imports write several rows per statement line (raw row, line, version,
donation, entry, postings). Going through the ORM or even Core's
``insert().values`` machinery costs more per row than the database itself, so
these helpers take plain dicts, convert each value once with the column's own
bind processor (so ``Money`` is still the scaled integer and ``UTCDateTime``
still refuses naive times), and hand the rows to the driver: PostgreSQL's
``COPY ... FROM STDIN`` (or ``executemany`` where a conflict clause is needed),
SQLite's ``executemany``.

Callers supply primary keys (see :func:`tracker.services.ledger.reserve_ids`),
so nothing needs RETURNING.

May import: SQLAlchemy, the standard library.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

_Processor = Callable[[Any], Any] | None


def _processors(table: sa.Table, columns: Sequence[str], dialect: Any) -> list[_Processor]:
    result: list[_Processor] = []
    for name in columns:
        column_type = table.c[name].type
        if isinstance(column_type, sa.JSON):
            result.append(_json)
        else:
            result.append(column_type._cached_bind_processor(dialect))  # noqa: SLF001 - SQLAlchemy's own per-dialect cache
    return result


def _defaults(table: sa.Table, given: Sequence[str]) -> dict[str, Any]:
    """Python-side column defaults for columns the rows leave out (one value per call)."""
    found: dict[str, Any] = {}
    for column in table.columns:
        default = column.default
        if column.name in given or default is None or getattr(default, "is_sequence", False):
            continue
        if default.is_callable:
            found[column.name] = default.arg(None)  # type: ignore[union-attr,operator]
        elif default.is_scalar:
            found[column.name] = default.arg  # type: ignore[union-attr]
    return found


def _json(value: Any) -> Any:
    return None if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _tuples(table: sa.Table, columns: Sequence[str], rows: Sequence[dict[str, Any]], dialect: Any) -> list[tuple[Any, ...]]:
    processors = _processors(table, columns, dialect)
    # Column by column: one tight loop per column instead of a branch per value.
    converted = []
    for name, process in zip(columns, processors, strict=True):
        values = [row.get(name) for row in rows]
        converted.append([process(v) for v in values] if process else values)
    return list(zip(*converted, strict=True))


def insert_rows(
    session: Session,
    table: sa.Table,
    rows: Sequence[dict[str, Any]],
    *,
    on_conflict_do_nothing: Sequence[str] | None = None,
) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table`` in bulk."""
    if not rows:
        return
    session.flush()
    columns = list(rows[0])
    defaults = _defaults(table, columns)
    if defaults:
        rows = [{**defaults, **row} for row in rows]
        columns += list(defaults)
    connection = session.connection()
    dialect = connection.dialect
    values = _tuples(table, columns, rows, dialect)
    names = ", ".join(columns)
    raw = connection.connection.dbapi_connection
    assert raw is not None
    if dialect.name == "postgresql" and not on_conflict_do_nothing:
        with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in values:
                copy.write_row(row)
        return
    mark = "%s" if dialect.name == "postgresql" else "?"
    sql = f"INSERT INTO {table.name} ({names}) VALUES ({', '.join(mark for _ in columns)})"
    if on_conflict_do_nothing:
        sql += f" ON CONFLICT ({', '.join(on_conflict_do_nothing)}) DO NOTHING"
    cursor = raw.cursor()
    try:
        cursor.executemany(sql, values)
    finally:
        cursor.close()


def update_rows(session: Session, table: sa.Table, key: str, rows: Sequence[dict[str, Any]]) -> None:
    """``UPDATE table SET ... WHERE key = ...`` for each dict (same keys in each)."""
    if not rows:
        return
    session.flush()
    columns = [c for c in rows[0] if c != key]
    connection = session.connection()
    dialect = connection.dialect
    values = _tuples(table, [*columns, key], rows, dialect)
    mark = "%s" if dialect.name == "postgresql" else "?"
    sql = f"UPDATE {table.name} SET {', '.join(f'{c} = {mark}' for c in columns)} WHERE {key} = {mark}"
    raw = connection.connection.dbapi_connection
    assert raw is not None
    cursor = raw.cursor()
    try:
        cursor.executemany(sql, values)
    finally:
        cursor.close()
