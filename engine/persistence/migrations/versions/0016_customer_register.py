"""customer register

Placeholder reserved for #17 (the customer and contract register); filled in by the work that owns it.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 19:30:00
"""

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
