"""new_business_onboarding (DOMAIN.md process 1) through the service layer: every step persists and reloads.

Time moves only with the ManualClock (Monday 2026-03-02 09:00 Shanghai) and ``engine.fire_due_timers()``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from engine import Engine, ManualClock, NotAllowed
from engine.config import SHIPPED_FORMS, SHIPPED_PROCESSES
from engine.definitions.forms import load_form, validate_submission
from tests.processes.steps import complete, only_task, timers
from tests.processes.test_daily import check_diagram, check_forms, validate_like_cli

PROCESSES = SHIPPED_PROCESSES
SH = ZoneInfo("Asia/Shanghai")
# As the API or `bpm start` sends it: plain JSON, dates as ISO text.
START = {"customer": "ACME Logistics", "contract_no": "HT-2026-017", "business_lines": ["FTL", "warehousing"],
         "routes": ["Shanghai - Chengdu", "Shanghai - Wuhan"], "expected_monthly_volume": 120, "volume_unit": "shipments",
         "expected_monthly_revenue": "380000.00", "customer_grade": 3, "go_live_date": "2026-03-09"}
REQUIREMENTS = {"notice_no": "SX-2026-031", "notice_issued_on": "2026-03-02", "requirements": "Tail-lift trucks only",
                "operating_rules": "Photos at loading and unloading", "kpi_on_time_target_pct": 98,
                "kpi_damage_max_pct": 0.1}
ACK = {"notice_acknowledged": True, "operations_contact": "Zhang Wei"}
PASSED = {"training_date": "2026-03-04", "attendees": ["Zhang Wei", "Li Na", "Wang Fang"], "exam_pass_rate_pct": 100,
          "exam_result": "passed"}
AS_REQUIRED = {"check_result": "as_required", "check_findings": "All KPIs met", "on_time_rate_pct": 99.2}
# Weekly checks every 7 days from go-live (Mon 2026-03-09) at 09:00; Qingming (Apr 4-6) moves Apr 6 to Tue Apr 7.
STANDARD_CHECKS = [(2026, 3, 16), (2026, 3, 23), (2026, 3, 30), (2026, 4, 7)]


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def at_nine(day: tuple[int, int, int]) -> datetime:
    return sh(*day, 9, 0)


def deploy(engine: Engine) -> None:
    engine.deploy([PROCESSES / "new_business_onboarding.bpmn"], actor="designer")


def types(engine: Engine, instance_id: int) -> list[str]:
    return [e.type for e in engine.history(instance_id)]


def start_and_train(engine: Engine, **changes) -> int:
    """Start, issue requirements, acknowledge and pass the training: hypercare begins."""
    deploy(engine)
    instance = engine.start("new_business_onboarding", {**START, **changes}, actor="rep", business_key="HT-2026-017")
    complete(engine, instance.id, "write_requirements", "cs_rep", REQUIREMENTS, "rep")
    complete(engine, instance.id, "acknowledge_notice", "operations", ACK, "ops")
    complete(engine, instance.id, "record_training", "cs_rep", PASSED, "rep")
    return instance.id


def weekly_check(engine: Engine, clock: ManualClock, instance_id: int, due: datetime, data: dict = AS_REQUIRED) -> None:
    """The weekly check comes due exactly at ``due`` and is done then."""
    assert timers(engine, instance_id) == [("wait_week", "intermediate", due)]
    clock.set(due.replace(minute=due.minute - 1) if due.minute else due.replace(hour=due.hour - 1))
    assert engine.fire_due_timers() == []
    clock.set(due)
    assert [r.outcome for r in engine.fire_due_timers()] == ["fired"]
    assert timers(engine, instance_id) == []
    complete(engine, instance_id, "weekly_check", "cs_rep", data, "rep")


def hand_over(engine: Engine, clock: ManualClock, instance_id: int, end: datetime) -> None:
    assert timers(engine, instance_id) == [("wait_hypercare_end", "intermediate", end)]
    clock.set(end)
    engine.fire_due_timers()
    complete(engine, instance_id, "hand_over", "cs_rep",
             {"handover_date": end.date().isoformat(), "handover_summary": "Stable for a month"}, "rep")


# -- the file ------------------------------------------------------------------------------------------------------
def test_file_validates_with_full_diagram_and_forms() -> None:
    assert validate_like_cli("new_business_onboarding.bpmn") == ["new_business_onboarding"]
    check_diagram("new_business_onboarding.bpmn")
    check_forms("new_business_onboarding.bpmn")


# -- scenarios -------------------------------------------------------------------------------------------------------
def test_happy_path_one_month_hypercare_then_handover(engine: Engine, clock: ManualClock) -> None:
    deploy(engine)
    instance = engine.start("new_business_onboarding", START, actor="rep", business_key="HT-2026-017")
    task = only_task(engine, instance.id, "write_requirements", "cs_rep")
    assert (task.title, task.form_key, task.customer) == (
        "上线通知与作业要求", "onboarding_requirements", "ACME Logistics")
    data = engine.instance(instance.id).data
    assert (data["go_live_date"], data["customer_grade"], data["key_account"], data["hypercare_months"]) == (
        date(2026, 3, 9), 3, False, 1)
    engine.complete(task.id, REQUIREMENTS, "rep")

    ack = only_task(engine, instance.id, "acknowledge_notice", "operations")
    assert ack.title == "确认上线通知"
    with pytest.raises(NotAllowed):
        engine.complete(ack.id, ACK, "rep")
    engine.complete(ack.id, ACK, "ops")

    training = only_task(engine, instance.id, "record_training", "cs_rep")
    assert training.due_at == sh(2026, 3, 9, 0, 0)  # pre-go-live training
    engine.complete(training.id, PASSED, "rep")
    data = engine.instance(instance.id).data
    assert data["hypercare_start"] == date(2026, 3, 9)
    assert data["hypercare_end"] == sh(2026, 4, 9, 9, 0)
    assert data["kpi_on_time_target_pct"] == 98 and data["training_date"] == date(2026, 3, 4)
    assert engine.tasks(instance_id=instance.id) == []

    for day in STANDARD_CHECKS:
        weekly_check(engine, clock, instance.id, at_nine(day))
    assert engine.instance(instance.id).data["weekly_checks_done"] == 4
    hand_over(engine, clock, instance.id, sh(2026, 4, 9, 9, 0))
    accept = only_task(engine, instance.id, "accept_handover", "operations")
    assert accept.title == "接收移交"
    engine.complete(accept.id, {"handover_accepted": True}, "ops")

    done = engine.instance(instance.id)
    assert done.status == "completed" and done.data["handover_accepted"] is True
    history = engine.history(instance.id)
    assert [e.data["element_id"] for e in history if e.type == "timer_fired"] == ["wait_week"] * 4 + ["wait_hypercare_end"]
    assert [(e.actor, e.data["element_id"]) for e in history if e.type == "task_completed"] == [
        ("rep", "write_requirements"), ("ops", "acknowledge_notice"), ("rep", "record_training"),
        *[("rep", "weekly_check")] * 4, ("rep", "hand_over"), ("ops", "accept_handover")]
    assert types(engine, instance.id)[-1] == "instance_completed"
    assert "sla_breached" not in types(engine, instance.id)


def test_key_account_gets_three_months_of_weekly_checks(engine: Engine, clock: ManualClock) -> None:
    # The start form as the web page submits it: validated and typed by forms/onboarding_start.
    typed = validate_submission(load_form(SHIPPED_FORMS, "onboarding_start"), {**START, "customer_grade": 2})
    assert typed["go_live_date"] == date(2026, 3, 9) and typed["expected_monthly_revenue"] == Decimal("380000.00")
    instance_id = start_and_train(engine, **typed)
    data = engine.instance(instance_id).data
    assert (data["key_account"], data["hypercare_months"], data["hypercare_end"]) == (True, 3, sh(2026, 6, 9, 9, 0))
    checks = [(2026, 3, 16), (2026, 3, 23), (2026, 3, 30), (2026, 4, 7), (2026, 4, 13), (2026, 4, 20), (2026, 4, 27),
              (2026, 5, 6),  # Mon May 4 and Tue May 5 are Labour Day holidays
              (2026, 5, 11), (2026, 5, 18), (2026, 5, 25), (2026, 6, 1), (2026, 6, 8)]
    for day in checks:
        weekly_check(engine, clock, instance_id, at_nine(day))
    hand_over(engine, clock, instance_id, sh(2026, 6, 9, 9, 0))
    complete(engine, instance_id, "accept_handover", "operations", {"handover_accepted": True}, "ops")
    assert engine.instance(instance_id).status == "completed"
    assert types(engine, instance_id).count("timer_fired") == 14


def test_failed_exam_means_training_again(engine: Engine, clock: ManualClock) -> None:
    deploy(engine)
    instance = engine.start("new_business_onboarding", START, actor="rep")
    complete(engine, instance.id, "write_requirements", "cs_rep", REQUIREMENTS, "rep")
    complete(engine, instance.id, "acknowledge_notice", "operations", ACK, "ops")
    first = complete(engine, instance.id, "record_training", "cs_rep", {**PASSED, "exam_pass_rate_pct": 60,
                                                                           "exam_result": "failed"}, "rep")
    again = only_task(engine, instance.id, "record_training", "cs_rep")
    assert again.id != first.id and timers(engine, instance.id) == []
    clock.set(sh(2026, 3, 5, 15, 0))
    engine.complete(again.id, {**PASSED, "training_date": "2026-03-05"}, "rep")
    assert timers(engine, instance.id) == [("wait_week", "intermediate", sh(2026, 3, 16, 9, 0))]
    assert engine.instance(instance.id).data["training_date"] == date(2026, 3, 5)
    assert [e.data["element_id"] for e in engine.history(instance.id) if e.type == "task_created"] == [
        "write_requirements", "acknowledge_notice", "record_training", "record_training"]


def test_discrepancy_is_confirmed_with_the_customer_then_operations_adjusts(engine: Engine, clock: ManualClock) -> None:
    instance_id = start_and_train(engine)
    weekly_check(engine, clock, instance_id, sh(2026, 3, 16, 9, 0),
                 {"check_result": "discrepancy", "check_findings": "No photos at unloading in Wuhan"})
    confirm = only_task(engine, instance_id, "confirm_with_customer", "cs_rep")
    assert confirm.title == "与客户确认差异"
    assert timers(engine, instance_id) == []
    clock.set(sh(2026, 3, 16, 11, 0))
    engine.complete(confirm.id, {"customer_contact": "Ms Chen", "confirmed_on": "2026-03-16",
                                 "agreed_adjustment": "Photos within 10 minutes of unloading"}, "rep")
    adjust = only_task(engine, instance_id, "adjust_operations", "operations")
    with pytest.raises(NotAllowed):
        engine.complete(adjust.id, {"adjustment_made": "x", "adjusted_on": "2026-03-17"}, "rep")
    engine.complete(adjust.id, {"adjustment_made": "Drivers briefed; photo app installed", "adjusted_on": "2026-03-17"},
                    "ops")
    data = engine.instance(instance_id).data
    assert data["agreed_adjustment"] == "Photos within 10 minutes of unloading" and data["adjusted_on"] == date(2026, 3, 17)
    for day in STANDARD_CHECKS[1:]:
        weekly_check(engine, clock, instance_id, at_nine(day))
    hand_over(engine, clock, instance_id, sh(2026, 4, 9, 9, 0))
    complete(engine, instance_id, "accept_handover", "operations", {"handover_accepted": True}, "ops")
    assert engine.instance(instance_id).status == "completed"


def test_new_route_outside_the_contract_goes_back_to_the_requirements(engine: Engine, clock: ManualClock) -> None:
    instance_id = start_and_train(engine)
    weekly_check(engine, clock, instance_id, sh(2026, 3, 16, 9, 0),
                 {"check_result": "new_scope", "check_findings": "Customer ships Shanghai - Xi'an, not in the contract"})
    requirements = only_task(engine, instance_id, "write_requirements", "cs_rep")
    assert timers(engine, instance_id) == []
    engine.complete(requirements.id, {**REQUIREMENTS, "notice_no": "SX-2026-044",
                                      "routes": ["Shanghai - Chengdu", "Shanghai - Wuhan", "Shanghai - Xi'an"],
                                      "go_live_date": "2026-04-01"}, "rep")
    complete(engine, instance_id, "acknowledge_notice", "operations", ACK, "ops")
    training = only_task(engine, instance_id, "record_training", "cs_rep")
    assert training.due_at == sh(2026, 4, 1, 0, 0)
    engine.complete(training.id, {**PASSED, "training_date": "2026-03-20"}, "rep")
    data = engine.instance(instance_id).data
    assert data["routes"][-1] == "Shanghai - Xi'an" and data["notice_no"] == "SX-2026-044"
    # Hypercare starts again for the new scope: 1 month from Apr 1 ends on May 1, a holiday → Wed May 6.
    assert (data["hypercare_start"], data["hypercare_end"], data["weekly_checks_done"]) == (
        date(2026, 4, 1), sh(2026, 5, 6, 9, 0), 0)
    for day in [(2026, 4, 8), (2026, 4, 15), (2026, 4, 22), (2026, 4, 29)]:
        weekly_check(engine, clock, instance_id, at_nine(day))
    hand_over(engine, clock, instance_id, sh(2026, 5, 6, 9, 0))


def test_a_late_weekly_check_skips_the_missed_weeks(engine: Engine, clock: ManualClock) -> None:
    instance_id = start_and_train(engine)
    clock.set(sh(2026, 3, 16, 9, 0))
    engine.fire_due_timers()
    clock.set(sh(2026, 3, 31, 10, 0))  # done two weeks late
    complete(engine, instance_id, "weekly_check", "cs_rep", AS_REQUIRED, "rep")
    assert timers(engine, instance_id) == [("wait_week", "intermediate", sh(2026, 4, 7, 9, 0))]
    weekly_check(engine, clock, instance_id, sh(2026, 4, 7, 9, 0))
    assert timers(engine, instance_id) == [("wait_hypercare_end", "intermediate", sh(2026, 4, 9, 9, 0))]


def test_go_live_in_the_past_starts_hypercare_today(engine: Engine, clock: ManualClock) -> None:
    instance_id = start_and_train(engine, go_live_date="2026-02-24")
    data = engine.instance(instance_id).data
    assert (data["hypercare_start"], data["hypercare_end"]) == (date(2026, 3, 2), sh(2026, 4, 2, 9, 0))
    assert timers(engine, instance_id) == [("wait_week", "intermediate", sh(2026, 3, 9, 9, 0))]


def test_rejected_handover_is_handed_over_again(engine: Engine, clock: ManualClock) -> None:
    instance_id = start_and_train(engine)
    for day in STANDARD_CHECKS:
        weekly_check(engine, clock, instance_id, at_nine(day))
    hand_over(engine, clock, instance_id, sh(2026, 4, 9, 9, 0))
    complete(engine, instance_id, "accept_handover", "operations",
             {"handover_accepted": False, "acceptance_notes": "KPI report for March missing"}, "ops")
    again = only_task(engine, instance_id, "hand_over", "cs_rep")
    engine.complete(again.id, {"handover_date": "2026-04-10", "handover_summary": "With the March KPI report"}, "rep")
    complete(engine, instance_id, "accept_handover", "operations", {"handover_accepted": True}, "ops")
    done = engine.instance(instance_id)
    assert done.status == "completed" and done.data["handover_date"] == date(2026, 4, 10)
    assert [e.data["element_id"] for e in engine.history(instance_id) if e.type == "task_completed"][-4:] == [
        "hand_over", "accept_handover", "hand_over", "accept_handover"]
