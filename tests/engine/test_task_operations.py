"""Transfer (转办) and the done list (已办): who may hand a task on, where it goes, what is recorded."""

from __future__ import annotations

import pytest

from engine import Engine
from engine.errors import Conflict, InvalidInput, NotAllowed
from engine.services.task_notes import get_draft
from engine.services.views import TaskView
from tests.conftest import deploy_fixture


def _entered(engine: Engine) -> TaskView:
    deploy_fixture(engine, "gateways.bpmn")
    instance = engine.start("gateways", {"amount": 50}, actor="rep", business_key="ORD-7")
    (task,) = engine.tasks(instance_id=instance.id)
    return task


def test_the_holder_transfers_a_task_to_a_colleague_with_a_reason(engine: Engine) -> None:
    task = _entered(engine)
    engine.claim(task.id, "rep")
    moved = engine.transfer(task.id, "rep", to_user="rep2", reason="休假，交给同事处理")
    assert (moved.assignee, moved.status) == ("rep2", "open")
    assert [t.id for t in engine.tasks(user="rep")] == [], "the task left my inbox"
    assert [t.id for t in engine.tasks(user="rep2")] == [task.id]
    with pytest.raises(NotAllowed):
        engine.complete(task.id, {}, "rep")
    engine.complete(task.id, {}, "rep2")
    (event,) = [e for e in engine.history(task.instance_id) if e.type == "task_transferred"]
    assert event.actor == "rep" and event.data["to_user"] == "rep2" and event.data["reason"] == "休假，交给同事处理"
    assert event.data["from"] == {"assignee": "rep", "groups": ["cs_rep"]}


def test_a_transfer_to_a_group_puts_the_task_unclaimed_in_that_group_s_queue(engine: Engine) -> None:
    task = _entered(engine)
    moved = engine.transfer(task.id, "rep", to_group="cs_head", reason="需要负责人决定")
    assert (moved.assignee, moved.group, moved.candidate_groups) == (None, "cs_head", ("cs_head",))
    assert [t.id for t in engine.tasks(user="head")] == [task.id] and engine.tasks(user="rep") == []
    engine.claim(task.id, "head")


def test_transfers_are_refused_with_one_clear_reason(engine: Engine) -> None:
    task = _entered(engine)
    with pytest.raises(NotAllowed, match="only its holder or a cs_head/admin"):
        engine.transfer(task.id, "ops", to_user="rep2", reason="x")
    with pytest.raises(InvalidInput, match="give a reason"):
        engine.transfer(task.id, "rep", to_user="rep2", reason="  ")
    with pytest.raises(InvalidInput, match="no active user 'nobody'"):
        engine.transfer(task.id, "rep", to_user="nobody", reason="x")
    with pytest.raises(InvalidInput, match="no group 'sales'"):
        engine.transfer(task.id, "rep", to_group="sales", reason="x")
    with pytest.raises(InvalidInput, match="exactly one user or one group"):
        engine.transfer(task.id, "rep", to_user="rep2", to_group="cs_head", reason="x")
    engine.claim(task.id, "rep")
    with pytest.raises(NotAllowed):
        engine.transfer(task.id, "rep2", to_user="rep2", reason="I take it")  # a claimed task is its holder's
    assert engine.transfer(task.id, "head", to_user="rep2", reason="负责人调配").assignee == "rep2"
    engine.complete(task.id, {}, "rep2")
    with pytest.raises(Conflict):
        engine.transfer(task.id, "rep2", to_user="rep", reason="too late")
    assert [e.type for e in engine.history(task.instance_id)].count("task_transferred") == 1


def test_the_done_list_holds_what_i_completed_with_the_instance_state(engine: Engine) -> None:
    task = _entered(engine)
    engine.claim(task.id, "rep")
    engine.complete(task.id, {"amount": 50}, "rep")
    done = engine.done("rep")
    assert [(d.task.id, d.task.completed_by, d.instance_status) for d in done] == [(task.id, "rep", "running")]
    assert done[0].to_json()["instance_status"] == "running" and done[0].to_json()["id"] == task.id
    assert [d.task.id for d in engine.done("rep", query="ORD-7")] == [task.id]
    assert engine.done("rep", query="ORD-8") == [] and engine.done("rep2") == []


def test_a_delegated_task_is_filled_by_the_delegate_and_completed_by_its_owner(engine: Engine) -> None:
    task = _entered(engine)
    with pytest.raises(NotAllowed, match="claim it first"):
        engine.delegate(task.id, "rep", "rep2")
    engine.claim(task.id, "rep")
    with pytest.raises(InvalidInput, match="other than you"):
        engine.delegate(task.id, "rep", "rep")
    delegated = engine.delegate(task.id, "rep", "ops")  # anyone active may help, even outside the group
    assert (delegated.assignee, delegated.owner, delegated.delegation) == ("ops", "rep", "pending")
    assert [t.id for t in engine.tasks(user="ops")] == [task.id] and engine.tasks(user="rep") == []
    with pytest.raises(NotAllowed):
        engine.complete(task.id, {"amount": 50}, "rep")  # the owner waits for the delegate
    back = engine.complete(task.id, {"amount": 75}, "ops")
    assert (back.status, back.assignee, back.delegation) == ("open", "rep", "resolved"), "back to the owner to confirm"
    with engine.transaction() as session:
        assert get_draft(session, task.id) == {"amount": 75}, "the delegate's input waits as the owner's draft"
    done = engine.complete(task.id, {"amount": 80}, "rep")
    assert (done.status, done.completed_by) == ("completed", "rep")
    assert [e.type for e in engine.history(task.instance_id) if e.task_id == task.id][-4:] == [
        "task_claimed", "task_delegated", "task_delegation_returned", "task_completed"]
    assert [d.task.id for d in engine.done("rep")] == [task.id] and engine.done("ops") == []


def test_a_delegate_who_gives_up_hands_the_task_back_unfilled(engine: Engine) -> None:
    task = _entered(engine)
    engine.claim(task.id, "rep")
    engine.delegate(task.id, "rep", "rep2")
    with pytest.raises(Conflict, match="already delegated"):
        engine.delegate(task.id, "rep2", "ops")
    released = engine.unclaim(task.id, "rep2")
    assert (released.assignee, released.delegation) == ("rep", None)
