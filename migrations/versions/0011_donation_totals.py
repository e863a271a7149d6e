"""donation totals: running figures per destination, campaign and currency

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24 10:00:00

"""
from alembic import op
import sqlalchemy as sa

import tracker.dbtypes


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

# Filled from the books as they stand (amounts are scaled integers in both
# engines, so the sums are exact); from here on the ledger service keeps it.
BACKFILL = """
INSERT INTO donation_totals (destination, campaign_key, currency, donations, gross, raised, fees, review_held)
SELECT destination, campaign_key, currency, SUM(n), SUM(g), SUM(r), SUM(f), SUM(h) FROM (
    SELECT d.destination AS destination, COALESCE(d.campaign_id, 0) AS campaign_key, d.currency AS currency,
           CASE WHEN d.voided_at IS NULL THEN 1 ELSE 0 END AS n,
           CASE WHEN d.voided_at IS NULL THEN d.gross ELSE 0 END AS g,
           0 AS r, 0 AS f, 0 AS h
    FROM donations d
    UNION ALL
    SELECT d.destination, COALESCE(d.campaign_id, 0), p.currency, 0, 0,
           CASE WHEN p.role IN ('gross', 'refund') THEN -p.amount ELSE 0 END,
           CASE WHEN p.role = 'fee' THEN p.amount ELSE 0 END,
           CASE WHEN f.kind = 'review' THEN p.amount ELSE 0 END
    FROM postings p
    JOIN journal_entries e ON e.id = p.entry_id
    JOIN donations d ON d.id = e.donation_id
    JOIN ledger_accounts la ON la.id = p.ledger_account_id
    LEFT JOIN funds f ON f.ledger_account_id = p.ledger_account_id
    WHERE la.kind = 'fund'
) AS parts
GROUP BY destination, campaign_key, currency
"""


def upgrade():
    op.create_table('donation_totals',
    sa.Column('destination', sa.String(length=16), nullable=False),
    sa.Column('campaign_key', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('donations', sa.BigInteger(), nullable=False),
    sa.Column('gross', tracker.dbtypes.Money(), nullable=False),
    sa.Column('raised', tracker.dbtypes.Money(), nullable=False),
    sa.Column('fees', tracker.dbtypes.Money(), nullable=False),
    sa.Column('review_held', tracker.dbtypes.Money(), nullable=False),
    sa.CheckConstraint('length(currency) = 3 AND upper(currency) = currency AND lower(currency) != currency', name=op.f('ck_donation_totals_currency_code')),
    sa.CheckConstraint("destination IN ('campaign', 'general', 'review')", name=op.f('ck_donation_totals_destination')),
    sa.PrimaryKeyConstraint('destination', 'campaign_key', 'currency', name=op.f('pk_donation_totals'))
    )
    op.execute(BACKFILL)


def downgrade():
    op.drop_table('donation_totals')
