"""task candidates

Filled in by the work on issue #14 (candidate groups and users); an empty step until then.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 12:00:00
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
