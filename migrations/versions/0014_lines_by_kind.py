"""lines by kind, then time and id: keyset pages of one kind of statement line

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-24 19:00:00

"""
from alembic import op


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    # a plain index statement: no table rebuild on SQLite (the note-search triggers stay)
    op.create_index('ix_statement_lines_kind_time', 'statement_lines', ['kind', 'occurred_at', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_statement_lines_kind_time', table_name='statement_lines')
