"""三(三)3: every working day at 16:00 cs_assistant sends each customer with orders in transit a progress update, by
16:30; the engine lists the orders in transit; a miss is an SLA breach with a task for cs_head (#17).

Time moves only with the ManualClock (Monday 2026-03-02 09:00 Shanghai) and ``engine.fire_due_timers()``.
"""

from __future__ import annotations

from engine import Engine, ManualClock
from engine.services.register_processes import run_register_jobs
from tests.processes.steps import complete
from tests.processes.test_daily import check_diagram, check_forms, fire_at, start_timer, validate_like_cli
from tests.processes.test_order_plan import DISPATCH, ORDER, PLAN_OK, PROCESSES, deploy, sh


def test_file_validates_with_full_diagram_and_forms() -> None:
    assert validate_like_cli("customer_progress_update.bpmn") == ["customer_progress_update"]
    check_diagram("customer_progress_update.bpmn")
    check_forms("customer_progress_update.bpmn")


def orders(engine: Engine) -> dict[str, int]:
    """Two dispatched orders (in transit) of two customers and one still waiting for its check."""
    deploy(engine)
    engine.deploy([PROCESSES / "customer_progress_update.bpmn"], actor="designer")
    ids = {}
    for customer, order_no, dispatched in (("Beta Foods", "SO-2", True), ("ACME Logistics", "SO-1", True),
                                           ("ACME Logistics", "SO-3", False)):
        ids[order_no] = engine.start("order_plan", {**ORDER, "customer": customer, "order_no": order_no},
                                     actor="assistant", business_key=order_no).id
        if dispatched:
            complete(engine, ids[order_no], "check_order", "cs_assistant", PLAN_OK, "assistant")
            complete(engine, ids[order_no], "confirm_dispatch", "operations", DISPATCH, "ops")
    return ids


def start_update(engine: Engine, clock: ManualClock) -> int:
    assert start_timer(engine, "customer_progress_update").due_at == sh(2026, 3, 2, 16, 0)
    assert fire_at(engine, clock, sh(2026, 3, 2, 15, 59)) == []
    (instance_id,) = fire_at(engine, clock, sh(2026, 3, 2, 16, 0))
    assert start_timer(engine, "customer_progress_update").due_at == sh(2026, 3, 3, 16, 0)
    assert engine.tasks(instance_id=instance_id) == []  # the engine lists the orders first
    assert run_register_jobs(engine.transaction)["register_tasks"] == 1
    return instance_id


def test_the_1600_update_lists_the_orders_in_transit_and_is_due_1630(engine: Engine, clock: ManualClock) -> None:
    ids = orders(engine)
    instance_id = start_update(engine, clock)
    (task,) = engine.tasks(instance_id=instance_id)
    assert (task.element_id, task.group, task.form_key, task.due_at) == (
        "send_progress_updates", "cs_assistant", "customer_progress_update", sh(2026, 3, 2, 16, 30))
    data = engine.instance(instance_id).data
    assert data["in_transit_count"] == 2 and data["in_transit_customers"] == ["ACME Logistics", "Beta Foods"]
    assert [(o["customer"], o["order_no"], o["instance_id"]) for o in data["in_transit_orders"]] == [
        ("ACME Logistics", "SO-1", ids["SO-1"]), ("Beta Foods", "SO-2", ids["SO-2"])]
    assert data["in_transit_summary"].splitlines()[0].startswith("ACME Logistics · SO-1 · Shanghai - Suzhou")
    clock.set(sh(2026, 3, 2, 16, 20))
    engine.complete(task.id, {"updates_sent": True, "customers_updated": 2}, "assistant")
    assert engine.instance(instance_id).status == "completed"
    clock.set(sh(2026, 3, 2, 16, 31))
    assert [r for r in engine.fire_due_timers() if r.instance_id == instance_id] == []


def test_updates_not_sent_by_1630_are_a_breach_for_cs_head(engine: Engine, clock: ManualClock) -> None:
    orders(engine)
    instance_id = start_update(engine, clock)
    clock.set(sh(2026, 3, 2, 16, 30))
    assert [(r.element_id, r.outcome) for r in engine.fire_due_timers() if r.instance_id == instance_id] == [
        ("progress_late", "fired")]
    tasks = {t.element_id: t for t in engine.tasks(instance_id=instance_id)}
    assert {k: t.group for k, t in tasks.items()} == {"send_progress_updates": "cs_assistant",
                                                     "escalate_late_progress": "cs_head"}
    breaches = [e.data for e in engine.history(instance_id) if e.type == "sla_breached"]
    assert [(b["step"], b["group"]) for b in breaches] == [("progress_update", "cs_assistant")]
    engine.complete(tasks["send_progress_updates"].id, {"updates_sent": True, "customers_updated": 2}, "assistant")
    engine.complete(tasks["escalate_late_progress"].id, {"late_cause": "system down", "action_taken": "sent 16:45"},
                    "head")
    assert engine.instance(instance_id).status == "completed"


def test_no_orders_in_transit_no_task(engine: Engine, clock: ManualClock) -> None:
    deploy(engine)
    engine.deploy([PROCESSES / "customer_progress_update.bpmn"], actor="designer")
    instance_id = start_update(engine, clock)
    view = engine.instance(instance_id)
    assert view.status == "completed" and view.data["in_transit_count"] == 0
