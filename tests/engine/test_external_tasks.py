"""External service tasks at the service level: lock, expiry, wrong worker, retries → incident → retry, audit."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from engine import Engine
from engine.errors import Conflict, InvalidInput, NotFound
from engine.persistence import ExternalTask, Incident
from engine.services import external_tasks as ext
from engine.services.timers import list_incidents, resolve_incident, retry_incident
from tests.conftest import deploy_fixture

ERP = [{"topic": "erp_order_sync", "lock_duration_s": 60}]
TMS = [{"topic": "tms_booking", "lock_duration_s": 60}]


def fetch(engine: Engine, worker: str, topics: list[dict[str, Any]] = ERP, max_tasks: int = 10) -> list[ext.ExternalTaskView]:
    with engine.transaction() as session:
        return ext.fetch_and_lock(session, worker, topics, max_tasks, "erp")


def call(engine: Engine, fn: Any, *args: Any) -> Any:
    with engine.transaction() as session:
        return fn(session, *args, "erp")


def rows(engine: Engine) -> list[tuple[str, str, str | None, int | None]]:
    with engine.transaction() as session:
        return [(r.element_id, r.status, r.lock_owner, r.retries)
                for r in session.query(ExternalTask).order_by(ExternalTask.created_at)]


@pytest.fixture
def started(engine: Engine) -> int:
    deploy_fixture(engine, "camunda5_external_task.bpmn")
    return engine.start("erp_order_sync", {"order_no": "SO-1001", "amount": 120}, business_key="SO-1001").id


def test_the_instance_waits_on_a_row_and_the_worker_gets_its_variables(engine: Engine, started: int, clock) -> None:
    assert rows(engine) == [("Activity_sync_erp", "open", None, None)]
    [task] = fetch(engine, "erp-1")
    assert (task.topic, task.instance_id, task.business_key) == ("erp_order_sync", started, "SO-1001")
    assert task.variables == {"order_no": "SO-1001", "amount": 120}
    assert task.locked_until == clock.now() + timedelta(seconds=60) and task.retries is None
    assert fetch(engine, "erp-2") == []  # locked: nobody else gets it

    call(engine, ext.complete, task.id, "erp-1", {"erp_id": "4711"})
    # The send task marked external is the next external task; the ERP's variables are instance data now.
    assert rows(engine) == [("Activity_sync_erp", "completed", "erp-1", None), ("Activity_book_tms", "open", None, None)]
    [booking] = fetch(engine, "tms-1", TMS)
    assert booking.variables == {"order_no": "SO-1001", "amount": 120, "erp_id": "4711"}
    call(engine, ext.complete, booking.id, "tms-1", {"shipment": "SH-9"})
    assert engine.instance(started).status == "completed"
    assert engine.instance(started).data == {"order_no": "SO-1001", "amount": 120, "erp_id": "4711", "shipment": "SH-9"}
    kinds = [e.type for e in engine.history(started)]
    assert kinds.count("external_task_locked") == 2 and kinds.count("external_task_completed") == 2
    completed = [e for e in engine.history(started) if e.type == "external_task_completed"][0]
    assert completed.actor == "erp" and completed.data["worker_id"] == "erp-1"
    assert completed.data["variables"] == {"erp_id": "4711"}


def test_another_worker_may_not_complete_fail_or_extend_a_lock(engine: Engine, started: int) -> None:
    [task] = fetch(engine, "erp-1")
    for action in ((ext.complete, task.id, "erp-2", {"erp_id": "evil"}),
                   (ext.handle_failure, task.id, "erp-2", "nope", 0, 0),
                   (ext.extend_lock, task.id, "erp-2", 600)):
        with pytest.raises(Conflict, match="locked by another worker"):
            call(engine, *action)
    # Nothing changed: still erp-1's, still waiting, no incident, no data merged.
    assert rows(engine) == [("Activity_sync_erp", "open", "erp-1", None)]
    assert "erp_id" not in (engine.instance(started).data or {})
    with engine.transaction() as session:
        assert list_incidents(session) == []


def test_an_expired_lock_lets_another_worker_fetch_and_the_first_loses_it(engine: Engine, started: int, clock) -> None:
    [task] = fetch(engine, "erp-1")
    clock.advance(seconds=59)
    assert fetch(engine, "erp-2") == []
    call(engine, ext.extend_lock, task.id, "erp-1", 30)  # extended from now: 30 s more
    clock.advance(seconds=29)
    assert fetch(engine, "erp-2") == []
    clock.advance(seconds=2)
    with pytest.raises(Conflict, match="expired"):
        call(engine, ext.extend_lock, task.id, "erp-1", 30)
    [again] = fetch(engine, "erp-2")
    assert again.id == task.id and again.worker_id == "erp-2"
    with pytest.raises(Conflict, match="locked by another worker"):
        call(engine, ext.complete, task.id, "erp-1", {})
    call(engine, ext.complete, task.id, "erp-2", {})
    with pytest.raises(Conflict, match="completed by erp-2"):  # exactly once
        call(engine, ext.complete, task.id, "erp-2", {})
    locks = [e.data for e in engine.history(started) if e.type == "external_task_locked"]
    assert [lock["worker_id"] for lock in locks[:2]] == ["erp-1", "erp-2"] and locks[1]["expired_lock_of"] == "erp-1"


def test_failures_with_retries_back_off_then_raise_an_incident_that_can_be_retried(engine: Engine, started: int, clock) -> None:
    [task] = fetch(engine, "erp-1")
    call(engine, ext.handle_failure, task.id, "erp-1", "ERP timeout", 2, 300)
    assert fetch(engine, "erp-1") == []  # backing off
    clock.advance(seconds=300)
    [task] = fetch(engine, "erp-1")
    assert task.retries == 2 and task.error_message == "ERP timeout"
    call(engine, ext.handle_failure, task.id, "erp-1", "ERP says: order\nlocked", 0, 0)
    assert rows(engine) == [("Activity_sync_erp", "incident", None, 0)]
    clock.advance(hours=1)
    assert fetch(engine, "erp-1") == []  # an incident is not fetched
    assert engine.instance(started).status == "running"
    with engine.transaction() as session:
        [incident] = list_incidents(session)
        assert incident.external_task_id == task.id and incident.timer_id is None
        assert incident.error == "erp_order_sync: ERP says: order locked"
        retried = retry_incident(session, incident.id, "admin")
        assert retried.status == "retried"
    [task] = fetch(engine, "erp-1")
    assert task.retries == 1
    call(engine, ext.complete, task.id, "erp-1", {"erp_id": "1"})
    kinds = [e.type for e in engine.history(started)]
    assert kinds.count("external_task_failed") == 2
    assert "incident_raised" in kinds and "incident_retried" in kinds


def test_an_incident_cannot_be_retried_twice_and_resolving_keeps_the_task_out_of_reach(engine: Engine, started: int) -> None:
    [task] = fetch(engine, "erp-1")
    call(engine, ext.handle_failure, task.id, "erp-1", "bad data", 0, 0)
    with engine.transaction() as session:
        incident_id = session.query(Incident).one().id
        resolve_incident(session, incident_id, "admin", "fixed by hand in the ERP")
    with engine.transaction() as session, pytest.raises(Conflict):
        retry_incident(session, incident_id, "admin")
    assert fetch(engine, "erp-1") == []


def test_bad_requests_are_refused_in_words(engine: Engine, started: int) -> None:
    with pytest.raises(InvalidInput, match="worker_id"):
        fetch(engine, " ")
    with pytest.raises(InvalidInput, match="lock_duration_s"):
        fetch(engine, "w", [{"topic": "erp_order_sync", "lock_duration_s": 0}])
    with pytest.raises(InvalidInput, match="max_tasks"):
        fetch(engine, "w", ERP, 0)
    [task] = fetch(engine, "erp-1")
    with pytest.raises(InvalidInput, match="retries"):
        call(engine, ext.handle_failure, task.id, "erp-1", "x", -1, 0)
    with pytest.raises(InvalidInput, match="variables"):
        call(engine, ext.complete, task.id, "erp-1", ["not", "an", "object"])
    with pytest.raises(NotFound):
        call(engine, ext.complete, "no-such-task", "erp-1", {})
    assert rows(engine) == [("Activity_sync_erp", "open", "erp-1", None)]


def test_cancelling_the_instance_cancels_its_external_tasks(engine: Engine, started: int) -> None:
    [task] = fetch(engine, "erp-1")
    engine.cancel(started, "admin", "customer withdrew")
    assert rows(engine) == [("Activity_sync_erp", "cancelled", None, None)]
    with pytest.raises(Conflict, match="cancelled"):
        call(engine, ext.complete, task.id, "erp-1", {})
    with engine.transaction() as session:
        assert ext.list_external_tasks(session) == []
        assert [t.status for t in ext.list_external_tasks(session, status=None)] == ["cancelled"]


GUARDED = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
                  id="Definitions_guarded" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="guarded_sync" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="sync" name="Sync to ERP" camunda:type="external" camunda:topic="erp_order_sync">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:boundaryEvent id="too_slow" attachedToRef="sync">
      <bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="synced"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="gave_up"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="sync"/>
    <bpmn:sequenceFlow id="f2" sourceRef="sync" targetRef="synced"/>
    <bpmn:sequenceFlow id="f3" sourceRef="too_slow" targetRef="gave_up"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_boundary_timer_cancels_the_external_task_and_its_worker_is_told(engine: Engine, clock, tmp_path) -> None:
    path = tmp_path / "guarded.bpmn"
    path.write_text(GUARDED)
    engine.deploy([path], actor="designer")
    instance = engine.start("guarded_sync", {"order_no": "SO-9"})
    [task] = fetch(engine, "erp-1")
    clock.advance(hours=1, seconds=1)
    assert [r.outcome for r in engine.fire_due_timers()] == ["fired"]
    assert rows(engine) == [("sync", "cancelled", None, None)]
    with pytest.raises(Conflict, match="is cancelled"):
        call(engine, ext.complete, task.id, "erp-1", {"erp_id": "late"})
    assert engine.instance(instance.id).status == "completed"
    assert "erp_id" not in (engine.instance(instance.id).data or {})


def test_a_worker_cannot_smuggle_serializer_type_tags_into_the_instance(engine: Engine, started: int) -> None:
    [task] = fetch(engine, "erp-1")
    tagged = {"typename": "Decimal", "value": "1e999999"}
    call(engine, ext.complete, task.id, "erp-1", {"erp_reply": tagged})
    engine.close()  # a fresh engine: the data comes back from the stored document, not from a cached workflow
    fresh = Engine(config=engine.config, clock=engine.clock)
    try:
        assert fresh.instance(started).data["erp_reply"] == tagged
        [booking] = fetch(fresh, "tms-1", TMS)
        assert booking.variables["erp_reply"] == tagged
    finally:
        fresh.close()


def test_a_completion_whose_next_step_fails_changes_nothing(engine: Engine, tmp_path) -> None:
    from engine.errors import ScriptError

    path = tmp_path / "then_script.bpmn"
    path.write_text(GUARDED.replace("guarded_sync", "then_script").replace(
        'sourceRef="sync" targetRef="synced"', 'sourceRef="sync" targetRef="check"').replace(
        '<bpmn:endEvent id="synced"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>',
        '<bpmn:scriptTask id="check" scriptFormat="python"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>'
        '<bpmn:script>total = erp_amount * 2</bpmn:script></bpmn:scriptTask>'
        '<bpmn:endEvent id="synced"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>'
        '<bpmn:sequenceFlow id="f4" sourceRef="check" targetRef="synced"/>'))
    engine.deploy([path], actor="designer")
    instance = engine.start("then_script", {})
    [task] = fetch(engine, "erp-1")
    with pytest.raises(ScriptError, match="erp_amount"):
        call(engine, ext.complete, task.id, "erp-1", {"erp_total": 3})
    assert rows(engine) == [("sync", "open", "erp-1", None)]
    assert "erp_total" not in (engine.instance(instance.id).data or {})
    call(engine, ext.complete, task.id, "erp-1", {"erp_amount": 3})
    assert engine.instance(instance.id).data["total"] == 6
