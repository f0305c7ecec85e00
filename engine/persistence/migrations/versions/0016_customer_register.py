"""customer register

Customers (grade, active, owner) and their contracts/agreements/quotes (number, kind, expiry, status), and the
instances the register started (monthly settlement per customer and month, contract renewal per contract term),
unique per process and key so that each starts once.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 19:30:00
"""
import sqlalchemy as sa
from alembic import op

import engine.persistence.base

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'customer',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('grade', sa.Integer(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('owner', sa.String(length=120), nullable=True),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('updated_at', engine.persistence.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_customer')),
        sa.UniqueConstraint('name', name=op.f('uq_customer_name')),
    )
    op.create_table(
        'contract',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(length=120), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('expires_on', sa.Date(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('updated_at', engine.persistence.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_contract_customer_id_customer')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_contract')),
        sa.UniqueConstraint('number', name=op.f('uq_contract_number')),
    )
    with op.batch_alter_table('contract', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contract_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contract_expires_on'), ['expires_on'], unique=False)
    op.create_table(
        'register_start',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('process_key', sa.String(length=120), nullable=False),
        sa.Column('start_key', sa.String(length=255), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=True),
        sa.Column('started_at', engine.persistence.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'],
                                name=op.f('fk_register_start_instance_id_process_instance')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_register_start')),
        sa.UniqueConstraint('process_key', 'start_key', name='uq_register_start_key'),
    )


def downgrade() -> None:
    op.drop_table('register_start')
    with op.batch_alter_table('contract', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contract_expires_on'))
        batch_op.drop_index(batch_op.f('ix_contract_customer_id'))
    op.drop_table('contract')
    op.drop_table('customer')
