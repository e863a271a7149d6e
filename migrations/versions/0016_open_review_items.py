"""open review items: the classification queue's own table, kept by the ledger's writer

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-24 23:00:00

One row per review item nothing resolves yet (see tracker/services/open_items.py),
filled here from the definition: an entry of kind unclassified or opening_balance,
or a refund or chargeback without a donation, that no live entry resolves.
"""
import sqlalchemy as sa
from alembic import op

import tracker.dbtypes

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

# Copied here (not imported) so the migration keeps meaning what it meant.
FILL = """
INSERT INTO open_review_items (entry_id, occurred_at, currency)
SELECT e.id, e.occurred_at, (
    SELECT min(p.currency) FROM postings AS p
    WHERE p.entry_id = e.id
      AND p.ledger_account_id = (SELECT f.ledger_account_id FROM funds AS f WHERE f.kind = 'review')
)
FROM journal_entries AS e
WHERE e.kind IN ('unclassified', 'opening_balance', 'refund', 'chargeback')
  AND (e.kind IN ('unclassified', 'opening_balance') OR e.donation_id IS NULL)
  AND NOT EXISTS (
    SELECT 1 FROM journal_entries AS r
    WHERE r.resolves_entry_id = e.id
      AND NOT EXISTS (SELECT 1 FROM journal_entries AS u WHERE u.resolves_entry_id = r.id)
  )
"""


def upgrade():
    op.create_table(
        'open_review_items',
        sa.Column('entry_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('occurred_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=True),
        sa.CheckConstraint('length(currency) = 3 AND upper(currency) = currency AND lower(currency) != currency', name=op.f('ck_open_review_items_currency_code')),
        sa.ForeignKeyConstraint(['entry_id'], ['journal_entries.id'], name=op.f('fk_open_review_items_entry_id_journal_entries')),
        sa.PrimaryKeyConstraint('entry_id', name=op.f('pk_open_review_items')),
    )
    op.create_index('ix_open_review_items_currency', 'open_review_items', ['currency'], unique=False)
    op.create_index('ix_open_review_items_time', 'open_review_items', ['occurred_at', 'entry_id'], unique=False)
    op.execute(FILL)


def downgrade():
    op.drop_index('ix_open_review_items_time', table_name='open_review_items')
    op.drop_index('ix_open_review_items_currency', table_name='open_review_items')
    op.drop_table('open_review_items')
