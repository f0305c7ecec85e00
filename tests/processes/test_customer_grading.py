"""customer_grading 客户分级 (manual 五.2) through the service layer, one test per rule.

The register's job starts one instance per active customer at 09:00 on the quarter's first working day; the register
worker's pass (``run_register_jobs``) collects the figures and writes the approved grade back. Time moves only with the
ManualClock and ``engine.fire_due_timers()``.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from steps import open_tasks

from engine import Engine, ManualClock
from engine.config import SHIPPED_PROCESSES
from engine.definitions.forms import FormErrors
from engine.errors import InvalidInput, NotFound
from engine.services.customers import find_customer, save_customer
from engine.services.grading import grade_history, grading_figures
from engine.services.register_processes import run_register_jobs

SH = ZoneInfo("Asia/Shanghai")
ORDER = {"customer": "ACME Logistics", "order_no": "SO-1", "pickup_time": "2026-03-02T14:00:00+08:00",
         "required_arrival": "2026-03-03T16:00:00+08:00", "urgent": False, "cargo_size": "120x100x150 cm x 12",
         "packaging": "pallets", "weight_kg": 4800, "volume_m3": 21.6, "route": "Shanghai - Suzhou", "haul": "short"}
EXCEPTION = {"channel": "phone", "customer": "ACME Logistics", "order_no": "SO-1", "type": "damage",
             "severity": "general", "description": "Two pallets arrived crushed"}


def sh(*args: int) -> datetime:
    """A Shanghai wall-clock time."""
    return datetime(*args, tzinfo=SH)


def deploy(engine: Engine, *extra: str) -> None:
    engine.deploy([SHIPPED_PROCESSES / "customer_grading.bpmn", *(SHIPPED_PROCESSES / e for e in extra)],
                  actor="designer")


def register(engine: Engine) -> None:
    with engine.transaction() as session:
        save_customer(session, "ACME Logistics", "admin", grade=2, owner="rep")
        save_customer(session, "Beta Foods", "admin", grade=4)
        save_customer(session, "Gamma Retail", "admin", active=False)


def jobs(engine: Engine) -> dict[str, int]:
    return run_register_jobs(engine.transaction)


def finish(engine: Engine, instance_id: int, element_id: str, data: dict, user: str) -> None:
    (task,) = [t for t in engine.tasks(instance_id=instance_id) if t.element_id == element_id]
    engine.complete(task.id, data, user)


def grading_of(engine: Engine, customer: str) -> int:
    (inst,) = [i for i in engine.instances(process_key="customer_grading") if i.business_key.startswith(customer)]
    return inst.id


def breaches(engine: Engine, instance_id: int) -> list[tuple[str, str, datetime]]:
    return [(e.data["step"], e.data["group"], datetime.fromisoformat(e.data["deadline"]))
            for e in engine.history(instance_id) if e.type == "sla_breached"]


def started_graded(engine: Engine, clock: ManualClock) -> None:
    deploy(engine)
    register(engine)
    clock.set(sh(2026, 4, 1, 9, 0))
    assert jobs(engine)["gradings"] == 2


# -- start: quarterly per active customer -------------------------------------------------------------


def test_the_register_starts_one_grading_per_active_customer_on_the_quarters_first_working_day(
        engine: Engine, clock: ManualClock) -> None:
    deploy(engine)
    register(engine)
    assert jobs(engine)["gradings"] == 0  # 2 March: not a quarter's first month
    clock.set(sh(2026, 4, 1, 8, 59))
    assert jobs(engine)["gradings"] == 0
    clock.set(sh(2026, 4, 1, 9, 0))
    counts = jobs(engine)
    assert counts["gradings"] == 2 and counts["register_tasks"] == 2  # Gamma is inactive; figures collected
    assert jobs(engine)["gradings"] == 0  # once per customer and quarter
    runs = sorted((i.business_key, i.started_by) for i in engine.instances(process_key="customer_grading"))
    assert runs == [("ACME Logistics 2026-Q1", "scheduler"), ("Beta Foods 2026-Q1", "scheduler")]
    acme = open_tasks(engine, grading_of(engine, "ACME"))["propose_grade"]
    # Qingming 4-6 April: 5 working days from Wednesday 1 April end on Thursday 9 April
    assert (acme.title, acme.group, acme.assignee, acme.due_at) == ("提出客户等级", "cs_rep", "rep", sh(2026, 4, 9, 17, 30))
    beta = open_tasks(engine, grading_of(engine, "Beta"))["propose_grade"]
    assert (beta.group, beta.assignee) == ("cs_rep", None)  # nobody owns Beta: the cs_rep group's task
    d = engine.instance(grading_of(engine, "ACME")).data
    assert (d["quarter"], d["current_grade"], d["owner"], d["grading_round"]) == ("2026-Q1", 2, "rep", 1)


def test_a_worker_down_on_the_first_working_day_catches_up_within_5_days_only(engine: Engine, clock: ManualClock) -> None:
    deploy(engine)
    register(engine)
    clock.set(sh(2026, 10, 14, 12, 0))  # 8 October (after National Day) + 6 days: too late
    assert jobs(engine)["gradings"] == 0
    clock.set(sh(2026, 10, 1, 12, 0))  # National Day: not yet
    assert jobs(engine)["gradings"] == 0
    clock.set(sh(2026, 10, 12, 10, 0))
    assert jobs(engine)["gradings"] == 2
    assert {i.business_key for i in engine.instances(process_key="customer_grading")} == {
        "ACME Logistics 2026-Q3", "Beta Foods 2026-Q3"}


# -- the figures the grade is proposed on ------------------------------------------------------------


def test_the_proposal_shows_the_quarters_revenue_orders_exceptions_and_growth(engine: Engine, clock: ManualClock) -> None:
    engine.deploy([SHIPPED_PROCESSES / n for n in ("monthly_settlement.bpmn", "order_plan.bpmn",
                                                    "responsibility_matrix.dmn", "exception_escalation.bpmn")],
                  actor="designer")
    register(engine)
    for period, amount in (("2025-12", "8000.00"), ("2026-01", "6000.00"), ("2026-02", "4000.00")):
        settlement = engine.start("monthly_settlement", {"customer": "ACME Logistics", "period": period}, actor="assistant")
        finish(engine, settlement.id, "prepare_sheet", {"sheet_no": f"DZ-{period}", "sheet_amount": amount,
                                                        "currency": "CNY", "line_count": 3}, "assistant")
    clock.set(sh(2025, 12, 10, 10, 0))
    engine.start("order_plan", {**ORDER, "order_no": "SO-Q4"}, actor="assistant")
    clock.set(sh(2026, 2, 10, 10, 0))
    for n in range(3):
        engine.start("order_plan", {**ORDER, "order_no": f"SO-Q1-{n}"}, actor="assistant")
    engine.start("exception_escalation", EXCEPTION, actor="rep")
    engine.start("order_plan", {**ORDER, "customer": "Beta Foods", "order_no": "SO-B"}, actor="assistant")
    with engine.transaction() as session:
        acme = grading_figures(session, "ACME Logistics", "2026-Q1")
        beta = grading_figures(session, "Beta Foods", "2026-Q1")
        for bad in ("2026-Q5", "0001-Q1"):
            with pytest.raises(InvalidInput):
                grading_figures(session, "ACME Logistics", bad)
        with pytest.raises(NotFound):
            grading_figures(session, "Nobody", "2026-Q1")
    assert {k: acme[k] for k in ("revenue", "revenue_previous", "revenue_growth", "revenue_currency", "orders",
                                  "orders_previous", "orders_growth", "exceptions", "current_grade", "owner")} == {
        "revenue": "10000.00", "revenue_previous": "8000.00", "revenue_growth": "25.0", "revenue_currency": "CNY",
        "orders": 3, "orders_previous": 1, "orders_growth": "200.0", "exceptions": 1, "current_grade": 2, "owner": "rep"}
    assert (beta["revenue"], beta["revenue_growth"], beta["orders"], beta["orders_growth"], beta["exceptions"]) == (
        None, None, 1, None, 0)


# -- proposal, approval, the register --------------------------------------------------------------------


def test_an_approved_grade_is_written_to_the_register_with_its_history(engine: Engine, clock: ManualClock) -> None:
    started_graded(engine, clock)
    instance_id = grading_of(engine, "ACME")
    propose = open_tasks(engine, instance_id)["propose_grade"]
    with pytest.raises(FormErrors):  # a grade is 1-5 and comes with its reason
        engine.complete(propose.id, {"proposed_grade": 6, "grade_reason": "x"}, "rep")
    with pytest.raises(FormErrors):
        engine.complete(propose.id, {"proposed_grade": 1}, "rep")
    clock.set(sh(2026, 4, 2, 10, 0))
    engine.complete(propose.id, {"proposed_grade": 1, "grade_reason": "收入增长 25%，无重大异常"}, "rep")
    approve = open_tasks(engine, instance_id)["approve_grade"]
    assert (approve.title, approve.group, approve.due_at) == ("审批客户等级", "cs_head", sh(2026, 4, 7, 17, 30))
    clock.set(sh(2026, 4, 3, 11, 0))
    engine.complete(approve.id, {"grade_decision": "approved"}, "head")
    assert engine.instance(instance_id).status == "running"  # waits for the register worker
    assert jobs(engine)["register_tasks"] == 1
    done = engine.instance(instance_id)
    assert done.status == "completed" and done.data["register_updated"] == "changed"
    with engine.transaction() as session:
        assert find_customer(session, "ACME Logistics").grade == 1
        history = grade_history(session, "ACME Logistics")
    latest = history[0]
    assert (latest.old_grade, latest.new_grade, latest.reason, latest.source, latest.period, latest.proposed_by,
            latest.decided_by, latest.decided_at, latest.instance_id) == (
        2, 1, "收入增长 25%，无重大异常", "grading", "2026-Q1", "rep", "head", sh(2026, 4, 3, 11, 0), instance_id)
    assert [(h.source, h.old_grade, h.new_grade) for h in history[1:]] == [("register", None, 2)]  # when added


def test_a_confirmed_unchanged_grade_is_history_too(engine: Engine, clock: ManualClock) -> None:
    started_graded(engine, clock)
    instance_id = grading_of(engine, "Beta")
    finish(engine, instance_id, "propose_grade", {"proposed_grade": 4, "grade_reason": "业务稳定"}, "rep2")
    finish(engine, instance_id, "approve_grade", {"grade_decision": "approved", "approval_note": "同意"}, "head")
    jobs(engine)
    assert engine.instance(instance_id).data["register_updated"] == "confirmed"
    with engine.transaction() as session:
        entry = grade_history(session, "Beta Foods")[0]
    assert (entry.old_grade, entry.new_grade, entry.proposed_by, entry.decided_by) == (4, 4, "rep2", "head")


def test_cs_head_sends_the_proposal_back_with_a_reason(engine: Engine, clock: ManualClock) -> None:
    started_graded(engine, clock)
    instance_id = grading_of(engine, "ACME")
    finish(engine, instance_id, "propose_grade", {"proposed_grade": 1, "grade_reason": "增长快"}, "rep")
    approve = open_tasks(engine, instance_id)["approve_grade"]
    with pytest.raises(FormErrors):  # sending back names the reason
        engine.complete(approve.id, {"grade_decision": "sent_back"}, "head")
    clock.set(sh(2026, 4, 2, 9, 0))
    engine.complete(approve.id, {"grade_decision": "sent_back", "approval_note": "异常数偏高，请复核"}, "head")
    again = open_tasks(engine, instance_id)["propose_grade"]
    assert (again.assignee, again.due_at) == ("rep", sh(2026, 4, 7, 17, 30))  # back to the owner, 2 working days
    d = engine.instance(instance_id).data
    assert d["grading_round"] == 2
    assert [(x["round"], x["grade"], x["note"]) for x in d["send_back_log"]] == [(1, 1, "异常数偏高，请复核")]
    engine.complete(again.id, {"proposed_grade": 2, "grade_reason": "维持"}, "rep")
    finish(engine, instance_id, "approve_grade", {"grade_decision": "approved"}, "head")
    jobs(engine)
    with engine.transaction() as session:
        assert find_customer(session, "ACME Logistics").grade == 2


# -- deadlines ------------------------------------------------------------------------------------------


def test_a_late_proposal_is_a_breach_and_cs_head_gets_a_task(engine: Engine, clock: ManualClock) -> None:
    started_graded(engine, clock)
    instance_id = grading_of(engine, "ACME")
    clock.set(sh(2026, 4, 9, 17, 29))
    assert engine.fire_due_timers() == []
    clock.set(sh(2026, 4, 9, 17, 30))
    fired = [(r.element_id, r.outcome) for r in engine.fire_due_timers()]
    assert fired.count(("proposal_late", "fired")) == 2  # ACME's and Beta's
    tasks = open_tasks(engine, instance_id)
    assert set(tasks) == {"propose_grade", "grading_overdue"}  # the proposal stays with the rep
    assert (tasks["grading_overdue"].title, tasks["grading_overdue"].group) == ("客户评级超时处理", "cs_head")
    d = engine.instance(instance_id).data
    assert (d["missed_step"], d["missed_by"], d["missed_deadline"], d["overdue_by"]) == (
        "propose_grade", "cs_rep", sh(2026, 4, 9, 17, 30), 0)
    assert breaches(engine, instance_id) == [("grade_proposal", "cs_rep", sh(2026, 4, 9, 17, 30))]


def test_a_late_approval_is_cs_heads_breach_and_the_vp_gets_a_task(engine: Engine, clock: ManualClock) -> None:
    started_graded(engine, clock)
    instance_id = grading_of(engine, "ACME")
    finish(engine, instance_id, "propose_grade", {"proposed_grade": 2, "grade_reason": "稳定"}, "rep")
    clock.set(sh(2026, 4, 3, 17, 30))  # 2 working days after Wednesday 1 April
    assert [r.element_id for r in engine.fire_due_timers()] == ["approval_late"]
    tasks = open_tasks(engine, instance_id)
    assert set(tasks) == {"approve_grade", "grading_approval_overdue"}
    assert tasks["grading_approval_overdue"].group == "vp"
    assert breaches(engine, instance_id) == [("grade_approval", "cs_head", sh(2026, 4, 3, 17, 30))]


def test_a_grade_that_cannot_be_written_becomes_an_incident(engine: Engine, clock: ManualClock) -> None:
    started_graded(engine, clock)
    instance_id = grading_of(engine, "ACME")
    finish(engine, instance_id, "propose_grade", {"proposed_grade": 1, "grade_reason": "x"}, "rep")
    finish(engine, instance_id, "approve_grade", {"grade_decision": "approved"}, "head")
    with engine.transaction() as session:  # renamed in the register meanwhile: the write-back must not guess
        row = find_customer(session, "ACME Logistics")
        save_customer(session, "ACME Group", "admin", customer_id=row.id)
    assert jobs(engine)["failed"] == 1
    assert engine.instance(instance_id).status == "running"
    (incident,) = [e.data for e in engine.history(instance_id) if e.type == "incident_raised"]
    assert "ACME Logistics" in incident["error"]


def test_a_rep_grades_one_customer_by_hand(engine: Engine, clock: ManualClock) -> None:
    deploy(engine)
    register(engine)
    with pytest.raises(FormErrors):
        engine.start("customer_grading", {"customer": "ACME Logistics", "quarter": "2026-Q5"}, actor="rep")
    instance_id = engine.start("customer_grading", {"customer": "ACME Logistics", "quarter": "2026-Q1"}, actor="rep").id
    jobs(engine)
    task = open_tasks(engine, instance_id)["propose_grade"]
    assert (task.assignee, task.due_at) == ("rep", sh(2026, 3, 9, 17, 30))


def test_an_owner_who_left_does_not_get_the_task_the_cs_rep_group_does(engine: Engine, clock: ManualClock) -> None:
    from engine.services.admin import set_active

    deploy(engine)
    register(engine)
    with engine.transaction() as session:
        set_active(session, "rep", False, "admin")
    clock.set(sh(2026, 4, 1, 9, 0))
    jobs(engine)
    task = open_tasks(engine, grading_of(engine, "ACME"))["propose_grade"]
    assert (task.group, task.assignee) == ("cs_rep", None)
