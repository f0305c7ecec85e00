"""The path an instance took (engine.services.paths): every element passed, every flow taken, loops and calls included."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from lxml import etree

from engine import Engine, ManualClock
from engine.config import SHIPPED_PROCESSES
from engine.services.paths import InstancePath, instance_path
from tests.conftest import BPMN_DIR, deploy_fixture

CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
SH = ZoneInfo("Asia/Shanghai")
INVOICE = {"customer": "伽马零售", "invoice_no": "INV-1", "amount": "1000.00", "currency": "CNY",
           "invoice_date": "2026-02-20", "due_date": "2026-03-06"}


def path_of(engine: Engine, instance_id: int) -> InstancePath:
    with engine.transaction() as session:
        return instance_path(session, instance_id)


def open_task(engine: Engine, instance_id: int, element_id: str):  # noqa: ANN201 (a TaskView)
    return next(t for t in engine.tasks(instance_id=instance_id) if t.element_id == element_id)


def file_elements(path: str) -> set[str]:
    root = etree.parse(path).getroot()
    return {e.get("id") for e in root.iter() if isinstance(e.tag, str) and e.get("id")}


def test_an_overdue_receivable_marks_its_automated_steps_gateway_events_and_flows(engine: Engine, clock: ManualClock) -> None:
    engine.deploy([SHIPPED_PROCESSES / "receivables_collection.bpmn"], actor="designer")
    instance = engine.start("receivables_collection", INVOICE, actor="fin", business_key="INV-1")
    path = path_of(engine, instance.id)
    assert {"start", "init_receivable", "split_branches"} <= path.passed
    assert "due_date_passed" not in path.passed and {"payment_received", "write_off_requested"} <= path.waiting
    assert {"f_start", "f_init_split", "f_split_write_off", "f_split_due", "f_split_payment"} <= path.flows

    clock.set(datetime(2026, 3, 9, 9, 0, tzinfo=SH))
    engine.fire_due_timers()
    path = path_of(engine, instance.id)
    # the timer event and the script task after it are passed; the flow into the open chase task is taken
    assert {"due_date_passed", "mark_overdue"} <= path.passed and "chase_payment" not in path.passed
    assert {"f_due_overdue", "f_overdue_chase"} <= path.flows
    # nothing downstream of the open task, and no branch of the payment side, is marked
    assert not {"merge_promise", "apply_payment", "fully_paid", "end_paid"} & path.passed
    assert not {"f_payment_apply", "f_apply_paid_gw", "f_paid_yes"} & path.flows

    # two working days later the deadline fires: its branch is marked; cs_head takes the chase over (#17)
    clock.set(datetime(2026, 3, 12, 9, 0, tzinfo=SH))
    engine.fire_due_timers()
    path = path_of(engine, instance.id)
    assert {"chase_payment_overdue", "record_chase_overdue"} <= path.passed and "chase_payment" not in path.passed
    assert {"f_chase_overdue", "f_chase_overdue_escalate"} <= path.flows and "f_chase_merge" not in path.flows


def test_a_paid_receivable_marks_the_payment_branch_and_its_end(engine: Engine) -> None:
    engine.deploy([SHIPPED_PROCESSES / "receivables_collection.bpmn"], actor="designer")
    instance = engine.start("receivables_collection", INVOICE, actor="fin", business_key="INV-1")
    engine.message("payment_received", {"invoice_no": "INV-1"}, {"amount": "1000.00"}, actor="fin")
    path = path_of(engine, instance.id)
    assert {"payment_received", "apply_payment", "fully_paid", "end_paid"} <= path.passed
    assert {"f_payment_apply", "f_apply_paid_gw", "f_paid_yes"} <= path.flows
    assert "f_split_due" not in path.flows and "due_date_passed" not in path.passed  # the timer was cancelled
    assert path.passed <= file_elements(str(SHIPPED_PROCESSES / "receivables_collection.bpmn"))


def _loop(engine: Engine, clock: ManualClock, tmp_path: Path, passes: int,
          late: set[int]) -> tuple[int, list[InstancePath]]:
    # The runtime fixture names nobody for its user tasks; give them to the reps so it deploys.
    text = (BPMN_DIR / "loop_mixed.bpmn").read_text("utf-8")
    text = text.replace('id="lm_defs"', f'id="lm_defs" xmlns:camunda="{CAMUNDA}"')
    text = re.sub(r'<bpmn:userTask id="(\w+)"', r'<bpmn:userTask id="\1" camunda:candidateGroups="cs_rep"', text)
    (tmp_path / "loop_mixed.bpmn").write_text(text, "utf-8")
    engine.deploy([tmp_path / "loop_mixed.bpmn"], actor="designer")
    instance = engine.start("loop_mixed", {"loops": passes, "n": 0, "total": 0, "late_count": 0}, actor="rep")
    seen = []
    for i in range(passes):
        engine.complete(open_task(engine, instance.id, "inner").id, {}, "rep")
        engine.complete(open_task(engine, instance.id, "task_a").id, {"a_val": i}, "rep")
        seen.append(path_of(engine, instance.id))
        if i in late:
            clock.advance(timedelta(hours=3))
            engine.fire_due_timers()
        else:
            engine.complete(open_task(engine, instance.id, "task_b").id, {"b_val": i}, "rep")
        seen.append(path_of(engine, instance.id))
    return instance.id, seen


def test_a_loop_with_a_subprocess_a_join_and_a_boundary_timer_is_marked_without_crashing(
        engine: Engine, clock: ManualClock, tmp_path: Path) -> None:
    instance_id, seen = _loop(engine, clock, tmp_path, 12, late={3})
    assert engine.instance(instance_id).status == "completed"
    end = seen[-1]
    # the embedded subprocess's own elements, both branches into the parallel join, the loop's back flow, the end
    assert {"prep_start", "inner", "prep_end", "prepare", "split", "task_a", "task_b", "b_merge", "join", "count",
            "more", "again", "lm_end"} <= end.passed
    assert {"p1", "p2", "lm3", "lm4", "lm5", "lm8", "lm9", "lm10", "lm11", "lm12", "lm13", "lm14"} <= end.flows
    # pass 4 (i == 3) went through the boundary timer: remembered although history pruning cut that pass out
    assert {"b_late"} <= end.passed and "lm6" in end.flows
    # while the first pass waits at task_b, the join waits for it: its flow from task_a is taken, not the one after
    first = seen[0]
    assert "lm10" in first.flows and "lm11" not in first.flows and "lm8" not in first.flows


def test_a_call_activity_marks_this_file_only(engine: Engine) -> None:
    deploy_fixture(engine, "child.bpmn", "subprocesses.bpmn")
    instance = engine.start("parent_flow", {}, actor="rep")
    engine.complete(open_task(engine, instance.id, "inner_task").id, {}, "rep")
    path = path_of(engine, instance.id)
    assert {"p_start", "inner_start", "inner_task", "inner_end", "embedded"} <= path.passed
    assert {"p1", "i1", "i2", "p2"} <= path.flows and "p3" not in path.flows
    assert "call_child" not in path.passed  # running: the called process is under way
    assert path.passed <= file_elements(str(BPMN_DIR / "subprocesses.bpmn"))
