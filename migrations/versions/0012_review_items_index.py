"""review items index: entries whose money waits in the review fund, by kind, time and id

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-24 12:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

# the predicate of tracker.services.review_items.waiting_clause, word for word, so
# that both engines match the queue's queries to this (small) index
WAITING = (
    "kind IN ('unclassified', 'opening_balance', 'refund', 'chargeback')"
    " AND (kind IN ('unclassified', 'opening_balance') OR donation_id IS NULL)"
)


def upgrade():
    # a plain index statement: no table rebuild on SQLite (the ledger's triggers stay)
    op.create_index(
        'ix_journal_entries_waiting', 'journal_entries', ['kind', 'occurred_at', 'id'], unique=False,
        sqlite_where=sa.text(WAITING), postgresql_where=sa.text(WAITING),
    )


def downgrade():
    op.drop_index('ix_journal_entries_waiting', table_name='journal_entries')
