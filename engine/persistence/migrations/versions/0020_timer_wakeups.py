"""timer wake-ups

On PostgreSQL, writing a waiting timer notifies channel ``bpm_timer`` (at commit), so a sleeping worker wakes at
once instead of polling; elsewhere nothing changes (the worker polls).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 20:06:00
"""
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""
        CREATE FUNCTION bpm_timer_written() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            -- One notification per transaction and channel: PostgreSQL folds identical payloads.
            PERFORM pg_notify('bpm_timer', '');
            RETURN NULL;
        END $$
    """)
    op.execute("""
        CREATE TRIGGER timer_written AFTER INSERT OR UPDATE OF run_at, status ON timer
        FOR EACH ROW WHEN (NEW.status = 'waiting') EXECUTE FUNCTION bpm_timer_written()
    """)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS timer_written ON timer")
    op.execute("DROP FUNCTION IF EXISTS bpm_timer_written()")
