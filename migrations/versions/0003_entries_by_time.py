"""index journal entries by time (balances as of a moment)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 22:30:00

"""
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_journal_entries_occurred_at', 'journal_entries', ['occurred_at'])


def downgrade():
    op.drop_index('ix_journal_entries_occurred_at', table_name='journal_entries')
