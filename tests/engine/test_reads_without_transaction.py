"""The facade's plain reads (task lists, an instance, its history…) run each statement on its own (#19): on SQLite
they take no write lock, so they never queue behind a writer; on PostgreSQL they wait for no BEGIN and no COMMIT.
The commands after them still run in one transaction each."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from sqlalchemy import event

from engine import Engine
from tests.conftest import deploy_fixture


def _started(engine: Engine) -> int:
    deploy_fixture(engine, "gateways.bpmn")
    return engine.start("gateways", {"amount": 600, "urgent": False}, actor="rep").id


def test_reads_do_not_queue_behind_a_writer_on_sqlite(engine: Engine) -> None:
    if engine.db.dialect.name != "sqlite":
        pytest.skip("SQLite's single writer lock")
    instance_id = _started(engine)
    path = engine.db.url.database
    assert path
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # another process in the middle of a command holds the write lock
        writer.execute("UPDATE users SET display_name = display_name")
        # Before, every read began with BEGIN IMMEDIATE too and waited (up to the 30 s busy timeout) for this writer.
        assert [t.instance_id for t in engine.tasks(instance_id=instance_id)] == [instance_id]
        assert engine.instance(instance_id).status == "running"
        assert [e.type for e in engine.history(instance_id)][0] == "instance_started"
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_reads_send_no_begin_and_commands_still_do(engine: Engine) -> None:
    instance_id = _started(engine)
    began: list[bool] = []  # per transaction: is it a real one (a BEGIN sent, by us or by the driver)?

    def on_begin(conn: Any) -> None:
        driver = conn.connection.driver_connection
        began.append(not driver.autocommit if engine.db.dialect.name == "postgresql" else driver.in_transaction)

    event.listen(engine.db, "begin", on_begin)
    try:
        tasks = engine.tasks(instance_id=instance_id)
        engine.history(instance_id)
        assert began == [False, False]
        began.clear()
        engine.claim(tasks[0].id, "rep")
        assert began == [True]
    finally:
        event.remove(engine.db, "begin", on_begin)
    assert engine.tasks(instance_id=instance_id)[0].assignee == "rep"
    assert engine.verify_audit().ok
