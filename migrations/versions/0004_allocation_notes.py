"""public notes on re-allocations

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 23:30:00

"""
from alembic import op
import sqlalchemy as sa

import tracker.dbtypes


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'allocation_notes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('public_note', sa.Text(), nullable=False),
        sa.Column('donations', sa.Integer(), nullable=False),
        sa.Column('created_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column('created_by', sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_allocation_notes_campaign_id_campaigns')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_allocation_notes')),
    )
    op.create_index(op.f('ix_allocation_notes_campaign_id'), 'allocation_notes', ['campaign_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_allocation_notes_campaign_id'), table_name='allocation_notes')
    op.drop_table('allocation_notes')
