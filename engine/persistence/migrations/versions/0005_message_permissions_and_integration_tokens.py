"""message permissions and integration tokens

Filled in by the work on issue #13 items 1-2; an empty step until then.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 12:00:00
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
