"""exception_escalation (DOMAIN.md process 3) through the service layer: every step persists and reloads.

Time moves only with the ManualClock (fixture: Monday 2026-03-02 09:00 Shanghai) and
``engine.fire_due_timers()``.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from engine import Engine, NotAllowed, ScriptError, TaskView
from engine.config import SHIPPED_PROCESSES
from engine.definitions.forms import FormErrors
from tests.processes.test_receivables import check_model

PROCESSES = SHIPPED_PROCESSES
SH = ZoneInfo("Asia/Shanghai")
EXCEPTION = {"channel": "phone", "customer": "ACME Logistics", "order_no": "SO-7781", "type": "damage",
             "severity": "complaint", "description": "Two pallets arrived crushed"}
DEPARTMENTS = {"timeliness": "transport", "damage": "transport", "quantity": "warehouse", "information": "it"}


DEPARTMENT_USERS = {"transport": "trans", "warehouse": "wh", "it": "itdept"}


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


@pytest.fixture(autouse=True)
def department_users(engine: Engine) -> None:
    """One person in each department of the responsibility matrix (they rectify, #17)."""
    for group, user in DEPARTMENT_USERS.items():
        engine.add_user(user, [group])


def deploy(engine: Engine) -> None:
    engine.deploy([PROCESSES / "responsibility_matrix.dmn", PROCESSES / "exception_escalation.bpmn"], actor="designer")


def start(engine: Engine, **changes):
    return engine.start("exception_escalation", {**EXCEPTION, **changes}, actor="rep", business_key=EXCEPTION["order_no"])


def open_tasks(engine: Engine, instance_id: int) -> dict[str, TaskView]:
    tasks = engine.tasks(instance_id=instance_id)
    by_element = {t.element_id: t for t in tasks}
    assert len(by_element) == len(tasks), tasks
    return by_element


def complete(engine: Engine, instance_id: int, element_id: str, data: dict, user: str):
    task = open_tasks(engine, instance_id)[element_id]
    engine.complete(task.id, data, user)
    return task


def timers(engine: Engine, instance_id: int) -> list[tuple[str, str, datetime]]:
    return [(t.element_id, t.kind, t.due_at) for t in engine.timers(instance_id=instance_id)]


def events(engine: Engine, instance_id: int, type_: str) -> list:
    return [e for e in engine.history(instance_id) if e.type == type_]


def breaches(engine: Engine, instance_id: int) -> list[tuple]:
    return [(e.data["step"], e.data["group"], datetime.fromisoformat(e.data["deadline"]))
            for e in events(engine, instance_id, "sla_breached")]


def answer_in_time(engine: Engine, inst_id: int, high_impact: bool = False) -> None:
    """First response, plan, feedback form and signature: the complaint is answered."""
    complete(engine, inst_id, "first_response", {"response": "We are sorry; we are checking with transport."}, "rep")
    complete(engine, inst_id, "handling_plan", {"plan": "Replace the goods, claim against the carrier."}, "rep")
    complete(engine, inst_id, "exception_feedback", {"cause": "Forklift damage at the hub",
                                                     "handling_result": "Goods replaced",
                                                     "corrective_measures": "Retrain hub staff"}, "rep")
    complete(engine, inst_id, "sign_feedback", {"sign_decision": "signed", "high_impact": high_impact}, "head")


# -- responsibility matrix ----------------------------------------------------------------------


@pytest.mark.parametrize(("type_", "department"), sorted(DEPARTMENTS.items()))
def test_the_dmn_maps_every_type_to_its_department(engine: Engine, type_: str, department: str) -> None:
    deploy(engine)
    inst = start(engine, type=type_, severity="general")
    assert engine.instance(inst.id).data["responsible_department"] == department


# -- general ---------------------------------------------------------------------------------------


def test_general_exception_loops_until_the_requirement_is_met(engine: Engine, clock) -> None:
    deploy(engine)
    inst = start(engine, type="quantity", severity="general", channel="wechat")
    d = engine.instance(inst.id).data
    assert (d["channel"], d["severity"], d["responsible_department"]) == ("wechat", "general", "warehouse")
    tasks = open_tasks(engine, inst.id)
    coordinate = tasks["coordinate"]
    assert set(tasks) == {"coordinate"}
    assert (coordinate.title, coordinate.group, coordinate.form_key) == (
        "与责任部门协调处理", "cs_rep", "coordinate_resolution")
    assert timers(engine, inst.id) == []  # general cases carry no deadlines

    engine.complete(coordinate.id, {"actions_taken": "Warehouse recounts", "requirement_met": False}, "rep")
    again = open_tasks(engine, inst.id)["coordinate"]
    assert again.id != coordinate.id
    assert engine.instance(inst.id).data["requirement_met"] is False
    engine.complete(again.id, {"actions_taken": "Missing cartons shipped", "requirement_met": True}, "rep2")
    view = engine.instance(inst.id)
    assert view.status == "completed" and view.data["outcome"] == "resolved"
    assert [e.data["element_id"] for e in events(engine, inst.id, "task_created")] == ["coordinate", "coordinate"]
    assert events(engine, inst.id, "sla_breached") == [] and events(engine, inst.id, "timer_fired") == []


# -- complaint deadlines ----------------------------------------------------------------------------


def test_first_response_missing_30_minutes_escalates_to_cs_head_and_records_a_breach(engine: Engine, clock) -> None:
    deploy(engine)
    inst = start(engine)
    tasks = open_tasks(engine, inst.id)
    first = tasks["first_response"]
    assert set(tasks) == {"first_response"}
    assert (first.title, first.group, first.form_key) == ("一级响应（30 分钟内）", "cs_rep", "first_response")
    assert first.due_at == sh(2026, 3, 2, 9, 30)
    assert timers(engine, inst.id) == [("first_response_overdue", "boundary_non_interrupting", sh(2026, 3, 2, 9, 30))]

    clock.set(sh(2026, 3, 2, 9, 29))
    assert engine.fire_due_timers() == []
    assert breaches(engine, inst.id) == []
    clock.set(sh(2026, 3, 2, 9, 31))
    assert [(r.element_id, r.outcome) for r in engine.fire_due_timers()] == [("first_response_overdue", "fired")]
    tasks = open_tasks(engine, inst.id)
    escalation = tasks["escalate_first_response"]
    assert (escalation.title, escalation.group, escalation.form_key) == (
        "一级响应超时", "cs_head", "exception_overdue")
    assert tasks["first_response"].id == first.id  # non-interrupting: the rep still answers
    assert breaches(engine, inst.id) == [("first_response", "cs_rep", sh(2026, 3, 2, 9, 30))]
    # The escalation names who missed what by how much (the timer fired a minute late).
    d = engine.instance(inst.id).data
    assert {k: d[k] for k in ("missed_step", "missed_step_name", "missed_by", "missed_deadline", "overdue_by",
                              "escalated_at")} == {
        "missed_step": "first_response", "missed_step_name": "一级响应（30 分钟内）", "missed_by": "cs_rep",
        "missed_deadline": sh(2026, 3, 2, 9, 30), "overdue_by": 60, "escalated_at": sh(2026, 3, 2, 9, 31)}
    assert escalation.due_at == sh(2026, 3, 2, 11, 31)
    assert events(engine, inst.id, "timer_fired")[0].data["element_id"] == "first_response_overdue"
    assert timers(engine, inst.id) == []

    engine.complete(escalation.id, {"action_taken": "Called the customer myself"}, "head")
    complete(engine, inst.id, "first_response", {"response": "Sorry for the wait."}, "rep")
    # The plan is still due one hour after receipt: 10:00.
    plan = open_tasks(engine, inst.id)["handling_plan"]
    assert (plan.title, plan.group, plan.due_at) == ("二级响应：初步处理方案（1 小时内）", "cs_rep", sh(2026, 3, 2, 10, 0))
    assert timers(engine, inst.id) == [("handling_plan_overdue", "boundary_non_interrupting", sh(2026, 3, 2, 10, 0))]
    clock.set(sh(2026, 3, 2, 10, 1))
    engine.fire_due_timers()
    assert open_tasks(engine, inst.id)["escalate_handling_plan"].group == "cs_head"
    assert [b[0] for b in breaches(engine, inst.id)] == ["first_response", "handling_plan"]


def test_a_deadline_already_missed_when_its_task_opens_escalates_at_the_next_poll(engine: Engine, clock) -> None:
    deploy(engine)
    inst = start(engine)
    clock.set(sh(2026, 3, 2, 9, 40))
    engine.fire_due_timers()
    clock.set(sh(2026, 3, 2, 10, 30))  # the first response comes after the plan's own deadline (10:00)
    complete(engine, inst.id, "first_response", {"response": "Very sorry for the wait."}, "rep")
    plan = open_tasks(engine, inst.id)["handling_plan"]
    assert plan.due_at == sh(2026, 3, 2, 10, 0)  # the inbox shows the SOP deadline
    # The timer is set just after "now" so that the worker fires it and records the breach.
    assert timers(engine, inst.id) == [
        ("handling_plan_overdue", "boundary_non_interrupting", sh(2026, 3, 2, 10, 30, 1))]
    clock.advance(seconds=1)
    assert [r.element_id for r in engine.fire_due_timers()] == ["handling_plan_overdue"]
    assert set(open_tasks(engine, inst.id)) == {"handling_plan", "escalate_first_response", "escalate_handling_plan"}
    assert [b[0] for b in breaches(engine, inst.id)] == ["first_response", "handling_plan"]


def test_complaint_answered_late_and_report_deadline_counts_two_working_days(engine: Engine, clock) -> None:
    clock.set(sh(2026, 3, 5, 15, 0))  # Thursday afternoon
    deploy(engine)
    inst = start(engine, type="timeliness")
    complete(engine, inst.id, "first_response", {"response": "Checking."}, "rep")
    complete(engine, inst.id, "handling_plan", {"plan": "Re-deliver tomorrow morning."}, "rep")
    feedback = open_tasks(engine, inst.id)["exception_feedback"]
    assert (feedback.group, feedback.due_at) == ("cs_rep", sh(2026, 3, 6, 15, 0))
    assert timers(engine, inst.id) == [("answer_overdue", "boundary_non_interrupting", sh(2026, 3, 6, 15, 0))]
    complete(engine, inst.id, "exception_feedback", {"cause": "Truck breakdown", "handling_result": "Re-delivered",
                                                     "corrective_measures": "Spare truck on standby"}, "rep")
    sign = open_tasks(engine, inst.id)["sign_feedback"]
    assert (sign.title, sign.group) == ("签署异常反馈单", "cs_head")
    # The 24-hour answer deadline covers the signature too; cs_head is late.
    clock.set(sh(2026, 3, 6, 15, 5))
    engine.fire_due_timers()
    assert set(open_tasks(engine, inst.id)) == {"sign_feedback", "escalate_answer"}
    assert breaches(engine, inst.id) == [("answer_24h", "cs_rep", sh(2026, 3, 6, 15, 0))]
    engine.complete(sign.id, {"sign_decision": "signed", "high_impact": False}, "head")

    tasks = open_tasks(engine, inst.id)
    assert set(tasks) == {"escalate_answer", "write_report", "organise_rectification"}
    assert tasks["organise_rectification"].group == "gm_office"  # gm_office is informed
    # Two working days from Thursday 15:00: Friday, Monday → Monday 9 March 15:00.
    assert tasks["write_report"].due_at == sh(2026, 3, 9, 15, 0)
    assert timers(engine, inst.id) == [("report_overdue", "boundary_non_interrupting", sh(2026, 3, 9, 15, 0))]
    clock.set(sh(2026, 3, 9, 14, 59))
    assert engine.fire_due_timers() == []
    clock.set(sh(2026, 3, 9, 15, 0))
    engine.fire_due_timers()
    assert open_tasks(engine, inst.id)["escalate_report"].group == "cs_head"
    assert [b[0] for b in breaches(engine, inst.id)] == ["answer_24h", "customer_report"]
    d = engine.instance(inst.id).data
    assert (d["missed_step"], d["missed_by"], d["missed_deadline"], d["overdue_by"]) == (
        "customer_report", "cs_rep", sh(2026, 3, 9, 15, 0), 0)

    # cs_head returns the late report once: the rework does not count the same deadline twice.
    complete(engine, inst.id, "write_report", {"report": "Draft"}, "rep")
    complete(engine, inst.id, "confirm_report", {"report_decision": "returned", "report_comments": "Add figures"}, "head")
    complete(engine, inst.id, "write_report", {"report": "Draft with figures"}, "rep")
    complete(engine, inst.id, "confirm_report", {"report_decision": "confirmed"}, "head")
    clock.advance(days=3)
    assert engine.fire_due_timers() == []
    assert len(breaches(engine, inst.id)) == 2


def test_report_deadline_skips_the_qingming_holiday(engine: Engine, clock) -> None:
    clock.set(sh(2026, 4, 2, 15, 0))  # Thursday before Qingming (Sat 4 – Mon 6 April off)
    deploy(engine)
    inst = start(engine, severity="accident")
    answer_in_time(engine, inst.id)
    # Friday 3 April is the first working day, Tuesday 7 April the second.
    assert timers(engine, inst.id) == [("report_overdue", "boundary_non_interrupting", sh(2026, 4, 7, 15, 0))]
    assert open_tasks(engine, inst.id)["write_report"].due_at == sh(2026, 4, 7, 15, 0)


# -- rectification goes to the responsible department (#17) ------------------------------------------


def reach_rectify(engine: Engine, inst_id: int) -> TaskView:
    answer_in_time(engine, inst_id)
    complete(engine, inst_id, "organise_rectification", {"rectification_order": "Rectify it"}, "gm")
    return open_tasks(engine, inst_id)["rectify"]


@pytest.mark.parametrize(("type_", "department"), sorted(DEPARTMENTS.items()))
def test_rectify_goes_to_the_department_the_matrix_decided(engine: Engine, type_: str, department: str) -> None:
    deploy(engine)
    inst = start(engine, type=type_)
    rectify = reach_rectify(engine, inst.id)
    assert rectify.group == department
    user = DEPARTMENT_USERS[department]
    assert [t.id for t in engine.tasks(user=user)] == [rectify.id]
    assert rectify.id not in [t.id for t in engine.tasks(user="ops")]
    created = [e.data for e in events(engine, inst.id, "task_created") if e.data["element_id"] == "rectify"]
    assert created[0]["group"] == department and created[0]["candidates"]["groups"] == [department]
    engine.complete(rectify.id, {"rectification_done": "Done", "rectified_on": "2026-03-02"}, user)
    assert "verify_rectification" in open_tasks(engine, inst.id)


def test_rectify_stays_with_operations_when_the_decided_department_has_no_group(engine: Engine, tmp_path) -> None:
    """A designer adds a department to the matrix before an admin creates its group: operations rectifies."""
    dmn = (PROCESSES / "responsibility_matrix.dmn").read_text("utf-8")
    edited = tmp_path / "responsibility_matrix.dmn"
    edited.write_text(dmn.replace('<text>"warehouse"</text>', '<text>"customs"</text>'), "utf-8")
    engine.deploy([edited, PROCESSES / "exception_escalation.bpmn"], actor="designer")
    inst = start(engine, type="quantity")
    assert engine.instance(inst.id).data["responsible_department"] == "customs"
    rectify = reach_rectify(engine, inst.id)
    assert rectify.group == "operations"
    engine.complete(rectify.id, {"rectification_done": "Done", "rectified_on": "2026-03-02"}, "ops")


# -- the whole complaint path with the rectify-again loop ------------------------------------------------


def test_complaint_path_with_apology_visit_and_rectify_again_loop(engine: Engine, clock) -> None:
    deploy(engine)
    inst = start(engine, type="quantity")
    complete(engine, inst.id, "first_response", {"response": "Sorry, checking."}, "rep")
    complete(engine, inst.id, "handling_plan", {"plan": "Ship the missing cartons."}, "rep")
    complete(engine, inst.id, "exception_feedback", {"cause": "Picking error", "handling_result": "Shipped",
                                                     "corrective_measures": "Double check"}, "rep")
    with pytest.raises(NotAllowed):
        complete(engine, inst.id, "sign_feedback", {"sign_decision": "signed", "high_impact": True}, "rep")
    complete(engine, inst.id, "sign_feedback", {"sign_decision": "returned", "high_impact": False,
                                                "sign_comments": "Name the shift"}, "head")
    assert set(open_tasks(engine, inst.id)) == {"exception_feedback"}  # returned for rework
    complete(engine, inst.id, "exception_feedback", {"cause": "Picking error, night shift", "handling_result": "Shipped",
                                                     "corrective_measures": "Double check"}, "rep")
    complete(engine, inst.id, "sign_feedback", {"sign_decision": "signed", "high_impact": True}, "head")

    tasks = open_tasks(engine, inst.id)
    assert {k: (t.title, t.group) for k, t in tasks.items()} == {
        "organise_rectification": ("安排责任部门整改", "gm_office"),
        "write_report": ("撰写客户报告", "cs_rep"),
        "apology_visit": ("安排高层致歉拜访", "cs_head"),
    }
    assert engine.instance(inst.id).data["responsible_department"] == "warehouse"
    complete(engine, inst.id, "organise_rectification", {"rectification_order": "Warehouse: re-train pickers"}, "gm")
    rectify = open_tasks(engine, inst.id)["rectify"]
    assert (rectify.title, rectify.titles["en"], rectify.group) == ("整改", "Rectify", "warehouse")
    with pytest.raises(NotAllowed):  # the matrix named the warehouse, not operations
        engine.complete(rectify.id, {"rectification_done": "x", "rectified_on": "2026-03-03"}, "ops")
    complete(engine, inst.id, "rectify", {"rectification_done": "Training held", "rectified_on": "2026-03-03"}, "wh")
    verify = open_tasks(engine, inst.id)["verify_rectification"]
    assert (verify.title, verify.group) == ("与客户确认整改效果", "cs_rep")

    # Not satisfied → rectify again.
    engine.complete(verify.id, {"customer_satisfied": False, "customer_feedback": "Still short on the next order"}, "rep")
    again = open_tasks(engine, inst.id)["rectify"]
    assert again.id != rectify.id and again.group == "warehouse"
    assert "verify_rectification" not in open_tasks(engine, inst.id)
    complete(engine, inst.id, "rectify", {"rectification_done": "Scanner check added", "rectified_on": "2026-03-04"}, "wh")
    complete(engine, inst.id, "verify_rectification", {"customer_satisfied": True, "customer_feedback": "OK now"}, "rep")

    complete(engine, inst.id, "apology_visit", {"visit_date": "2026-03-04", "visited_by": "VP Wang"}, "head")
    complete(engine, inst.id, "write_report", {"report": "Cause, measures and compensation"}, "rep")
    assert engine.instance(inst.id).status == "running"
    complete(engine, inst.id, "confirm_report", {"report_decision": "confirmed"}, "head")

    view = engine.instance(inst.id)
    assert view.status == "completed"
    d = view.data
    assert d["outcome"] == "resolved" and d["customer_satisfied"] is True and d["report_decision"] == "confirmed"
    assert d["rectification_done"] == "Scanner check added" and d["visited_by"] == "VP Wang"
    assert [e.data["element_id"] for e in events(engine, inst.id, "task_created")].count("rectify") == 2
    assert events(engine, inst.id, "sla_breached") == []
    assert timers(engine, inst.id) == [] and engine.tasks(instance_id=inst.id) == []


def test_closing_the_case_cancels_escalations_still_open(engine: Engine, clock) -> None:
    deploy(engine)
    inst = start(engine)
    clock.set(sh(2026, 3, 2, 9, 45))
    engine.fire_due_timers()
    answer_in_time(engine, inst.id)
    complete(engine, inst.id, "organise_rectification", {"rectification_order": "Fix"}, "gm")
    complete(engine, inst.id, "rectify", {"rectification_done": "Fixed", "rectified_on": "2026-03-02"}, "trans")
    complete(engine, inst.id, "verify_rectification", {"customer_satisfied": True, "customer_feedback": "ok"}, "rep")
    complete(engine, inst.id, "write_report", {"report": "Report"}, "rep")
    complete(engine, inst.id, "confirm_report", {"report_decision": "confirmed"}, "head")
    assert engine.instance(inst.id).status == "completed"
    statuses = {(t.element_id, t.status) for t in engine.tasks(instance_id=inst.id, status=None)}
    assert ("escalate_first_response", "cancelled") in statuses
    assert breaches(engine, inst.id) == [("first_response", "cs_rep", sh(2026, 3, 2, 9, 30))]  # the breach stays


# -- repeats and bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(("severity", "repeat", "raised"), [
    ("general", {"repeat_count": 1}, "complaint"),
    ("complaint", {"is_repeat": True}, "accident"),
    ("accident", {"repeat_count": 3}, "accident"),
    ("general", {"repeat_count": 0, "is_repeat": False}, "general"),
])
def test_a_repeated_complaint_raises_the_severity(engine: Engine, severity: str, repeat: dict, raised: str) -> None:
    deploy(engine)
    inst = start(engine, severity=severity, **repeat)
    d = engine.instance(inst.id).data
    assert (d["reported_severity"], d["severity"], d["severity_raised"]) == (severity, raised, severity != raised)
    first_task = "coordinate" if raised == "general" else "first_response"
    assert set(open_tasks(engine, inst.id)) == {first_task}


@pytest.mark.parametrize("changes", [{"type": "weather"}, {"severity": "minor"}, {"channel": "fax"}, {"order_no": ""}])
def test_bad_start_data_is_rejected(engine: Engine, changes: dict) -> None:
    deploy(engine)
    # The start form refuses these before the process's own checks run (as the API and web always did).
    with pytest.raises((ScriptError, FormErrors)):
        start(engine, **changes)
    assert engine.instances(process_key="exception_escalation") == []


def test_model_lanes_forms_and_diagram_are_complete() -> None:
    check_model(PROCESSES / "exception_escalation.bpmn", {
        "coordinate": ("cs_rep", {"actions_taken", "requirement_met"}),
        "first_response": ("cs_rep", {"response"}),
        "handling_plan": ("cs_rep", {"plan"}),
        "exception_feedback": ("cs_rep", {"cause", "handling_result", "corrective_measures"}),
        "sign_feedback": ("cs_head", {"sign_decision", "high_impact", "sign_comments"}),
        "organise_rectification": ("gm_office", {"rectification_order"}),
        "rectify": ("operations", {"rectification_done", "rectified_on"}),
        "verify_rectification": ("cs_rep", {"customer_satisfied", "customer_feedback"}),
        "write_report": ("cs_rep", {"report"}),
        "confirm_report": ("cs_head", {"report_decision", "report_comments"}),
        "apology_visit": ("cs_head", {"visit_date", "visited_by", "visit_notes"}),
        "escalate_first_response": ("cs_head", {"action_taken"}),
        "escalate_handling_plan": ("cs_head", {"action_taken"}),
        "escalate_answer": ("cs_head", {"action_taken"}),
        "escalate_report": ("cs_head", {"action_taken"}),
    })


def test_every_department_of_the_matrix_has_a_group_and_a_demo_user() -> None:
    """`bpm init` creates a group per department the matrix names; `bpm demo-users` staffs each (#17)."""
    from lxml import etree

    from engine.cli.serve import DEMO_USERS
    from engine.services.users import DOMAIN_GROUPS

    dmn = etree.parse(str(PROCESSES / "responsibility_matrix.dmn")).getroot()
    ns = {"dmn": "https://www.omg.org/spec/DMN/20191111/MODEL/"}
    decided = {e.findtext("dmn:text", namespaces=ns).strip('"') for e in dmn.iterfind(".//dmn:outputEntry", ns)}
    assert decided == {"transport", "warehouse", "it"}
    assert {d: DOMAIN_GROUPS[d][1] for d in decided} == {"transport": "运输部", "warehouse": "仓储部", "it": "信息部"}
    assert decided <= {group for groups in DEMO_USERS.values() for group in groups}
