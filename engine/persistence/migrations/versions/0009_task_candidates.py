"""task candidates

A task may name several candidate groups and candidate users (camunda:candidateGroups /
camunda:candidateUsers): human_task keeps them all in ``candidates`` and its follow-up date; the
candidates beyond ``candidate_group`` get rows of their own, which the inbox reads by (kind, name).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 12:00:00
"""
import sqlalchemy as sa
from alembic import op

import engine.persistence.base

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'human_task_candidate',
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('task_id', sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(['task_id'], ['human_task.id'], name=op.f('fk_human_task_candidate_task_id_human_task')),
        sa.PrimaryKeyConstraint('kind', 'name', 'task_id', name=op.f('pk_human_task_candidate')),
    )
    with op.batch_alter_table('human_task_candidate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_human_task_candidate_task_id'), ['task_id'], unique=False)
    # Plain ADD COLUMN (as in 0004): a batch copy of human_task would lose the inbox indexes' "priority DESC".
    op.add_column('human_task', sa.Column('candidates', sa.JSON(), nullable=True))
    op.add_column('human_task', sa.Column('follow_up_at', engine.persistence.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('human_task_candidate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_human_task_candidate_task_id'))
    op.drop_table('human_task_candidate')
    op.drop_column('human_task', 'follow_up_at')
    op.drop_column('human_task', 'candidates')
