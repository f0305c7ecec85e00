"""revocable sessions and sign-in throttling

Every user gets a session generation that sign-in cookies carry: raising it ends every session of that user.
Failed sign-ins are counted per client address and account name (and per address for any name), so an
attacker locks out only themselves, not the account for everyone.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 12:00:00
"""
import sqlalchemy as sa
from alembic import op

import engine.persistence.base

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('users', sa.Column('session_generation', sa.Integer(), server_default='0', nullable=False))
    op.create_table(
        'sign_in_throttle',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('client', sa.String(length=64), nullable=False),
        sa.Column('username', sa.String(length=120), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('locked_until', engine.persistence.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('updated_at', engine.persistence.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_throttle')),
        sa.UniqueConstraint('client', 'username', name='uq_sign_in_throttle_client_username'),
    )


def downgrade() -> None:
    op.drop_table('sign_in_throttle')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_generation')
