"""customer grading

The grade history of the customer register (#17): every change of a customer's grade — by the quarterly
customer_grading process (proposed by the cs_rep, decided by cs_head) or by an edit of the register — with the old and
new grade, the reason, who and when.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05 22:20:00
"""
import sqlalchemy as sa
from alembic import op

import engine.persistence.base

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'customer_grade_change',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('old_grade', sa.Integer(), nullable=True),
        sa.Column('new_grade', sa.Integer(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('period', sa.String(length=16), nullable=True),
        sa.Column('proposed_by', sa.String(length=120), nullable=True),
        sa.Column('decided_by', sa.String(length=120), nullable=False),
        sa.Column('decided_at', engine.persistence.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['customer_id'], ['customer.id'],
                                name=op.f('fk_customer_grade_change_customer_id_customer')),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'],
                                name=op.f('fk_customer_grade_change_instance_id_process_instance')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_grade_change')),
    )
    with op.batch_alter_table('customer_grade_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_grade_change_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_grade_change_decided_at'), ['decided_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('customer_grade_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_grade_change_decided_at'))
        batch_op.drop_index(batch_op.f('ix_customer_grade_change_customer_id'))
    op.drop_table('customer_grade_change')
