"""三(三)1: an order plan is in the system within 1 hour of its receipt (#17).

Staff entering a plan more than 1 hour after ``received_at`` records the SLA breach ``order_entry`` at once; a plan the
customer submits through the API (``received_via = api``) is in the system once cs_assistant has checked it, so that
first check (``check_api_order``) is due at ``received_at + 1 h`` and a miss records the breach. The clock is the
ManualClock (Monday 2026-03-02 09:00 Shanghai).
"""

from __future__ import annotations

from engine import Engine, ManualClock
from tests.processes.steps import complete, only_task
from tests.processes.test_order_plan import ORDER, PLAN_OK, breaches, deploy, sh


def start(engine: Engine, **changes) -> int:
    deploy(engine)
    return engine.start("order_plan", {**ORDER, **changes}, actor="assistant", business_key=ORDER["order_no"]).id


def test_staff_entry_within_the_hour_is_on_time(engine: Engine) -> None:
    instance_id = start(engine, received_at="2026-03-02T08:10:00+08:00", received_via="email")
    data = engine.instance(instance_id).data
    assert (data["received_at"], data["entered_at"], data["entry_deadline"], data["entered_late"]) == (
        sh(2026, 3, 2, 8, 10), sh(2026, 3, 2, 9, 0), sh(2026, 3, 2, 9, 10), False)
    check = only_task(engine, instance_id, "check_order", "cs_assistant")
    assert check.due_at == sh(2026, 3, 2, 14, 0)  # a staff entry's check is due at the pickup time, as before
    assert breaches(engine, instance_id) == []


def test_staff_entry_later_than_an_hour_is_a_breach_at_once(engine: Engine) -> None:
    instance_id = start(engine, received_at="2026-03-02T07:30:00", received_via="phone")  # no offset: Shanghai
    assert engine.instance(instance_id).data["entered_late"] is True
    assert breaches(engine, instance_id) == [("order_entry", "cs_assistant", sh(2026, 3, 2, 8, 30))]
    fired = [e.data for e in engine.history(instance_id) if e.type == "timer_fired"]
    assert [(f["element_id"], f["kind"]) for f in fired] == [("entry_overdue", "intermediate")]
    only_task(engine, instance_id, "check_order", "cs_assistant")  # the order goes on to its check


def test_an_order_without_received_at_was_received_when_entered(engine: Engine) -> None:
    instance_id = start(engine)
    data = engine.instance(instance_id).data
    assert (data["received_at"], data["received_via"], data["entered_late"]) == (sh(2026, 3, 2, 9, 0), "phone", False)
    assert breaches(engine, instance_id) == []


def test_an_api_order_checked_within_the_hour_records_no_breach(engine: Engine, clock: ManualClock) -> None:
    instance_id = start(engine, received_at="2026-03-02T08:50:00+08:00", received_via="api")
    check = only_task(engine, instance_id, "check_api_order", "cs_assistant")
    assert (check.form_key, check.due_at) == ("order_api_check", sh(2026, 3, 2, 9, 50))
    clock.set(sh(2026, 3, 2, 9, 40))
    complete(engine, instance_id, "check_api_order", "cs_assistant", {"in_scope": True, "data_complete": False},
             "assistant")
    clock.set(sh(2026, 3, 2, 10, 0))
    engine.fire_due_timers()
    clarify = only_task(engine, instance_id, "clarify_with_customer", "cs_assistant")
    engine.complete(clarify.id, {"clarification_outcome": "corrected", "customer_reply": "weight fixed",
                                 "weight_kg": 4700}, "assistant")
    # The re-check is the ordinary check (the order is in the system already), due at the pickup time.
    recheck = only_task(engine, instance_id, "check_order", "cs_assistant")
    assert recheck.due_at == sh(2026, 3, 2, 14, 0)
    engine.complete(recheck.id, PLAN_OK, "assistant")
    only_task(engine, instance_id, "confirm_dispatch", "operations")
    assert breaches(engine, instance_id) == []


def test_an_api_order_not_checked_within_the_hour_is_a_breach(engine: Engine, clock: ManualClock) -> None:
    instance_id = start(engine, received_at="2026-03-02T08:50:00+08:00", received_via="api")
    clock.set(sh(2026, 3, 2, 9, 49))
    assert [r for r in engine.fire_due_timers() if r.instance_id == instance_id] == []
    clock.set(sh(2026, 3, 2, 9, 50))
    assert [(r.element_id, r.outcome) for r in engine.fire_due_timers() if r.instance_id == instance_id] == [
        ("api_entry_overdue", "fired")]
    assert breaches(engine, instance_id) == [("order_entry", "cs_assistant", sh(2026, 3, 2, 9, 50))]
    clock.set(sh(2026, 3, 2, 10, 5))
    complete(engine, instance_id, "check_api_order", "cs_assistant", PLAN_OK, "assistant")  # still due, still done
    only_task(engine, instance_id, "confirm_dispatch", "operations")


def test_a_received_at_in_the_future_counts_as_received_now(engine: Engine) -> None:
    instance_id = start(engine, received_at="2026-03-02T12:00:00+08:00", received_via="email")
    data = engine.instance(instance_id).data
    assert (data["received_at"], data["entry_deadline"]) == (sh(2026, 3, 2, 9, 0), sh(2026, 3, 2, 10, 0))
