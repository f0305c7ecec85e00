"""A batch of writes (one pipeline on PostgreSQL) reports what went wrong as if the writes had been sent one by one:
a write that matched no row is the Conflict it stands for, also when it made a later write fail; any other failure
is the database's own error, not a Conflict."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import Table, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import Conflict, Engine
from engine.persistence import HumanTask, ProcessInstance
from engine.services.write_batch import WriteBatch, write_batch
from tests.conftest import deploy_fixture

TASKS: Table = HumanTask.__table__  # type: ignore[assignment]
INSTANCES: Table = ProcessInstance.__table__  # type: ignore[assignment]


def _open_task(engine: Engine) -> tuple[int, dict[str, object]]:
    deploy_fixture(engine, "gateways.bpmn")
    started = engine.start("gateways", {"amount": 600, "urgent": False}, actor="rep")
    with engine.transaction() as session:
        row = session.get(HumanTask, engine.tasks(instance_id=started.id)[0].id)
        assert row is not None
        return started.id, {c.name: getattr(row, c.name) for c in TASKS.columns}


def write_stale_instance(session: Session, batch: WriteBatch, instance_id: int) -> None:
    """An instance UPDATE that matches no row (the version it expects is gone), expected to change one."""
    result = session.execute(update(INSTANCES).where(INSTANCES.c.id == instance_id, INSTANCES.c.version == -1)
                             .values(status="running"))
    batch.expect_one(result, lambda: Conflict("stale instance"))


def test_a_write_that_matched_no_row_is_a_conflict(engine: Engine) -> None:
    instance_id, _ = _open_task(engine)
    with pytest.raises(Conflict, match="stale"):
        with engine.transaction() as session, write_batch(session) as batch:
            write_stale_instance(session, batch, instance_id)


def test_a_conflict_explains_the_failure_it_caused(engine: Engine) -> None:
    """The loser of a race writes its instance (no row: the winner moved the version), then the same new task row as
    the winner (a duplicate key): what it is told is the Conflict."""
    instance_id, task = _open_task(engine)
    with pytest.raises(Conflict, match="stale"):
        with engine.transaction() as session, write_batch(session) as batch:
            write_stale_instance(session, batch, instance_id)
            session.execute(insert(TASKS), task)


def test_a_conflict_explains_the_failure_it_caused_before_the_batch_ends(engine: Engine) -> None:
    """The same, with a write after the failing one: psycopg reports the failure while that write is sent."""
    instance_id, task = _open_task(engine)
    with pytest.raises(Conflict, match="stale"):
        with engine.transaction() as session, write_batch(session) as batch:
            write_stale_instance(session, batch, instance_id)
            session.execute(insert(TASKS), task)
            for _ in range(3):
                session.execute(update(TASKS).where(TASKS.c.id == task["id"]).values(priority=1))


def test_any_other_failure_is_the_database_error(engine: Engine) -> None:
    instance_id, task = _open_task(engine)
    with pytest.raises(IntegrityError):
        with engine.transaction() as session, write_batch(session) as batch:
            session.execute(insert(TASKS), task)
            result = session.execute(update(INSTANCES).where(INSTANCES.c.id == instance_id).values(status="running"))
            batch.expect_one(result, lambda: Conflict("stale instance"))
    assert engine.instance(instance_id).status == "running"
    assert engine.verify_audit().ok


def test_the_loser_of_a_race_leaves_no_psycopg_warning(pg_engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    """psycopg logs the aborted end of a pipeline whose statement failed as an 'ignored' error; the engine reports that
    failure itself (a Conflict here), so the echo is dropped: an operator's log shows no warning per lost race."""
    instance_id, task = _open_task(pg_engine)
    with caplog.at_level(logging.WARNING, logger="psycopg"), pytest.raises(Conflict, match="stale"):
        with pg_engine.transaction() as session, write_batch(session) as batch:
            write_stale_instance(session, batch, instance_id)
            session.execute(insert(TASKS), task)
            session.execute(update(TASKS).where(TASKS.c.id == task["id"]).values(priority=1))
    assert [r.getMessage() for r in caplog.records if r.name.startswith("psycopg")] == []


def test_other_errors_psycopg_ignores_are_still_logged(pg_engine: Engine) -> None:
    """Only the aborted pipeline's echo is dropped; another error psycopg ignores while ending a pipeline is logged."""
    import psycopg

    record = logging.LogRecord("psycopg", logging.WARNING, __file__, 1, "error ignored terminating %r: %s",
                               ("<pipeline>", psycopg.OperationalError("server closed the connection")), None)
    echo = logging.LogRecord("psycopg", logging.WARNING, __file__, 1, "error ignored terminating %r: %s",
                             ("<pipeline>", psycopg.errors.PipelineAborted("pipeline aborted")), None)
    psycopg_log = logging.getLogger("psycopg")
    assert psycopg_log.filter(record)
    assert not psycopg_log.filter(echo)
