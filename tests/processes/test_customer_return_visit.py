"""customer_return_visit 客户回访 (回访制度) and the post-order questionnaire, through the service layer, one test per rule.

Time moves only with the ManualClock (fixture: Monday 2026-03-02 09:00 Shanghai); the worker's survey pass
(``run_survey_jobs``) starts the return visits asked for. A finished order opens its questionnaire and a closed complaint
asks for a visit in the finishing command's own transaction (engine/services/survey_processes.py).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from steps import complete, only_task

from engine import Engine, ManualClock
from engine.config import SHIPPED_PROCESSES
from engine.errors import Conflict, InvalidInput
from engine.persistence import ReturnVisitRequest
from engine.services.customers import save_customer
from engine.services.questionnaires import of_instance, submit_order_questionnaire
from engine.services.register_processes import first_working_day
from engine.services.survey_processes import run_survey_jobs
from tests.processes.test_daily import check_diagram, check_forms, validate_like_cli
from tests.processes.test_exception_escalation import EXCEPTION, answer_in_time
from tests.processes.test_order_plan import ALL_FINE, ORDER, arrived

SH = ZoneInfo("Asia/Shanghai")
GOOD = {"score": "5", "on_time": "yes", "intact": "yes"}


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


@pytest.fixture(autouse=True)
def setup(engine: Engine) -> None:
    engine.add_user("trans", ["transport"])
    engine.deploy([SHIPPED_PROCESSES / "responsibility_matrix.dmn", SHIPPED_PROCESSES / "exception_escalation.bpmn",
                   SHIPPED_PROCESSES / "customer_return_visit.bpmn"], actor="designer")  # order_plan: arrived() deploys it


def jobs(engine: Engine) -> dict[str, int]:
    return run_survey_jobs(engine.transaction)


def visits(engine: Engine) -> list:
    return [engine.instance(i.id) for i in engine.instances(process_key="customer_return_visit")]


def finished_order(engine: Engine, clock: ManualClock) -> int:
    """An order plan run to its end: arrived on time, all fine, receipt handed over."""
    instance_id = arrived(engine, clock, sh(2026, 3, 3, 15, 45))
    complete(engine, instance_id, "confirm_with_consignee", "cs_assistant", ALL_FINE, "assistant")
    complete(engine, instance_id, "hand_over_receipt", "cs_assistant",
             {"receipt_status": "handed_over", "receipt_handed_over_at": "2026-03-04T10:00:00+08:00"}, "assistant")
    assert engine.instance(instance_id).status == "completed"
    return instance_id


def closed_complaint(engine: Engine, severity: str = "complaint") -> int:
    inst = engine.start("exception_escalation", {**EXCEPTION, "severity": severity}, actor="rep", business_key="SO-7781")
    answer_in_time(engine, inst.id)
    for element_id, data, user in [
            ("organise_rectification", {"rectification_order": "Fix"}, "gm"),
            ("rectify", {"rectification_done": "Fixed", "rectified_on": "2026-03-02"}, "trans"),
            ("verify_rectification", {"customer_satisfied": True, "customer_feedback": "ok"}, "rep"),
            ("write_report", {"report": "Report"}, "rep"),
            ("confirm_report", {"report_decision": "confirmed"}, "head")]:
        (task,) = [t for t in engine.tasks(instance_id=inst.id) if t.element_id == element_id]
        engine.complete(task.id, data, user)
    assert engine.instance(inst.id).status == "completed"
    return inst.id


# -- the files ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["satisfaction_survey", "survey_rectification", "customer_return_visit"])
def test_files_validate_with_full_diagram_and_forms(name: str) -> None:
    assert validate_like_cli(f"{name}.bpmn") == [name]
    check_diagram(f"{name}.bpmn")
    check_forms(f"{name}.bpmn")


# -- after a closed complaint or accident: within 1 working day -------------------------------------------------------


def test_a_closed_complaint_gets_a_return_visit_within_one_working_day(engine: Engine, clock: ManualClock) -> None:
    exception_id = closed_complaint(engine)
    assert jobs(engine)["visits"] == 1
    assert jobs(engine)["visits"] == 0  # once per exception
    (visit,) = visits(engine)
    d = visit.data
    assert (d["customer"], d["visit_reason"], d["exception_instance_id"], d["exception_type"], d["severity"]) == (
        "ACME Logistics", "exception", exception_id, "damage", "complaint")
    task = only_task(engine, visit.id, "return_visit", "cs_rep")
    assert (task.title, task.due_at) == ("客户回访", sh(2026, 3, 3, 9, 0))
    engine.complete(task.id, {"visit_method": "phone", "visit_result": "satisfied", "visit_feedback": "满意"}, "rep")
    assert engine.instance(visit.id).status == "completed"


def test_a_general_exception_gets_no_visit(engine: Engine, clock: ManualClock) -> None:
    inst = engine.start("exception_escalation", {**EXCEPTION, "severity": "general"}, actor="rep")
    complete(engine, inst.id, "coordinate", "cs_rep", {"actions_taken": "ok", "requirement_met": True}, "rep")
    assert engine.instance(inst.id).status == "completed"
    assert jobs(engine)["visits"] == 0 and visits(engine) == []


# -- the post-order questionnaire --------------------------------------------------------------------------------------


def test_a_finished_order_opens_its_questionnaire_and_a_good_answer_asks_for_nothing(
        engine: Engine, clock: ManualClock) -> None:
    order_id = finished_order(engine, clock)
    with engine.transaction() as session:
        q = of_instance(session, order_id)
        assert q is not None and (q.kind, q.customer, q.period) == ("order", "ACME Logistics", ORDER["order_no"])
        assert q.link == f"/portal/q/{q.token}" and len(q.token) >= 40
        with pytest.raises(InvalidInput, match="score"):
            submit_order_questionnaire(session, q.token, {**GOOD, "score": "9"})
    with engine.transaction() as session:
        submit_order_questionnaire(session, q.token, GOOD)
    with engine.transaction() as session, pytest.raises(Conflict):
        submit_order_questionnaire(session, q.token, GOOD)  # once
    assert jobs(engine)["visits"] == 0


def test_a_poor_order_questionnaire_asks_cs_rep_for_a_return_visit(engine: Engine, clock: ManualClock) -> None:
    order_id = finished_order(engine, clock)
    with engine.transaction() as session:
        token = of_instance(session, order_id).token
        with pytest.raises(InvalidInput, match="comment"):  # a poor score says why
            submit_order_questionnaire(session, token, {**GOOD, "score": "2"})
    clock.set(sh(2026, 3, 5, 14, 0))
    with engine.transaction() as session:
        submit_order_questionnaire(session, token, {"score": "2", "on_time": "yes", "intact": "no",
                                                    "comment": "外箱破损"})
    assert jobs(engine)["visits"] == 1
    (visit,) = visits(engine)
    d = visit.data
    assert (d["visit_reason"], d["order_no"], d["score"], d["intact"], d["customer_comment"]) == (
        "questionnaire", "SO-7781", 2, "no", "外箱破损")
    task = only_task(engine, visit.id, "return_visit", "cs_rep")
    assert task.due_at == sh(2026, 3, 6, 14, 0)


# -- key accounts: one visit a quarter -----------------------------------------------------------------------------


def test_every_key_account_gets_a_visit_each_quarter(engine: Engine, clock: ManualClock) -> None:
    with engine.transaction() as session:
        save_customer(session, "ACME Logistics", "admin", grade=2, owner="rep2")
        save_customer(session, "Beta Foods", "admin", grade=3)
        april = first_working_day(session, 2026, 4)
    clock.set(sh(april.year, april.month, april.day, 9, 0))
    assert jobs(engine)["visits"] == 1
    assert jobs(engine)["visits"] == 0
    (visit,) = visits(engine)
    assert (visit.data["customer"], visit.data["visit_reason"], visit.business_key) == (
        "ACME Logistics", "key_account", "ACME Logistics 2026-Q2:1")
    task = only_task(engine, visit.id, "return_visit", "cs_rep")
    assert task.due_at == sh(2026, 4, 16, 17, 30)  # 10 working days (Qingming 4–6 April)
    assert task.assignee == "rep2"  # the customer's own cs_rep


# -- deadlines and the unsatisfied visit ---------------------------------------------------------------------------


def test_a_late_visit_is_a_breach_and_an_unsatisfied_one_goes_to_cs_head(engine: Engine, clock: ManualClock) -> None:
    inst = engine.start("customer_return_visit", {"customer": "ACME Logistics", "visit_reason": "other"}, actor="rep")
    task = only_task(engine, inst.id, "return_visit", "cs_rep")
    assert task.due_at == sh(2026, 3, 5, 9, 0)  # 3 working days
    clock.set(sh(2026, 3, 5, 9, 0))
    assert [r.element_id for r in engine.fire_due_timers()] == ["visit_late"]
    breach = [(e.data["step"], e.data["group"]) for e in engine.history(inst.id) if e.type == "sla_breached"]
    assert breach == [("return_visit", "cs_rep")]
    overdue = [t for t in engine.tasks(instance_id=inst.id) if t.element_id == "visit_overdue"]
    assert [(t.title, t.group) for t in overdue] == [("回访超时处理", "cs_head")]
    engine.complete(task.id, {"visit_method": "onsite", "visit_result": "unsatisfied",
                              "visit_feedback": "仍有延误"}, "rep")
    follow = [t for t in engine.tasks(instance_id=inst.id) if t.element_id == "visit_follow_up"]
    assert [(t.title, t.group, t.due_at) for t in follow] == [("处理回访不满意", "cs_head", sh(2026, 3, 9, 9, 0))]


def test_a_visit_that_cannot_start_keeps_its_error_and_nothing_else_is_lost(engine: Engine, clock: ManualClock) -> None:
    closed_complaint(engine)
    with engine.transaction() as session:
        session.add(ReturnVisitRequest(source_key="bad:1", reason="nonsense", customer="X", data={},
                                       created_at=clock.now()))
    assert jobs(engine)["visits"] == 1  # the good one starts; the bad one keeps its error
    with engine.transaction() as session:
        bad = session.query(ReturnVisitRequest).filter_by(source_key="bad:1").one()
        assert bad.instance_id is None and "visit_reason" in bad.error
    assert jobs(engine)["visits"] == 0


def test_a_complaint_an_order_raised_gets_its_visit_when_it_is_closed(engine: Engine, clock: ManualClock) -> None:
    order_id = arrived(engine, clock, sh(2026, 3, 3, 17, 10))
    complete(engine, order_id, "confirm_with_consignee", "cs_assistant",
             {**ALL_FINE, "consignee_on_time": False, "exception_severity": "complaint"}, "assistant")
    answer_in_time(engine, order_id)
    for element_id, data, user in [
            ("organise_rectification", {"rectification_order": "Fix"}, "gm"),
            ("rectify", {"rectification_done": "Fixed", "rectified_on": "2026-03-04"}, "trans"),
            ("verify_rectification", {"customer_satisfied": True, "customer_feedback": "ok"}, "rep"),
            ("write_report", {"report": "Report"}, "rep")]:
        (task,) = [t for t in engine.tasks(instance_id=order_id) if t.element_id == element_id]
        engine.complete(task.id, data, user)
    assert jobs(engine)["visits"] == 0  # not closed yet
    (confirm,) = [t for t in engine.tasks(instance_id=order_id) if t.element_id == "confirm_report"]
    engine.complete(confirm.id, {"report_decision": "confirmed"}, "head")
    assert engine.instance(order_id).status == "running"  # the order goes on (the receipt is still due)
    assert jobs(engine)["visits"] == 1
    (visit,) = visits(engine)
    d = visit.data
    assert (d["customer"], d["visit_reason"], d["source_ref"], d["order_instance_id"]) == (
        "ACME Logistics", "exception", "SO-7781", order_id)
    assert only_task(engine, visit.id, "return_visit", "cs_rep").due_at is not None
