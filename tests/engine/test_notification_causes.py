"""Who is told about what (docs/notifications.md, "What notifies whom"): the causes not covered by the outbox tests —
a model's assignee, a delegation and its hand-back, a withdrawal, a copy — each a row for exactly those people; and
outside working hours only a missed deadline goes out at once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from engine import Engine, ManualClock, TaskView
from engine.persistence import NotificationDelivery
from engine.services.notify_settings import set_preferences
from tests.conftest import deploy_fixture

TWO_STEPS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs_told" targetNamespace="http://bpm-cs.test">
  <bpmn:process id="told" name="Told" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="enter"/>
    <bpmn:userTask id="enter" name="Enter" camunda:candidateGroups="cs_rep"/>
    <bpmn:sequenceFlow id="f2" sourceRef="enter" targetRef="check"/>
    <bpmn:userTask id="check" name="Check" camunda:candidateGroups="cs_head" camunda:assignee="head"/>
    <bpmn:sequenceFlow id="f3" sourceRef="check" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def _kinds(engine: Engine, user: str) -> list[str]:
    return [n.kind for n in engine.notifications(user)]


def start_two_steps(engine: Engine, tmp_path: Path) -> tuple[int, TaskView]:
    """Deploy TWO_STEPS, start it as rep; return the instance id and its first (cs_rep) task."""
    model = tmp_path / "told.bpmn"
    model.write_text(TWO_STEPS, encoding="utf-8")
    engine.deploy([model], actor="designer")
    instance = engine.start("told", {}, actor="rep")
    [enter] = engine.tasks(instance_id=instance.id)
    return instance.id, enter


def test_delegation_withdrawal_and_copy_tell_exactly_their_people(engine: Engine, tmp_path: Path) -> None:
    instance_id, enter = start_two_steps(engine, tmp_path)
    assert _kinds(engine, "rep2") == ["task_available"] and _kinds(engine, "rep") == []
    engine.claim(enter.id, "rep2")
    engine.delegate(enter.id, "rep2", "ops")
    [delegated] = engine.notifications("ops")
    assert (delegated.kind, delegated.task_id, delegated.instance_id) == ("task_delegated", enter.id, instance_id)
    engine.complete(enter.id, {}, "ops")  # handed back to its owner
    assert _kinds(engine, "rep2") == ["task_delegation_returned", "task_available"]
    assert _kinds(engine, "ops") == ["task_delegated"], "never the person who caused it"
    engine.complete(enter.id, {}, "rep2")
    [check] = [t for t in engine.tasks(instance_id=instance_id) if t.element_id == "check"]
    assert check.assignee == "head" and _kinds(engine, "head") == ["task_assigned"]
    engine.withdraw(enter.id, "rep2")
    [withdrawn, assigned] = engine.notifications("head")
    assert (withdrawn.kind, withdrawn.task_id, assigned.kind) == ("task_withdrawn", enter.id, "task_assigned")
    received = engine.copy(instance_id, "rep2", ["fin", "operations"], note="请关注")
    assert received == ["fin", "ops"]
    assert _kinds(engine, "fin") == ["instance_copied"] and _kinds(engine, "ops")[0] == "instance_copied"
    [copied] = engine.notifications("fin")
    assert (copied.task_id, copied.instance_id, copied.data.get("note")) == (None, instance_id, "请关注")
    assert {n.kind for n in engine.notifications("rep2")} == {"task_delegation_returned", "task_available"}


def test_at_night_only_a_missed_deadline_goes_out_at_once(engine: Engine, clock: ManualClock) -> None:
    deploy_fixture(engine, "boundary.bpmn")
    with engine.transaction() as s:
        set_preferences(s, "rep2", email="rep2@example.com")
    clock.advance(timedelta(hours=12))  # Monday 21:00 in Shanghai
    engine.start("boundary", {"customer": "ACME"}, actor="head")
    clock.advance(timedelta(minutes=31))
    engine.fire_due_timers()
    with engine.transaction() as s:
        rows = {(d.payload["kind"], d.recipient): (d.batch, d.next_attempt_at)
                for d in s.scalars(select(NotificationDelivery).where(NotificationDelivery.channel == "email"))}
    morning = (clock.now() - timedelta(minutes=31)).replace(hour=1, minute=0) + timedelta(days=1)  # Tuesday 09:00
    assert rows[("sla_breached", "rep2")] == ("now", clock.now())
    assert rows[("task_available", "rep2")] == ("morning", morning)
