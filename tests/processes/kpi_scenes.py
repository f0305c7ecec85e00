"""Orders run through the shipped order_plan for the KPI tests (engine, web and browser): three orders with a mix of
outcomes for every order KPI. Time moves only with the ManualClock (from Monday 2026-03-02 09:00 Shanghai)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine import Engine, ManualClock
from tests.processes import test_order_plan as order

sh = order.sh


def fire_at(engine: Engine, clock: ManualClock, at: datetime) -> None:
    clock.set(at)
    engine.fire_due_timers()


def task(engine: Engine, instance_id: int, element_id: str) -> Any:
    (found,) = [t for t in engine.tasks(instance_id=instance_id) if t.element_id == element_id]
    return found


def do(engine: Engine, instance_id: int, element_id: str, data: dict, user: str) -> None:
    engine.complete(task(engine, instance_id, element_id).id, data, user)


def three_orders(engine: Engine, clock: ManualClock) -> dict[str, int]:
    """A: all in time. B: behind at the one-hour check, a new time agreed, late to the required time but in time to the
    agreed one, damaged, receipt overdue. C: clarified plan (required time moved to 18:00), dispatched after the
    pickup time, in time to the corrected time, receipt lost."""
    a = order.start(engine, order_no="SO-A")
    b = order.start(engine, order_no="SO-B", pickup_time="2026-03-04T14:00:00+08:00",
                    required_arrival="2026-03-05T16:00:00+08:00")
    c = order.start(engine, order_no="SO-C")
    for instance_id in (a, b):
        do(engine, instance_id, "check_order", order.PLAN_OK, "assistant")
        do(engine, instance_id, "confirm_dispatch", order.DISPATCH, "ops")  # 3-2 09:00: before each pickup time
    do(engine, c, "check_order", {"in_scope": True, "data_complete": False}, "assistant")
    do(engine, c, "clarify_with_customer", {"clarification_outcome": "corrected", "customer_reply": "later",
                                            "required_arrival": "2026-03-03T18:00:00+08:00"}, "assistant")
    do(engine, c, "check_order", order.PLAN_OK, "assistant")
    clock.set(sh(2026, 3, 2, 15, 0))
    do(engine, c, "confirm_dispatch", order.DISPATCH, "ops")  # pickup was 14:00: late

    fire_at(engine, clock, sh(2026, 3, 3, 15, 0))  # A's one-hour check
    do(engine, a, "confirm_on_schedule", {"on_schedule": True}, "assistant")
    clock.set(sh(2026, 3, 3, 15, 45))
    do(engine, a, "report_arrival", {"arrived_at": "2026-03-03T15:45:00+08:00"}, "ops")
    do(engine, a, "confirm_with_consignee", order.ALL_FINE, "assistant")
    fire_at(engine, clock, sh(2026, 3, 3, 17, 0))  # C's one-hour check (corrected time 18:00)
    do(engine, c, "confirm_on_schedule", {"on_schedule": True}, "assistant")
    clock.set(sh(2026, 3, 3, 17, 30))
    do(engine, c, "report_arrival", {"arrived_at": "2026-03-03T17:30:00"}, "ops")  # no offset: Shanghai time
    do(engine, c, "confirm_with_consignee", order.ALL_FINE, "assistant")

    fire_at(engine, clock, sh(2026, 3, 5, 15, 0))  # B's one-hour check: behind
    do(engine, b, "confirm_on_schedule", {"on_schedule": False}, "assistant")
    do(engine, b, "give_earliest_time", {"earliest_arrival": "2026-03-05T19:00:00+08:00", "delay_reason": "traffic"}, "ops")
    do(engine, b, "agree_new_time", {"agreed_arrival": "2026-03-05T19:00:00+08:00", "customer_contact": "Ms Li"},
       "assistant")
    fire_at(engine, clock, sh(2026, 3, 5, 18, 0))
    do(engine, b, "confirm_on_schedule", {"on_schedule": True}, "assistant")
    clock.set(sh(2026, 3, 5, 18, 30))
    do(engine, b, "report_arrival", {"arrived_at": "2026-03-05T18:30:00+08:00"}, "ops")
    do(engine, b, "confirm_with_consignee", {**order.ALL_FINE, "cargo_damaged": True}, "assistant")

    clock.set(sh(2026, 3, 6, 11, 0))
    do(engine, a, "hand_over_receipt", {"receipt_status": "handed_over",
                                         "receipt_handed_over_at": "2026-03-06T10:30:00+08:00"}, "assistant")
    do(engine, c, "hand_over_receipt", {"receipt_status": "lost"}, "assistant")
    fire_at(engine, clock, sh(2026, 3, 12, 18, 31))  # B's receipt (due 3-12 18:30) is overdue: breach, still open
    assert [e.data["step"] for e in order.events(engine, b, "sla_breached")] == ["return_receipt"]
    return {"A": a, "B": b, "C": c}
