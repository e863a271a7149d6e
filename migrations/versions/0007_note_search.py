"""note search: full-text index over payment notes, line time index, audit purge permit

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 12:00:00

PostgreSQL gets GIN expression indexes ('simple' configuration); SQLite gets
contentless FTS5 tables kept in step by triggers (existing notes are indexed
here). The audit log stays append-only, except that the retention purge may
blank payloads while it holds the permit row (see tracker/models/note_search.py).
These objects are not models: tracker.models.note_search.include_name keeps
autogenerate and the schema test away from them.
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

# Copied here (not imported) so the migration keeps meaning what it meant.
LINE_TSVECTOR = "to_tsvector('simple'::regconfig, jsonb_path_query_array((texts)::jsonb, '$[*][1]'::jsonpath))"
DONATION_TSVECTOR = "to_tsvector('simple'::regconfig, COALESCE(note, ''::text))"
LINE_BODY = "(SELECT group_concat(json_extract(value, '$[1]'), ' ') FROM json_each({row}.texts))"
AUDIT_IDENTITY_SAME = (
    "NEW.id = OLD.id AND NEW.at = OLD.at AND NEW.actor = OLD.actor AND NEW.action = OLD.action "
    "AND NEW.object_type = OLD.object_type AND NEW.object_id IS NOT DISTINCT FROM OLD.object_id"
)


def _sqlite():
    return op.get_bind().dialect.name == "sqlite"


def _sqlite_fts():
    op.execute(
        "CREATE VIRTUAL TABLE statement_line_notes USING fts5("
        "body, content='', tokenize='unicode61 remove_diacritics 2')"
    )
    op.execute(
        "CREATE VIRTUAL TABLE donation_notes USING fts5("
        "body, content='', tokenize='unicode61 remove_diacritics 2')"
    )
    new_body, old_body = LINE_BODY.format(row="NEW"), LINE_BODY.format(row="OLD")
    add_line = f"INSERT INTO statement_line_notes(rowid, body) VALUES (NEW.id, {new_body});"
    # a contentless table forgets a row when told its exact old text
    drop_line = (
        "INSERT INTO statement_line_notes(statement_line_notes, rowid, body) "
        f"VALUES ('delete', OLD.id, {old_body});"
    )
    op.execute(
        "CREATE TRIGGER statement_line_notes_insert AFTER INSERT ON statement_lines "
        f"WHEN NEW.texts IS NOT NULL BEGIN {add_line} END"
    )
    op.execute(
        "CREATE TRIGGER statement_line_notes_forget BEFORE UPDATE OF texts ON statement_lines "
        f"WHEN OLD.texts IS NOT NULL BEGIN {drop_line} END"
    )
    op.execute(
        "CREATE TRIGGER statement_line_notes_update AFTER UPDATE OF texts ON statement_lines "
        f"WHEN NEW.texts IS NOT NULL BEGIN {add_line} END"
    )
    op.execute(
        "CREATE TRIGGER statement_line_notes_delete AFTER DELETE ON statement_lines "
        f"WHEN OLD.texts IS NOT NULL BEGIN {drop_line} END"
    )
    add_gift = "INSERT INTO donation_notes(rowid, body) VALUES (NEW.id, NEW.note);"
    drop_gift = "INSERT INTO donation_notes(donation_notes, rowid, body) VALUES ('delete', OLD.id, OLD.note);"
    op.execute(
        "CREATE TRIGGER donation_notes_insert AFTER INSERT ON donations "
        f"WHEN NEW.note IS NOT NULL BEGIN {add_gift} END"
    )
    op.execute(
        "CREATE TRIGGER donation_notes_forget BEFORE UPDATE OF note ON donations "
        f"WHEN OLD.note IS NOT NULL BEGIN {drop_gift} END"
    )
    op.execute(
        "CREATE TRIGGER donation_notes_update AFTER UPDATE OF note ON donations "
        f"WHEN NEW.note IS NOT NULL BEGIN {add_gift} END"
    )
    op.execute(
        "CREATE TRIGGER donation_notes_delete AFTER DELETE ON donations "
        f"WHEN OLD.note IS NOT NULL BEGIN {drop_gift} END"
    )
    op.execute(
        "INSERT INTO statement_line_notes(rowid, body) "
        f"SELECT id, {LINE_BODY.format(row='statement_lines')} FROM statement_lines WHERE texts IS NOT NULL"
    )
    op.execute("INSERT INTO donation_notes(rowid, body) SELECT id, note FROM donations WHERE note IS NOT NULL")


def _drop_sqlite_fts():
    for table in ("statement_line_notes", "donation_notes"):
        for action in ("insert", "forget", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_{action}")
        op.execute(f"DROP TABLE IF EXISTS {table}")


def _audit_guard():
    """Audit rows stay unchangeable, except payloads while the purge holds the permit."""
    op.execute("CREATE TABLE audit_purge_permit (id INTEGER PRIMARY KEY)")
    if _sqlite():
        op.execute("DROP TRIGGER audit_events_no_update")
        same = AUDIT_IDENTITY_SAME.replace("IS NOT DISTINCT FROM", "IS")
        op.execute(
            "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
            f"WHEN NOT (EXISTS (SELECT 1 FROM audit_purge_permit) AND {same}) "
            "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
        )
        return
    op.execute("DROP TRIGGER audit_events_append_only ON audit_events")
    op.execute(
        "CREATE FUNCTION tracker_audit_guard() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF TG_OP = 'UPDATE' AND EXISTS (SELECT 1 FROM audit_purge_permit) "
        f"AND {AUDIT_IDENTITY_SAME} THEN RETURN NEW; END IF; "
        "RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
    )
    op.execute(
        "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION tracker_audit_guard()"
    )


def _drop_audit_guard():
    if _sqlite():
        op.execute("DROP TRIGGER audit_events_no_update")
        op.execute(
            "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
            "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
        )
    else:
        op.execute("DROP TRIGGER audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION tracker_audit_guard()")
        op.execute(
            "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION tracker_refuse_change()"
        )
    op.execute("DROP TABLE audit_purge_permit")


def upgrade():
    with op.batch_alter_table('statement_lines', schema=None) as batch_op:
        batch_op.create_index('ix_statement_lines_occurred_at', ['occurred_at', 'id'], unique=False)
    if _sqlite():
        _sqlite_fts()
    else:
        op.execute(f"CREATE INDEX ix_statement_lines_note_search ON statement_lines USING gin ({LINE_TSVECTOR})")
        op.execute(f"CREATE INDEX ix_donations_note_search ON donations USING gin ({DONATION_TSVECTOR})")
    _audit_guard()


def downgrade():
    _drop_audit_guard()
    if _sqlite():
        _drop_sqlite_fts()
    else:
        op.execute("DROP INDEX ix_donations_note_search")
        op.execute("DROP INDEX ix_statement_lines_note_search")
    with op.batch_alter_table('statement_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_statement_lines_occurred_at')
