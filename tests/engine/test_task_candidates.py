"""camunda:candidateGroups / candidateUsers / assignee decide who may claim and complete a task (issue #14's hole:
rep claimed a cs_head task, auditor completed the task meant for rep)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from engine.errors import Conflict, NotAllowed, ScriptError
from engine.facade import Engine
from engine.services.inbox import inbox
from tests.conftest import MONDAY_9AM

FILE = Path(__file__).resolve().parents[1] / "bpmn" / "modelers" / "camunda5_task_attributes.bpmn"


def _open(engine: Engine, instance_id: int) -> dict[str, object]:
    return {t.element_id: t for t in engine.tasks(instance_id=instance_id)}


def _events(engine: Engine, instance_id: int) -> list[str]:
    return [e.type for e in engine.history(instance_id)]


def test_rep_may_not_claim_a_cs_head_task(engine: Engine) -> None:
    engine.deploy([FILE], actor="designer")
    instance = engine.start("camunda_attributes", {}, actor="rep")
    task = _open(engine, instance.id)["head_review"]
    assert (task.group, task.candidate_groups, task.assignee) == ("cs_head", ("cs_head",), None)
    before = _events(engine, instance.id)
    with pytest.raises(NotAllowed, match="it is for group cs_head"):
        engine.claim(task.id, "rep")
    with pytest.raises(NotAllowed):
        engine.complete(task.id, {"anything": 1}, "rep")
    after = _open(engine, instance.id)["head_review"]
    assert (after.assignee, after.status) == (None, "open")
    assert _events(engine, instance.id) == before
    assert "anything" not in engine.instance(instance.id).data
    assert [t.id for t in engine.tasks(user="rep")] == []
    assert [t.id for t in engine.tasks(user="head")] == [task.id]
    assert engine.claim(task.id, "head").assignee == "head"


def test_auditor_may_not_complete_the_task_assigned_to_rep(engine: Engine, clock) -> None:
    engine.deploy([FILE], actor="designer")
    instance = engine.start("camunda_attributes", {}, actor="rep")
    engine.complete(_open(engine, instance.id)["head_review"].id, {}, "head")
    task = _open(engine, instance.id)["rep_follow_up"]
    # camunda:assignee, dueDate (ISO duration), followUpDate (Python), priority
    assert (task.assignee, task.priority) == ("rep", 80)
    assert task.due_at is not None and task.follow_up_at is not None and task.follow_up_at < task.due_at
    with pytest.raises(NotAllowed, match="assigned to rep"):
        engine.complete(task.id, {"anything": 1}, "auditor")
    with pytest.raises(Conflict, match="already claimed by rep"):
        engine.claim(task.id, "auditor")
    assert "anything" not in engine.instance(instance.id).data
    assert _open(engine, instance.id)["rep_follow_up"].status == "open"
    assert [t.id for t in engine.tasks(user="rep")] == [task.id]
    engine.complete(task.id, {}, "rep")


def test_several_candidate_groups_and_users_share_a_task(engine: Engine) -> None:
    engine.deploy([FILE], actor="designer")
    instance = engine.start("camunda_attributes", {}, actor="rep")
    engine.complete(_open(engine, instance.id)["head_review"].id, {}, "head")
    engine.complete(_open(engine, instance.id)["rep_follow_up"].id, {}, "rep")
    task = _open(engine, instance.id)["shared_check"]
    assert (task.candidate_groups, task.candidate_users) == (("vp", "finance"), ("rep2",))
    # vp by its first group, fin by the second, rep2 by name: all see it in their inbox; rep and auditor do not.
    for user in ("vp", "fin", "rep2"):
        assert [t.id for t in engine.tasks(user=user)] == [task.id], user
        with engine.transaction() as session:
            page = inbox(session, user)
        assert [t.id for t in page.tasks] == [task.id] and page.total == 1, user
    for user in ("rep", "auditor", "head"):
        assert engine.tasks(user=user) == [], user
        with pytest.raises(NotAllowed):
            engine.claim(task.id, user)
    assert engine.claim(task.id, "fin").assignee == "fin"
    assert engine.tasks(user="rep2") == []  # claimed: gone from the other candidates' inboxes
    engine.unclaim(task.id, "fin")
    assert [t.id for t in engine.tasks(user="rep2")] == [task.id]
    engine.complete(task.id, {}, "rep2")
    # A lane or candidate group may name a group by its display name (客服部负责人 = cs_head).
    last = _open(engine, instance.id)["by_display_name"]
    assert last.candidate_groups == ("cs_head",)
    engine.complete(last.id, {}, "head")
    assert engine.instance(instance.id).status == "completed"


def test_due_dates_follow_the_engine_clock(engine: Engine, clock) -> None:
    clock.set(MONDAY_9AM)
    engine.deploy([FILE], actor="designer")
    instance = engine.start("camunda_attributes", {}, actor="rep")
    engine.complete(_open(engine, instance.id)["head_review"].id, {}, "head")
    task = _open(engine, instance.id)["rep_follow_up"]
    assert task.follow_up_at == MONDAY_9AM + timedelta(days=1)


LANE_BY_DISPLAY_NAME = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
  id="Defs" targetNamespace="http://example.com">
  <bpmn:process id="lanes_by_name" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_zh" name="客服代表"><bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>by_zh</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="lane_en" name="Head of
        customer service"><bpmn:flowNodeRef>by_en</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="by_zh" name="By Chinese lane name" camunda:dueDate="missing_variable + timedelta(days=1)">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:userTask id="by_en" name="By English lane name"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="by_zh" />
    <bpmn:sequenceFlow id="f2" sourceRef="by_zh" targetRef="by_en" />
    <bpmn:sequenceFlow id="f3" sourceRef="by_en" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_lanes_may_name_groups_by_display_name_and_a_failing_due_date_is_a_clear_error(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "lanes_by_name.bpmn"
    path.write_text(LANE_BY_DISPLAY_NAME, encoding="utf-8")
    engine.deploy([path], actor="designer")
    # The due date's expression names a variable the instance does not have: a ScriptError, not a traceback.
    with pytest.raises(ScriptError, match="due date of task by_zh"):
        engine.start("lanes_by_name", {})
    assert engine.instances() == []
    path.write_text(LANE_BY_DISPLAY_NAME.replace("missing_variable", "now()"), encoding="utf-8")
    engine.deploy([path], actor="designer")
    instance = engine.start("lanes_by_name", {})
    first = _open(engine, instance.id)["by_zh"]
    assert first.group == "cs_rep"
    with pytest.raises(NotAllowed):
        engine.claim(first.id, "head")
    engine.complete(first.id, {}, "rep")
    assert _open(engine, instance.id)["by_en"].group == "cs_head"
