"""task send back and withdraw

A task reopened by send back (退回) or withdraw (撤回) keeps why: {"kind", "by", "reason", "at", "from_element"}.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 19:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('human_task', sa.Column('returned', sa.JSON(), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+): batch mode would rebuild human_task and lose its "priority DESC" index order.
    op.drop_column('human_task', 'returned')
