"""instance copies

An instance copied to people (抄送): one row per person with the note, who copied it and when they read it.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 18:20:00
"""
import sqlalchemy as sa
from alembic import op

import engine.persistence.base

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'instance_copy',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=False),
        sa.Column('recipient', sa.String(length=120), nullable=False),
        sa.Column('via_group', sa.String(length=64), nullable=True),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('copied_by', sa.String(length=120), nullable=False),
        sa.Column('copied_at', engine.persistence.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('read_at', engine.persistence.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'],
                                name=op.f('fk_instance_copy_instance_id_process_instance')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_instance_copy')),
    )
    with op.batch_alter_table('instance_copy', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instance_copy_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index('ix_instance_copy_recipient', ['recipient', 'read_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('instance_copy', schema=None) as batch_op:
        batch_op.drop_index('ix_instance_copy_recipient')
        batch_op.drop_index(batch_op.f('ix_instance_copy_instance_id'))
    op.drop_table('instance_copy')
