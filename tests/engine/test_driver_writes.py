"""Commit-time writes on the DB-API cursor (engine.persistence.driver): the rows are what SQLAlchemy would have
written, the connection's listeners still see each statement, a driver error is SQLAlchemy's own error, and what the
cursor path cannot do goes through ``Connection.execute``. On SQLite, and on PostgreSQL with BPM_TEST_BACKEND=postgres.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from engine import Conflict, Engine
from engine.persistence import HumanTask, Notification, ProcessInstance
from engine.persistence.db import ReadOnlyError
from engine.persistence.driver import _compiled, send_write
from engine.services.deferred_writes import defer
from engine.services.loading import write_instance
from engine.services.tasks import _CLAIM, write_open_task
from tests.conftest import deploy_fixture
from tests.engine.sql_counting import counting

NOTIFICATIONS: Table = Notification.__table__  # type: ignore[assignment]
INSERT = insert(NOTIFICATIONS).inline()
MARK_READ = update(NOTIFICATIONS).where(NOTIFICATIONS.c.id == "n-1").values(read_at=datetime(2026, 12, 7, tzinfo=timezone.utc))
READ_SOME = (update(NOTIFICATIONS).where(NOTIFICATIONS.c.id.in_(bindparam("ids", expanding=True)))
             .values(read_at=bindparam("at")))
WHEN = datetime(2026, 12, 7, 9, 30, 15, 123456, tzinfo=timezone.utc)


def _row(n: int, **extra: Any) -> dict[str, Any]:
    return {"id": f"n-{n}", "recipient": "rep", "kind": "task_assigned", "task_id": None, "instance_id": n,
            "process_key": "complaint_handling", "actor": "head", "source": f"s-{n}",
            "data": {"title": "处理投诉", "deadline": "2026-12-08", "n": n}, "created_at": WHEN, "read_at": None, **extra}


def _stored(engine: Engine) -> list[Notification]:
    with engine.reading() as session:
        return list(session.scalars(select(Notification).order_by(Notification.id)))


def test_rows_sent_on_the_cursor_read_back_as_sqlalchemy_would_have_written_them(engine: Engine) -> None:
    beijing = timezone(timedelta(hours=8))
    with engine.transaction() as session, counting(engine) as sent:
        send_write(session.connection(), INSERT, [_row(1), _row(2, created_at=WHEN.astimezone(beijing))])
        send_write(session.connection(), INSERT, _row(3, read_at=WHEN + timedelta(minutes=5)))
    # One executemany for the two rows, one execute for the third: the listeners saw both.
    assert [s.split()[0:3] for s in sent if not s.startswith("BEGIN")] == [["INSERT", "INTO", "notification"]] * 2, sent

    # They went on the cursor: the statement compiled for these names needs nothing SQLAlchemy adds at execution.
    assert _compiled(engine.db.dialect, INSERT, tuple(sorted(_row(1)))) is not None
    rows = _stored(engine)
    assert [r.id for r in rows] == ["n-1", "n-2", "n-3"]
    assert rows[0].data == {"title": "处理投诉", "deadline": "2026-12-08", "n": 1}  # JSON, Chinese kept
    assert rows[0].created_at == WHEN and rows[0].created_at.tzinfo is not None  # aware UTC, to the microsecond
    assert rows[1].created_at == WHEN  # a UTC+8 time is stored as the same instant
    assert rows[0].read_at is None and rows[2].read_at == WHEN + timedelta(minutes=5)


def test_the_commit_hooks_writes_go_through_it_and_the_instance_history_still_verifies(engine: Engine) -> None:
    deploy_fixture(engine, "gateways.bpmn")
    started = engine.start("gateways", {"amount": 600, "urgent": False}, actor="rep")
    task = engine.tasks(instance_id=started.id)[0]
    with counting(engine) as sent:
        engine.claim(task.id, "rep")
    assert any(s.startswith("INSERT INTO audit_event") for s in sent), sent
    assert any(s.startswith("UPDATE audit_chain_head") for s in sent), sent
    engine.complete(task.id, {}, "rep")
    types = [e.type for e in engine.history(started.id)]
    assert types.index("task_claimed") < types.index("task_completed"), types
    assert engine.verify_audit(instance_id=started.id).ok


def test_a_duplicate_key_is_sqlalchemys_integrity_error_and_nothing_is_kept(engine: Engine) -> None:
    with pytest.raises(IntegrityError):
        with engine.transaction() as session:
            send_write(session.connection(), INSERT, _row(1))
            send_write(session.connection(), INSERT, _row(1))
    assert _stored(engine) == []


def test_a_deferred_duplicate_fails_the_commit_and_rolls_the_command_back(engine: Engine) -> None:
    with pytest.raises(IntegrityError):
        with engine.transaction() as session:
            defer(session, INSERT, [_row(1), _row(2)])
            defer(session, INSERT, _row(2))
    assert _stored(engine) == []


def test_a_write_in_a_session_for_reads_is_still_refused(engine: Engine) -> None:
    with engine.reading() as session:
        with pytest.raises(ReadOnlyError):
            send_write(session.connection(), INSERT, _row(1))
    assert _stored(engine) == []


def test_what_the_cursor_path_cannot_do_goes_through_sqlalchemy(engine: Engine) -> None:
    """A row without ``actor`` and ``data`` needs the columns' Python defaults, and a list of ids an expanding IN:
    SQLAlchemy does both. A statement carrying all its values (``MARK_READ``) goes on the cursor with them."""
    bare = {k: v for k, v in _row(1).items() if k not in ("actor", "data")}
    with engine.transaction() as session:
        send_write(session.connection(), INSERT, bare)
        send_write(session.connection(), INSERT, [_row(2), _row(3)])  # the same statement, other names: its own SQL
        send_write(session.connection(), MARK_READ, {})
        send_write(session.connection(), READ_SOME, {"ids": ["n-2"], "at": WHEN})
    assert _compiled(engine.db.dialect, INSERT, tuple(sorted(bare))) is None
    assert _compiled(engine.db.dialect, READ_SOME, ("at", "ids")) is None
    assert _compiled(engine.db.dialect, MARK_READ, ()) is not None
    first, second, third = _stored(engine)
    assert (first.actor, first.data) == ("", {})
    assert second.actor == "head" and second.data["n"] == 2
    assert first.read_at == datetime(2026, 12, 7, tzinfo=timezone.utc)
    assert second.read_at == WHEN and third.read_at is None


def test_a_version_checked_write_tells_its_row_count_outside_a_pipeline(engine: Engine) -> None:
    """``write_instance`` checks the count at once (no pipeline, on PostgreSQL too): one row is no Conflict, none is."""
    deploy_fixture(engine, "gateways.bpmn")
    started = engine.start("gateways", {"amount": 600, "urgent": False}, actor="rep")
    with engine.transaction() as session:
        row = session.get(ProcessInstance, started.id)
        assert row is not None
        seen = row.version
        write_instance(session, row, {"summary": {"tasks": [], "note": "已核对"}})
    with engine.reading() as session:
        assert session.scalar(select(ProcessInstance.version).where(ProcessInstance.id == started.id)) == seen + 1
        assert session.scalar(select(ProcessInstance.summary).where(ProcessInstance.id == started.id))["note"] == "已核对"
    with pytest.raises(Conflict):
        with engine.transaction() as session:
            stale = session.get(ProcessInstance, started.id)
            assert stale is not None
            set_committed_value(stale, "version", seen)  # as a command that read the row before the write above
            write_instance(session, stale, {"summary": {}})
    assert engine.instance(started.id).status == "running"


def test_a_claim_goes_on_the_cursor_with_its_statements_own_values_and_a_lost_race_is_a_conflict(engine: Engine) -> None:
    """``status = 'open'`` is the claim statement's own value: it is sent with every row, and a task no longer open
    and unclaimed changes no row (Conflict)."""
    deploy_fixture(engine, "gateways.bpmn")
    started = engine.start("gateways", {"amount": 600, "urgent": False}, actor="rep")
    task = engine.tasks(instance_id=started.id)[0]
    assert _compiled(engine.db.dialect, _CLAIM, ("actor", "pk")) is not None
    with engine.transaction() as session:
        row = session.get(HumanTask, task.id)
        assert row is not None
        stale = {c.key: getattr(row, c.key) for c in HumanTask.__table__.columns}
    engine.claim(task.id, "rep")
    assert engine.tasks(instance_id=started.id)[0].assignee == "rep"
    with pytest.raises(Conflict):
        with engine.transaction() as session:
            row = session.get(HumanTask, task.id)
            assert row is not None
            set_committed_value(row, "assignee", stale["assignee"])  # as read before rep's claim
            write_open_task(session, row, _CLAIM, actor="rep2")
    assert engine.tasks(instance_id=started.id)[0].assignee == "rep"


def test_statements_built_one_after_another_each_send_their_own_sql(engine: Engine) -> None:
    """The compiled SQL is cached per statement object: a statement built after another was dropped (which may take
    its id) gets its own, so each UPDATE below changes its own row."""
    with engine.transaction() as session:
        send_write(session.connection(), INSERT, [_row(0), _row(1), _row(2)])
    for n in range(3):
        with engine.transaction() as session:
            statement = update(NOTIFICATIONS).where(NOTIFICATIONS.c.id == f"n-{n}").values(kind=bindparam("k"))
            assert send_write(session.connection(), statement, {"k": f"kind-{n}"}).rowcount == 1
        del statement
    assert [(r.id, r.kind) for r in _stored(engine)] == [("n-0", "kind-0"), ("n-1", "kind-1"), ("n-2", "kind-2")]
