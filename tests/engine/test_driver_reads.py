"""Reads on the DB-API cursor (engine.persistence.driver.read_rows): each row holds what SQLAlchemy would have read,
the connection's listeners see the statement, a driver error is SQLAlchemy's own error, what the cursor path cannot
read goes through ``Connection.execute``, and the commands that read this way (claim, complete) keep the session's
ORM objects right. On SQLite, and on PostgreSQL with BPM_TEST_BACKEND=postgres.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, bindparam, select, union_all
from sqlalchemy.exc import DBAPIError, InvalidRequestError
from sqlalchemy.orm import Session

from engine import Engine
from engine.persistence import AuditChainHead, HumanTask, ProcessInstance
from engine.persistence.driver import Record, _compiled, read_rows, send_write, session_connection, session_rows
from engine.services.audit import _new_head_statement
from engine.services.tasks import _TASK_AND_INSTANCE, _TASK_FOR_ACTOR, claim_task, complete_task, get_task
from engine.services.views import TaskView
from tests.conftest import deploy_fixture
from tests.engine.sql_counting import counting

TASKS: Table = HumanTask.__table__  # type: ignore[assignment]
HEADS: Table = AuditChainHead.__table__  # type: ignore[assignment]
TASK = select(*TASKS.c).where(TASKS.c.id == bindparam("task_id"))
# Two columns of the same key, an ORM entity, an expanding IN: each read through SQLAlchemy instead.
SAME_KEYS = select(TASKS.c.id, TASKS.c.id.label("id")).where(TASKS.c.id == bindparam("task_id"))
ENTITY = select(HumanTask).where(HumanTask.id == bindparam("task_id"))
SOME = select(TASKS.c.id, TASKS.c.titles).where(TASKS.c.id.in_(bindparam("ids", expanding=True)))
BOTH_KINDS = union_all(select(TASKS.c.id.label("name"), TASKS.c.created_at.label("at")),
                       select(TASKS.c.element_id, TASKS.c.due_at)).order_by("name")
MISSING = Table("no_such_table", MetaData(), Column("id", Integer))
NO_ROW = select(MISSING.c.id)
WHEN = datetime(2026, 12, 7, 9, 30, 15, 123456, tzinfo=timezone.utc)


def _task(engine: Engine, task_id: str) -> TaskView:
    with engine.reading() as session:
        return get_task(session, task_id)


def _one_task(engine: Engine) -> str:
    """An open task whose row has Chinese JSON, an aware UTC time to the microsecond, dates and NULLs."""
    deploy_fixture(engine, "gateways.bpmn")
    started = engine.start("gateways", {"amount": 600, "urgent": False}, actor="rep")
    task_id = engine.tasks(instance_id=started.id)[0].id
    with engine.transaction() as session:
        row = session.get(HumanTask, task_id)
        assert row is not None
        row.titles, row.draft, row.due_at = {"zh-CN": "审核赔付", "en": "Review"}, {"备注": "客户已确认"}, WHEN
        row.due_calendar_from = date(2026, 12, 7)
    return task_id


def test_a_row_read_on_the_cursor_holds_what_sqlalchemy_reads(engine: Engine) -> None:
    task_id = _one_task(engine)
    with engine.transaction() as session:
        expected = dict(session.execute(TASK, {"task_id": task_id}).one()._mapping)
        with counting(engine) as sent:
            [found] = read_rows(session.connection(), TASK, {"task_id": task_id})
    assert _compiled(engine.db.dialect, TASK, ("task_id",)) is not None  # it went on the cursor
    assert vars(found) == expected
    assert found.titles == {"zh-CN": "审核赔付", "en": "Review"} and found.draft == {"备注": "客户已确认"}
    assert found.due_at == WHEN and found.due_at.tzinfo is not None
    assert found.due_calendar_from == date(2026, 12, 7) and found.due_at_provisional is False
    assert found.completed_at is None and found.assignee is None
    assert [s.split()[0] for s in sent] == ["SELECT"]  # the listeners saw it
    with engine.reading() as session:  # a session for reads only reads this way too
        assert read_rows(session.connection(), TASK, {"task_id": "no-such-task"}) == []
        assert vars(read_rows(session.connection(), TASK, {"task_id": task_id})[0]) == expected


def test_a_union_reads_by_its_first_selects_names(engine: Engine) -> None:
    task_id = _one_task(engine)
    with engine.reading() as session:
        expected = [tuple(r) for r in session.execute(BOTH_KINDS)]
        rows = read_rows(session.connection(), BOTH_KINDS, {})
    assert _compiled(engine.db.dialect, BOTH_KINDS, ()) is not None
    assert [(r.name, r.at) for r in rows] == expected
    assert (task_id, WHEN.replace(microsecond=0)) not in expected  # the times keep their microseconds
    assert any(r.name == task_id and r.at.tzinfo is not None for r in rows)


def test_what_the_cursor_path_cannot_read_goes_through_sqlalchemy(engine: Engine) -> None:
    task_id = _one_task(engine)
    with engine.reading() as session:
        with pytest.raises(InvalidRequestError, match="Ambiguous column name 'id'"):  # no Record can hold both
            read_rows(session.connection(), SAME_KEYS, {"task_id": task_id})
        entity = read_rows(session.connection(), ENTITY, {"task_id": task_id})
        some = read_rows(session.connection(), SOME, {"ids": [task_id, "other"]})
    for statement, names in ((SAME_KEYS, ("task_id",)), (ENTITY, ("task_id",)), (SOME, ("ids",))):
        assert _compiled(engine.db.dialect, statement, names) is None
    assert all(isinstance(r, Record) for r in entity + some)
    assert [r.id for r in entity] == [task_id]
    assert [(r.id, r.titles["zh-CN"]) for r in some] == [(task_id, "审核赔付")]


def test_a_driver_error_is_sqlalchemys_error(engine: Engine) -> None:
    with engine.reading() as session:
        with pytest.raises(DBAPIError) as raised:
            read_rows(session.connection(), NO_ROW, {})
    assert "no_such_table" in str(raised.value)
    assert type(raised.value).__module__ == "sqlalchemy.exc"


def test_a_session_read_sees_the_sessions_pending_changes(engine: Engine) -> None:
    task_id = _one_task(engine)
    with engine.transaction() as session:
        row = session.get(HumanTask, task_id)
        assert row is not None
        row.customer = "顺丰客户"
        assert session_rows(session, TASK, {"task_id": task_id})[0].customer == "顺丰客户"


def _task_in_session(session: Session, task_id: str) -> HumanTask:
    row = session.get(HumanTask, task_id)
    assert row is not None
    return row


def test_a_claim_and_a_completion_keep_the_sessions_own_objects_right(engine: Engine) -> None:
    """Claim and complete read the task (and instance) on the cursor: the ORM objects a caller holds in the same
    transaction take what the command wrote, and the instance is not written twice."""
    task_id = _one_task(engine)
    instance_id = _task(engine, task_id).instance_id
    assert _compiled(engine.db.dialect, _TASK_FOR_ACTOR, ("actor", "task_id")) is not None
    assert _compiled(engine.db.dialect, _TASK_AND_INSTANCE, ("actor", "task_id")) is not None
    with engine.transaction() as session:
        held = _task_in_session(session, task_id)
        instance = session.get(ProcessInstance, instance_id)
        assert instance is not None
        version = instance.version
        assert claim_task(session, task_id, "rep").assignee == "rep"
        assert held.assignee == "rep" and not session.is_modified(held)
        with counting(engine) as sent:
            done = complete_task(session, task_id, {}, "rep")
        assert done.status == "completed" and held.status == "completed" and held.completed_by == "rep"
        assert instance.version == version + 1  # the session's own instance object was the one saved
        assert sum(s.startswith("UPDATE process_instance") for s in sent) == 1, sent
    assert _task(engine, task_id).status == "completed"
    assert engine.verify_audit(instance_id=instance_id).ok


def test_a_completion_in_a_fresh_session_attaches_the_instance_it_read(engine: Engine) -> None:
    """Without the instance in the session, the completion's own read gives it: persistent, unchanged, its workflow
    document loaded only if asked for."""
    task_id = _one_task(engine)
    instance_id = _task(engine, task_id).instance_id
    engine.claim(task_id, "rep")
    with engine.transaction() as session:
        complete_task(session, task_id, {}, "rep")
        instance = session.get(ProcessInstance, instance_id)
        assert instance is not None and instance in session and not session.is_modified(instance)
        assert instance.state.startswith("{")  # the deferred document, loaded on access
    assert _task(engine, task_id).status == "completed"
    assert engine.instance(instance_id).status in ("running", "completed")


def test_the_kept_connection_is_the_transactions_own_and_a_new_transaction_gets_its_own(engine: Engine) -> None:
    task_id = _one_task(engine)
    with engine.session() as session:
        first = session_connection(session)
        assert session_connection(session) is first is session.connection()
        assert session_rows(session, TASK, {"task_id": task_id})[0].id == task_id
        session.commit()
        second = session_connection(session)
        assert second is session.connection() and second is not first and not first.in_transaction()
        session.rollback()
        third = session_connection(session)
        assert third is session.connection() and third is not second
        assert session_rows(session, TASK, {"task_id": task_id})[0].id == task_id


def test_an_insert_returning_is_read_on_the_cursor_and_a_conflict_returns_nothing(engine: Engine) -> None:
    """A new audit chain's head: ``INSERT … ON CONFLICT DO NOTHING RETURNING chain_key`` gives the key once, then no
    row; ``send_write`` of it still goes through SQLAlchemy, which returns the rows."""
    statement = _new_head_statement(engine.db.dialect.name)
    head = {"k": 987654, "s": 3, "h": "ab" * 32}
    with engine.transaction() as session:
        assert [r.chain_key for r in session_rows(session, statement, head)] == [987654]
        assert session_rows(session, statement, {**head, "s": 4}) == []
        assert send_write(session_connection(session), statement, {**head, "k": 987655}).scalars().all() == [987655]
    compiled = _compiled(engine.db.dialect, statement, ("h", "k", "s"))
    assert compiled is not None and compiled.columns == ("chain_key",)
    with engine.reading() as session:
        kept = session.execute(select(HEADS.c.last_seq).where(HEADS.c.chain_key.in_([987654, 987655]))
                               .order_by(HEADS.c.chain_key)).scalars().all()
    assert kept == [3, 3]  # the conflicting second insert changed nothing
