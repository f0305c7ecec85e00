"""The Alembic migrations build exactly the schema the models describe, and `bpm init` is idempotent."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from engine import Engine
from engine.persistence import Base


def test_migrations_match_models_and_init_is_idempotent(tmp_path: Path) -> None:
    engine = Engine(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    first = engine.init()
    assert "cs_rep" in first and "auditor" in first
    assert engine.init() == []  # second run: nothing to create
    with engine.db.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    engine.close()
