"""Send back (退回) and withdraw (撤回): where the process continues, who gets the work, what is refused and recorded."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine import Engine, ManualClock
from engine.errors import Conflict, InvalidInput, NotAllowed
from engine.services.task_notes import get_draft, save_draft
from engine.services.tasks import task_row, task_view
from engine.services.views import TaskView
from tests.conftest import deploy_fixture


def _task(engine: Engine, task_id: str) -> TaskView:
    with engine.transaction() as session:
        return task_view(task_row(session, task_id))


def _open(engine: Engine, instance_id: int) -> dict[str, TaskView]:
    return {t.element_id: t for t in engine.tasks(instance_id=instance_id)}


def _at_review(engine: Engine) -> tuple[int, TaskView]:
    """An instance where rep entered the claim (entries counted once) and review waits for cs_head."""
    deploy_fixture(engine, "send_back.bpmn")
    instance = engine.start("send_back", {"entries": 0, "claim": "破损 2 箱"}, actor="rep")
    enter = _open(engine, instance.id)["enter"]
    engine.claim(enter.id, "rep")
    engine.complete(enter.id, {"amount": 300}, "rep")
    return instance.id, _open(engine, instance.id)["review"]


def _at_parallel(engine: Engine) -> tuple[int, dict[str, TaskView]]:
    instance_id, review = _at_review(engine)
    engine.complete(review.id, {"verdict": "ok"}, "head")
    return instance_id, _open(engine, instance_id)


def test_send_back_reopens_the_earlier_step_for_its_performer_with_the_reason(engine: Engine) -> None:
    instance_id, review = _at_review(engine)
    engine.claim(review.id, "head")
    reopened = engine.send_back(review.id, "head", "enter", "金额与照片不符，请核对")
    assert (reopened.element_id, reopened.assignee, reopened.status) == ("enter", "rep", "open")
    assert reopened.returned is not None
    assert reopened.returned["kind"] == "sent_back" and reopened.returned["reason"] == "金额与照片不符，请核对"
    assert reopened.returned["by"] == "head" and reopened.returned["from_element"] == "review"
    assert [t.id for t in engine.tasks(user="rep")] == [reopened.id], "the earlier performer has it in their inbox"
    assert engine.tasks(user="head") == [], "the task that was sent back is gone"
    assert _task(engine, review.id).status == "cancelled"
    assert engine.timers(instance_id=instance_id) == [], "the review's boundary timer went with it"
    data = engine.instance(instance_id).data
    assert (data["amount"], data["entries"], data["claim"]) == (300, 1, "破损 2 箱"), "the data is kept"
    # The process continues from there: the script runs again and review comes round once more, with a new timer.
    engine.complete(reopened.id, {"amount": 280}, "rep")
    again = _open(engine, instance_id)["review"]
    assert again.id != review.id and engine.instance(instance_id).data["entries"] == 2
    assert [t.element_id for t in engine.timers(instance_id=instance_id)] == ["review_late"]
    assert _task(engine, reopened.id).returned is None, "a completed task no longer shows why it was reopened"
    types = [e.type for e in engine.history(instance_id)]
    assert types.count("task_sent_back") == 1
    (event,) = [e for e in engine.history(instance_id) if e.type == "task_sent_back"]
    assert event.actor == "head" and event.task_id == review.id
    assert event.data == {"element_id": "review", "to_element": "enter", "to_task_id": reopened.id, "to_user": "rep",
                          "reason": "金额与照片不符，请核对"}


def test_send_back_from_a_parallel_branch_cancels_everything_after_the_step(engine: Engine, clock: ManualClock) -> None:
    instance_id, tasks = _at_parallel(engine)
    assert set(tasks) == {"approve", "arrange"} and len(engine.timers(instance_id=instance_id)) == 1
    engine.claim(tasks["approve"].id, "vp")
    engine.close()  # the next command restores the workflow from the database
    reopened = engine.send_back(tasks["approve"].id, "vp", "review", "请补充审核意见")
    engine.close()
    assert (reopened.element_id, reopened.assignee) == ("review", "head")
    assert set(_open(engine, instance_id)) == {"review"}, "the other branch after review is cancelled too"
    assert _task(engine, tasks["arrange"].id).status == "cancelled"
    assert [t.element_id for t in engine.timers(instance_id=instance_id)] == ["review_late"]
    clock.advance(timedelta(hours=4, minutes=1))
    engine.fire_due_timers()
    assert set(_open(engine, instance_id)) == {"review", "chase"}, "the reopened step's timer runs from the reopening"


def test_send_back_is_refused_with_one_clear_reason(engine: Engine) -> None:
    instance_id, tasks = _at_parallel(engine)
    approve, arrange = tasks["approve"], tasks["arrange"]
    with pytest.raises(Conflict, match="has not run in this instance"):
        engine.send_back(approve.id, "vp", "chase", "x")
    engine.complete(arrange.id, {}, "ops")
    with pytest.raises(Conflict, match="did not lead to this task"):
        engine.send_back(approve.id, "vp", "arrange", "x")
    with pytest.raises(InvalidInput, match="give a reason"):
        engine.send_back(approve.id, "vp", "review", "  ")
    with pytest.raises(NotAllowed, match="only its holder"):
        engine.send_back(approve.id, "rep", "review", "不是我的任务")
    engine.copy(instance_id, "head", ["auditor"], "请看")
    with pytest.raises(NotAllowed):
        engine.send_back(approve.id, "auditor", "review", "抄送人不能退回")
    assert set(_open(engine, instance_id)) == {"approve"}, "nothing changed"
    assert engine.send_back(approve.id, "head", "enter", "负责人退回").assignee == "rep", "a cs_head may always"


def test_send_back_targets_list_the_steps_on_the_path_nearest_first(engine: Engine) -> None:
    _instance_id, tasks = _at_parallel(engine)
    targets = engine.send_back_targets(tasks["approve"].id)
    assert [(step.element_id, who) for step, who in targets] == [("review", "head"), ("enter", "rep")]


def test_withdraw_takes_my_task_back_while_the_next_one_is_untouched(engine: Engine) -> None:
    instance_id, review = _at_review(engine)
    enter_id = [e.task_id for e in engine.history(instance_id) if e.type == "task_completed"][0]
    engine.close()
    mine = engine.withdraw(enter_id, "rep")
    engine.close()
    assert (mine.id, mine.element_id, mine.assignee, mine.status) == (enter_id, "enter", "rep", "open")
    assert mine.returned is not None and mine.returned["kind"] == "withdrawn"
    assert _task(engine, review.id).status == "cancelled" and engine.tasks(user="head") == []
    assert engine.timers(instance_id=instance_id) == []
    data = engine.instance(instance_id).data
    assert data["entries"] == 0 and "amount" not in data, "the data is as it was before I completed it"
    with engine.transaction() as session:
        assert get_draft(session, enter_id) == {"amount": 300}, "what I submitted comes back as my draft"
    engine.complete(enter_id, {"amount": 310}, "rep")
    assert engine.instance(instance_id).data["entries"] == 1
    (event,) = [e for e in engine.history(instance_id) if e.type == "task_withdrawn"]
    assert event.actor == "rep" and event.data == {"element_id": "enter", "cancelled": [review.id]}


def test_withdraw_is_refused_once_the_next_step_was_claimed_or_done(engine: Engine) -> None:
    instance_id, review = _at_review(engine)
    enter_id = [e.task_id for e in engine.history(instance_id) if e.type == "task_completed"][0]
    with pytest.raises(NotAllowed, match=r"only who completed it \(rep\)"):
        engine.withdraw(enter_id, "rep2")
    engine.claim(review.id, "head")
    with pytest.raises(Conflict, match="already claimed or worked on by head"):
        engine.withdraw(enter_id, "rep")
    engine.unclaim(review.id, "head")
    with pytest.raises(Conflict, match="already claimed or worked on"):
        engine.withdraw(enter_id, "rep")  # claimed once is touched, even when given back
    engine.complete(review.id, {}, "head")
    with pytest.raises(Conflict, match="the next step was already completed"):
        engine.withdraw(enter_id, "rep")
    with pytest.raises(Conflict, match="only a completed task can be withdrawn"):
        engine.withdraw(_open(engine, instance_id)["approve"].id, "vp")
    assert set(_open(engine, instance_id)) == {"approve", "arrange"}, "nothing changed"


def test_a_note_or_draft_on_the_next_task_also_blocks_withdraw(engine: Engine) -> None:
    instance_id, review = _at_review(engine)
    enter_id = [e.task_id for e in engine.history(instance_id) if e.type == "task_completed"][0]
    with engine.transaction() as session:
        save_draft(session, review.id, {"verdict": "草稿"}, "head")
    with pytest.raises(Conflict, match="already claimed or worked on"):
        engine.withdraw(enter_id, "rep")


def test_send_back_climbs_out_of_a_called_process_into_an_embedded_subprocess(engine: Engine) -> None:
    deploy_fixture(engine, "child.bpmn", "subprocesses.bpmn")
    instance = engine.start("parent_flow", {}, actor="rep")
    inner = _open(engine, instance.id)["inner_task"]
    engine.complete(inner.id, {"note": "第一遍"}, "rep")
    child = _open(engine, instance.id)["child_task"]
    assert [s.element_id for s, _who in engine.send_back_targets(child.id)] == ["inner_task"]
    engine.close()
    reopened = engine.send_back(child.id, "ops", "inner_task", "请重做")
    engine.close()
    assert (reopened.id, reopened.assignee) == (inner.id, "rep")
    assert set(_open(engine, instance.id)) == {"inner_task"}
    engine.complete(inner.id, {"note": "第二遍"}, "rep")
    child_again = _open(engine, instance.id)["child_task"]
    engine.complete(child_again.id, {}, "ops")
    assert engine.instance(instance.id).status == "completed"
    assert engine.instance(instance.id).data["note"] == "第二遍"
