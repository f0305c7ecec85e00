"""Migration 0004 turns the admin-edited TOML years into day rows without losing an override."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import sqlalchemy as sa
from alembic import command

from engine.persistence.migrate import alembic_config

YEAR_2026 = """
year = 2026
region = "CN"
[[holiday]]
name = "国庆节 National Day"
from = 2026-10-01
to = 2026-10-07
[[holiday]]
name = "公司年会 Company day"
from = 2026-12-11
[[makeup_workday]]
date = 2026-10-10
for = "国庆节 National Day"
"""
YEAR_2027 = """
year = 2027
region = "CN"
[[holiday]]
name = "元旦 New Year's Day"
from = 2027-01-01
"""


def test_stored_years_become_official_or_local_days(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    db = sa.create_engine(url)
    cfg = alembic_config(url)
    command.upgrade(cfg, "0003")
    with db.begin() as conn:
        for year, text in ((2026, YEAR_2026), (2027, YEAR_2027)):
            conn.execute(sa.text("INSERT INTO calendar_year (region, year, source, updated_at) VALUES ('CN', :y, :s, :at)"),
                         {"y": year, "s": text, "at": "2026-11-01 00:00:00.000000"})
    command.upgrade(cfg, "head")
    with db.connect() as conn:
        rows = conn.execute(sa.text("SELECT day, kind, name, source FROM calendar_day ORDER BY day")).all()
        tables = sa.inspect(conn).get_table_names()
    db.dispose()
    assert "calendar_year" not in tables
    # 2026's National Day agrees with chinesecalendar and is dropped; the company day is a local override;
    # 2027 is unknown to the package, so the admin's entry is kept as an official day.
    assert [(date.fromisoformat(str(d)), k, n, s) for d, k, n, s in rows] == [
        (date(2026, 12, 11), "holiday", "公司年会 Company day", "local"),
        (date(2027, 1, 1), "holiday", "元旦 New Year's Day", "official"),
    ]
