"""definition bundles

A process version carries its texts in every language (from the ``<stem>.i18n.json`` catalogue deployed beside its
BPMN) and the forms it uses, so an instance reads the texts and forms of its own version; an open task keeps its
title in every language for the inbox.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 17:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('process_definition', sa.Column('texts', sa.JSON(), nullable=True))
    op.add_column('process_definition', sa.Column('forms', sa.JSON(), nullable=True))
    op.add_column('human_task', sa.Column('titles', sa.JSON(), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+): batch mode would rebuild human_task and lose its "priority DESC" index order.
    op.drop_column('human_task', 'titles')
    op.drop_column('process_definition', 'forms')
    op.drop_column('process_definition', 'texts')
