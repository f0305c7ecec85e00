"""incidents of automatic starts

A start the worker makes on its own (the register's settlements, renewals, gradings and reviews, the satisfaction
surveys, the return visits) that fails raises an incident naming it: where it came from, its key, and the data it
started with, so that retrying it starts it again and resolving it leaves it alone.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06 09:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('start_source', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('start_key', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('start_data', sa.JSON(none_as_null=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_incident_start_key'), ['start_key'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_start_key'))
        batch_op.drop_column('start_data')
        batch_op.drop_column('start_key')
        batch_op.drop_column('start_source')
