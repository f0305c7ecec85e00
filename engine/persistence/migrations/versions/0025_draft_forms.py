"""draft forms

A designer's draft holds the whole bundle: besides the BPMN, the forms (schema + UI hints) edited in the browser.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05 22:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('definition_draft', schema=None) as batch_op:
        batch_op.add_column(sa.Column('forms', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('definition_draft', schema=None) as batch_op:
        batch_op.drop_column('forms')
