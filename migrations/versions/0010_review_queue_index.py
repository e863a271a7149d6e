"""review queue index: donations by destination, then time and id (keyset pages)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24 02:10:00

"""
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    # plain index statements: no table rebuild on SQLite (the note-search triggers stay)
    op.drop_index('ix_donations_destination', table_name='donations')
    op.create_index('ix_donations_destination_time', 'donations', ['destination', 'received_at', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_donations_destination_time', table_name='donations')
    op.create_index('ix_donations_destination', 'donations', ['destination'], unique=False)
