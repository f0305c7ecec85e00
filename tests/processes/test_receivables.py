"""receivables_collection (DOMAIN.md process 4) through the service layer: every step persists and reloads.

Time moves only with the ManualClock (fixture starts Monday 2026-03-02 09:00 Shanghai) and
``engine.fire_due_timers()``; payments arrive as the message ``payment_received`` correlated by
``invoice_no``; finance writes a debt off with the message ``receivable_written_off`` (an action on the
instance, never an inbox task). Every collection task is due 2 working days after it opens; a missed
one escalates (cs_rep → cs_head, cs_head → vp, vp → gm_office) with the step, group, deadline and lateness.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from lxml import etree

from engine import Engine, NotAllowed, NotFound, ScriptError, TaskView
from engine.config import SHIPPED_FORMS, SHIPPED_PROCESSES
from engine.definitions.forms import FormErrors, load_form

PROCESS = SHIPPED_PROCESSES / "receivables_collection.bpmn"
SH = ZoneInfo("Asia/Shanghai")
INVOICE = {"customer": "ACME Logistics", "invoice_no": "INV-2026-001", "amount": "1000.00",
           "invoice_date": "2026-02-20", "due_date": "2026-03-06"}  # due Friday; chasing starts Monday 09:00


def sh(*args: int) -> datetime:
    """A Shanghai wall-clock time."""
    return datetime(*args, tzinfo=SH)


def deploy(engine: Engine) -> None:
    engine.deploy([PROCESS], actor="designer")


def start(engine: Engine, **changes: str):
    data = {**INVOICE, **changes}
    return engine.start("receivables_collection", data, actor="fin", business_key=data["invoice_no"])


def pay(engine: Engine, amount: str, invoice_no: str = INVOICE["invoice_no"]) -> list[int]:
    return engine.message("payment_received", {"invoice_no": invoice_no}, {"amount": amount}, actor="fin")


def open_tasks(engine: Engine, instance_id: int) -> dict[str, TaskView]:
    tasks = engine.tasks(instance_id=instance_id)
    by_element = {t.element_id: t for t in tasks}
    assert len(by_element) == len(tasks), tasks
    undated = [t.element_id for t in tasks if t.due_at is None]
    assert not undated, f"no due date: {undated}"  # every human step has a deadline
    return by_element


def timers(engine: Engine, instance_id: int) -> list[tuple[str, str, datetime]]:
    return [(t.element_id, t.kind, t.due_at) for t in engine.timers(instance_id=instance_id)]


def events(engine: Engine, instance_id: int, type_: str | None = None) -> list:
    return [e for e in engine.history(instance_id) if type_ is None or e.type == type_]


def write_off(engine: Engine, instance_id: int, reason: str, actor: str = "fin") -> list[int]:
    return engine.message("receivable_written_off", {"instance_id": instance_id}, {"reason": reason}, actor=actor)


def fired(engine: Engine, instance_id: int) -> list[str]:
    return [e.data["element_id"] for e in events(engine, instance_id, "timer_fired")]


def data(engine: Engine, instance_id: int) -> dict:
    return engine.instance(instance_id).data


def reach_chase(engine: Engine, clock, **changes: str):
    """Start an invoice and let its due date pass: the chase task is open."""
    inst = start(engine, **changes)
    clock.set(sh(2026, 3, 9, 9, 0))
    assert [r.outcome for r in engine.fire_due_timers()] == ["fired"]
    return inst, open_tasks(engine, inst.id)["chase_payment"]


def break_promise(engine: Engine, clock, promised: str) -> None:
    """Let the promised date pass: the timer fires at 09:00 on the next working day."""
    clock.set(datetime.fromisoformat(promised).replace(tzinfo=SH) + timedelta(days=10))
    assert [r.outcome for r in engine.fire_due_timers()] == ["fired"]


# -- due date ------------------------------------------------------------------------------


def test_due_date_passing_gives_cs_rep_the_chase_task(engine: Engine, clock) -> None:
    deploy(engine)
    inst = start(engine, currency="")  # an empty currency falls back to CNY
    d = data(engine, inst.id)
    assert d["open_amount"] == Decimal("1000.00") and isinstance(d["open_amount"], Decimal)
    assert d["escalation_level"] == 0 and d["broken_promises"] == 0 and d["currency"] == "CNY"
    assert d["due_date"].isoformat() == "2026-03-06" and "outcome" not in d
    assert open_tasks(engine, inst.id) == {}  # writing off is an action on the instance, not a task
    # Friday's due date: the invoice is overdue at start of business on the next working day (Monday 09:00).
    assert timers(engine, inst.id) == [("due_date_passed", "intermediate", sh(2026, 3, 9, 9, 0))]
    assert [e.type for e in events(engine, inst.id)] == ["instance_started"]

    clock.set(sh(2026, 3, 7, 12, 0))  # Saturday: nothing yet
    assert engine.fire_due_timers() == []
    clock.set(sh(2026, 3, 9, 8, 59))
    assert engine.fire_due_timers() == []
    assert open_tasks(engine, inst.id) == {}

    clock.set(sh(2026, 3, 9, 9, 0))
    assert [(r.instance_id, r.element_id, r.outcome) for r in engine.fire_due_timers()] == [
        (inst.id, "due_date_passed", "fired")]
    tasks = open_tasks(engine, inst.id)
    chase = tasks["chase_payment"]
    assert (chase.title, chase.group, chase.form_key) == ("催收付款", "cs_rep", "chase_payment")
    assert chase.due_at == sh(2026, 3, 11, 9, 0)  # 2 working days to chase
    assert set(tasks) == {"chase_payment"}
    assert fired(engine, inst.id) == ["due_date_passed"]
    created = [e.data for e in events(engine, inst.id, "task_created")]
    assert created[-1]["element_id"] == "chase_payment" and created[-1]["group"] == "cs_rep"
    d = data(engine, inst.id)
    assert d["overdue"] is True and d["escalation_level"] == 0 and d["open_amount"] == Decimal("1000.00")
    assert timers(engine, inst.id) == [("chase_payment_overdue", "boundary_interrupting", sh(2026, 3, 11, 9, 0))]

    # The rep records the reason and the promise; the result is reported to finance.
    with pytest.raises(NotAllowed):
        engine.complete(chase.id, {"reason": "x", "promised_date": "2026-03-13"}, "fin")
    engine.complete(chase.id, {"reason": "Customer waits for its own customer's payment",
                               "promised_date": "2026-03-13"}, "rep")
    d = data(engine, inst.id)
    report = d["finance_report"]
    assert report["group"] == "cs_rep" and report["promised_date"].isoformat() == "2026-03-13"
    assert report["open_amount"] == Decimal("1000.00") and report["reason"].startswith("Customer waits")
    assert [entry["event"] for entry in d["collection_log"]] == ["opened", "overdue", "promise"]
    # Promise for Friday 13th: broken if still open at 09:00 on Monday 16th.
    assert timers(engine, inst.id) == [("promise_broken", "intermediate", sh(2026, 3, 16, 9, 0))]
    assert open_tasks(engine, inst.id) == {}


@pytest.mark.parametrize(("due_date", "chase_at"), [
    ("2026-03-03", sh(2026, 3, 4, 9, 0)),   # Tuesday → Wednesday 09:00
    ("2026-04-03", sh(2026, 4, 7, 9, 0)),   # Friday before Qingming (Apr 4–6 off) → Tuesday 09:00
    ("2026-04-30", sh(2026, 5, 6, 9, 0)),   # Thursday before Labour Day (May 1–5 off) → Wednesday 09:00
    ("2026-09-18", sh(2026, 9, 20, 9, 0)),  # Friday → Sunday 20 Sep, a make-up working day (调休)
])
def test_chasing_starts_at_9_on_the_next_working_day(engine: Engine, clock, due_date: str, chase_at: datetime) -> None:
    deploy(engine)
    inst = start(engine, due_date=due_date)
    assert timers(engine, inst.id) == [("due_date_passed", "intermediate", chase_at)]
    clock.set(chase_at - timedelta(seconds=1))
    assert engine.fire_due_timers() == []
    clock.set(chase_at)
    engine.fire_due_timers()
    assert "chase_payment" in open_tasks(engine, inst.id)


# -- broken promises -------------------------------------------------------------------------


def test_broken_promises_escalate_to_cs_head_then_vp_and_stay_there(engine: Engine, clock) -> None:
    deploy(engine)
    inst, chase = reach_chase(engine, clock)
    engine.complete(chase.id, {"reason": "cash flow", "promised_date": "2026-03-13"}, "rep")

    # Broken once: cs_head takes over.
    clock.set(sh(2026, 3, 16, 8, 59))
    assert engine.fire_due_timers() == []
    clock.set(sh(2026, 3, 16, 9, 0))
    assert [r.outcome for r in engine.fire_due_timers()] == ["fired"]
    tasks = open_tasks(engine, inst.id)
    head = tasks["head_collection"]
    assert (head.title, head.group, head.form_key) == ("客服部负责人接手催收", "cs_head", "head_collection")
    assert set(tasks) == {"head_collection"} and head.due_at == sh(2026, 3, 18, 9, 0)
    d = data(engine, inst.id)
    assert (d["escalation_level"], d["broken_promises"], d["open_amount"]) == (1, 1, Decimal("1000.00"))
    assert fired(engine, inst.id) == ["due_date_passed", "promise_broken"]
    with pytest.raises(NotAllowed):
        engine.complete(head.id, {"reason": "x", "promised_date": "2026-03-20"}, "rep")
    engine.complete(head.id, {"reason": "Promised after their quarter close", "promised_date": "2026-03-20"}, "head")
    assert data(engine, inst.id)["finance_report"]["group"] == "cs_head"
    assert timers(engine, inst.id) == [("promise_broken", "intermediate", sh(2026, 3, 23, 9, 0))]

    # Broken twice: the vp coordinates.
    clock.set(sh(2026, 3, 23, 9, 0))
    engine.fire_due_timers()
    tasks = open_tasks(engine, inst.id)
    vp = tasks["vp_collection"]
    assert (vp.title, vp.group, vp.form_key) == ("副总经理协调催收", "vp", "vp_collection")
    assert set(tasks) == {"vp_collection"} and vp.due_at == sh(2026, 3, 25, 9, 0)
    d = data(engine, inst.id)
    assert (d["escalation_level"], d["broken_promises"]) == (2, 2)
    engine.complete(vp.id, {"note": "Called their CFO", "promised_date": "2026-03-27"}, "vp")
    assert data(engine, inst.id)["finance_report"] | {"at": None} == {
        "at": None, "group": "vp", "escalation_level": 2, "reason": "Called their CFO",
        "promised_date": datetime(2026, 3, 27).date(), "open_amount": Decimal("1000.00"), "currency": "CNY"}

    # Broken again: it stays with the vp; every break is counted and leaves a timer_fired event.
    clock.set(sh(2026, 3, 30, 9, 0))
    engine.fire_due_timers()
    tasks = open_tasks(engine, inst.id)
    assert set(tasks) == {"vp_collection"} and tasks["vp_collection"].id != vp.id
    d = data(engine, inst.id)
    assert (d["escalation_level"], d["broken_promises"]) == (2, 3)
    assert fired(engine, inst.id) == ["due_date_passed"] + ["promise_broken"] * 3
    breaks = [e for e in d["collection_log"] if e["event"] == "promise_broken"]
    assert [(b["broken_promises"], b["escalation_level"], b["promised_date"].isoformat()) for b in breaks] == [
        (1, 1, "2026-03-13"), (2, 2, "2026-03-20"), (3, 2, "2026-03-27")]
    created = [(e.data["element_id"], e.data["group"]) for e in events(engine, inst.id, "task_created")]
    assert created == [("chase_payment", "cs_rep"), ("head_collection", "cs_head"),
                       ("vp_collection", "vp"), ("vp_collection", "vp")]
    assert engine.instance(inst.id).status == "running"


def test_a_promise_in_the_past_is_refused_and_one_for_today_breaks_the_next_working_morning(engine: Engine, clock) -> None:
    deploy(engine)
    inst, chase = reach_chase(engine, clock)
    with pytest.raises(FormErrors):  # the chase form's rule: the promised date is not in the past
        engine.complete(chase.id, {"reason": "typo", "promised_date": "2026-03-01"}, "rep")
    assert open_tasks(engine, inst.id)["chase_payment"].id == chase.id
    engine.complete(chase.id, {"reason": "pays tonight", "promised_date": "2026-03-09"}, "rep")
    assert timers(engine, inst.id) == [("promise_broken", "intermediate", sh(2026, 3, 10, 9, 0))]


# -- deadlines and escalation ----------------------------------------------------------------


def escalation_data(engine: Engine, instance_id: int) -> dict:
    d = data(engine, instance_id)
    return {k: d[k] for k in ("missed_step", "missed_step_name", "missed_by", "missed_deadline", "overdue_by",
                              "escalated_at")}


def test_an_unchased_invoice_escalates_like_a_broken_promise_by_timers_alone(engine: Engine, clock) -> None:
    """Nobody chases: cs_head takes the collection over when the chase is 2 working days late, then the vp (#17)."""
    deploy(engine)
    inst, chase = reach_chase(engine, clock)
    assert chase.due_at == sh(2026, 3, 11, 9, 0)
    clock.set(sh(2026, 3, 11, 8, 59))
    assert engine.fire_due_timers() == []
    # The scheduler was down for half an hour: the escalation says how late the step really is.
    clock.set(sh(2026, 3, 11, 9, 30))
    assert [(r.element_id, r.outcome) for r in engine.fire_due_timers()] == [("chase_payment_overdue", "fired")]
    tasks = open_tasks(engine, inst.id)
    assert set(tasks) == {"head_collection"}  # cs_head takes over, as after a broken promise
    head = tasks["head_collection"]
    assert (head.title, head.group, head.form_key) == ("客服部负责人接手催收", "cs_head", "head_collection")
    assert head.due_at == sh(2026, 3, 13, 9, 30)  # its own 2 working days
    with pytest.raises(Exception):  # noqa: B017 - the rep's chase is closed, whatever the error says
        engine.complete(chase.id, {"reason": "too late", "promised_date": "2026-03-20"}, "rep")
    assert escalation_data(engine, inst.id) == {
        "missed_step": "chase_payment", "missed_step_name": "催收付款", "missed_by": "cs_rep",
        "missed_deadline": sh(2026, 3, 11, 9, 0), "overdue_by": 1800, "escalated_at": sh(2026, 3, 11, 9, 30)}
    d = data(engine, inst.id)
    assert (d["escalation_level"], d["broken_promises"]) == (1, 0)
    assert d["collection_log"][-1] | {"at": None} == {
        "event": "collection_overdue", "at": None, "missed_step": "chase_payment", "missed_by": "cs_rep",
        "missed_deadline": sh(2026, 3, 11, 9, 0), "escalation_level": 1, "open_amount": Decimal("1000.00")}
    breach = events(engine, inst.id, "sla_breached")
    assert [(b.data["element_id"], b.data["group"]) for b in breach] == [("chase_payment_overdue", "cs_rep")]
    texts = engine.texts(engine.instance(inst.id).definition_id)
    assert texts.value_label("missed_step", "chase_payment", "en") == "Chase payment"
    assert texts.value_label("missed_by", "cs_rep", "zh-CN") == "客服代表"
    assert texts.value_label("collection_log.event", "collection_overdue", "zh-CN") == "催收超时升级"
    assert texts.field("overdue_by").kind == "duration" and texts.field("missed_deadline").kind == "datetime"

    # cs_head leaves it too: the vp coordinates (escalation level 2), still by timers alone.
    clock.set(sh(2026, 3, 13, 9, 30))
    assert [(r.element_id, r.outcome) for r in engine.fire_due_timers()] == [("head_collection_overdue", "fired")]
    tasks = open_tasks(engine, inst.id)
    assert set(tasks) == {"vp_collection"} and tasks["vp_collection"].due_at == sh(2026, 3, 17, 9, 30)
    assert data(engine, inst.id)["escalation_level"] == 2
    created = [(e.data["element_id"], e.data["group"]) for e in events(engine, inst.id, "task_created")]
    assert created == [("chase_payment", "cs_rep"), ("head_collection", "cs_head"), ("vp_collection", "vp")]
    engine.complete(tasks["vp_collection"].id, {"note": "Called their CFO", "promised_date": "2026-03-20"}, "vp")
    assert data(engine, inst.id)["finance_report"]["group"] == "vp"
    assert timers(engine, inst.id) == [("promise_broken", "intermediate", sh(2026, 3, 23, 9, 0))]


def test_a_promise_cs_head_made_after_taking_over_an_unchased_invoice_breaks_to_the_vp(engine: Engine, clock) -> None:
    deploy(engine)
    inst, _chase = reach_chase(engine, clock)
    clock.set(sh(2026, 3, 11, 9, 0))
    engine.fire_due_timers()
    head = open_tasks(engine, inst.id)["head_collection"]
    engine.complete(head.id, {"reason": "Promised after their close", "promised_date": "2026-03-13"}, "head")
    assert data(engine, inst.id)["finance_report"]["group"] == "cs_head"
    clock.set(sh(2026, 3, 16, 9, 0))
    assert [r.element_id for r in engine.fire_due_timers()] == ["promise_broken"]
    assert set(open_tasks(engine, inst.id)) == {"vp_collection"}
    d = data(engine, inst.id)
    assert (d["escalation_level"], d["broken_promises"]) == (2, 1)


def test_a_chase_done_in_time_escalates_nothing(engine: Engine, clock) -> None:
    deploy(engine)
    inst, chase = reach_chase(engine, clock)
    clock.set(sh(2026, 3, 10, 17, 0))
    engine.complete(chase.id, {"reason": "cash flow", "promised_date": "2026-03-20"}, "rep")
    clock.set(sh(2026, 3, 12, 9, 0))
    assert engine.fire_due_timers() == []
    assert events(engine, inst.id, "sla_breached") == [] and open_tasks(engine, inst.id) == {}


def test_head_and_vp_collection_escalate_when_left_undone(engine: Engine, clock) -> None:
    deploy(engine)
    inst, chase = reach_chase(engine, clock)
    engine.complete(chase.id, {"reason": "cash flow", "promised_date": "2026-03-13"}, "rep")
    clock.set(sh(2026, 3, 16, 9, 0))
    engine.fire_due_timers()
    head = open_tasks(engine, inst.id)["head_collection"]
    assert head.due_at == sh(2026, 3, 18, 9, 0)
    clock.set(sh(2026, 3, 18, 9, 0))
    assert [r.element_id for r in engine.fire_due_timers()] == ["head_collection_overdue"]
    tasks = open_tasks(engine, inst.id)
    assert set(tasks) == {"vp_collection"}  # the vp takes over, as after a second broken promise
    assert (tasks["vp_collection"].group, tasks["vp_collection"].due_at) == ("vp", sh(2026, 3, 20, 9, 0))
    assert escalation_data(engine, inst.id) | {"escalated_at": None} == {
        "missed_step": "head_collection", "missed_step_name": "客服部负责人接手催收", "missed_by": "cs_head",
        "missed_deadline": sh(2026, 3, 18, 9, 0), "overdue_by": 0, "escalated_at": None}
    d = data(engine, inst.id)
    assert (d["escalation_level"], d["broken_promises"]) == (2, 1)

    vp = tasks["vp_collection"]
    clock.set(sh(2026, 3, 21, 10, 0))  # Saturday: the vp's deadline passed on Friday 09:00
    assert [r.element_id for r in engine.fire_due_timers()] == ["vp_collection_overdue"]
    tasks = open_tasks(engine, inst.id)
    assert set(tasks) == {"vp_collection", "escalate_vp_collection"}  # nobody above the vp: the vp keeps it
    assert tasks["vp_collection"].id == vp.id and tasks["escalate_vp_collection"].group == "gm_office"
    d = escalation_data(engine, inst.id)
    assert (d["missed_step"], d["missed_by"], d["missed_deadline"], d["overdue_by"]) == (
        "vp_collection", "vp", sh(2026, 3, 20, 9, 0), 25 * 3600)
    assert [e.data["element_id"] for e in events(engine, inst.id, "sla_breached")] == [
        "head_collection_overdue", "vp_collection_overdue"]
    engine.complete(tasks["escalate_vp_collection"].id, {"action_taken": "Asked the vp for a plan"}, "gm")
    engine.complete(vp.id, {"note": "Called their CFO", "promised_date": "2026-03-27"}, "vp")
    assert [t[0] for t in timers(engine, inst.id)] == ["promise_broken"]


# -- write-off -------------------------------------------------------------------------------


def test_finance_writes_the_debt_off_at_any_stage(engine: Engine, clock) -> None:
    deploy(engine)
    inst, chase = reach_chase(engine, clock)
    engine.complete(chase.id, {"reason": "insolvency rumours", "promised_date": "2026-03-13"}, "rep")
    break_promise(engine, clock, "2026-03-13")
    assert set(open_tasks(engine, inst.id)) == {"head_collection"}
    with pytest.raises(NotAllowed):  # only finance writes off
        write_off(engine, inst.id, "customer insolvent", actor="head")
    with pytest.raises(FormErrors):  # the reason is required, and more than a word
        write_off(engine, inst.id, "")
    assert engine.instance(inst.id).status == "running"

    assert write_off(engine, inst.id, "Customer declared insolvent") == [inst.id]
    view = engine.instance(inst.id)
    assert view.status == "completed"
    d = view.data
    assert d["outcome"] == "written_off" and d["write_off_reason"] == "Customer declared insolvent"
    assert d["written_off_amount"] == Decimal("1000.00") and d["open_amount"] == Decimal("0")
    assert d["escalation_level"] == 1 and d["broken_promises"] == 1  # the collection branch's state is kept
    assert engine.tasks(instance_id=inst.id) == []
    assert {(t.element_id, t.status) for t in engine.tasks(instance_id=inst.id, status=None)} == {
        ("chase_payment", "completed"), ("head_collection", "cancelled")}
    written = d["collection_log"][-1]
    assert (written["event"], written["amount"], written["reason"], written["by"]) == (
        "written_off", Decimal("1000.00"), "Customer declared insolvent", "fin")
    assert d["written_off_by"] == "fin", "the ledger says who wrote it off (the message's sender)"
    assert timers(engine, inst.id) == []
    assert [e.type for e in events(engine, inst.id)][-3:] == ["message_correlated", "task_cancelled", "instance_completed"]
    correlated = events(engine, inst.id, "message_correlated")[-1]
    assert correlated.actor == "fin" and correlated.data["message"] == "receivable_written_off"
    with pytest.raises(NotFound):
        write_off(engine, inst.id, "twice is once too often")
    clock.advance(days=30)
    assert engine.fire_due_timers() == []


# -- payments ----------------------------------------------------------------------------------


def test_partial_then_full_payment_completes_as_paid(engine: Engine, clock) -> None:
    deploy(engine)
    inst = start(engine)
    other = start(engine, invoice_no="INV-2026-002")
    assert pay(engine, "300.00") == [inst.id]
    view = engine.instance(inst.id)
    assert view.status == "running"
    assert (view.data["open_amount"], view.data["paid_amount"]) == (Decimal("700.00"), Decimal("300.00"))
    assert view.data["amount"] == "1000.00"  # the invoice amount, not the payment's
    assert data(engine, other.id)["open_amount"] == Decimal("1000.00")  # correlated by invoice_no only
    # a partial payment keeps the due-date timer; nothing waits in anyone's inbox
    assert timers(engine, inst.id) == [("due_date_passed", "intermediate", sh(2026, 3, 9, 9, 0))]
    assert open_tasks(engine, inst.id) == {}
    assert events(engine, inst.id, "message_correlated")[0].data["payload"] == {"amount": "300.00"}

    assert pay(engine, "700.00") == [inst.id]
    view = engine.instance(inst.id)
    assert view.status == "completed"
    d = view.data
    assert d["outcome"] == "paid" and d["open_amount"] == Decimal("0") and d["paid_amount"] == Decimal("1000.00")
    assert "overpaid_amount" not in d
    assert [p["amount"] for p in d["payments"]] == [Decimal("300.00"), Decimal("700.00")]
    assert d["escalation_level"] == 0
    assert timers(engine, inst.id) == [] and engine.tasks(instance_id=inst.id) == []
    assert [e.type for e in events(engine, inst.id)][-2:] == ["message_correlated", "instance_completed"]
    with pytest.raises(NotFound):
        pay(engine, "1.00")  # nothing waits any more


def test_payments_are_accepted_while_a_chase_task_is_open(engine: Engine, clock) -> None:
    deploy(engine)
    inst, chase = reach_chase(engine, clock)
    pay(engine, "250.00")
    tasks = open_tasks(engine, inst.id)
    assert tasks["chase_payment"].id == chase.id  # the rep keeps working on the same task
    assert data(engine, inst.id)["open_amount"] == Decimal("750.00")
    engine.complete(chase.id, {"reason": "partial, rest next week", "promised_date": "2026-03-13"}, "rep")
    d = data(engine, inst.id)
    assert d["open_amount"] == Decimal("750.00") and d["finance_report"]["open_amount"] == Decimal("750.00")
    break_promise(engine, clock, "2026-03-13")
    assert data(engine, inst.id)["escalation_level"] == 1
    pay(engine, "750.00")
    view = engine.instance(inst.id)
    assert view.status == "completed" and view.data["outcome"] == "paid" and view.data["escalation_level"] == 1
    assert {(t.element_id, t.status) for t in engine.tasks(instance_id=inst.id, status=None)} == {
        ("chase_payment", "completed"), ("head_collection", "cancelled")}


def test_payment_before_the_due_date_cancels_the_due_date_timer(engine: Engine, clock) -> None:
    deploy(engine)
    inst = start(engine)
    assert [t[0] for t in timers(engine, inst.id)] == ["due_date_passed"]
    clock.set(sh(2026, 3, 6, 16, 0))
    pay(engine, "1000.00")
    assert engine.instance(inst.id).status == "completed"
    assert engine.timers(instance_id=inst.id) == []
    clock.set(sh(2026, 3, 9, 9, 0))
    assert engine.fire_due_timers() == []
    assert fired(engine, inst.id) == [] and engine.tasks(instance_id=inst.id) == []


def test_an_overpayment_closes_the_invoice_and_records_the_excess(engine: Engine) -> None:
    deploy(engine)
    inst = start(engine)
    pay(engine, "1000.50")
    d = data(engine, inst.id)
    assert d["outcome"] == "paid" and d["overpaid_amount"] == Decimal("0.50") and d["open_amount"] == Decimal("0")


def test_write_off_never_puts_a_task_in_finance_inbox(engine: Engine, clock) -> None:
    deploy(engine)
    instances = [start(engine, invoice_no=f"INV-2026-{n:03d}") for n in range(1, 4)]
    clock.set(sh(2026, 3, 12, 9, 0))  # due, chase missed: every escalation fired
    engine.fire_due_timers()
    engine.fire_due_timers()
    assert engine.tasks(group="finance") == [] and engine.tasks(user="fin") == []
    write_off(engine, instances[1].id, "Customer declared insolvent")
    assert engine.instance(instances[1].id).status == "completed"
    assert [engine.instance(i.id).status for i in (instances[0], instances[2])] == ["running", "running"]
    every = [t for i in instances for t in engine.tasks(instance_id=i.id, status=None)]
    assert every and all(t.group != "finance" and t.element_id != "write_off" for t in every)


def test_write_off_after_a_partial_payment_writes_off_the_rest(engine: Engine, clock) -> None:
    deploy(engine)
    inst = start(engine)
    pay(engine, "400.00")
    write_off(engine, inst.id, "settled the rest as a discount")
    d = data(engine, inst.id)
    assert d["outcome"] == "written_off" and d["written_off_amount"] == Decimal("600.00")
    assert d["paid_amount"] == Decimal("400.00")


def test_bad_payments_are_rejected_and_change_nothing(engine: Engine, clock) -> None:
    deploy(engine)
    inst = start(engine)
    # The message's form refuses what it can see (a malformed or non-positive amount); the script the rest.
    for bad in ({"amount": "-5.00"}, {"amount": "0"}, {"amount": "abc"}):
        with pytest.raises(FormErrors):
            engine.message("payment_received", {"invoice_no": INVOICE["invoice_no"]}, bad)
    with pytest.raises(ScriptError, match="differs from the invoice currency"):
        engine.message("payment_received", {"invoice_no": INVOICE["invoice_no"]}, {"amount": "100.00", "currency": "USD"})
    assert data(engine, inst.id)["open_amount"] == Decimal("1000.00")
    assert events(engine, inst.id, "message_correlated") == []


# -- start data and model -----------------------------------------------------------------------


@pytest.mark.parametrize("changes", [{"amount": "-1"}, {"amount": "abc"}, {"due_date": "2026-02-01"}, {"invoice_no": " "}])
def test_bad_start_data_is_rejected(engine: Engine, changes: dict) -> None:
    deploy(engine)
    # The start form refuses what it can see (a malformed amount or invoice no.); the script the rest.
    with pytest.raises((ScriptError, FormErrors)):
        start(engine, **changes)
    assert engine.instances(process_key="receivables_collection") == []


def test_start_form_data_types_are_accepted(engine: Engine) -> None:
    """The web start form delivers Decimal and date objects rather than strings."""
    from datetime import date

    deploy(engine)
    inst = engine.start("receivables_collection", {**INVOICE, "amount": Decimal("88.50"), "currency": "USD",
                                                   "invoice_date": date(2026, 3, 1), "due_date": date(2026, 3, 31)})
    d = data(engine, inst.id)
    assert (d["open_amount"], d["currency"], d["amount"]) == (Decimal("88.50"), "USD", "88.50")


def test_model_lanes_forms_and_diagram_are_complete() -> None:
    check_model(PROCESS, {"chase_payment": ("cs_rep", {"reason", "promised_date"}),
                          "head_collection": ("cs_head", {"reason", "promised_date"}),
                          "vp_collection": ("vp", {"note", "promised_date"}),
                          "escalate_vp_collection": ("gm_office", {"action_taken"})})
    root = etree.parse(str(PROCESS)).getroot()
    assert root.find(".//bpmn:userTask[@id='write_off']", NS) is None  # no standing write-off task
    message = root.find("bpmn:message[@name='receivable_written_off']", NS)
    props = {p.get("name"): p.get("value") for p in message.iterfind(".//camunda:property", NS)}
    assert props == {"formKey": "write_off", "senderGroups": "finance"}


NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
      "dc": "http://www.omg.org/spec/DD/20100524/DC", "di": "http://www.omg.org/spec/DD/20100524/DI",
      "camunda": "http://camunda.org/schema/1.0/bpmn"}
FLOW_NODES = ("startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent", "userTask",
              "scriptTask", "businessRuleTask", "manualTask", "exclusiveGateway", "parallelGateway",
              "eventBasedGateway", "inclusiveGateway", "subProcess")


def check_model(path: Path, user_tasks: dict[str, tuple[str, set[str]]]) -> None:
    """Every user task: lane = group, a form with en/zh-CN labels; full DI, no overlapping shapes."""
    root = etree.parse(str(path)).getroot()
    lane_of = {ref.text: ref.getparent().get("name") for ref in root.iterfind(".//bpmn:flowNodeRef", NS)}
    forms_dir = SHIPPED_FORMS
    found = {}
    for task in root.iterfind(".//bpmn:userTask", NS):
        key = task.get(f"{{{NS['camunda']}}}formKey")
        form = load_form(forms_dir, key)
        assert form is not None, key
        for name in form.fields:
            label = form.ui["fields"][name]["label"]
            assert label.get("en") and label.get("zh-CN"), (key, name)
        assert form.ui["title"].get("en") and form.ui["title"].get("zh-CN"), key
        for prop in form.schema["properties"].values():
            assert prop.get("type") != "number", "money must be a string with format money"
        found[task.get("id")] = (lane_of[task.get("id")], set(form.schema["properties"]))
    for element_id, expected in user_tasks.items():
        assert found[element_id] == expected, element_id
    shapes = {s.get("bpmnElement"): s for s in root.iterfind(".//bpmndi:BPMNShape", NS)}
    edges = {e.get("bpmnElement"): e for e in root.iterfind(".//bpmndi:BPMNEdge", NS)}
    process = root.find("bpmn:process", NS)
    assert root.find("bpmn:collaboration/bpmn:participant", NS).get("id") in shapes
    for lane in process.iterfind(".//bpmn:lane", NS):
        assert lane.get("id") in shapes
    boxes = {}
    for kind in FLOW_NODES:
        for node in process.iterfind(f".//bpmn:{kind}", NS):
            assert node.get("id") in shapes, node.get("id")
            b = shapes[node.get("id")].find("dc:Bounds", NS)
            boxes[node.get("id")] = (node, *(float(b.get(k)) for k in ("x", "y", "width", "height")))
    for flow in process.iterfind(".//bpmn:sequenceFlow", NS):
        assert len(edges[flow.get("id")].findall("di:waypoint", NS)) >= 2, flow.get("id")
    items = list(boxes.items())
    for i, (a_id, (a_node, ax, ay, aw, ah)) in enumerate(items):
        for b_id, (b_node, bx, by, bw, bh) in items[i + 1:]:
            related = {a_node.get("attachedToRef"), b_node.get("attachedToRef")} & {a_id, b_id}
            nested = a_node in b_node.iterancestors() or b_node in a_node.iterancestors()
            if related or nested:
                continue
            assert not (ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah), (a_id, b_id)
