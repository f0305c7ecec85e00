"""message permissions and integration tokens

API tokens get a scope: "personal" (every existing token: acts as its user) or "integration"
(may only send the messages whose definition names the scope in senderScopes).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 12:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (SQLite has it); the server default gives every existing token the personal scope.
    op.add_column('api_token', sa.Column('scope', sa.String(length=32), server_default='personal', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_column('scope')
