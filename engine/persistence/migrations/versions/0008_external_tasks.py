"""external tasks

External service tasks wait on an ``external_task`` row (topic, lock owner, lease, retries) that workers
fetch and lock; a task whose retries run out raises an incident, which names it in ``external_task_id``.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 12:00:00
"""
import sqlalchemy as sa
from alembic import op

import engine.persistence.base

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'external_task',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=False),
        sa.Column('process_key', sa.String(length=255), nullable=False),
        sa.Column('element_id', sa.String(length=255), nullable=False),
        sa.Column('title', sa.String(length=255), nullable=False),
        sa.Column('topic', sa.String(length=255), nullable=False),
        sa.Column('business_key', sa.String(length=255), nullable=True),
        sa.Column('variables', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('retries', sa.Integer(), nullable=True),
        sa.Column('error_message', sa.Text(), nullable=True),
        sa.Column('lock_owner', sa.String(length=120), nullable=True),
        sa.Column('lock_expires_at', engine.persistence.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('created_at', engine.persistence.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('completed_at', engine.persistence.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('completed_by', sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'],
                                name=op.f('fk_external_task_instance_id_process_instance')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_external_task')),
    )
    with op.batch_alter_table('external_task', schema=None) as batch_op:
        batch_op.create_index('ix_external_task_fetch', ['topic', 'status', 'lock_expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_external_task_instance_id'), ['instance_id'], unique=False)
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('external_task_id', sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f('ix_incident_external_task_id'), ['external_task_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_incident_external_task_id_external_task'), 'external_task',
                                    ['external_task_id'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_incident_external_task_id_external_task'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_incident_external_task_id'))
        batch_op.drop_column('external_task_id')
    with op.batch_alter_table('external_task', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_external_task_instance_id'))
        batch_op.drop_index('ix_external_task_fetch')
    op.drop_table('external_task')
