"""The Alembic migrations build exactly the schema the models describe, and `bpm init` is idempotent."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from engine import Engine
from engine.persistence import Base


def test_migrations_match_models_and_init_is_idempotent(tmp_path: Path) -> None:
    _check_migrations(f"sqlite:///{tmp_path / 'm.sqlite3'}")


@pytest.mark.postgres
def test_migrations_match_models_on_postgres(pg_url: str) -> None:
    _check_migrations(pg_url)


def test_inbox_indexes_carry_the_inbox_order(tmp_path: Path) -> None:
    """The migrated inbox indexes hold priority descending, which the inbox reads without sorting."""
    engine = Engine(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    engine.init()
    with engine.db.connect() as conn:
        rows = conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE name LIKE 'ix_task_%_inbox'").all()
    engine.close()
    assert {name: "priority DESC" in sql for name, sql in rows} == {"ix_task_group_inbox": True, "ix_task_assignee_inbox": True}


def _check_migrations(url: str) -> None:
    engine = Engine(url)
    first = engine.init()
    assert "cs_rep" in first and "auditor" in first
    assert engine.init() == []  # second run: nothing to create
    with engine.db.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    engine.close()
