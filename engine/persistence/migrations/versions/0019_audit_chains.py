"""audit chains per instance, checkpoints

The single global audit chain (every commit locked ``audit_head``) becomes one chain per instance
plus a system chain, with worker-written checkpoints over all chain heads (docs/audit.md).

The existing rows are not re-chained: they become the *legacy chain* (chain_key -1, chain_seq = seq),
still verified with the old digest, so their hashes and the signatures already made over them stay
valid. ``audit_head`` becomes that chain's head row in ``audit_chain_head``. ``audit_event.seq`` is
drawn from a sequence from now on (PostgreSQL; SQLite's INTEGER PRIMARY KEY already is one).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 20:30:00
"""
import sqlalchemy as sa
from alembic import op

import engine.persistence.base

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'audit_chain_head',
        sa.Column('chain_key', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('last_seq', sa.Integer(), nullable=False),
        sa.Column('last_hash', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('chain_key', name=op.f('pk_audit_chain_head')),
    )
    op.create_table(
        'audit_checkpoint',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('at', engine.persistence.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('chains', sa.Integer(), nullable=False),
        sa.Column('events', sa.Integer(), nullable=False),
        sa.Column('root', sa.String(length=64), nullable=False),
        sa.Column('heads', sa.JSON(), nullable=False),
        sa.Column('prev_hash', sa.String(length=64), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_checkpoint')),
    )
    op.create_table(
        'audit_checkpoint_head',
        sa.Column('chain_key', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('last_seq', sa.Integer(), nullable=False),
        sa.Column('last_hash', sa.String(length=64), nullable=False),
        sa.Column('checkpoint_id', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('chain_key', name=op.f('pk_audit_checkpoint_head')),
    )
    op.add_column('audit_signature', sa.Column('checkpoint_id', sa.Integer(), nullable=True))
    op.add_column('audit_event', sa.Column('chain_key', sa.Integer(), nullable=True))
    op.add_column('audit_event', sa.Column('chain_seq', sa.Integer(), nullable=True))
    op.execute("UPDATE audit_event SET chain_key = -1, chain_seq = seq")
    op.execute("INSERT INTO audit_chain_head (chain_key, last_seq, last_hash) "
               "SELECT -1, last_seq, last_hash FROM audit_head WHERE id = 1 AND last_seq > 0")
    with op.batch_alter_table('audit_event') as batch:
        batch.alter_column('chain_key', existing_type=sa.Integer(), nullable=False)
        batch.alter_column('chain_seq', existing_type=sa.Integer(), nullable=False)
    op.create_index('ix_audit_event_chain', 'audit_event', ['chain_key', 'chain_seq'], unique=True)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("CREATE SEQUENCE audit_event_seq_seq OWNED BY audit_event.seq")
        op.execute("SELECT setval('audit_event_seq_seq', COALESCE((SELECT MAX(seq) FROM audit_event), 0) + 1, false)")
        op.execute("ALTER TABLE audit_event ALTER COLUMN seq SET DEFAULT nextval('audit_event_seq_seq')")
    op.drop_table('audit_head')


def downgrade() -> None:
    raise RuntimeError("0019 cannot be undone: the per-instance audit chains have no single global chain to go back "
                       "to without re-chaining (and so invalidating) them; restore a backup instead")
