"""import jobs: sealed uploads in chunks, and the background job table

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 10:00:00

"""
from alembic import op
import sqlalchemy as sa

import tracker.dbtypes


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'uploads',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('filename', sa.String(length=255), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('key_salt', sa.LargeBinary(length=32), nullable=False),
        sa.Column('chunks', sa.Integer(), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('created_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column('discarded_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_uploads_created_by_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_uploads')),
    )
    op.create_index(op.f('ix_uploads_sha256'), 'uploads', ['sha256'], unique=False)
    op.create_table(
        'upload_chunks',
        sa.Column('upload_id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['upload_id'], ['uploads.id'], name=op.f('fk_upload_chunks_upload_id_uploads'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('upload_id', 'seq', name=op.f('pk_upload_chunks')),
    )
    op.create_table(
        'jobs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('upload_id', sa.Integer(), nullable=True),
        sa.Column('params', sa.JSON(), nullable=False),
        sa.Column('phase', sa.String(length=16), nullable=False),
        sa.Column('done', sa.BigInteger(), nullable=False),
        sa.Column('total', sa.BigInteger(), nullable=False),
        sa.Column('result', sa.JSON(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('cancel_requested', sa.Boolean(), nullable=False),
        sa.Column('worker', sa.String(length=120), nullable=True),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('created_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column('started_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column('heartbeat_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column('finished_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('preview', 'import')", name=op.f('ck_jobs_job_kind')),
        sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed', 'cancelled')", name=op.f('ck_jobs_job_status')),
        sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_jobs_created_by_users')),
        sa.ForeignKeyConstraint(['upload_id'], ['uploads.id'], name=op.f('fk_jobs_upload_id_uploads'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs')),
    )
    op.create_index('ix_jobs_status_id', 'jobs', ['status', 'id'], unique=False)
    op.create_index(op.f('ix_jobs_upload_id'), 'jobs', ['upload_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_jobs_upload_id'), table_name='jobs')
    op.drop_index('ix_jobs_status_id', table_name='jobs')
    op.drop_table('jobs')
    op.drop_table('upload_chunks')
    op.drop_index(op.f('ix_uploads_sha256'), table_name='uploads')
    op.drop_table('uploads')
