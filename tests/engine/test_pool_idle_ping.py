"""PostgreSQL connections are pinged before use only after sitting idle in the pool (engine/persistence/db.py):
a connection the server dropped while idle is replaced unseen, and one used moments ago costs no extra round trip."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from engine.persistence import db
from engine.persistence.db import create_db_engine


def _backend_pid(engine: Engine) -> int:
    with engine.begin() as conn:
        return int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar())


@pytest.fixture
def dropped(pg_url: str) -> Iterator[tuple[Engine, int]]:
    """An engine whose one pooled connection the server has just terminated, and that connection's backend pid."""
    engine = create_db_engine(pg_url)
    other = create_db_engine(pg_url)
    try:
        pid = _backend_pid(engine)
        with other.begin() as conn:
            assert conn.exec_driver_sql(f"SELECT pg_terminate_backend({pid})").scalar() is True
        yield engine, pid
    finally:
        other.dispose()
        engine.dispose()


def test_idle_connection_dropped_by_the_server_is_replaced(dropped: tuple[Engine, int],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    engine, pid = dropped
    monkeypatch.setattr(db, "IDLE_PING_S", 0.0)  # every pooled connection counts as idle now
    assert _backend_pid(engine) != pid  # the ping found it gone; the pool handed out a new one


def test_connection_used_moments_ago_is_not_pinged(dropped: tuple[Engine, int], monkeypatch: pytest.MonkeyPatch) -> None:
    engine, pid = dropped
    monkeypatch.setattr(db, "IDLE_PING_S", 3600.0)
    # No ping: the command itself meets the dropped connection (and the pool then discards it) …
    with pytest.raises(OperationalError):
        _backend_pid(engine)
    # … and the next command gets a working one.
    assert _backend_pid(engine) != pid
