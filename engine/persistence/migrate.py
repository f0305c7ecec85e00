"""Schema upgrades through Alembic (``bpm init``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

# Inside the package, so an installed wheel can create its schema.
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    """Return an Alembic config pointing at the packaged migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def upgrade(db: Engine) -> None:
    """Upgrade the database to the newest schema revision."""
    cfg = alembic_config()
    with db.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")
