"""business calendar sources and provisional deadlines

Holidays move from one TOML text per year (calendar_year) to one row per day (calendar_day) with its
source: "official" (an imported official year) or "local" (an override). Official data now comes
from the chinesecalendar package, so a stored year's day that the package agrees with is dropped;
a day it disagrees with is kept as a local override, and a day of a year the package does not know
is kept as official. Task and timer rows learn which calendar days their due time was computed
over, and whether any of them was provisional.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 12:00:00
"""
import tomllib
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa
from alembic import op

import engine.persistence.base

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

_DATE_COLUMNS = ('due_calendar_from', 'due_calendar_to')


def upgrade() -> None:
    calendar_day = op.create_table(
        'calendar_day',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('updated_at', engine.persistence.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_by', sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_day')),
        sa.UniqueConstraint('source', 'day', name='uq_calendar_day_source_day'),
    )
    with op.batch_alter_table('calendar_day', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendar_day_day'), ['day'], unique=False)
    _convert_years(calendar_day)
    op.drop_table('calendar_year')
    # Plain ADD COLUMN (SQLite has it): a batch copy of human_task would rebuild the inbox indexes from
    # reflection, which loses their "priority DESC".
    for table in ('human_task', 'timer'):
        op.add_column(table, sa.Column('due_at_provisional', sa.Boolean(), server_default=sa.false(), nullable=False))
        for column in _DATE_COLUMNS:
            op.add_column(table, sa.Column(column, sa.Date(), nullable=True))
    op.add_column('timer', sa.Column('due_basis_at', engine.persistence.base.UTCDateTime(timezone=True), nullable=True))


def _convert_years(calendar_day: sa.Table) -> None:
    import chinese_calendar

    library = {**{d: 'holiday' for d in chinese_calendar.holidays}, **{d: 'workday' for d in chinese_calendar.workdays}}
    known_years = {d.year for d in library}
    connection = op.get_bind()
    rows = []
    at = datetime.now(timezone.utc)
    for text, in connection.execute(sa.text('SELECT source FROM calendar_year')):
        doc = tomllib.loads(text)
        days: dict[date, tuple[str, str]] = {}
        for entry in doc.get('holiday', []):
            first, last = entry['from'], entry.get('to', entry['from'])
            for offset in range((last - first).days + 1):
                days[first + timedelta(days=offset)] = ('holiday', entry.get('name', ''))
        for entry in doc.get('makeup_workday', []):
            days[entry['date']] = ('workday', entry.get('for', ''))
        for day, (kind, name) in sorted(days.items()):
            if day.year in known_years:
                if library.get(day, 'holiday' if day.weekday() >= 5 else 'workday') == kind:
                    continue
                source = 'local'
            else:
                source = 'official'
            rows.append({'day': day, 'kind': kind, 'name': name[:120], 'source': source, 'updated_at': at,
                         'updated_by': 'migration 0004'})
    if rows:
        op.bulk_insert(calendar_day, rows)


def downgrade() -> None:
    for table in ('timer', 'human_task'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            if table == 'timer':
                batch_op.drop_column('due_basis_at')
            for column in _DATE_COLUMNS:
                batch_op.drop_column(column)
            batch_op.drop_column('due_at_provisional')
    op.create_table(
        'calendar_year',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('region', sa.String(length=16), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('source', sa.Text(), nullable=False),
        sa.Column('updated_at', engine.persistence.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_year')),
    )
    op.drop_table('calendar_day')
