"""signed audit heads

The worker and `bpm audit sign` store an Ed25519 signature over the audit chain's head
(position, hash, time) in audit_signature; the key itself lives outside the database.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 12:00:00
"""
import sqlalchemy as sa
from alembic import op

import engine.persistence.base

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_signature',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('head_hash', sa.String(length=64), nullable=False),
    sa.Column('key_id', sa.String(length=64), nullable=False),
    sa.Column('signature', sa.String(length=128), nullable=False),
    sa.Column('signed_at', engine.persistence.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('signed_by', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_signature'))
    )
    with op.batch_alter_table('audit_signature', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_signature_seq'), ['seq'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('audit_signature', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_signature_seq'))
    op.drop_table('audit_signature')
