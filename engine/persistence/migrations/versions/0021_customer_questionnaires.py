"""customer questionnaires

Satisfaction surveys and post-order questionnaires (token link, answers, re-check of the survey before) and the
return visits that closed exceptions and poor questionnaires ask for; the customer's e-mail address in the register,
where questionnaire links are sent (#17).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 22:20:00
"""
import sqlalchemy as sa
from alembic import op

import engine.persistence.base

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=254), nullable=True))
    op.create_table(
        'customer_questionnaire',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('token', sa.String(length=64), nullable=False),
        sa.Column('customer', sa.String(length=200), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=False),
        sa.Column('period', sa.String(length=32), nullable=False),
        sa.Column('items', sa.JSON(), nullable=False),
        sa.Column('recheck', sa.JSON(), nullable=False),
        sa.Column('answers', sa.JSON(), nullable=True),
        sa.Column('recheck_results', sa.JSON(), nullable=True),
        sa.Column('score', sa.Integer(), nullable=True),
        sa.Column('comment', sa.Text(), nullable=False),
        sa.Column('answered_via', sa.String(length=16), nullable=True),
        sa.Column('created_at', engine.persistence.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', engine.persistence.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('answered_at', engine.persistence.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('emailed_to', sa.String(length=254), nullable=True),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'],
                                name=op.f('fk_customer_questionnaire_instance_id_process_instance')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_questionnaire')),
        sa.UniqueConstraint('token', name=op.f('uq_customer_questionnaire_token')),
        sa.UniqueConstraint('instance_id', name=op.f('uq_customer_questionnaire_instance_id')),
    )
    with op.batch_alter_table('customer_questionnaire', schema=None) as batch_op:
        batch_op.create_index('ix_customer_questionnaire_customer', ['customer', 'kind', 'answered_at'], unique=False)
        batch_op.create_index('ix_customer_questionnaire_answered', ['kind', 'answered_at'], unique=False)
    op.create_table(
        'return_visit_request',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source_key', sa.String(length=255), nullable=False),
        sa.Column('reason', sa.String(length=16), nullable=False),
        sa.Column('customer', sa.String(length=200), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.Column('created_at', engine.persistence.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'],
                                name=op.f('fk_return_visit_request_instance_id_process_instance')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_return_visit_request')),
        sa.UniqueConstraint('source_key', name=op.f('uq_return_visit_request_source_key')),
    )
    with op.batch_alter_table('return_visit_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_return_visit_request_instance_id'), ['instance_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('return_visit_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_return_visit_request_instance_id'))
    op.drop_table('return_visit_request')
    with op.batch_alter_table('customer_questionnaire', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_questionnaire_answered')
        batch_op.drop_index('ix_customer_questionnaire_customer')
    op.drop_table('customer_questionnaire')
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_column('email')
