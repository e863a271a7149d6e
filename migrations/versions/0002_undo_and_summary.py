"""undo of batches: undone lines, voided donations, batch summary

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 21:00:00

"""
from alembic import op
import sqlalchemy as sa

import tracker.dbtypes


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('import_batches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('summary', sa.JSON(), nullable=True))
    with op.batch_alter_table('statement_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('undone_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('donations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('voided_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=True))
        batch_op.drop_constraint('uq_donations_statement_line_id', type_='unique')
        batch_op.create_index(
            'uq_donations_live_line', ['statement_line_id'], unique=True,
            sqlite_where=sa.text('voided_at IS NULL'), postgresql_where=sa.text('voided_at IS NULL'),
        )


def downgrade():
    with op.batch_alter_table('donations', schema=None) as batch_op:
        batch_op.drop_index('uq_donations_live_line')
        batch_op.create_unique_constraint('uq_donations_statement_line_id', ['statement_line_id'])
        batch_op.drop_column('voided_at')
    with op.batch_alter_table('statement_lines', schema=None) as batch_op:
        batch_op.drop_column('undone_at')
    with op.batch_alter_table('import_batches', schema=None) as batch_op:
        batch_op.drop_column('summary')
