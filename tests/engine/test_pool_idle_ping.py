"""PostgreSQL connections are pinged before use only after sitting idle in the pool (engine/persistence/db.py):
a connection the server dropped while idle is replaced unseen, and one used moments ago costs no extra round trip."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from engine.persistence import db
from engine.persistence.db import create_db_engine


def _backend_pid(engine: object) -> int:
    with engine.begin() as conn:  # type: ignore[attr-defined]
        return int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar())


def _terminate(url: str, pid: int) -> None:
    other = create_db_engine(url)
    try:
        with other.begin() as conn:
            assert conn.exec_driver_sql(f"SELECT pg_terminate_backend({pid})").scalar() is True
    finally:
        other.dispose()


def test_idle_connection_dropped_by_the_server_is_replaced(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = create_db_engine(pg_url)
    try:
        pid = _backend_pid(engine)
        _terminate(pg_url, pid)
        monkeypatch.setattr(db, "IDLE_PING_S", 0.0)  # every pooled connection counts as idle now
        assert _backend_pid(engine) != pid  # the ping found it gone; the pool handed out a new one
    finally:
        engine.dispose()


def test_connection_used_moments_ago_is_not_pinged(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = create_db_engine(pg_url)
    try:
        pid = _backend_pid(engine)
        _terminate(pg_url, pid)
        monkeypatch.setattr(db, "IDLE_PING_S", 3600.0)
        # No ping: the command itself meets the dropped connection (and the pool then discards it) …
        with pytest.raises(OperationalError):
            _backend_pid(engine)
        # … and the next command gets a working one.
        assert _backend_pid(engine) != pid
    finally:
        engine.dispose()
