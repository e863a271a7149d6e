"""The declarative base and the column types every model shares.

- :class:`Money`: exact money as a fixed-scale integer (scale 4) in the
  database and :class:`~decimal.Decimal` in Python, identical on SQLite and
  PostgreSQL (SQLAlchemy's ``Numeric`` goes through float on SQLite, and
  SQLite's ``SUM`` of REAL is float arithmetic; integers sum exactly).
- :class:`UTCDateTime`: refuses naive datetimes, stores UTC, returns aware UTC.
- :func:`currency_column`: a three-letter upper-case code, checked by the schema.

May import: SQLAlchemy, :mod:`tracker.money`, :mod:`tracker.errors`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, mapped_column, registry
from sqlalchemy.types import TypeDecorator

from tracker.errors import MoneyError
from tracker.money import DB_SCALE

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

_SCALE = Decimal(10) ** DB_SCALE


def to_scaled(value: Decimal | int) -> int:
    """Decimal money -> the integer stored (value * 10**4), refusing floats and rounding."""
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise MoneyError(f"money must be Decimal, not {type(value).__name__}")
    scaled = Decimal(value) * _SCALE
    if not scaled.is_finite() or scaled != scaled.to_integral_value():
        raise MoneyError(f"{value} has more than {DB_SCALE} decimal places")
    return int(scaled)


def from_scaled(units: int) -> Decimal:
    """The stored integer -> Decimal with exactly four decimal places."""
    return Decimal(int(units)).scaleb(-DB_SCALE)


class Money(TypeDecorator[Decimal]):
    """Exact money: BIGINT of 1/10000 units in the database, Decimal in Python.

    Values come back with four decimal places (``Decimal('12.5000')``); compare
    them numerically or quantise them to the currency for display. SQL ``SUM``
    over this type stays integer arithmetic on both engines and comes back
    through the same conversion.
    """

    impl = sa.BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | int | None, dialect: Dialect) -> int | None:
        """Python -> database."""
        return None if value is None else to_scaled(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        """Database -> Python; SUM can come back as Decimal on PostgreSQL."""
        if value is None:
            return None
        if isinstance(value, Decimal):
            if value != value.to_integral_value():  # pragma: no cover - schema forbids it
                raise MoneyError("stored money is not an integer count of 1/10000 units")
            value = int(value)
        if not isinstance(value, int):
            raise MoneyError(f"stored money must be an integer, got {type(value).__name__}")
        return from_scaled(value)

    @property
    def python_type(self) -> type[Decimal]:
        """Decimal, never float."""
        return Decimal


class Weight(Money):
    """A positive allocation weight: same exact fixed-scale storage as money."""

    cache_ok = True


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp in UTC; naive datetimes are refused, results are aware UTC."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive values; store UTC (naive on SQLite, aware on PostgreSQL)."""
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime refused: pass an aware datetime (UTC)")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return aware UTC whatever the engine gave back."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """The shared declarative base with a naming convention for constraints."""

    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={Decimal: Money(), datetime: UTCDateTime()},
    )


def currency_column(**kwargs: Any) -> Any:
    """A ``CHAR(3)``-like column holding an upper-case ISO 4217 code."""
    return mapped_column(sa.String(3), nullable=kwargs.pop("nullable", False), **kwargs)


def currency_check(column: str = "currency", table_label: str = "currency") -> sa.CheckConstraint:
    """CHECK that ``column`` is three upper-case letters (works on both engines)."""
    return sa.CheckConstraint(
        f"length({column}) = 3 AND upper({column}) = {column} AND lower({column}) != {column}",
        name=f"{table_label}_code",
    )


def enum_check(column: str, values: Any, name: str) -> sa.CheckConstraint:
    """CHECK that ``column`` holds one of ``values`` (a StrEnum or strings)."""
    allowed = ", ".join(f"'{getattr(v, 'value', v)}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({allowed})", name=name)
