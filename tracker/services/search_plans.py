"""Where a records search starts: the selective indexes first, then time.

A transaction id (its keyed hash) and words of a note find rows through an
index that knows nothing of time, while a page lists rows newest first. Left
to itself, a planner has to guess how many rows a word matches, and guesses
badly both ways: a rare word walked down the whole time index (PostgreSQL
read 200k lines to find three), a common one read every match to sort them.
So the search first asks that index for at most :data:`FEW` + 1 ids:

- **few** (a transaction id, a rare word): the page reads just those rows by
  primary key and sorts them, whatever the table's size;
- **many** (a word in every tenth note): the page walks the time index and
  checks each row, and fills after a short walk because matches are common.

:class:`Matches` carries either the ids or the row condition, and
:func:`restrict` applies it to a query. Both answers are the same rows; the
tests run every search both ways.

- PostgreSQL: GIN expression indexes over ``to_tsvector('simple', ...)``
  (:mod:`tracker.models.note_search`); the row condition is the same match
  through ``ts_match_vq``, evaluated on the row in hand.
- SQLite: contentless FTS5 tables whose rowid is the row's id; the row
  condition is membership in the FTS5 match.

May import: models, SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.models import Donation, StatementLine
from tracker.models.note_search import (
    DONATION_NOTES_FTS,
    DONATION_TSVECTOR,
    LINE_NOTES_FTS,
    LINE_TSVECTOR,
)

#: An index that names at most this many rows has them read by id; beyond it,
#: the page walks the time index instead.
FEW = 1000


@dataclass(frozen=True, slots=True)
class Matches:
    """The rows an index names: their ``ids`` when few, else ``condition`` on the row in hand."""

    ids: list[int] | None
    condition: Any


def _probe(session: Session, ids: Any, condition: Any) -> Matches:
    """Read at most FEW + 1 of the ids the select names; more means "many"."""
    found = list(session.scalars(sa.select(ids.c[0]).select_from(ids).limit(FEW + 1)))
    return Matches(found if len(found) <= FEW else None, condition)


def restrict(query: sa.Select[Any], column: Any, matches: Matches) -> sa.Select[Any]:
    """``query`` narrowed to the matching rows, ``column`` holding their ids."""
    return query.where(_condition(column, matches))


def either(query: sa.Select[Any], first: tuple[Any, Matches], second: tuple[Any, Matches]) -> sa.Select[Any]:
    """``query`` narrowed to rows that match either way: (id column, matches) each."""
    return query.where(sa.or_(_condition(*first), _condition(*second)))


def _condition(column: Any, matches: Matches) -> Any:
    if matches.ids is None:
        return matches.condition
    return column.in_(matches.ids) if matches.ids else sa.false()


# --- transaction ids ---------------------------------------------------------------------


def lines_by_txn(session: Session, digest: str, *, references: bool) -> Matches:
    """Statement lines whose transaction id hashes to ``digest`` (or that name it as their reference)."""
    keys = [StatementLine.txn_key == digest]
    if references:
        keys.append(StatementLine.ref_key == digest)
    # one indexed lookup per key, then a union: no engine has to combine two indexes itself
    ids = sa.union(*(sa.select(StatementLine.id).where(k) for k in keys)).subquery()
    return _probe(session, ids, sa.or_(*keys))


# --- note words --------------------------------------------------------------------------


def _fts5_query(words: Sequence[str]) -> str:
    # each word quoted (so AND, OR, NEAR are words) and a prefix; all must match
    return " ".join('"' + w.replace('"', "") + '"*' for w in words)


def _tsquery(words: Sequence[str]) -> Any:
    # \w+ words cannot contain quotes or operators; quoted anyway
    text = " & ".join("'" + w.replace("'", "") + "':*" for w in words)
    return sa.func.to_tsquery(sa.literal_column("'simple'::regconfig"), sa.literal(text))


def _postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _walked(column: Any) -> Any:
    """The column as an expression SQLite cannot drive a plan with (``+ 0``).

    For many matches, SQLite would otherwise read every match by id and sort
    them all; as an expression, the match list becomes a set the walk down
    the time index checks each row against.
    """
    return column + 0


def _probe_tsvector(session: Session, id_column: Any, tsvector: str, words: Sequence[str]) -> Matches:
    """PostgreSQL: ids through the GIN index; for many, ``ts_match_vq`` checks the row in hand.

    ``ts_match_vq`` is the function behind ``@@``. An index serves operators,
    not function calls, so the planner cannot swap the walk for a bitmap of
    every match and a sort (it expects few rows for two words, whatever they
    are: 105 ms for two common words on 195k lines, against 1 ms walked).
    """
    query = _tsquery(words)
    ids = sa.select(id_column).where(sa.literal_column(tsvector).op("@@")(query)).subquery()
    return _probe(session, ids, sa.func.ts_match_vq(sa.literal_column(tsvector), query))


def _fts5_ids(table: str, words: Sequence[str]) -> Any:
    return (
        sa.text(f"SELECT rowid FROM {table} WHERE {table} MATCH :{table}_words")
        .bindparams(**{f"{table}_words": _fts5_query(words)})
        .columns(sa.column("rowid", sa.Integer))
    )


def lines_by_words(session: Session, words: Sequence[str], line_id: Any = StatementLine.id) -> Matches:
    """Statement lines whose note has every word (as a prefix); ``line_id`` is the column naming the line.

    On PostgreSQL the row condition reads ``statement_lines.texts``, so the
    query must have the lines' table itself in its FROM (joined, not aliased).
    """
    if _postgresql(session):
        return _probe_tsvector(session, StatementLine.id, LINE_TSVECTOR, words)
    ids = _fts5_ids(LINE_NOTES_FTS, words)
    return _probe(session, ids.subquery(), _walked(line_id).in_(ids))


def donations_by_words(session: Session, words: Sequence[str]) -> Matches:
    """Donations whose own (private) note has every word."""
    if _postgresql(session):
        return _probe_tsvector(session, Donation.id, DONATION_TSVECTOR, words)
    ids = _fts5_ids(DONATION_NOTES_FTS, words)
    return _probe(session, ids.subquery(), _walked(Donation.id).in_(ids))
