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
  checks each row against the match set, and fills after a short walk
  because matches are common.

:class:`Matches` carries either the ids or the row condition, and
:func:`restrict` applies it to a query. Both answers are the same rows; the
tests run every search both ways.

Note words go further: the note index keeps each word under its row's month
(:mod:`tracker.models.note_search`), and :func:`by_month` asks it one month at
a time, newest first. A probe finds the next month that matches (one query
for up to a year of months), and the page query reads that month alone, few
or many as above. So even the match set of a common word is one month's,
and a search costs the same in a table of a million lines as in one of a
month's: what grows is the number of months walked past without a match.

- PostgreSQL: GIN expression indexes over ``tracker_month_terms(to_tsvector
  ('simple', ...), time)``;
- SQLite: contentless FTS5 tables whose rowid is the row's id, the month
  before each word; the row condition walks the column (``+ 0``) so the
  month's time index drives the page.

May import: models, SQLAlchemy.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.models import Donation, StatementLine
from tracker.models.note_search import (
    DONATION_NOTES_FTS,
    DONATION_TERMS,
    LINE_NOTES_FTS,
    LINE_TERMS,
    month_key,
)

#: An index that names at most this many rows (of a month, for note words) has them read
#: by id; beyond it, the page walks the time index instead.
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


# --- note words, month by month ---------------------------------------------------------

#: Months probed by the first query of a walk (a common word is found in the newest month),
#: then by each further query (a year: a rare word is found in a few queries). A query stops at
#: the first month that matches; the batch only bounds how much PostgreSQL plans at once.
FIRST_BATCH = 1
BATCH = 12


@dataclass(frozen=True, slots=True)
class NoteIndex:
    """One note index, and the column of the searched query that holds the ids it names."""

    fts: str
    table: str
    terms: str
    column: Any


def line_notes(column: Any = StatementLine.id) -> NoteIndex:
    """The index of statement lines' notes; ``column`` names the line in the searched query."""
    return NoteIndex(LINE_NOTES_FTS, StatementLine.__tablename__, LINE_TERMS, column)


def donation_notes() -> NoteIndex:
    """The index of donations' own (private) notes."""
    return NoteIndex(DONATION_NOTES_FTS, Donation.__tablename__, DONATION_TERMS, Donation.id)


def _postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _match_sql(postgresql: bool, index: NoteIndex, param: str) -> str:
    """SQL naming the ids whose note has every word of ``:param`` (built by :func:`_match_words`)."""
    if postgresql:
        # the table under another name: the page query may have it in its FROM and must not
        # correlate with this; to_tsquery is the parser that made the index's lexemes
        terms = index.terms.format(table="note_matches")
        return f"SELECT id FROM {index.table} AS note_matches WHERE {terms} @@ to_tsquery('simple', :{param})"
    return f"SELECT rowid AS id FROM {index.fts} WHERE {index.fts} MATCH :{param}"


def _match_words(postgresql: bool, words: Sequence[str], month: str) -> str:
    """The query for every word as a prefix of the month's terms (words are letters and digits)."""
    if postgresql:
        return " & ".join(f"'{month}{w}':*" for w in words)
    # quoted, so AND, OR, NEAR are words
    return " ".join(f'"{month}{w}"*' for w in words)


def _first_month(
    session: Session, indexes: Sequence[NoteIndex], words: Sequence[str], months: Sequence[str]
) -> tuple[int, dict[int, list[int]]] | None:
    """The first of ``months`` whose notes match, with at most FEW + 1 ids per index that matches there.

    One query for a batch of months, month by month, each index in turn; it
    stops at the first month with a match (both engines run the parts of a
    UNION ALL in order and stop when the LIMIT is met), so a common word costs
    one month's probe whatever the batch. Plain SQL from module constants and
    integers (words are parameters): SQLAlchemy would spend longer building
    and keying a union of constructs than the probe takes.
    """
    postgresql = _postgresql(session)
    collect = "array_agg(id)" if postgresql else "json_group_array(id)"
    parts, params = [], {}
    for m, month in enumerate(months):
        for n, index in enumerate(indexes):
            param = f"words_{m}_{n}"
            params[param] = _match_words(postgresql, words, month)
            found = f"SELECT id FROM ({_match_sql(postgresql, index, param)}) AS found LIMIT {FEW + 1}"
            # one row per (month, index) that matches: its ids in one value
            parts.append(f"SELECT {m} AS m, {n} AS n, {collect} AS ids FROM ({found}) AS f HAVING count(*) > 0")
    # the first row's month may be followed by rows of later months (the LIMIT cuts them short)
    sql = f"SELECT m, n, ids FROM ({' UNION ALL '.join(parts)}) AS probe LIMIT {len(indexes)}"
    rows = session.execute(sa.text(sql), params).all()
    if not rows:
        return None
    first = rows[0].m
    return first, {r.n: list(r.ids if postgresql else json.loads(r.ids)) for r in rows if r.m == first}


def _month_condition(postgresql: bool, n: int, index: NoteIndex, words: Sequence[str], month: str, ids: list[int]) -> Any:
    """The index's matches in ``month`` as a condition on its column: few by id, many by membership.

    For many, the set is one month's matches, however many months the table
    holds, and the page follows the month's time index, checking each row
    against it: the column walked (``+ 0``: no index can drive it) on SQLite,
    the set kept whole on PostgreSQL.
    """
    if len(ids) <= FEW:
        return index.column.in_(ids)
    param = f"words_page_{n}"
    matched = sa.text(_match_sql(postgresql, index, param)).bindparams(**{param: _match_words(postgresql, words, month)})
    matched_ids = matched.columns(sa.column("id", sa.Integer))
    if postgresql:
        # inside COALESCE, PostgreSQL keeps the IN as a hashed set the walk checks each row
        # against; at the top of WHERE it would join every match (4k a month) and sort them
        return sa.func.coalesce(index.column.in_(matched_ids), sa.false())
    return (index.column + 0).in_(matched_ids)


def _month_start(at: datetime) -> datetime:
    at = at.astimezone(UTC)
    return datetime(at.year, at.month, 1, tzinfo=UTC)


def _step(first: datetime, newer: bool) -> datetime:
    """The first moment of the month after (``newer``) or before ``first``'s month."""
    month = first.year * 12 + first.month - 1 + (1 if newer else -1)
    return datetime(month // 12, month % 12 + 1, 1, tzinfo=UTC)


def by_month(
    session: Session,
    query: sa.Select[Any],
    time_col: Any,
    indexes: Sequence[NoteIndex],
    words: Sequence[str],
    *,
    limit: int,
    newer: bool,
    at: datetime | None,
    bounds: tuple[datetime | None, datetime | None],
) -> list[Any]:
    """Up to ``limit`` rows of an ordered ``query`` whose note (in any of ``indexes``) has every word.

    The walk starts at the month of ``at`` (the cursor), or at the newest row
    of ``time_col``'s table within ``bounds`` (from, to), and goes older
    (``newer``: newer) until the page is full or the table's rows end. A probe
    finds the next month that matches (one query for up to :data:`BATCH`
    months), and the page query reads that month's rows.
    """
    start, end = bounds
    within = [*([time_col >= start] if start else []), *([time_col < end] if end else [])]
    # one aggregate per subquery: each is then one step down the time index (SQLite scans for two)
    oldest, newest = session.execute(
        sa.select(
            sa.select(sa.func.min(time_col)).where(*within).scalar_subquery(),
            sa.select(sa.func.max(time_col)).where(*within).scalar_subquery(),
        )
    ).one()
    if oldest is None:
        return []
    first = _month_start(at or newest)
    last = _month_start(newest if newer else oldest)
    postgresql = _postgresql(session)
    if postgresql:
        # the probe takes the first month by the order of its UNION ALL's parts, which is the
        # order PostgreSQL runs them in unless parallel workers share them out (web requests
        # run without them already; imports, checks and tests may not)
        session.execute(sa.text("SET LOCAL max_parallel_workers_per_gather = 0"))
    rows: list[Any] = []
    batch = FIRST_BATCH
    while len(rows) < limit and (first <= last if newer else first >= last):
        months = [first]
        while len(months) < batch and months[-1] != last:
            months.append(_step(months[-1], newer))
        found = _first_month(session, indexes, words, [month_key(m) for m in months])
        batch = BATCH
        if found is None:
            first = _step(months[-1], newer)
            continue
        m, ids = found
        month = months[m]
        matched = sa.or_(*(_month_condition(postgresql, n, indexes[n], words, month_key(month), i) for n, i in ids.items()))
        page = query.where(matched, time_col >= month, time_col < _step(month, True)).limit(limit - len(rows))
        rows.extend(session.execute(page).all())
        first = _step(month, newer)
    return rows
