"""published cells and the donations behind them

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 00:30:00

"""
from alembic import op
import sqlalchemy as sa

import tracker.dbtypes


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'publication_cells',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('publication_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=160), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('value', tracker.dbtypes.Money(), nullable=False),
        sa.Column('donors', sa.Integer(), nullable=False),
        sa.CheckConstraint('donors >= 1', name=op.f('ck_publication_cells_donors_positive')),
        sa.ForeignKeyConstraint(['publication_id'], ['publications.id'], name=op.f('fk_publication_cells_publication_id_publications')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_publication_cells')),
        sa.UniqueConstraint('publication_id', 'key', 'currency', name=op.f('uq_publication_cells_publication_id_key_currency')),
    )
    op.create_index(op.f('ix_publication_cells_publication_id'), 'publication_cells', ['publication_id'], unique=False)
    op.create_table(
        'published_donations',
        sa.Column('cell_id', sa.Integer(), nullable=False),
        sa.Column('donation_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['cell_id'], ['publication_cells.id'], name=op.f('fk_published_donations_cell_id_publication_cells')),
        sa.ForeignKeyConstraint(['donation_id'], ['donations.id'], name=op.f('fk_published_donations_donation_id_donations')),
        sa.PrimaryKeyConstraint('cell_id', 'donation_id', name=op.f('pk_published_donations')),
    )
    op.create_index('ix_published_donations_donation', 'published_donations', ['donation_id'], unique=False)


def downgrade():
    op.drop_index('ix_published_donations_donation', table_name='published_donations')
    op.drop_table('published_donations')
    op.drop_index(op.f('ix_publication_cells_publication_id'), table_name='publication_cells')
    op.drop_table('publication_cells')
