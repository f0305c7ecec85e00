"""On PostgreSQL a command's COMMIT goes out in the pipeline of its commit-time writes (#19: one wait, not two), and
only when that is safe: never when a savepoint is released, never when the session still has changes to flush after
the commit hooks. Each test watches psycopg's ``commit()`` calls: whether one ran inside a pipeline, and whether the
one SQLAlchemy sends afterwards found the transaction already ended (and so sent nothing).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import func, select

from engine import Engine
from engine.persistence import AuditEvent, User
from engine.services import audit
from tests.conftest import deploy_fixture

pytestmark = pytest.mark.postgres


@pytest.fixture
def commits(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Each psycopg commit() as 'pipelined', 'sent' (a transaction was open) or 'nothing to do' (none was)."""
    seen: list[str] = []
    original = psycopg.Connection.commit

    def watched(self: psycopg.Connection[Any]) -> None:
        if self._pipeline is not None:
            seen.append("pipelined")
        elif self.pgconn.transaction_status == TransactionStatus.IDLE:
            seen.append("nothing to do")
        else:
            seen.append("sent")
        original(self)

    monkeypatch.setattr(psycopg.Connection, "commit", watched)
    yield seen


def test_claim_and_complete_commit_inside_their_pipeline(pg_engine: Engine, commits: list[str]) -> None:
    deploy_fixture(pg_engine, "gateways.bpmn")
    started = pg_engine.start("gateways", {"amount": 600, "urgent": False}, actor="rep")
    task = pg_engine.tasks(instance_id=started.id)[0]
    commits.clear()
    pg_engine.claim(task.id, "rep")
    assert commits == ["pipelined", "nothing to do"]
    commits.clear()
    pg_engine.complete(task.id, {}, "rep")
    assert commits == ["pipelined", "nothing to do"]
    assert [e.type for e in pg_engine.history(started.id)][-3:-1] == ["task_claimed", "task_completed"]
    assert pg_engine.verify_audit().ok


def test_a_released_savepoint_does_not_commit_the_command(pg_engine: Engine, commits: list[str]) -> None:
    """The commit hooks also run when a savepoint is released: its writes go out, the command stays open and can
    still roll back everything."""
    deploy_fixture(pg_engine, "gateways.bpmn")
    started = pg_engine.start("gateways", {"amount": 600, "urgent": False}, actor="rep")
    before = len(pg_engine.history(started.id))
    commits.clear()
    with pytest.raises(RuntimeError, match="after the savepoint"):
        with pg_engine.transaction() as session:
            with session.begin_nested():
                audit.record(session, "data_changed", "admin", instance_id=started.id, process_key="gateways",
                             data={"before": {}, "after": {"x": 1}})
            raise RuntimeError("after the savepoint")
    assert "pipelined" not in commits
    assert len(pg_engine.history(started.id)) == before
    assert pg_engine.verify_audit().ok


def test_changes_left_to_flush_keep_the_commit_with_sqlalchemy(pg_engine: Engine, commits: list[str]) -> None:
    """A change the session flushes only after the commit hooks must be in the same transaction as the hooks' writes:
    then the pipeline does not commit, SQLAlchemy does, once, after its flush. (The hooks' reads usually flush
    everything first; a session without autoflush keeps the change pending until SQLAlchemy's own flush.)"""
    pg_engine.add_user("carol", ["cs_rep"])
    commits.clear()
    with pg_engine.transaction() as session:
        session.autoflush = False
        user = session.scalars(select(User).where(User.username == "carol")).one()
        audit.record(session, "user_renamed", "admin", data={"name": "Carol Chen"})
        audit.record(session, "user_renamed", "admin", data={"name": "Carol Chen", "again": True})
        user.display_name = "Carol Chen"
    assert commits == ["sent"]
    with pg_engine.transaction() as session:
        assert session.scalars(select(User.display_name).where(User.username == "carol")).one() == "Carol Chen"
        assert session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.type == "user_renamed")) == 2
    assert pg_engine.verify_audit().ok
