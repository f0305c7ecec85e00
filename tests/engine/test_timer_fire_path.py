"""The worker's fire path stays lean (#19) and keeps its lease rules: statements counted, never timed.

A lease pass leases every due timer with one SELECT and one UPDATE; a fire reads its timer and the instance, workflow
document included, with one statement (no second read of the document); a timer whose lease ran out and was taken
by another worker is not fired by the first one.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine import Engine, ManualClock
from engine.persistence import Timer
from engine.scheduling import fire_one
from engine.services.timers import acquire_due_timers
from tests.conftest import deploy_fixture
from tests.engine.sql_counting import counting


def _due_instances(engine: Engine, clock: ManualClock, count: int) -> list[int]:
    deploy_fixture(engine, "timers.bpmn")
    ids = [engine.start("wait_until", {"promised_date": "2026-03-05"}).id for _ in range(count)]
    clock.advance(days=30)
    return ids


def _leases(engine: Engine) -> dict[int, str | None]:
    with engine.transaction() as s:
        return {row.id: row.lock_owner for row in s.scalars(select(Timer).where(Timer.status == "waiting"))}


def test_one_pass_leases_every_due_timer_with_one_select_and_one_update(engine: Engine, clock: ManualClock) -> None:
    _due_instances(engine, clock, 3)
    with counting(engine) as sent, engine.transaction() as s:
        ids = acquire_due_timers(s, "worker-a", limit=10, lease_s=60)
    assert len(ids) == 3
    writes = [q for q in sent if q.startswith(("SELECT", "UPDATE"))]
    assert [q.split()[0] for q in writes] == ["SELECT", "UPDATE"], sent
    assert set(_leases(engine).values()) == {"worker-a"}
    with engine.transaction() as s:
        assert acquire_due_timers(s, "worker-b", limit=10, lease_s=60) == [], "leased timers are not due for others"


def test_a_fire_reads_timer_and_instance_document_in_one_statement(engine: Engine, clock: ManualClock) -> None:
    [instance_id] = _due_instances(engine, clock, 1)
    engine.runtime._runs.clear()  # as in a worker process, which did not start the instance: nothing cached
    with engine.transaction() as s:
        [timer_id] = acquire_due_timers(s, "worker-a")
    with counting(engine) as sent:
        result = fire_one(engine.session, timer_id, "worker-a")
    assert result.outcome == "fired"
    reads = [q for q in sent if q.startswith("SELECT") and "process_instance" in q.split(" WHERE ")[0]]
    assert len(reads) == 1, reads
    assert "process_instance.state" in reads[0] and "timer.lock_owner" in reads[0]
    assert [t.element_id for t in engine.tasks(instance_id=instance_id)] == ["follow_up"]
    assert engine.verify_audit().ok


def test_a_lease_taken_over_after_it_ran_out_is_fired_once_by_the_new_owner(engine: Engine, clock: ManualClock) -> None:
    [instance_id] = _due_instances(engine, clock, 1)
    with engine.transaction() as s:
        [timer_id] = acquire_due_timers(s, "worker-a", lease_s=60)
    clock.advance(seconds=61)  # worker-a stalled past its lease
    with engine.transaction() as s:
        assert acquire_due_timers(s, "worker-b", lease_s=60) == [timer_id]
    assert fire_one(engine.session, timer_id, "worker-a").outcome == "skipped", "no longer worker-a's to fire"
    assert fire_one(engine.session, timer_id, "worker-b").outcome == "fired"
    assert fire_one(engine.session, timer_id, "worker-b").outcome == "skipped", "gone once fired"
    fired = [e for e in engine.history(instance_id) if e.type == "timer_fired"]
    assert len(fired) == 1


def test_a_cycle_timer_gives_its_lease_back_after_each_fire(engine: Engine, clock: ManualClock) -> None:
    deploy_fixture(engine, "timers.bpmn")
    start = clock.now()
    instance_id = engine.start("reminders").id
    clock.advance(minutes=11)
    assert [r.outcome for r in engine.fire_due_timers(owner="worker-a")] == ["fired"]
    [timer] = engine.timers(instance_id=instance_id)
    assert timer.due_at == start + timedelta(minutes=20)
    assert set(_leases(engine).values()) == {None}, "the next occurrence is free for any worker"
    clock.advance(minutes=10)
    assert [r.outcome for r in engine.fire_due_timers(owner="worker-b")] == ["fired"]
