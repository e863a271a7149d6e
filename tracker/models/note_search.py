"""Schema objects the migrations create outside the models: the note full-text index.

Payment notes (``StatementLine.texts``, ``Donation.note``) are searched only
through a full-text index, and the retention purge clears them from it:

- PostgreSQL: GIN indexes over ``to_tsvector('simple', ...)`` expressions (the
  'simple' configuration lower-cases without stemming, so Russian and English
  words both match as typed); the index follows the column by itself.
- SQLite: contentless FTS5 tables (``unicode61`` tokenizer, diacritics removed)
  kept in step with the columns by triggers, so every writer (bulk imports
  included) keeps them current and no copy of the note is stored beside them.

The audit log is append-only (triggers refuse UPDATE and DELETE); the one
exception is the retention purge, which may blank private text in payloads
while a row in :data:`AUDIT_PURGE_PERMIT` exists inside its own transaction.

Alembic's autogenerate and the schema test compare the models with the
database; :func:`include_name` tells them to leave these objects alone.

May import: nothing but the standard library.
"""

from __future__ import annotations

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

#: The text a PostgreSQL expression index covers; queries repeat it exactly so
#: the planner uses the index.
LINE_TSVECTOR = (
    "to_tsvector('simple'::regconfig, "
    "jsonb_path_query_array((statement_lines.texts)::jsonb, '$[*][1]'::jsonpath))"
)
DONATION_TSVECTOR = "to_tsvector('simple'::regconfig, COALESCE(donations.note, ''::text))"

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


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic's ``include_name`` hook: skip the note index's own objects."""
    return not (type_ in ("table", "index") and name in NON_MODEL_OBJECTS)
