"""call log

The call log of 第七条 (#17): every incoming call, answered or missed, posted by the phone system or recorded by
staff; a missed call keeps the id of the missed_call_return instance that returns it.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05 22:20:00
"""
import sqlalchemy as sa
from alembic import op

import engine.persistence.base

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'call_record',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('caller', sa.String(length=120), nullable=False),
        sa.Column('customer', sa.String(length=200), nullable=True),
        sa.Column('at', engine.persistence.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.Column('agent', sa.String(length=120), nullable=True),
        sa.Column('duration_s', sa.Integer(), nullable=True),
        sa.Column('external_id', sa.String(length=120), nullable=True),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('recorded_by', sa.String(length=120), nullable=False),
        sa.Column('recorded_at', engine.persistence.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('return_instance_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['return_instance_id'], ['process_instance.id'],
                                name=op.f('fk_call_record_return_instance_id_process_instance')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_call_record')),
        sa.UniqueConstraint('external_id', name=op.f('uq_call_record_external_id')),
    )
    with op.batch_alter_table('call_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_call_record_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_call_record_outcome'), ['outcome'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('call_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_call_record_outcome'))
        batch_op.drop_index(batch_op.f('ix_call_record_at'))
    op.drop_table('call_record')
