"""attachments on instances and tasks

A row per attached file (its sniffed media type, size, SHA-256 and where its bytes are), and the bytes of the
files (and their thumbnails) kept in the database when the database is the store.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 19:10:00
"""
import sqlalchemy as sa
from alembic import op

import engine.persistence.base

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'attachment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=False),
        sa.Column('task_id', sa.String(length=36), nullable=True),
        sa.Column('filename', sa.String(length=255), nullable=False),
        sa.Column('media_type', sa.String(length=120), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('storage', sa.String(length=8), nullable=False),
        sa.Column('storage_key', sa.String(length=80), nullable=False),
        sa.Column('thumbnail_key', sa.String(length=80), nullable=True),
        sa.Column('uploaded_by', sa.String(length=120), nullable=False),
        sa.Column('uploaded_at', engine.persistence.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'],
                                name=op.f('fk_attachment_instance_id_process_instance')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_attachment')),
    )
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachment_instance_id'), ['instance_id'], unique=False)
    op.create_table(
        'attachment_blob',
        sa.Column('key', sa.String(length=80), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_attachment_blob')),
    )


def downgrade() -> None:
    op.drop_table('attachment_blob')
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachment_instance_id'))
    op.drop_table('attachment')
