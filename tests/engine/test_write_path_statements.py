"""The write path stays lean (#19): how many SQL statements each command sends, and that the leaner path keeps
its guarantees (a stale instance version is a Conflict, a chain started over a left-over head still verifies).

The bounds are counts from a real run on each backend, not timings: a change that adds a statement to every
command shows up here, on SQLite and (BPM_TEST_BACKEND=postgres) on PostgreSQL.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from engine import Conflict, Engine, ManualClock
from engine.persistence import AuditChainHead, AuditEvent, Notification, NotificationDelivery, ProcessInstance
from engine.services import audit
from engine.services.deferred_writes import defer
from engine.services.loading import write_instance
from engine.services.notify_settings import set_group_webhook, set_preferences
from engine.services.task_operations import transfer_task
from tests.conftest import MONDAY_9AM, deploy_fixture
from tests.engine.sql_counting import counting

# Statements per command, BEGIN included (SQLite sends it; psycopg begins implicitly, so PostgreSQL counts one fewer).
# start: definition, instance INSERT, Core UPDATE, task INSERT, outbox lookup, notification INSERT, chain head
# INSERT … RETURNING, events INSERT. claim: task with the actor's groups, task UPDATE, head lock, events INSERT, head
# UPDATE. complete: task+instance with the actor's groups, task INSERT, instance UPDATE, task UPDATE, outbox lookup,
# notification INSERT, head lock, events INSERT, head UPDATE.
# Before #19's leaner path (SQLite): start 14, claim 7, complete 15, message 14, timer lease + fire 15; then claim 7,
# complete 11 until the actor's groups came with the task.
BOUNDS = {"start": 9, "claim": 6, "complete": 10, "complete_last": 7, "message": 12, "timer": 14}
TRANSACTIONS = {"timer": 2}  # the worker's lease and the fire are two transactions


def bound(engine: Engine, command: str) -> int:
    return BOUNDS[command] - TRANSACTIONS.get(command, 1) * (engine.db.dialect.name == "postgresql")


def counted(engine: Engine, fn: Callable[[], Any]) -> tuple[Any, list[str]]:
    with counting(engine) as sent:
        result = fn()
    return result, list(sent)


def kinds(sent: list[str]) -> Counter[str]:
    return Counter(s.split()[0].upper() for s in sent)


def test_start_claim_complete_send_few_statements(engine: Engine) -> None:
    deploy_fixture(engine, "gateways.bpmn")
    engine.start("gateways", {"amount": 600, "urgent": False}, actor="rep")  # the definition's spec and texts are read once per process

    started, sent = counted(engine, lambda: engine.start("gateways", {"amount": 600, "urgent": False}, actor="rep"))
    assert len(sent) <= bound(engine, "start"), sent
    # A new instance's chain head is inserted with its final position, not read, locked and updated.
    assert not [s for s in sent if s.startswith(("SELECT audit_chain_head", "UPDATE audit_chain_head"))], sent

    task = engine.tasks(instance_id=started.id)[0]
    _, sent = counted(engine, lambda: engine.claim(task.id, "rep"))
    assert len(sent) <= bound(engine, "claim"), sent

    _, sent = counted(engine, lambda: engine.complete(task.id, {}, "rep"))
    assert len(sent) <= bound(engine, "complete"), sent
    # The task and its instance are read together; the instance is written once, version-checked.
    assert not [s for s in sent if s.startswith("SELECT") and "FROM process_instance" in s and "human_task" not in s], sent
    writes = [s for s in sent if s.startswith("UPDATE process_instance")]
    assert len(writes) == 1 and "process_instance.version = " in writes[0], writes
    # Members, e-mail preferences and robots of the new task's group are read by one statement.
    assert sum("notification_preference" in s or "group_webhook" in s for s in sent) == 1, sent
    assert kinds(sent)["DELETE"] == 0, sent  # the task had no candidate rows to drop

    review = engine.tasks(instance_id=started.id)[0]
    assert review.element_id == "rep_review"
    engine.claim(review.id, "rep")
    _, sent = counted(engine, lambda: engine.complete(review.id, {}, "rep"))
    assert len(sent) <= bound(engine, "complete_last"), sent
    assert engine.instance(started.id).status == "completed"
    assert engine.verify_audit().ok


def test_message_and_timer_send_few_statements(engine: Engine, clock: ManualClock) -> None:
    deploy_fixture(engine, "messages.bpmn")
    due = (clock.now() + timedelta(days=3)).isoformat()
    engine.start("await_payment", {"invoice_no": "INV-0", "due_at": due}, business_key="INV-0")
    a = engine.start("await_payment", {"invoice_no": "INV-1", "due_at": due}, business_key="INV-1")
    b = engine.start("await_payment", {"invoice_no": "INV-2", "due_at": due}, business_key="INV-2")
    engine.message("payment_received", {"invoice_no": "INV-0"}, {"amount": "1"})  # reads the message declarations once

    matched, sent = counted(engine, lambda: engine.message("payment_received", {"invoice_no": "INV-1"}, {"amount": "5"}))
    assert matched == [a.id]
    assert len(sent) <= bound(engine, "message"), sent

    clock.advance(days=3, seconds=1)
    fired, sent = counted(engine, lambda: engine.fire_due_timers(limit=1))
    assert [r.outcome for r in fired] == ["fired"]
    assert len(sent) <= bound(engine, "timer"), sent
    assert engine.verify_audit().ok
    assert {engine.instance(b.id).status, engine.instance(a.id).status} <= {"running", "completed"}


def test_a_stale_instance_version_is_a_conflict_and_writes_nothing(engine: Engine) -> None:
    deploy_fixture(engine, "gateways.bpmn")
    started = engine.start("gateways", {"amount": 600, "urgent": False}, actor="rep")
    with pytest.raises(Conflict, match=f"instance {started.id} was changed by someone else"):
        with engine.transaction() as session:
            row = session.get(ProcessInstance, started.id)
            assert row is not None
            # Someone else's committed change, as the row looks when our UPDATE runs: the version moved on.
            session.execute(update(ProcessInstance).where(ProcessInstance.id == started.id)
                            .values(version=ProcessInstance.version + 1).execution_options(synchronize_session=False))
            write_instance(session, row, {"summary": {"tasks": []}, "status": "cancelled"})
    view = engine.instance(started.id)
    assert view.status == "running" and len(view.tasks) == 1
    with engine.transaction() as session:
        assert session.scalar(select(ProcessInstance.version).where(ProcessInstance.id == started.id)) == 2


def test_a_new_chain_over_a_head_already_there_is_chained_from_that_head(engine: Engine) -> None:
    """Should an instance id come with a head row already (an id used before), its events go on from that head."""
    deploy_fixture(engine, "gateways.bpmn")
    started = engine.start("gateways", {"amount": 600, "urgent": False}, actor="rep")
    with engine.transaction() as session:
        before = session.scalar(select(AuditChainHead.last_seq).where(AuditChainHead.chain_key == started.id))
        assert before and before >= 2
        audit.new_chain(session, started.id)  # claimed new, but its head is there
        audit.record(session, "data_changed", "admin", instance_id=started.id, process_key="gateways",
                     data={"before": {}, "after": {"x": 1}})
    with engine.transaction() as session:
        head = session.scalar(select(AuditChainHead.last_seq).where(AuditChainHead.chain_key == started.id))
        last = session.scalars(select(AuditEvent).where(AuditEvent.chain_key == started.id)
                               .order_by(AuditEvent.chain_seq.desc()).limit(1)).one()
        assert head == before + 1 and last.chain_seq == before + 1 and last.type == "data_changed"
        assert session.execute(text("SELECT count(*) FROM audit_chain_head WHERE chain_key = :k"),
                               {"k": started.id}).scalar() == 1
    report = engine.verify_audit()
    assert report.ok, report.reason


def test_the_one_outbox_lookup_still_finds_every_recipient_s_mail_and_robot(engine: Engine, clock: ManualClock) -> None:
    """Group members, direct recipients and people only the late-task lookup finds all get their e-mail; robots too."""
    deploy_fixture(engine, "boundary.bpmn")
    with engine.transaction() as s:
        set_preferences(s, "rep2", email="rep2@example.com")  # a member of the task's group
        set_preferences(s, "ops", email="ops@example.com", digest=True)  # holds the late task, in no group it names
        set_preferences(s, "head", email="head@example.com")
        set_group_webhook(s, "cs_rep", "wecom", "https://qyapi.example.com/cgi-bin/webhook/send?key=k", None, "admin")
    started = engine.start("boundary", {"customer": "ACME"}, actor="head")
    task = engine.tasks(instance_id=started.id)[0]
    with engine.transaction() as s:
        transfer_task(s, task.id, "head", to_user="ops", reason="ops knows this customer")
    clock.advance(timedelta(minutes=31))
    engine.fire_due_timers()
    with engine.transaction() as s:
        sent = {(d.channel, d.recipient, d.payload["kind"]) for d in s.scalars(select(NotificationDelivery))}
    assert ("email", "rep2", "task_available") in sent  # a member of the new task's group
    assert ("wecom", "cs_rep", "task_available") in sent  # the group's robot
    assert ("email", "ops", "task_transferred") in sent  # a direct recipient
    assert ("email", "ops", "sla_breached") in sent  # found only by the late-task lookup
    assert ("wecom", "cs_rep", "sla_breached") in sent
    assert not [d for d in sent if d[1] in ("rep", "head") and d[0] == "email" and d[2] != "escalated"]


def test_a_failing_deferred_write_rolls_the_whole_command_back(engine: Engine) -> None:
    """The writes sent together at commit (on PostgreSQL in one pipeline) still fail the command as one."""
    deploy_fixture(engine, "gateways.bpmn")
    started = engine.start("gateways", {"amount": 600, "urgent": False}, actor="rep")
    with engine.transaction() as session:
        before = session.scalar(select(AuditChainHead.last_seq).where(AuditChainHead.chain_key == started.id))
    row = {"id": "n" * 32, "recipient": "rep", "kind": "task_available", "task_id": None, "instance_id": started.id,
           "process_key": "gateways", "actor": "head", "source": "s" * 32, "data": {}, "created_at": MONDAY_9AM,
           "read_at": None}
    with pytest.raises(IntegrityError):
        with engine.transaction() as session:
            audit.record(session, "data_changed", "admin", instance_id=started.id, process_key="gateways",
                         data={"before": {}, "after": {"x": 1}})
            defer(session, insert(Notification).inline(), [row])
            defer(session, insert(Notification).inline(), [row])  # the same id again
    with engine.transaction() as session:
        assert session.scalar(select(AuditChainHead.last_seq).where(AuditChainHead.chain_key == started.id)) == before
        assert session.scalar(select(func.count()).select_from(Notification).where(Notification.id == "n" * 32)) == 0
    assert "data_changed" not in [e.type for e in engine.history(started.id)]
    assert engine.verify_audit().ok


@pytest.mark.postgres
def test_on_postgresql_the_commit_time_writes_go_out_in_one_pipeline(pg_engine: Engine) -> None:
    """A completion waits three times for its statements: the task read; the instance UPDATE, the next task's row
    and the completed task's UPDATE in one pipeline; the outbox's and the audit chain's writes (and the COMMIT, see
    test_commit_in_pipeline.py) in another. The two reads the commit hooks need are not pipelined."""
    deploy_fixture(pg_engine, "gateways.bpmn")
    started = pg_engine.start("gateways", {"amount": 600, "urgent": False}, actor="rep")
    task = pg_engine.tasks(instance_id=started.id)[0]
    pg_engine.claim(task.id, "rep")
    seen: list[tuple[str, bool]] = []

    def before(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append((" ".join(statement.split()[:3]), conn.connection.driver_connection.pgconn.pipeline_status != 0))

    event.listen(pg_engine.db, "before_cursor_execute", before)
    try:
        pg_engine.complete(task.id, {}, "rep")
    finally:
        event.remove(pg_engine.db, "before_cursor_execute", before)
    assert seen == [("SELECT human_task.id, human_task.instance_id,", False),
                    ("UPDATE process_instance SET", True), ("INSERT INTO human_task", True), ("UPDATE human_task SET", True),
                    ("SELECT 'm' AS", False), ("SELECT audit_chain_head.chain_key, audit_chain_head.last_seq,", False),
                    ("INSERT INTO notification", True), ("INSERT INTO audit_event", True),
                    ("UPDATE audit_chain_head SET", True)]
    assert pg_engine.verify_audit().ok
    assert [n.kind for n in pg_engine.notifications("rep2")][:1] == ["task_available"]
