"""task delegation

A task delegated (委派) to someone keeps its owner: the delegate fills the form, and the task comes back to the
owner to confirm or change before it completes.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 18:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('human_task', sa.Column('owner', sa.String(length=120), nullable=True))
    op.add_column('human_task', sa.Column('delegation', sa.String(length=16), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+): batch mode would rebuild human_task and lose its "priority DESC" index order.
    op.drop_column('human_task', 'delegation')
    op.drop_column('human_task', 'owner')
