"""upload staging (reserved for bundle deploys and upload staging in the database (#18); filled in by that work)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05 22:20:00
"""

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
