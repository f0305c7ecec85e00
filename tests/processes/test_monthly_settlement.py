"""monthly_settlement 营业收入结算/对账 (manual 4.5.1–4.5.5) through the service layer, one test per rule.

The register's job starts one instance per active customer at 09:00 on the month's first working day; time moves only
with the ManualClock (fixture: Monday 2026-03-02 09:00 Shanghai, March's first working day) and
``engine.fire_due_timers()``; the register worker's pass (``run_register_jobs``) does the in-engine external task that
opens the receivable.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from steps import open_tasks

from engine import Engine, ManualClock
from engine.config import SHIPPED_PROCESSES
from engine.definitions.forms import FormErrors
from engine.services.customers import save_customer
from engine.services.register_processes import first_working_day, run_register_jobs, start_monthly_settlements

SH = ZoneInfo("Asia/Shanghai")
SHEET = {"sheet_no": "DZ-2026-02-ACME", "sheet_amount": "12000.00", "currency": "CNY", "line_count": 42}
INVOICE = {"invoice_no": "FP-2026-0301", "invoice_amount": "12000.00", "invoice_date": "2026-03-04", "payment_term_days": 30}


def sh(*args: int) -> datetime:
    """A Shanghai wall-clock time."""
    return datetime(*args, tzinfo=SH)


def deploy(engine: Engine) -> None:
    engine.deploy([SHIPPED_PROCESSES / "receivables_collection.bpmn", SHIPPED_PROCESSES / "monthly_settlement.bpmn"],
                  actor="designer")


def register(engine: Engine) -> None:
    with engine.transaction() as session:
        save_customer(session, "ACME Logistics", "admin", grade=1, owner="rep")
        save_customer(session, "Beta Foods", "admin", grade=4)
        save_customer(session, "Gamma Retail", "admin", active=False)


def jobs(engine: Engine) -> dict[str, int]:
    return run_register_jobs(engine.transaction)


def start(engine: Engine, customer: str = "ACME Logistics", period: str = "2026-02") -> int:
    return engine.start("monthly_settlement", {"customer": customer, "period": period}, actor="assistant").id


def breaches(engine: Engine, instance_id: int) -> list[tuple[str, str, datetime]]:
    return [(e.data["step"], e.data["group"], datetime.fromisoformat(e.data["deadline"]))
            for e in engine.history(instance_id) if e.type == "sla_breached"]


def finish(engine: Engine, instance_id: int, element_id: str, data: dict, user: str) -> None:
    (task,) = [t for t in engine.tasks(instance_id=instance_id) if t.element_id == element_id]
    engine.complete(task.id, data, user)


def to_confirmation(engine: Engine, instance_id: int) -> None:
    finish(engine, instance_id, "prepare_sheet", SHEET, "assistant")
    finish(engine, instance_id, "reconcile_invoice", INVOICE, "fin")
    finish(engine, instance_id, "vp_sign", {"sign_approved": True}, "vp")


# -- start: per active customer on the first working day -------------------------------------------


def test_the_register_starts_one_settlement_per_active_customer_at_9_on_the_first_working_day(
        engine: Engine, clock: ManualClock) -> None:
    deploy(engine)
    register(engine)
    clock.set(sh(2026, 3, 2, 8, 59))
    assert jobs(engine)["settlements"] == 0
    clock.set(sh(2026, 3, 2, 9, 0))
    assert jobs(engine)["settlements"] == 2  # Gamma is inactive
    assert jobs(engine)["settlements"] == 0  # once per customer and month
    runs = sorted((i.business_key, i.started_by) for i in engine.instances(process_key="monthly_settlement"))
    assert runs == [("ACME Logistics 2026-02", "scheduler"), ("Beta Foods 2026-02", "scheduler")]
    for inst in engine.instances(process_key="monthly_settlement"):
        d = engine.instance(inst.id).data
        assert d["period"] == "2026-02" and d["settlement_round"] == 1
        assert (d["sheet_due"], d["invoice_due"]) == (sh(2026, 3, 5, 17, 30), sh(2026, 3, 10, 17, 30))
        task = open_tasks(engine, inst.id)["prepare_sheet"]
        assert (task.title, task.group, task.due_at) == ("编制对账单", "cs_assistant", sh(2026, 3, 5, 17, 30))


def test_after_a_holiday_the_first_working_day_starts_it_and_the_deadlines_move(engine: Engine, clock: ManualClock) -> None:
    deploy(engine)
    register(engine)
    clock.set(sh(2026, 5, 1, 10, 0))  # Labour Day 1–5 May: no settlement yet
    with engine.transaction() as session:
        assert start_monthly_settlements(session) == []
        assert first_working_day(session, 2026, 5) == date(2026, 5, 6)
        assert first_working_day(session, 2026, 10) == date(2026, 10, 8)
    clock.set(sh(2026, 5, 6, 9, 0))
    assert jobs(engine)["settlements"] == 2
    clock.set(sh(2026, 10, 8, 9, 30))  # National Day: the 5th is a holiday, the sheet is due at the end of the next day
    assert jobs(engine)["settlements"] == 2
    october = [i for i in engine.instances(process_key="monthly_settlement") if i.business_key.endswith("2026-09")]
    d = engine.instance(october[0].id).data
    assert (d["sheet_due"], d["invoice_due"]) == (sh(2026, 10, 9, 17, 30), sh(2026, 10, 12, 17, 30))


def test_a_worker_down_on_the_first_working_day_catches_up_within_5_days_only(engine: Engine, clock: ManualClock) -> None:
    deploy(engine)
    register(engine)
    clock.set(sh(2026, 3, 8, 12, 0))  # the 2nd + 6 days: too late, next month's run will come
    assert jobs(engine)["settlements"] == 0
    clock.set(sh(2026, 3, 6, 12, 0))
    assert jobs(engine)["settlements"] == 2


def test_cs_assistant_starts_one_customer_by_hand_with_a_real_deadline(engine: Engine, clock: ManualClock) -> None:
    deploy(engine)
    clock.set(sh(2026, 3, 9, 10, 0))  # after the 5th: the sheet gets until 17:30 of the next working day
    d = engine.instance(start(engine)).data
    assert (d["sheet_due"], d["invoice_due"]) == (sh(2026, 3, 10, 17, 30), sh(2026, 3, 12, 17, 30))
    with pytest.raises(FormErrors):
        engine.start("monthly_settlement", {"customer": "ACME Logistics", "period": "2026-13"}, actor="assistant")


# -- the happy path and the receivable ---------------------------------------------------------------


def test_confirmed_and_delivered_invoice_opens_receivables_collection_with_the_invoice(engine: Engine, clock: ManualClock) -> None:
    deploy(engine)
    instance_id = start(engine)
    finish(engine, instance_id, "prepare_sheet", SHEET, "assistant")
    task = open_tasks(engine, instance_id)["reconcile_invoice"]
    assert (task.title, task.group, task.due_at) == ("核对并开具发票", "finance", sh(2026, 3, 10, 17, 30))
    clock.set(sh(2026, 3, 4, 10, 0))
    finish(engine, instance_id, "reconcile_invoice", INVOICE, "fin")
    sign = open_tasks(engine, instance_id)["vp_sign"]
    assert (sign.group, sign.due_at) == ("vp", sh(2026, 3, 5, 10, 0))  # 1 working day
    finish(engine, instance_id, "vp_sign", {"sign_approved": True, "sign_note": "同意"}, "vp")
    confirm = open_tasks(engine, instance_id)["customer_confirm"]
    assert (confirm.title, confirm.group, confirm.due_at) == ("客户确认对账单", "cs_rep", sh(2026, 3, 9, 10, 0))
    finish(engine, instance_id, "customer_confirm", {"confirmation": "confirmed", "confirmed_by": "王经理"}, "rep")
    deliver = open_tasks(engine, instance_id)["deliver_invoice"]
    assert (deliver.group, deliver.due_at) == ("cs_rep", sh(2026, 3, 6, 10, 0))  # 2 working days
    finish(engine, instance_id, "deliver_invoice", {"delivered_on": "2026-03-05", "delivery_method": "express",
                                                    "tracking_no": "SF123"}, "rep")
    assert open_tasks(engine, instance_id) == {}
    assert engine.instance(instance_id).status == "running"  # waits for the register worker
    assert jobs(engine)["register_tasks"] == 1
    settled = engine.instance(instance_id)
    assert settled.status == "completed"
    receivable = engine.instance(settled.data["receivable_instance_id"])
    assert (receivable.process_key, receivable.business_key, receivable.started_by) == (
        "receivables_collection", "FP-2026-0301", "scheduler")
    r = receivable.data
    assert (r["customer"], r["invoice_no"], r["open_amount"], r["currency"]) == (
        "ACME Logistics", "FP-2026-0301", Decimal("12000.00"), "CNY")
    assert (r["invoice_date"], r["due_date"]) == (date(2026, 3, 4), date(2026, 4, 3))  # 30 days' term
    assert jobs(engine)["register_tasks"] == 0  # done once


def test_an_open_receivable_that_fails_becomes_an_incident_not_a_lost_invoice(engine: Engine, clock: ManualClock) -> None:
    engine.deploy([SHIPPED_PROCESSES / "monthly_settlement.bpmn"], actor="designer")  # no receivables_collection
    instance_id = start(engine)
    to_confirmation(engine, instance_id)
    finish(engine, instance_id, "customer_confirm", {"confirmation": "confirmed"}, "rep")
    finish(engine, instance_id, "deliver_invoice", {"delivered_on": "2026-03-05", "delivery_method": "in_person"}, "rep")
    assert jobs(engine)["failed"] == 1
    assert engine.instance(instance_id).status == "running"
    failed = [e.data for e in engine.history(instance_id) if e.type == "incident_raised"]
    assert len(failed) == 1 and "receivables_collection" in failed[0]["error"]
    assert jobs(engine) == {"settlements": 0, "renewals": 0, "gradings": 0, "reviews": 0, "register_tasks": 0,
                            "failed": 0}  # waits for an operator


# -- loops ------------------------------------------------------------------------------------------


def test_a_disputed_sheet_goes_back_to_cs_assistant_with_the_disputed_lines(engine: Engine, clock: ManualClock) -> None:
    deploy(engine)
    instance_id = start(engine)
    to_confirmation(engine, instance_id)
    confirm = open_tasks(engine, instance_id)["customer_confirm"]
    with pytest.raises(FormErrors):  # a dispute names its lines
        engine.complete(confirm.id, {"confirmation": "disputed"}, "rep")
    clock.set(sh(2026, 3, 3, 14, 0))
    engine.complete(confirm.id, {"confirmation": "disputed", "disputed_lines": "第 12、13 行重复计费"}, "rep")
    again = open_tasks(engine, instance_id)
    assert set(again) == {"prepare_sheet"}
    assert again["prepare_sheet"].due_at == sh(2026, 3, 5, 17, 30)  # 2 working days for the correction
    d = engine.instance(instance_id).data
    assert d["settlement_round"] == 2 and d["invoice_due"] == sh(2026, 3, 9, 17, 30)
    assert [(x["round"], x["by"], x["lines"]) for x in d["dispute_log"]] == [(1, "customer", "第 12、13 行重复计费")]
    to_confirmation(engine, instance_id)
    finish(engine, instance_id, "customer_confirm", {"confirmation": "confirmed"}, "rep")
    assert set(open_tasks(engine, instance_id)) == {"deliver_invoice"}


def test_the_vp_sends_the_settlement_back_with_a_reason(engine: Engine, clock: ManualClock) -> None:
    deploy(engine)
    instance_id = start(engine)
    finish(engine, instance_id, "prepare_sheet", SHEET, "assistant")
    finish(engine, instance_id, "reconcile_invoice", INVOICE, "fin")
    finish(engine, instance_id, "vp_sign", {"sign_approved": False, "sign_note": "运价按新报价核对"}, "vp")
    assert set(open_tasks(engine, instance_id)) == {"prepare_sheet"}
    d = engine.instance(instance_id).data
    assert [(x["by"], x["lines"]) for x in d["dispute_log"]] == [("vp", "运价按新报价核对")]


# -- deadlines: each step's miss is an SLA breach and a cs_head task -------------------------------------


def test_a_sheet_not_ready_by_the_5th_is_a_breach_and_cs_head_gets_a_task(engine: Engine, clock: ManualClock) -> None:
    deploy(engine)
    instance_id = start(engine)
    clock.set(sh(2026, 3, 5, 17, 29))
    assert engine.fire_due_timers() == []
    clock.set(sh(2026, 3, 5, 17, 30))
    assert [(r.element_id, r.outcome) for r in engine.fire_due_timers()] == [("sheet_late", "fired")]
    tasks = open_tasks(engine, instance_id)
    assert set(tasks) == {"prepare_sheet", "settlement_overdue"}  # the sheet stays with cs_assistant
    escalation = tasks["settlement_overdue"]
    assert (escalation.title, escalation.group, escalation.form_key) == ("结算超时处理", "cs_head", "settlement_overdue")
    d = engine.instance(instance_id).data
    assert (d["missed_step"], d["missed_step_name"], d["missed_by"], d["missed_deadline"], d["overdue_by"]) == (
        "prepare_sheet", "编制对账单", "cs_assistant", sh(2026, 3, 5, 17, 30), 0)
    assert breaches(engine, instance_id) == [("settlement_sheet", "cs_assistant", sh(2026, 3, 5, 17, 30))]
    engine.complete(escalation.id, {"late_cause": "客户数据晚到", "action_taken": "已催客户"}, "head")
    finish(engine, instance_id, "prepare_sheet", SHEET, "assistant")
    assert set(open_tasks(engine, instance_id)) == {"reconcile_invoice"}


def test_an_invoice_not_issued_by_the_10th_is_finances_breach(engine: Engine, clock: ManualClock) -> None:
    deploy(engine)
    instance_id = start(engine)
    finish(engine, instance_id, "prepare_sheet", SHEET, "assistant")
    clock.set(sh(2026, 3, 10, 17, 30))
    assert [r.element_id for r in engine.fire_due_timers()] == ["invoice_late"]
    assert breaches(engine, instance_id) == [("settlement_invoice", "finance", sh(2026, 3, 10, 17, 30))]
    d = engine.instance(instance_id).data
    assert (d["missed_step"], d["missed_by"]) == ("reconcile_invoice", "finance")
    assert set(open_tasks(engine, instance_id)) == {"reconcile_invoice", "settlement_overdue"}


def test_signature_confirmation_and_delivery_each_have_a_deadline(engine: Engine, clock: ManualClock) -> None:
    deploy(engine)
    instance_id = start(engine)
    finish(engine, instance_id, "prepare_sheet", SHEET, "assistant")
    finish(engine, instance_id, "reconcile_invoice", INVOICE, "fin")  # Monday 09:00: the vp has until Tuesday 09:00
    clock.set(sh(2026, 3, 3, 9, 0))
    assert [r.element_id for r in engine.fire_due_timers()] == ["sign_late"]
    finish(engine, instance_id, "vp_sign", {"sign_approved": True}, "vp")
    clock.set(sh(2026, 3, 6, 9, 0))  # 3 working days after signing
    assert [r.element_id for r in engine.fire_due_timers()] == ["confirm_late"]
    finish(engine, instance_id, "customer_confirm", {"confirmation": "confirmed"}, "rep")
    clock.set(sh(2026, 3, 10, 9, 0))  # 2 working days after Friday 09:00
    assert [r.element_id for r in engine.fire_due_timers()] == ["delivery_late"]
    assert breaches(engine, instance_id) == [("settlement_sign", "vp", sh(2026, 3, 3, 9, 0)),
                                             ("settlement_confirm", "cs_rep", sh(2026, 3, 6, 9, 0)),
                                             ("invoice_delivery", "cs_rep", sh(2026, 3, 10, 9, 0))]
    overdue = [t for t in engine.tasks(instance_id=instance_id) if t.element_id == "settlement_overdue"]
    assert len(overdue) == 3 and {t.group for t in overdue} == {"cs_head"}


def test_the_customers_owner_gets_its_confirmation_and_delivery_and_an_unowned_customer_the_group(
        engine: Engine, clock: ManualClock) -> None:
    """The register's start carries the customer's owner (its cs_rep): the confirmation and the invoice delivery are
    assigned to them, the cs_rep group kept as candidates; a customer without an owner leaves both to the group."""
    deploy(engine)
    register(engine)  # ACME is rep's; Beta has no owner
    clock.set(sh(2026, 3, 2, 9, 0))
    assert jobs(engine)["settlements"] == 2
    by_customer = {engine.instance(i.id).data["customer"]: i.id for i in engine.instances(process_key="monthly_settlement")}
    owned, unowned = by_customer["ACME Logistics"], by_customer["Beta Foods"]
    assert engine.instance(owned).data["owner"] == "rep" and "owner" not in engine.instance(unowned).data
    for instance_id in (owned, unowned):
        to_confirmation(engine, instance_id)
    confirm = open_tasks(engine, owned)["customer_confirm"]
    assert (confirm.assignee, confirm.group) == ("rep", "cs_rep")
    assert open_tasks(engine, unowned)["customer_confirm"].assignee is None
    finish(engine, owned, "customer_confirm", {"confirmation": "confirmed", "confirmed_by": "王经理"}, "rep")
    assert open_tasks(engine, owned)["deliver_invoice"].assignee == "rep"


def test_a_settlement_started_by_hand_may_name_the_owner(engine: Engine, clock: ManualClock) -> None:
    deploy(engine)
    instance_id = engine.start("monthly_settlement", {"customer": "Beta Foods", "period": "2026-02", "owner": "rep"},
                               actor="assistant").id
    to_confirmation(engine, instance_id)
    assert open_tasks(engine, instance_id)["customer_confirm"].assignee == "rep"
