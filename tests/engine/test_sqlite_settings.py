"""Every SQLite connection the engine opens runs with the settings the engine relies on."""

from __future__ import annotations

from pathlib import Path

from engine.persistence.db import WAL_AUTOCHECKPOINT_PAGES, create_db_engine


def test_every_connection_gets_wal_normal_sync_foreign_keys_a_busy_timeout_and_the_checkpoint_interval(
        tmp_path: Path) -> None:
    db = create_db_engine(f"sqlite:///{tmp_path / 'bpm.sqlite3'}")
    try:
        first, second = db.raw_connection(), db.raw_connection()  # two pooled connections, each set up on connect
        try:
            assert first.driver_connection is not second.driver_connection
            for conn in (first, second):
                cursor = conn.cursor()
                settings = {name: cursor.execute(f"PRAGMA {name}").fetchone()[0]
                            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout",
                                         "wal_autocheckpoint")}
                cursor.close()
                assert settings == {"journal_mode": "wal", "synchronous": 1, "foreign_keys": 1, "busy_timeout": 30000,
                                    "wal_autocheckpoint": WAL_AUTOCHECKPOINT_PAGES}
        finally:
            first.close()
            second.close()
    finally:
        db.dispose()
