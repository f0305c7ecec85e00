"""The department routines (#17): timer-started weekly, monthly and yearly processes, and new-staff training.

Every step goes through the database (the ``engine`` fixture); time moves only with the ManualClock and
``engine.fire_due_timers()``. The 2026 calendar is the shipped one (chinesecalendar): 元旦 make-up Sunday Jan 4;
春节 Feb 16–20 and Monday Feb 23 off; 中秋 Friday Sep 25; 国庆 Oct 1–7 off, make-up Saturday Oct 10.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from engine import Engine, ManualClock
from tests.processes.test_daily import check_diagram, check_forms, deploy, fire_at, only_task, sh, start_timer, validate_like_cli, walk_schedule

ROUTINES = ["weekly_department_meeting", "weekly_exception_review", "monthly_work_summary", "monthly_purchase_list",
            "monthly_staff_appraisal", "new_staff_training", "december_customer_care"]


@pytest.mark.parametrize("name", ROUTINES)
def test_file_validates_with_full_diagram_and_forms(name: str) -> None:
    assert validate_like_cli(f"{name}.bpmn") == [name]
    check_diagram(f"{name}.bpmn")
    check_forms(f"{name}.bpmn")


def tasks_by_element(engine: Engine, instance_id: int) -> dict:
    return {t.element_id: t for t in engine.tasks(instance_id=instance_id)}


def breaches(engine: Engine, instance_id: int) -> list[tuple[str, str, datetime]]:
    return [(e.data["step"], e.data["group"], datetime.fromisoformat(e.data["deadline"]))
            for e in engine.history(instance_id) if e.type == "sla_breached"]


def start_one(engine: Engine, clock: ManualClock, process_key: str, when: datetime) -> int:
    assert start_timer(engine, process_key).due_at == when
    assert fire_at(engine, clock, when - _minute()) == []
    [instance_id] = fire_at(engine, clock, when)
    assert fire_at(engine, clock, when) == []  # the same instant again starts nothing
    return instance_id


def _minute():
    from datetime import timedelta

    return timedelta(minutes=1)


def escalate(engine: Engine, clock: ManualClock, instance_id: int, element_id: str, due: datetime) -> None:
    clock.set(due - _minute())
    assert [r for r in engine.fire_due_timers() if r.instance_id == instance_id] == []
    clock.set(due)
    assert [(r.instance_id, r.element_id, r.outcome) for r in engine.fire_due_timers() if r.instance_id] == [
        (instance_id, element_id, "fired")]


def assert_escalation(engine: Engine, instance_id: int, step: str, step_name: str, missed_by: str, deadline: datetime,
                      sla: str, task: str, group: str) -> None:
    d = engine.instance(instance_id).data
    assert (d["missed_step"], d["missed_step_name"], d["missed_by"], d["missed_deadline"], d["overdue_by"]) == (
        step, step_name, missed_by, deadline, 0)
    assert breaches(engine, instance_id) == [(sla, missed_by, deadline)]
    tasks = tasks_by_element(engine, instance_id)
    assert set(tasks) == {step, task}  # the late step stays open with its owner
    assert tasks[task].group == group
    assert engine.timers(instance_id=instance_id) == []  # the deadline fires once


# -- weekly department meeting (四.3.1) ----------------------------------------------------------------------
def test_meeting_every_monday_1600_and_a_holiday_monday_moves_to_the_next_working_day(engine: Engine,
                                                                                       clock: ManualClock) -> None:
    clock.set(sh(2026, 2, 2, 9, 0))
    deploy(engine, "weekly_department_meeting")
    # 春节: Mondays Feb 16 and Feb 23 are both off; their meetings fall on Tuesday Feb 24, held once
    walk_schedule(engine, clock, "weekly_department_meeting", [
        sh(2026, 2, 2, 16), sh(2026, 2, 9, 16), sh(2026, 2, 24, 16), sh(2026, 3, 2, 16)])
    assert fire_at(engine, clock, sh(2026, 2, 16, 16)) == []
    tuesday = engine.instances(process_key="weekly_department_meeting")[0]
    task = only_task(engine, tuesday.id)
    assert (task.element_id, task.group, task.due_at) == ("convene_meeting", "cs_head", sh(2026, 2, 24, 17))
    assert engine.instance(tuesday.id).data["minutes_due_at"] == sh(2026, 2, 24, 18)


def test_meeting_in_the_national_day_week_is_on_thursday(engine: Engine, clock: ManualClock) -> None:
    clock.set(sh(2026, 9, 28, 17, 0))
    deploy(engine, "weekly_department_meeting")
    walk_schedule(engine, clock, "weekly_department_meeting", [sh(2026, 10, 8, 16), sh(2026, 10, 12, 16)])


def test_meeting_held_and_minutes_sent_by_1800(engine: Engine, clock: ManualClock) -> None:
    deploy(engine, "weekly_department_meeting")
    instance_id = start_one(engine, clock, "weekly_department_meeting", sh(2026, 3, 2, 16))
    convene = only_task(engine, instance_id)
    assert (convene.element_id, convene.title, convene.group, convene.due_at) == (
        "convene_meeting", "主持部门例会", "cs_head", sh(2026, 3, 2, 17))
    clock.set(sh(2026, 3, 2, 17, 0))
    engine.complete(convene.id, {"attendees": ["王经理", "李助理", "张代表"], "agenda": "上周异常回顾；本周重点客户"}, "head")
    minutes = only_task(engine, instance_id)
    assert (minutes.element_id, minutes.title, minutes.group, minutes.due_at) == (
        "record_minutes", "记录会议纪要", "cs_assistant", sh(2026, 3, 2, 18))
    assert [(t.element_id, t.due_at) for t in engine.timers(instance_id=instance_id)] == [
        ("minutes_late", sh(2026, 3, 2, 18))]
    clock.set(sh(2026, 3, 2, 17, 45))
    engine.complete(minutes.id, {"decisions": "回单超期客户本周内补齐", "action_items": ["补齐回单—张代表—周五"],
                                 "minutes_sent": True}, "assistant")
    view = engine.instance(instance_id)
    assert view.status == "completed" and view.data["meeting_date"] == date(2026, 3, 2)
    assert breaches(engine, instance_id) == []


def test_minutes_not_sent_by_1800_escalate_to_cs_head(engine: Engine, clock: ManualClock) -> None:
    deploy(engine, "weekly_department_meeting")
    instance_id = start_one(engine, clock, "weekly_department_meeting", sh(2026, 3, 2, 16))
    engine.complete(only_task(engine, instance_id).id, {"attendees": ["王经理"], "agenda": "周例会"}, "head")
    escalate(engine, clock, instance_id, "minutes_late", sh(2026, 3, 2, 18))
    assert_escalation(engine, instance_id, "record_minutes", "记录会议纪要", "cs_assistant", sh(2026, 3, 2, 18),
                      "meeting_minutes", "escalate_late_minutes", "cs_head")


# -- weekly exception analysis meeting (三(四)4) -------------------------------------------------------------
def test_exception_review_on_friday_or_the_working_day_before(engine: Engine, clock: ManualClock) -> None:
    clock.set(sh(2026, 9, 21, 9, 0))
    deploy(engine, "weekly_exception_review")
    # 中秋 Friday Sep 25 → Thursday; 国庆 Friday Oct 2 (Oct 1–2 off) → Wednesday Sep 30
    walk_schedule(engine, clock, "weekly_exception_review", [
        sh(2026, 9, 24, 15), sh(2026, 9, 30, 15), sh(2026, 10, 9, 15), sh(2026, 10, 16, 15)])


def test_exception_review_recorded_or_escalated_at_1800(engine: Engine, clock: ManualClock) -> None:
    clock.set(sh(2026, 3, 6, 9, 0))
    deploy(engine, "weekly_exception_review")
    instance_id = start_one(engine, clock, "weekly_exception_review", sh(2026, 3, 6, 15))
    task = only_task(engine, instance_id)
    assert (task.element_id, task.group, task.due_at) == ("record_exception_review", "cs_assistant", sh(2026, 3, 6, 18))
    d = engine.instance(instance_id).data
    assert (d["review_from"], d["review_to"]) == (date(2026, 2, 28), date(2026, 3, 6))
    escalate(engine, clock, instance_id, "review_late", sh(2026, 3, 6, 18))
    assert_escalation(engine, instance_id, "record_exception_review", "召开异常分析会并记录结论", "cs_assistant",
                      sh(2026, 3, 6, 18), "exception_review", "escalate_late_review", "cs_head")
    clock.set(sh(2026, 3, 6, 18, 30))
    engine.complete(task.id, {"attendees": ["王经理", "李助理"], "exceptions_count": 7, "repeat_exceptions_count": 2,
                              "main_causes": "夜间装车漏扫", "corrective_actions": ["装车双人复核—运作部—3月13日"]},
                    "assistant")
    escalation = only_task(engine, instance_id)
    engine.complete(escalation.id, {"late_cause": "会议延长", "action_taken": "18:30补录"}, "head")
    assert engine.instance(instance_id).status == "completed"
    assert engine.instance(instance_id).data["exceptions_count"] == 7


# -- monthly summary to 总经办 by the 5th (四.3.2.1) -------------------------------------------------------------
def test_monthly_summary_opens_on_the_first_working_day_including_a_make_up_sunday(engine: Engine,
                                                                                    clock: ManualClock) -> None:
    clock.set(sh(2025, 12, 31, 12, 0))
    deploy(engine, "monthly_work_summary")
    walk_schedule(engine, clock, "monthly_work_summary", [sh(2026, 1, 4, 9), sh(2026, 2, 2, 9)])
    january = engine.instances(process_key="monthly_work_summary")[-1]
    task = only_task(engine, january.id)
    assert (task.element_id, task.group, task.due_at) == ("send_monthly_summary", "cs_head", sh(2026, 1, 5, 18))
    assert engine.instance(january.id).data["summary_month"] == "2025-12"


def test_monthly_summary_due_the_5th_or_the_next_working_day(engine: Engine, clock: ManualClock) -> None:
    clock.set(sh(2026, 9, 1, 8, 0))
    deploy(engine, "monthly_work_summary")
    walk_schedule(engine, clock, "monthly_work_summary", [sh(2026, 9, 1, 9), sh(2026, 10, 8, 9), sh(2026, 11, 2, 9)])
    october, september = engine.instances(process_key="monthly_work_summary")
    assert engine.instance(september.id).data["summary_due_at"] == sh(2026, 9, 7, 18)  # Sat 5th → Monday
    assert engine.instance(september.id).data["missed_deadline"] == sh(2026, 9, 7, 18)  # the walk went past it
    assert only_task(engine, october.id).due_at == sh(2026, 10, 8, 18)  # 5th in 国庆 → first working day
    assert engine.instance(october.id).data["summary_month"] == "2026-09"


def test_monthly_summary_sent_or_escalated_to_the_vp(engine: Engine, clock: ManualClock) -> None:
    clock.set(sh(2026, 3, 1, 12, 0))
    deploy(engine, "monthly_work_summary")
    instance_id = start_one(engine, clock, "monthly_work_summary", sh(2026, 3, 2, 9))
    task = only_task(engine, instance_id)
    assert (task.title, task.due_at) == ("向总经办报送月度工作总结", sh(2026, 3, 5, 18))
    escalate(engine, clock, instance_id, "summary_late", sh(2026, 3, 5, 18))
    assert_escalation(engine, instance_id, "send_monthly_summary", "向总经办报送月度工作总结", "cs_head",
                      sh(2026, 3, 5, 18), "monthly_summary", "escalate_late_summary", "vp")
    assert [t.id for t in engine.tasks(user="vp")] == [tasks_by_element(engine, instance_id)["escalate_late_summary"].id]
    engine.complete(task.id, {"work_done": "完成2月结算", "kpi_results": "准时率98.6%", "problems": "回单滞后",
                              "next_month_plan": "回单专项", "sent_to_gm_office": True}, "head")
    assert engine.instance(instance_id).status == "running"


# -- monthly purchase list on the 25th (四.2.1) -----------------------------------------------------------------
def test_purchase_list_on_the_25th_or_the_working_day_before(engine: Engine, clock: ManualClock) -> None:
    clock.set(sh(2026, 9, 1, 9, 0))
    deploy(engine, "monthly_purchase_list")
    # 中秋 Friday Sep 25 → Thursday 24th; Sunday Oct 25 → Friday 23rd
    walk_schedule(engine, clock, "monthly_purchase_list", [sh(2026, 9, 24, 9), sh(2026, 10, 23, 9), sh(2026, 11, 25, 9)])


def test_purchase_list_sent_back_once_then_approved(engine: Engine, clock: ManualClock) -> None:
    clock.set(sh(2026, 3, 20, 9, 0))
    deploy(engine, "monthly_purchase_list")
    instance_id = start_one(engine, clock, "monthly_purchase_list", sh(2026, 3, 25, 9))
    prepare = only_task(engine, instance_id)
    assert (prepare.element_id, prepare.group, prepare.due_at) == (
        "prepare_purchase_list", "cs_assistant", sh(2026, 3, 25, 18))
    assert engine.instance(instance_id).data["purchase_month"] == "2026-04"
    listing = {"purchase_items": ["A4打印纸—20箱—单据打印", "硒鼓—4个—打印机"], "estimated_total": "1860.00",
               "needed_by": "2026-04-01"}
    clock.set(sh(2026, 3, 25, 11, 0))
    engine.complete(prepare.id, listing, "assistant")
    approve = only_task(engine, instance_id)
    assert (approve.element_id, approve.group, approve.due_at) == ("approve_purchase_list", "cs_head", sh(2026, 3, 27, 11))
    engine.complete(approve.id, {"purchase_decision": "revise", "approval_comment": "硒鼓改为2个"}, "head")
    again = only_task(engine, instance_id)
    assert (again.element_id, again.due_at) == ("prepare_purchase_list", sh(2026, 3, 26, 11))  # next working day
    assert [(t.element_id, t.due_at) for t in engine.timers(instance_id=instance_id)] == [
        ("purchase_late", sh(2026, 3, 26, 11))]
    engine.complete(again.id, {**listing, "estimated_total": "1480.00"}, "assistant")
    engine.complete(only_task(engine, instance_id).id, {"purchase_decision": "approve"}, "head")
    view = engine.instance(instance_id)
    assert view.status == "completed"
    assert (view.data["purchase_revisions"], view.data["estimated_total"]) == (1, Decimal("1480.00"))
    assert breaches(engine, instance_id) == []


def test_purchase_list_late_escalates_to_cs_head(engine: Engine, clock: ManualClock) -> None:
    clock.set(sh(2026, 3, 20, 9, 0))
    deploy(engine, "monthly_purchase_list")
    instance_id = start_one(engine, clock, "monthly_purchase_list", sh(2026, 3, 25, 9))
    escalate(engine, clock, instance_id, "purchase_late", sh(2026, 3, 25, 18))
    assert_escalation(engine, instance_id, "prepare_purchase_list", "编制下月采购清单", "cs_assistant",
                      sh(2026, 3, 25, 18), "purchase_list", "escalate_late_purchase", "cs_head")


# -- monthly staff appraisal, 1st–5th (第二十–二十二条) -----------------------------------------------------------------
def test_staff_appraisal_from_the_first_working_day_due_the_5th(engine: Engine, clock: ManualClock) -> None:
    clock.set(sh(2026, 9, 30, 12, 0))
    deploy(engine, "monthly_staff_appraisal")
    instance_id = start_one(engine, clock, "monthly_staff_appraisal", sh(2026, 10, 8, 9))  # 国庆 Oct 1–7 off
    task = only_task(engine, instance_id)
    assert (task.element_id, task.group, task.due_at) == ("appraise_staff", "cs_head", sh(2026, 10, 8, 18))
    assert engine.instance(instance_id).data["appraisal_month"] == "2026-09"
    assert start_timer(engine, "monthly_staff_appraisal").due_at == sh(2026, 11, 2, 9)
    clock.set(sh(2026, 10, 8, 17, 0))
    engine.complete(task.id, {"staff_scores": ["张三 92", "李四 85"], "department_average": 88.5,
                              "results_communicated": True}, "head")
    assert engine.instance(instance_id).status == "completed"


def test_staff_appraisal_late_escalates_to_the_vp(engine: Engine, clock: ManualClock) -> None:
    clock.set(sh(2026, 3, 1, 12, 0))
    deploy(engine, "monthly_staff_appraisal")
    instance_id = start_one(engine, clock, "monthly_staff_appraisal", sh(2026, 3, 2, 9))
    escalate(engine, clock, instance_id, "appraisal_late", sh(2026, 3, 5, 18))
    assert_escalation(engine, instance_id, "appraise_staff", "月度员工考核评分", "cs_head", sh(2026, 3, 5, 18),
                      "staff_appraisal", "escalate_late_appraisal", "vp")


# -- new-staff training and exam (第四条) ---------------------------------------------------------------------------
def test_new_staff_failed_exam_is_trained_again_until_passed(engine: Engine, clock: ManualClock) -> None:
    deploy(engine, "new_staff_training")
    assert [t for t in engine.timers() if t.process_key == "new_staff_training"] == []  # started by people
    view = engine.start("new_staff_training", {"staff_name": "赵六", "staff_position": "客服代表",
                                               "join_date": "2026-03-02"}, actor="head")
    plan = only_task(engine, view.id)
    assert (plan.element_id, plan.group, plan.due_at) == ("plan_training", "cs_head", sh(2026, 3, 4, 9))
    engine.complete(plan.id, {"training_topics": ["客服部制度", "订单计划流程"], "trainer": "王经理",
                              "training_plan_notes": "第一周"}, "head")
    for round_no, score in ((1, 70), (2, 79), (3, 86)):
        deliver = only_task(engine, view.id)
        assert deliver.element_id == "deliver_training"
        assert engine.instance(view.id).data["training_round"] == round_no
        clock.advance(hours=2)
        engine.complete(deliver.id, {"training_hours": 8, "training_done": True}, "head")
        exam = only_task(engine, view.id)
        assert exam.element_id == "record_exam"
        engine.complete(exam.id, {"exam_score": score}, "head")
    done = engine.instance(view.id)
    assert done.status == "completed"
    assert (done.data["exam_scores"], done.data["exam_passed"], done.data["training_round"]) == ([70, 79, 86], True, 3)
    steps = [e.data.get("element_id") for e in engine.history(view.id) if e.type == "task_completed"]
    assert steps.count("deliver_training") == 3 and steps.count("record_exam") == 3


# -- December customer gifts and next year's needs (新需求管理制度) ---------------------------------------------------------
def test_december_care_once_a_year(engine: Engine, clock: ManualClock) -> None:
    deploy(engine, "december_customer_care")
    walk_schedule(engine, clock, "december_customer_care", [sh(2026, 12, 1, 9), sh(2027, 12, 1, 9)])
    assert fire_at(engine, clock, sh(2027, 1, 4, 9)) == []


def test_december_gifts_approved_and_needs_survey_late_escalates(engine: Engine, clock: ManualClock) -> None:
    clock.set(sh(2026, 11, 30, 12, 0))
    deploy(engine, "december_customer_care")
    instance_id = start_one(engine, clock, "december_customer_care", sh(2026, 12, 1, 9))
    gifts = only_task(engine, instance_id)
    assert (gifts.element_id, gifts.group, gifts.due_at) == ("list_customer_gifts", "cs_rep", sh(2026, 12, 10, 18))
    d = engine.instance(instance_id).data
    assert (d["care_year"], d["next_year"], d["needs_due_at"]) == (2026, 2027, sh(2026, 12, 31, 18))
    clock.set(sh(2026, 12, 4, 10, 0))
    engine.complete(gifts.id, {"key_accounts": ["华东食品", "远航电子"], "gift_list": ["华东食品—茶礼—2", "远航电子—台历—5"],
                               "gift_budget": "2400.00"}, "rep")
    approve = only_task(engine, instance_id)
    assert (approve.element_id, approve.group) == ("approve_customer_gifts", "cs_head")
    engine.complete(approve.id, {"gifts_approved": True}, "head")
    survey = only_task(engine, instance_id)
    assert (survey.element_id, survey.group, survey.due_at) == ("survey_next_year_needs", "cs_rep", sh(2026, 12, 31, 18))
    escalate(engine, clock, instance_id, "survey_late", sh(2026, 12, 31, 18))
    assert_escalation(engine, instance_id, "survey_next_year_needs", "调研客户明年需求", "cs_rep", sh(2026, 12, 31, 18),
                      "needs_survey", "escalate_late_survey", "cs_head")
    engine.complete(survey.id, {"customers_surveyed": ["华东食品", "远航电子"], "next_year_needs": ["华东食品：冷链线路"],
                                "new_requirements_count": 1, "gifts_delivered": True}, "rep")
    assert engine.instance(instance_id).data["new_requirements_count"] == 1
