"""definition drafts

Drafts of BPMN definitions saved from the browser modeler: one per designer and process.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 20:00:00
"""
import sqlalchemy as sa
from alembic import op

import engine.persistence.base

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'definition_draft',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('designer', sa.String(length=120), nullable=False),
        sa.Column('process_key', sa.String(length=255), nullable=False),
        sa.Column('based_on_id', sa.Integer(), nullable=True),
        sa.Column('based_on_version', sa.Integer(), nullable=True),
        sa.Column('bpmn', sa.Text(), nullable=False),
        sa.Column('updated_at', engine.persistence.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['based_on_id'], ['process_definition.id'],
                                name=op.f('fk_definition_draft_based_on_id_process_definition')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_definition_draft')),
        sa.UniqueConstraint('designer', 'process_key', name='uq_definition_draft_designer_process'),
    )
    with op.batch_alter_table('definition_draft', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_definition_draft_designer'), ['designer'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('definition_draft', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_definition_draft_designer'))
    op.drop_table('definition_draft')
