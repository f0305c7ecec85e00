"""inbox indexes in inbox order

The inbox reads each part of a worklist (assigned to me; unclaimed in group g) as an
index range already sorted the inbox's way, so the two inbox indexes carry the whole
order (due_at, priority DESC, created_at, id) after their equality prefix, and
process_key for the filter menu. The unclaimed tasks' index is partial (assignee IS
NULL): PostgreSQL keeps an index's order only after "=" conditions, not IS NULL.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 13:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

ORDER = ['due_at', sa.text('priority DESC'), 'created_at', 'id', 'process_key']
UNCLAIMED = sa.text('assignee IS NULL')


def upgrade() -> None:
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_index('ix_task_group_inbox')
        batch_op.drop_index('ix_task_assignee_inbox')
        batch_op.create_index('ix_task_group_inbox', ['status', 'candidate_group', *ORDER], unique=False,
                              postgresql_where=UNCLAIMED, sqlite_where=UNCLAIMED)
        batch_op.create_index('ix_task_assignee_inbox', ['status', 'assignee', *ORDER], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_index('ix_task_group_inbox')
        batch_op.drop_index('ix_task_assignee_inbox')
        batch_op.create_index('ix_task_assignee_inbox', ['status', 'assignee', 'due_at'], unique=False)
        batch_op.create_index('ix_task_group_inbox', ['status', 'candidate_group', 'due_at'], unique=False)
