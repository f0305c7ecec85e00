"""notifications outbox, deliveries and preferences

The in-app notifications (the bell), their outbox deliveries (e-mail, group chat robots) with a unique
delivery key, people's e-mail and notification preferences, groups' robot webhooks, and incidents that name
an undeliverable notification.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 19:10:00
"""
import sqlalchemy as sa
from alembic import op

import engine.persistence.base

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

UTC = engine.persistence.base.UTCDateTime


def upgrade() -> None:
    op.create_table(
        'notification',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('recipient', sa.String(length=120), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('task_id', sa.String(length=36), nullable=True),
        sa.Column('instance_id', sa.Integer(), nullable=True),
        sa.Column('process_key', sa.String(length=255), nullable=True),
        sa.Column('actor', sa.String(length=120), nullable=False),
        sa.Column('source', sa.String(length=32), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.Column('created_at', UTC(timezone=True), nullable=False),
        sa.Column('read_at', UTC(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notification')),
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index('ix_notification_recipient', ['recipient', 'read_at'], unique=False)
        batch_op.create_index('ix_notification_urge', ['task_id', 'recipient', 'kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_source'), ['source'], unique=False)
    op.create_table(
        'notification_delivery',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('notification_id', sa.String(length=32), nullable=True),
        sa.Column('source', sa.String(length=32), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('recipient', sa.String(length=120), nullable=False),
        sa.Column('batch', sa.String(length=16), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', UTC(timezone=True), nullable=False),
        sa.Column('lock_owner', sa.String(length=120), nullable=True),
        sa.Column('lock_expires_at', UTC(timezone=True), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('delivery_key', sa.String(length=120), nullable=False),
        sa.Column('created_at', UTC(timezone=True), nullable=False),
        sa.Column('sent_at', UTC(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_delivery')),
        sa.UniqueConstraint('delivery_key', name=op.f('uq_notification_delivery_delivery_key')),
    )
    with op.batch_alter_table('notification_delivery', schema=None) as batch_op:
        batch_op.create_index('ix_notification_delivery_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_delivery_notification_id'), ['notification_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_delivery_source'), ['source'], unique=False)
    op.create_table(
        'notification_preference',
        sa.Column('username', sa.String(length=120), nullable=False),
        sa.Column('email', sa.String(length=255), nullable=True),
        sa.Column('email_enabled', sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column('digest', sa.Boolean(), nullable=False),
        sa.Column('updated_at', UTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('username', name=op.f('pk_notification_preference')),
    )
    op.create_table(
        'group_webhook',
        sa.Column('group_id', sa.String(length=64), nullable=False),
        sa.Column('platform', sa.String(length=16), nullable=False),
        sa.Column('url', sa.Text(), nullable=False),
        sa.Column('secret', sa.String(length=255), nullable=True),
        sa.Column('enabled', sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column('updated_at', UTC(timezone=True), nullable=False),
        sa.Column('updated_by', sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint('group_id', name=op.f('pk_group_webhook')),
    )
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notification_delivery_id', sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f('ix_incident_notification_delivery_id'), ['notification_delivery_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_notification_delivery_id'))
        batch_op.drop_column('notification_delivery_id')
    op.drop_table('group_webhook')
    op.drop_table('notification_preference')
    with op.batch_alter_table('notification_delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_delivery_source'))
        batch_op.drop_index(batch_op.f('ix_notification_delivery_notification_id'))
        batch_op.drop_index('ix_notification_delivery_due')
    op.drop_table('notification_delivery')
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_source'))
        batch_op.drop_index(batch_op.f('ix_notification_instance_id'))
        batch_op.drop_index('ix_notification_urge')
        batch_op.drop_index('ix_notification_recipient')
    op.drop_table('notification')
