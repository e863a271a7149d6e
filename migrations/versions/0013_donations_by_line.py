"""donations by statement line: every donation of a line, voided ones too (records search)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-24 18:00:00

"""
from alembic import op


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    # a plain index statement: no table rebuild on SQLite (the triggers stay)
    op.create_index('ix_donations_statement_line', 'donations', ['statement_line_id'], unique=False)


def downgrade():
    op.drop_index('ix_donations_statement_line', table_name='donations')
