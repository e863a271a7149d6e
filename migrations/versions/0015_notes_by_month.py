"""notes by month: the note full-text index keeps each word under its row's month

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-24 21:00:00

Each word is indexed as the row's month (UTC, YYYYMM) followed by the word, so
a search reads one month's matches at a time, newest first, instead of every
match of a common word (see tracker/models/note_search.py).

- PostgreSQL: a SQL function tracker_month_terms(tsvector, timestamptz) puts
  the month before each lexeme; the two GIN indexes are rebuilt over it.
- SQLite: the FTS5 tables are rebuilt, their triggers calling
  tracker_month_terms(body, time), which the app registers on each connection
  (this migration registers its own copy on its connection).
"""
import re

from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

# Copied here (not imported) so the migration keeps meaning what it meant.
LINE_TSVECTOR = "to_tsvector('simple'::regconfig, jsonb_path_query_array((texts)::jsonb, '$[*][1]'::jsonpath))"
DONATION_TSVECTOR = "to_tsvector('simple'::regconfig, COALESCE(note, ''::text))"
LINE_BODY = "(SELECT group_concat(json_extract(value, '$[1]'), ' ') FROM json_each({row}.texts))"
WORD = re.compile(r"[^\W_]+")
TABLES = {
    # FTS5 table: (indexed table, note expression for a row, time column)
    "statement_line_notes": ("statement_lines", "texts", LINE_BODY, "occurred_at"),
    "donation_notes": ("donations", "note", "{row}.note", "received_at"),
}
INDEXES = {
    "ix_statement_lines_note_search": ("statement_lines", LINE_TSVECTOR, "occurred_at"),
    "ix_donations_note_search": ("donations", DONATION_TSVECTOR, "received_at"),
}


def _sqlite():
    return op.get_bind().dialect.name == "sqlite"


def _month_terms(body, at):
    if body is None or at is None:
        return None
    month = at[:4] + at[5:7]
    if len(month) != 6 or not month.isdigit():
        raise ValueError(f"not a stored time: {at!r}")
    return " ".join(month + word for word in WORD.findall(body))


def _sqlite_fts(by_month):
    """(Re)create both FTS5 tables and their triggers, and index the notes there are."""
    if by_month:
        op.get_bind().connection.driver_connection.create_function(
            "tracker_month_terms", 2, _month_terms, deterministic=True
        )
    for fts, (table, column, body, at) in TABLES.items():
        for action in ("insert", "forget", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {fts}_{action}")
        op.execute(f"DROP TABLE IF EXISTS {fts}")
        op.execute(f"CREATE VIRTUAL TABLE {fts} USING fts5(body, content='', tokenize='unicode61 remove_diacritics 2')")

        def terms(row):
            text = body.format(row=row)
            return f"tracker_month_terms({text}, {row}.{at})" if by_month else text

        add = f"INSERT INTO {fts}(rowid, body) VALUES (NEW.id, {terms('NEW')});"
        # a contentless table forgets a row when told its exact old terms
        drop = f"INSERT INTO {fts}({fts}, rowid, body) VALUES ('delete', OLD.id, {terms('OLD')});"
        op.execute(f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} WHEN NEW.{column} IS NOT NULL BEGIN {add} END")
        op.execute(
            f"CREATE TRIGGER {fts}_forget BEFORE UPDATE OF {column}, {at} ON {table} "
            f"WHEN OLD.{column} IS NOT NULL BEGIN {drop} END"
        )
        op.execute(
            f"CREATE TRIGGER {fts}_update AFTER UPDATE OF {column}, {at} ON {table} "
            f"WHEN NEW.{column} IS NOT NULL BEGIN {add} END"
        )
        op.execute(f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} WHEN OLD.{column} IS NOT NULL BEGIN {drop} END")
        op.execute(f"INSERT INTO {fts}(rowid, body) SELECT id, {terms(table)} FROM {table} WHERE {column} IS NOT NULL")


def _postgresql_indexes(by_month):
    if by_month:
        # STRICT: no note, no terms; IMMUTABLE: the month is read in UTC, whatever the session's zone
        op.execute(
            "CREATE FUNCTION tracker_month_terms(tsvector, timestamptz) RETURNS tsvector "
            "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 1000 AS $$ "
            "SELECT array_to_tsvector(ARRAY(SELECT to_char($2 AT TIME ZONE 'UTC', 'YYYYMM') || t.lexeme "
            "FROM unnest($1) AS t(lexeme, positions, weights))) $$"
        )
    for name, (table, tsvector, at) in INDEXES.items():
        op.execute(f"DROP INDEX {name}")
        expression = f"tracker_month_terms({tsvector}, {at})" if by_month else tsvector
        op.execute(f"CREATE INDEX {name} ON {table} USING gin ({expression})")
    if not by_month:
        op.execute("DROP FUNCTION tracker_month_terms(tsvector, timestamptz)")


def upgrade():
    if _sqlite():
        _sqlite_fts(by_month=True)
    else:
        _postgresql_indexes(by_month=True)


def downgrade():
    if _sqlite():
        _sqlite_fts(by_month=False)
    else:
        _postgresql_indexes(by_month=False)
