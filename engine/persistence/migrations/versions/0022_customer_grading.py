"""customer grading (reserved for customer grading and the monthly review (#17); filled in by that work)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05 22:20:00
"""

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
