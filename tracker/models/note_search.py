"""Schema objects the migrations create outside the models: the note full-text index.

Payment notes (``StatementLine.texts``, ``Donation.note``) are searched only
through a full-text index, and the retention purge clears them from it.

The index is partitioned by month: each word is indexed as the month of its
row (UTC, ``YYYYMM``) followed by the word, so ``202611solidarity``. A search
asks for one month's words at a time, newest first, and reads only that
month's matches: a word in every tenth note of a million lines costs what it
costs in one month, not what it costs in all of them
(:mod:`tracker.services.search_plans` walks the months).

- PostgreSQL: GIN indexes over ``tracker_month_terms(to_tsvector('simple',
  ...), time)``, a SQL function that puts the month before each lexeme (the
  'simple' configuration lower-cases without stemming, so Russian and English
  words both match as typed); the index follows the columns by itself.
- SQLite: contentless FTS5 tables (``unicode61`` tokenizer, diacritics removed)
  kept in step with the columns by triggers, so every writer (bulk imports
  included) keeps them current and no copy of the note is stored beside them.
  The triggers call :func:`month_terms`, which every connection of the app
  registers (``tracker_month_terms``).

The audit log is append-only (triggers refuse UPDATE and DELETE); the one
exception is the retention purge, which may blank private text in payloads
while a row in :data:`AUDIT_PURGE_PERMIT` exists inside its own transaction.

Alembic's autogenerate and the schema test compare the models with the
database; :func:`include_name` tells them to leave these objects alone.

May import: nothing but the standard library.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

#: SQLite FTS5 table over statement lines' note texts (rowid = statement_lines.id).
LINE_NOTES_FTS = "statement_line_notes"
#: SQLite FTS5 table over donations' private notes (rowid = donations.id).
DONATION_NOTES_FTS = "donation_notes"
#: PostgreSQL expression indexes.
LINE_NOTES_INDEX = "ix_statement_lines_note_search"
DONATION_NOTES_INDEX = "ix_donations_note_search"
#: A one-row table that exists only inside a purge's transaction (both engines).
AUDIT_PURGE_PERMIT = "audit_purge_permit"

#: The function (both engines) that puts a row's month before each of its words.
MONTH_TERMS = "tracker_month_terms"
#: The expression a PostgreSQL GIN index covers, ``{table}`` the name the query
#: gives the table; queries repeat it exactly so the planner uses the index.
LINE_TERMS = (
    "tracker_month_terms(to_tsvector('simple'::regconfig, "
    "jsonb_path_query_array(({table}.texts)::jsonb, '$[*][1]'::jsonpath)), {table}.occurred_at)"
)
DONATION_TERMS = (
    "tracker_month_terms(to_tsvector('simple'::regconfig, COALESCE({table}.note, ''::text)), {table}.received_at)"
)

#: A word as the FTS5 ``unicode61`` tokenizer and PostgreSQL's parser split
#: them: letters and digits of any script (the underscore separates).
WORD = re.compile(r"[^\W_]+")

_FTS5_SHADOWS = ("data", "idx", "content", "docsize", "config")

#: Every table and index name that belongs to the note index, not to a model.
NON_MODEL_OBJECTS = frozenset(
    {
        LINE_NOTES_FTS,
        DONATION_NOTES_FTS,
        *(f"{LINE_NOTES_FTS}_{s}" for s in _FTS5_SHADOWS),
        *(f"{DONATION_NOTES_FTS}_{s}" for s in _FTS5_SHADOWS),
        LINE_NOTES_INDEX,
        DONATION_NOTES_INDEX,
        AUDIT_PURGE_PERMIT,
    }
)


def month_key(at: datetime) -> str:
    """The month a moment belongs to in the index: ``YYYYMM``, in UTC."""
    at = at.astimezone(UTC)
    return f"{at.year:04d}{at.month:02d}"


def month_terms(body: str | None, at: str | None) -> str | None:
    """SQLite's ``tracker_month_terms``: each word of ``body`` after the month of ``at``.

    ``at`` is the column as SQLite stores it (``YYYY-MM-DD HH:MM:SS...``, UTC).
    Case and diacritics are left to the tokenizer, which folds the whole term.
    """
    if body is None or at is None:
        return None
    month = at[:4] + at[5:7]
    if len(month) != 6 or not month.isdigit():
        raise ValueError(f"not a stored time: {at!r}")
    return " ".join(month + word for word in WORD.findall(body))


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic's ``include_name`` hook: skip the note index's own objects."""
    return not (type_ in ("table", "index") and name in NON_MODEL_OBJECTS)
