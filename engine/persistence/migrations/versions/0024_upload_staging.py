"""upload staging

Uploaded definition files waiting between "validate" and "deploy" (issue #18): in the database, so that no web
server keeps them on its own disk. One row per upload (the user, the SHA-256 of its token, when it expires) and
one per file.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05 22:20:00
"""
import sqlalchemy as sa
from alembic import op

import engine.persistence.base

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'staged_upload',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_sha256', sa.String(length=64), nullable=False),
        sa.Column('username', sa.String(length=120), nullable=False),
        sa.Column('created_at', engine.persistence.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', engine.persistence.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_staged_upload')),
        sa.UniqueConstraint('token_sha256', name=op.f('uq_staged_upload_token_sha256')),
    )
    with op.batch_alter_table('staged_upload', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staged_upload_username'), ['username'], unique=False)
        batch_op.create_index(batch_op.f('ix_staged_upload_expires_at'), ['expires_at'], unique=False)
    op.create_table(
        'staged_upload_file',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('upload_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['upload_id'], ['staged_upload.id'], ondelete='CASCADE',
                                name=op.f('fk_staged_upload_file_upload_id_staged_upload')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_staged_upload_file')),
        sa.UniqueConstraint('upload_id', 'position', name=op.f('uq_staged_upload_file_upload_id')),
    )
    with op.batch_alter_table('staged_upload_file', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staged_upload_file_upload_id'), ['upload_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('staged_upload_file', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staged_upload_file_upload_id'))
    op.drop_table('staged_upload_file')
    with op.batch_alter_table('staged_upload', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staged_upload_expires_at'))
        batch_op.drop_index(batch_op.f('ix_staged_upload_username'))
    op.drop_table('staged_upload')
