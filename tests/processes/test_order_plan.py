"""order_plan (DOMAIN.md process 2) through the service layer: every step persists and reloads.

Problems found at delivery and late or lost return receipts start exception_escalation (the
other team's processes/exception_escalation.bpmn) as a call activity; these tests deploy the
real file and drive its first task (``coordinate`` for a general case, ``first_response`` for a
complaint). Time moves only with the ManualClock (Monday 2026-03-02 09:00 Shanghai).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from engine import Engine, ManualClock, NotAllowed
from engine.config import SHIPPED_FORMS, SHIPPED_PROCESSES
from engine.definitions.forms import load_form, validate_submission
from tests.processes.steps import complete, only_task, open_tasks, timers
from tests.processes.test_daily import check_diagram, check_forms, validate_like_cli

PROCESSES = SHIPPED_PROCESSES
SH = ZoneInfo("Asia/Shanghai")
# As the customer's API call or `bpm start` sends it: plain JSON, times as ISO text.
ORDER = {"customer": "ACME Logistics", "order_no": "SO-7781", "pickup_time": "2026-03-02T14:00:00+08:00",
         "required_arrival": "2026-03-03T16:00:00+08:00", "urgent": False, "cargo_size": "120x100x150 cm x 12",
         "packaging": "pallets", "weight_kg": 4800, "volume_m3": 21.6, "route": "Shanghai - Suzhou", "haul": "short"}
PLAN_OK = {"in_scope": True, "data_complete": True}
DISPATCH = {"vehicle_plate": "沪A·12345", "vehicle_type": "9.6 m box truck", "driver_name": "Wang Qiang",
            "driver_phone": "138 0000 0000"}
ALL_FINE = {"consignee_name": "Li Lei", "consignee_on_time": True, "cargo_damaged": False, "cargo_short": False,
            "driver_attitude_ok": True, "vehicle_condition_ok": True}
# The first task of exception_escalation for a general case, and for a complaint.
EXCEPTION_GENERAL_TASK, EXCEPTION_COMPLAINT_TASK = "coordinate", "first_response"
ORDER_ELEMENTS = {"check_order", "clarify_with_customer", "confirm_dispatch", "confirm_on_schedule", "give_earliest_time",
                  "agree_new_time", "report_arrival", "confirm_with_consignee", "hand_over_receipt"}


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def deploy(engine: Engine) -> None:
    engine.deploy([PROCESSES / "responsibility_matrix.dmn", PROCESSES / "exception_escalation.bpmn",
                   PROCESSES / "order_plan.bpmn"], actor="designer")


def start(engine: Engine, **changes) -> int:
    deploy(engine)
    return engine.start("order_plan", {**ORDER, **changes}, actor="assistant", business_key=ORDER["order_no"]).id


def events(engine: Engine, instance_id: int, type_: str) -> list:
    return [e for e in engine.history(instance_id) if e.type == type_]


def breaches(engine: Engine, instance_id: int) -> list[tuple]:
    return [(e.data["step"], e.data["group"], datetime.fromisoformat(e.data["deadline"]))
            for e in events(engine, instance_id, "sla_breached")]


def dispatched(engine: Engine, **changes) -> int:
    instance_id = start(engine, **changes)
    complete(engine, instance_id, "check_order", "cs_assistant", PLAN_OK, "assistant")
    complete(engine, instance_id, "confirm_dispatch", "operations", DISPATCH, "ops")
    return instance_id


def arrived(engine: Engine, clock: ManualClock, arrived_at: datetime, **changes) -> int:
    """Dispatch, confirm on schedule one hour before arrival, report arrival at ``arrived_at``."""
    instance_id = dispatched(engine, **changes)
    (element_id, _kind, due), = timers(engine, instance_id)
    assert element_id == "wait_arrival_check"
    clock.set(due)
    engine.fire_due_timers()
    complete(engine, instance_id, "confirm_on_schedule", "cs_assistant", {"on_schedule": True}, "assistant")
    clock.set(arrived_at)
    complete(engine, instance_id, "report_arrival", "operations", {"arrived_at": arrived_at.isoformat()}, "ops")
    return instance_id


def exception_task(engine: Engine, instance_id: int, element_id: str):
    """The one open task of the called exception_escalation process."""
    called = {k: t for k, t in open_tasks(engine, instance_id).items() if k not in ORDER_ELEMENTS}
    assert list(called) == [element_id], called
    assert called[element_id].group == "cs_rep" and called[element_id].process_key == "order_plan"
    return called[element_id]


def settle_exception(engine: Engine, instance_id: int) -> None:
    """cs_rep coordinates a general exception until the customer's requirement is met."""
    task = exception_task(engine, instance_id, EXCEPTION_GENERAL_TASK)
    engine.complete(task.id, {"actions_taken": "Agreed a credit note", "requirement_met": True}, "rep")


# -- the file ---------------------------------------------------------------------------------------------------
def test_file_validates_with_full_diagram_and_forms() -> None:
    # The call activity needs its called process: validate with it, as `bpm deploy processes/` does.
    assert "order_plan" in validate_like_cli("order_plan.bpmn", "exception_escalation.bpmn", "responsibility_matrix.dmn")
    check_diagram("order_plan.bpmn")
    check_forms("order_plan.bpmn")


# -- scenarios ------------------------------------------------------------------------------------------------------
def test_happy_path_short_haul(engine: Engine, clock: ManualClock) -> None:
    instance_id = start(engine)
    check = only_task(engine, instance_id, "check_order", "cs_assistant")
    assert (check.title, check.form_key, check.due_at, check.customer, check.business_key) == (
        "审核订单计划", "order_check", sh(2026, 3, 2, 14, 0), "ACME Logistics", "SO-7781")
    data = engine.instance(instance_id).data
    assert (data["pickup_time"], data["required_arrival"], data["agreed_arrival"]) == (
        sh(2026, 3, 2, 14, 0), sh(2026, 3, 3, 16, 0), sh(2026, 3, 3, 16, 0))
    assert data["plan_warnings"] == []
    engine.complete(check.id, PLAN_OK, "assistant")

    dispatch = only_task(engine, instance_id, "confirm_dispatch", "operations")
    assert (dispatch.title, dispatch.due_at) == ("确认派车", sh(2026, 3, 2, 14, 0))
    with pytest.raises(NotAllowed):
        engine.complete(dispatch.id, DISPATCH, "assistant")
    engine.complete(dispatch.id, DISPATCH, "ops")
    assert engine.tasks(instance_id=instance_id) == []
    assert timers(engine, instance_id) == [("wait_arrival_check", "intermediate", sh(2026, 3, 3, 15, 0))]

    clock.set(sh(2026, 3, 3, 14, 59))
    assert engine.fire_due_timers() == []
    clock.set(sh(2026, 3, 3, 15, 0))
    assert [r.outcome for r in engine.fire_due_timers()] == ["fired"]
    on_time = only_task(engine, instance_id, "confirm_on_schedule", "cs_assistant")
    assert on_time.due_at == sh(2026, 3, 3, 16, 0)
    engine.complete(on_time.id, {"on_schedule": True, "current_position": "Kunshan"}, "assistant")

    clock.set(sh(2026, 3, 3, 15, 50))
    complete(engine, instance_id, "report_arrival", "operations", {"arrived_at": "2026-03-03T15:45:00+08:00"}, "ops")
    consignee = only_task(engine, instance_id, "confirm_with_consignee", "cs_assistant")
    assert consignee.title == "与收货人确认"
    data = engine.instance(instance_id).data
    assert (data["arrived_at"], data["arrived_on_time"], data["receipt_due"]) == (
        sh(2026, 3, 3, 15, 45), True, sh(2026, 3, 10, 15, 45))
    engine.complete(consignee.id, ALL_FINE, "assistant")

    receipt = only_task(engine, instance_id, "hand_over_receipt", "cs_assistant")
    assert receipt.due_at == sh(2026, 3, 10, 15, 45)
    assert timers(engine, instance_id) == [("receipt_overdue", "boundary_non_interrupting", sh(2026, 3, 10, 15, 45))]
    clock.set(sh(2026, 3, 6, 11, 0))
    engine.complete(receipt.id, {"receipt_status": "handed_over", "receipt_handed_over_at": "2026-03-06T10:30:00+08:00"},
                    "assistant")
    done = engine.instance(instance_id)
    assert done.status == "completed" and timers(engine, instance_id) == []
    assert [(e.actor, e.data["element_id"]) for e in events(engine, instance_id, "task_completed")] == [
        ("assistant", "check_order"), ("ops", "confirm_dispatch"), ("assistant", "confirm_on_schedule"),
        ("ops", "report_arrival"), ("assistant", "confirm_with_consignee"), ("assistant", "hand_over_receipt")]
    assert breaches(engine, instance_id) == []
    clock.set(sh(2026, 3, 11, 9, 0))
    assert engine.fire_due_timers() == []


def test_typed_start_form_and_naive_times_read_as_shanghai(engine: Engine, clock: ManualClock) -> None:
    # The web start page submits the form validated and typed: aware datetimes instead of ISO text.
    typed = validate_submission(load_form(SHIPPED_FORMS, "order_start"), ORDER)
    assert typed["required_arrival"] == sh(2026, 3, 3, 16, 0) and typed["weight_kg"] == 4800
    deploy(engine)
    instance_id = engine.start("order_plan", typed, actor="assistant").id
    complete(engine, instance_id, "check_order", "cs_assistant", PLAN_OK, "assistant")
    complete(engine, instance_id, "confirm_dispatch", "operations", DISPATCH, "ops")
    assert timers(engine, instance_id) == [("wait_arrival_check", "intermediate", sh(2026, 3, 3, 15, 0))]
    # Times without an offset are local (Asia/Shanghai) times.
    naive = engine.start("order_plan", {**ORDER, "order_no": "SO-7782", "pickup_time": "2026-03-02T14:00:00",
                                        "required_arrival": "2026-03-03T16:00:00"}, actor="assistant")
    assert engine.instance(naive.id).data["required_arrival"] == sh(2026, 3, 3, 16, 0)


def test_unclear_plan_is_clarified_with_the_customer_and_checked_again(engine: Engine, clock: ManualClock) -> None:
    instance_id = start(engine, weight_kg=48000)
    first = complete(engine, instance_id, "check_order", "cs_assistant",
                     {"in_scope": True, "data_complete": False, "check_notes": "48 t on 12 pallets? Check the weight"},
                     "assistant")
    clarify = only_task(engine, instance_id, "clarify_with_customer", "cs_assistant")
    assert clarify.title == "与客户澄清"
    engine.complete(clarify.id, {"clarification_outcome": "corrected", "customer_reply": "4.8 t, typo",
                                 "weight_kg": 4800, "required_arrival": "2026-03-03T18:00:00+08:00"}, "assistant")
    again = only_task(engine, instance_id, "check_order", "cs_assistant")
    assert again.id != first.id
    data = engine.instance(instance_id).data
    assert (data["weight_kg"], data["required_arrival"], data["agreed_arrival"]) == (
        4800, sh(2026, 3, 3, 18, 0), sh(2026, 3, 3, 18, 0))
    engine.complete(again.id, PLAN_OK, "assistant")
    complete(engine, instance_id, "confirm_dispatch", "operations", DISPATCH, "ops")
    assert timers(engine, instance_id) == [("wait_arrival_check", "intermediate", sh(2026, 3, 3, 17, 0))]


def test_plan_outside_the_contract_withdrawn_by_the_customer(engine: Engine) -> None:
    instance_id = start(engine, route="Shanghai - Lhasa")
    complete(engine, instance_id, "check_order", "cs_assistant", {"in_scope": False, "data_complete": True}, "assistant")
    complete(engine, instance_id, "clarify_with_customer", "cs_assistant",
             {"clarification_outcome": "withdrawn", "customer_reply": "Will book another carrier"}, "assistant")
    done = engine.instance(instance_id)
    assert done.status == "completed" and done.data["clarification_outcome"] == "withdrawn"
    assert timers(engine, instance_id) == [] and engine.tasks(instance_id=instance_id) == []


def test_late_shipment_gets_a_new_agreed_time_and_the_check_moves_with_it(engine: Engine, clock: ManualClock) -> None:
    instance_id = dispatched(engine)
    clock.set(sh(2026, 3, 3, 15, 0))
    engine.fire_due_timers()
    first = complete(engine, instance_id, "confirm_on_schedule", "cs_assistant",
                     {"on_schedule": False, "current_position": "Stuck on the G2 near Kunshan"}, "assistant")
    earliest = only_task(engine, instance_id, "give_earliest_time", "operations")
    assert earliest.title == "提供最早可达时间"
    engine.complete(earliest.id, {"earliest_arrival": "2026-03-03T19:30:00+08:00", "delay_reason": "Accident on the G2"},
                    "ops")
    agree = only_task(engine, instance_id, "agree_new_time", "cs_assistant")
    engine.complete(agree.id, {"agreed_arrival": "2026-03-03T20:00:00+08:00", "customer_contact": "Ms Chen"}, "assistant")
    assert engine.tasks(instance_id=instance_id) == []
    assert timers(engine, instance_id) == [("wait_arrival_check", "intermediate", sh(2026, 3, 3, 19, 0))]
    clock.set(sh(2026, 3, 3, 18, 59))
    assert engine.fire_due_timers() == []
    clock.set(sh(2026, 3, 3, 19, 0))
    engine.fire_due_timers()
    second = only_task(engine, instance_id, "confirm_on_schedule", "cs_assistant")
    assert second.id != first.id and second.due_at == sh(2026, 3, 3, 20, 0)
    engine.complete(second.id, {"on_schedule": True}, "assistant")
    clock.set(sh(2026, 3, 3, 19, 55))
    complete(engine, instance_id, "report_arrival", "operations", {"arrived_at": "2026-03-03T19:50:00+08:00"}, "ops")
    data = engine.instance(instance_id).data
    assert (data["agreed_arrival"], data["arrived_on_time"], data["arrived_by_required_time"]) == (
        sh(2026, 3, 3, 20, 0), True, False)
    assert data["earliest_arrival"] == sh(2026, 3, 3, 19, 30) and data["delay_reason"] == "Accident on the G2"
    assert [e.data["element_id"] for e in events(engine, instance_id, "timer_fired")] == ["wait_arrival_check"] * 2


def test_damage_at_delivery_raises_an_exception_linked_to_the_order(engine: Engine, clock: ManualClock) -> None:
    instance_id = arrived(engine, clock, sh(2026, 3, 3, 15, 45))
    complete(engine, instance_id, "confirm_with_consignee", "cs_assistant",
             {**ALL_FINE, "cargo_damaged": True, "cargo_short": True, "consignee_notes": "Two pallets crushed"}, "assistant")
    tasks = open_tasks(engine, instance_id)
    assert set(tasks) == {"hand_over_receipt", EXCEPTION_GENERAL_TASK}  # the receipt is due regardless
    settle_exception(engine, instance_id)
    data = engine.instance(instance_id).data  # the exception branch finished last: its data
    assert (data["type"], data["severity"], data["channel"], data["order_no"], data["customer"]) == (
        "damage", "general", "phone", "SO-7781", "ACME Logistics")
    assert data["description"] == ("Raised by order_plan, consignee check of order SO-7781: damage, shortage. "
                                   "Two pallets crushed")
    assert data["responsible_department"] == "transport"
    assert engine.instance(instance_id).status == "running"
    complete(engine, instance_id, "hand_over_receipt", "cs_assistant", {"receipt_status": "handed_over"}, "assistant")
    assert engine.instance(instance_id).status == "completed"


def test_late_arrival_reported_by_the_consignee_is_a_timeliness_complaint(engine: Engine, clock: ManualClock) -> None:
    instance_id = arrived(engine, clock, sh(2026, 3, 3, 17, 10))
    assert engine.instance(instance_id).data["arrived_on_time"] is False
    complete(engine, instance_id, "confirm_with_consignee", "cs_assistant",
             {**ALL_FINE, "consignee_on_time": False, "exception_severity": "complaint"}, "assistant")
    first_response = exception_task(engine, instance_id, EXCEPTION_COMPLAINT_TASK)
    assert first_response.title == "一级响应（30 分钟内）"
    # The complaint's 30-minute SLA runs inside this instance (the called process has no instance of its own).
    assert ("first_response_overdue", "boundary_non_interrupting", sh(2026, 3, 3, 17, 40)) in timers(engine, instance_id)


def test_sla_breach_inside_the_called_exception_process_is_recorded(engine: Engine, clock: ManualClock) -> None:
    instance_id = arrived(engine, clock, sh(2026, 3, 3, 17, 10))
    complete(engine, instance_id, "confirm_with_consignee", "cs_assistant",
             {**ALL_FINE, "consignee_on_time": False, "exception_severity": "complaint"}, "assistant")
    clock.set(sh(2026, 3, 3, 17, 40))
    engine.fire_due_timers()
    assert breaches(engine, instance_id) == [("first_response", "cs_rep", sh(2026, 3, 3, 17, 40))]


def test_late_return_receipt_is_a_quality_incident_and_an_sla_breach(engine: Engine, clock: ManualClock) -> None:
    instance_id = arrived(engine, clock, sh(2026, 3, 3, 15, 45))
    complete(engine, instance_id, "confirm_with_consignee", "cs_assistant", ALL_FINE, "assistant")
    receipt = only_task(engine, instance_id, "hand_over_receipt", "cs_assistant")
    clock.set(sh(2026, 3, 10, 15, 44))
    assert engine.fire_due_timers() == []
    clock.set(sh(2026, 3, 10, 15, 45))
    assert [(r.element_id, r.outcome) for r in engine.fire_due_timers()] == [("receipt_overdue", "fired")]
    assert breaches(engine, instance_id) == [("return_receipt", "cs_assistant", sh(2026, 3, 10, 15, 45))]
    assert set(open_tasks(engine, instance_id)) == {"hand_over_receipt", EXCEPTION_GENERAL_TASK}
    assert open_tasks(engine, instance_id)["hand_over_receipt"].id == receipt.id  # still to be done
    clock.set(sh(2026, 3, 11, 10, 0))
    engine.complete(receipt.id, {"receipt_status": "handed_over"}, "assistant")
    settle_exception(engine, instance_id)
    done = engine.instance(instance_id)
    assert done.status == "completed"
    assert (done.data["type"], done.data["responsible_department"]) == ("timeliness", "transport")
    assert done.data["description"] == ("Raised by order_plan: the return receipt of order SO-7781 was not handed to "
                                        "the customer by 2026-03-10T15:45:00+08:00")


def test_lost_return_receipt_is_a_quality_incident(engine: Engine, clock: ManualClock) -> None:
    instance_id = arrived(engine, clock, sh(2026, 3, 3, 15, 45))
    complete(engine, instance_id, "confirm_with_consignee", "cs_assistant", ALL_FINE, "assistant")
    clock.set(sh(2026, 3, 5, 10, 0))
    complete(engine, instance_id, "hand_over_receipt", "cs_assistant", {"receipt_status": "lost"}, "assistant")
    assert timers(engine, instance_id) == []
    settle_exception(engine, instance_id)
    done = engine.instance(instance_id)
    assert done.status == "completed" and breaches(engine, instance_id) == []
    assert (done.data["type"], done.data["description"]) == (
        "information", "Raised by order_plan: the return receipt of order SO-7781 is lost")


def test_long_haul_receipt_due_in_15_working_days_across_labour_day(engine: Engine, clock: ManualClock) -> None:
    instance_id = arrived(engine, clock, sh(2026, 4, 23, 15, 0), haul="long", pickup_time="2026-04-21T09:00:00+08:00",
                          required_arrival="2026-04-23T16:00:00+08:00")
    # Apr 24-30 (5 days), May 6-8, the make-up Saturday May 9, May 11-15, May 18: the 15th working day.
    assert engine.instance(instance_id).data["receipt_due"] == sh(2026, 5, 18, 15, 0)
    complete(engine, instance_id, "confirm_with_consignee", "cs_assistant", ALL_FINE, "assistant")
    assert timers(engine, instance_id) == [("receipt_overdue", "boundary_non_interrupting", sh(2026, 5, 18, 15, 0))]
    assert only_task(engine, instance_id, "hand_over_receipt", "cs_assistant").due_at == sh(2026, 5, 18, 15, 0)


def test_receipt_already_overdue_when_arrival_is_reported_late_still_records_the_breach(
        engine: Engine, clock: ManualClock) -> None:
    instance_id = dispatched(engine)
    clock.set(sh(2026, 3, 3, 15, 0))
    engine.fire_due_timers()
    complete(engine, instance_id, "confirm_on_schedule", "cs_assistant", {"on_schedule": True}, "assistant")
    clock.set(sh(2026, 3, 12, 9, 0))  # arrival reported nine days late
    complete(engine, instance_id, "report_arrival", "operations", {"arrived_at": "2026-03-03T15:45:00+08:00"}, "ops")
    complete(engine, instance_id, "confirm_with_consignee", "cs_assistant", ALL_FINE, "assistant")
    assert EXCEPTION_GENERAL_TASK in open_tasks(engine, instance_id)
    assert breaches(engine, instance_id) == [("return_receipt", "cs_assistant", sh(2026, 3, 10, 15, 45))]

