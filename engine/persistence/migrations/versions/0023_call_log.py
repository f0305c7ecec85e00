"""call log (reserved for calls, missed calls and order-plan rules (#17); filled in by that work)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05 22:20:00
"""

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
