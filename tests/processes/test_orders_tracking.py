"""Manual 4.3.4: cargo a customer asked about is tracked at least twice a working day (11:00 and 16:00) until
arrival is reported; a missed check is an SLA breach with a task for cs_head (#17).

order_plan's non-interrupting event subprocess ``cargo_tracking`` starts on the message ``cargo_inquiry`` (an action
cs_assistant or cs_rep performs on the running order, or an integration's message); the arrival report throws
``cargo_arrived`` inside the instance, which ends the tracking. Time moves only with the ManualClock.
"""

from __future__ import annotations

from datetime import datetime

from engine import Engine, ManualClock
from engine.services.instance_actions import list_actions, perform_action
from tests.processes.test_order_plan import breaches, dispatched, sh, timers

INQUIRY = {"inquiry_note": "Where is the cargo? The plant needs it by Tuesday noon", "inquiry_contact": "Ms Zhao"}


def ask(engine: Engine, instance_id: int, user: str = "assistant") -> None:
    with engine.transaction() as session:
        perform_action(session, instance_id, "cargo_inquiry", INQUIRY, user)


def tracking_tasks(engine: Engine, instance_id: int) -> list[tuple[str, str, datetime]]:
    return sorted((t.element_id, t.group, t.due_at) for t in engine.tasks(instance_id=instance_id)
                  if t.element_id in ("track_cargo", "escalate_tracking_missed"))


def record(engine: Engine, instance_id: int, where: str = "Kunshan hub") -> None:
    (task,) = [t for t in engine.tasks(instance_id=instance_id) if t.element_id == "track_cargo"]
    engine.claim(task.id, "assistant")
    engine.complete(task.id, {"cargo_location": where, "tracking_on_schedule": True}, "assistant")


def fire(engine: Engine, clock: ManualClock, when: datetime, instance_id: int) -> list[str]:
    clock.set(when)
    return [r.element_id for r in engine.fire_due_timers() if r.instance_id == instance_id and r.outcome == "fired"]


def report_arrival(engine: Engine, clock: ManualClock, instance_id: int, at: datetime) -> None:
    fire(engine, clock, sh(2026, 3, 3, 15, 0), instance_id)  # one hour before the agreed arrival (Tue 16:00)
    (check,) = [t for t in engine.tasks(instance_id=instance_id) if t.element_id == "confirm_on_schedule"]
    engine.complete(check.id, {"on_schedule": True}, "assistant")
    clock.set(at)
    (report,) = [t for t in engine.tasks(instance_id=instance_id) if t.element_id == "report_arrival"]
    engine.complete(report.id, {"arrived_at": at.isoformat()}, "ops")


def test_the_inquiry_is_an_action_for_customer_service_not_for_operations(engine: Engine) -> None:
    instance_id = dispatched(engine)
    with engine.transaction() as session:
        assert [a.name for a in list_actions(session, instance_id, "assistant")] == ["cargo_inquiry"]
        assert [a.name for a in list_actions(session, instance_id, "rep")] == ["cargo_inquiry"]
        assert [a.name for a in list_actions(session, instance_id, "ops")] == []
        (action,) = list_actions(session, instance_id, "assistant")
        assert action.label("zh-CN") == "客户查询货物：开始跟踪"


def test_asked_cargo_is_tracked_by_1100_and_1600_every_working_day_until_arrival(engine: Engine, clock: ManualClock) -> None:
    instance_id = dispatched(engine)
    clock.set(sh(2026, 3, 2, 9, 30))
    ask(engine, instance_id)
    assert tracking_tasks(engine, instance_id) == [("track_cargo", "cs_assistant", sh(2026, 3, 2, 11, 0))]
    assert ("tracking_missed", "boundary_non_interrupting", sh(2026, 3, 2, 11, 0)) in timers(engine, instance_id)
    clock.set(sh(2026, 3, 2, 10, 30))
    record(engine, instance_id)
    # The next check opens when 11:00 has passed and is due at 16:00.
    assert tracking_tasks(engine, instance_id) == []
    assert fire(engine, clock, sh(2026, 3, 2, 11, 0), instance_id) == ["tracking_window_opens"]
    assert tracking_tasks(engine, instance_id) == [("track_cargo", "cs_assistant", sh(2026, 3, 2, 16, 0))]
    clock.set(sh(2026, 3, 2, 15, 0))
    record(engine, instance_id, "Suzhou ring road")
    assert fire(engine, clock, sh(2026, 3, 2, 16, 0), instance_id) == ["tracking_window_opens"]
    # Overnight: the next check is due at 11:00 the next working day.
    assert tracking_tasks(engine, instance_id) == [("track_cargo", "cs_assistant", sh(2026, 3, 3, 11, 0))]
    clock.set(sh(2026, 3, 3, 9, 0))
    record(engine, instance_id)
    fire(engine, clock, sh(2026, 3, 3, 11, 0), instance_id)
    assert tracking_tasks(engine, instance_id) == [("track_cargo", "cs_assistant", sh(2026, 3, 3, 16, 0))]
    data = engine.instance(instance_id).data
    report_arrival(engine, clock, instance_id, sh(2026, 3, 3, 15, 40))
    # Arrival reported: the open check is withdrawn and nothing of the tracking waits any more.
    assert tracking_tasks(engine, instance_id) == []
    assert [e for e, _k, _d in timers(engine, instance_id) if e in ("tracking_missed", "tracking_window_opens")] == []
    assert [t.element_id for t in engine.tasks(instance_id=instance_id)] == ["confirm_with_consignee"]
    assert breaches(engine, instance_id) == []
    assert data is not None and data["order_no"] == "SO-7781"


def test_a_missed_check_is_a_breach_with_a_task_for_cs_head(engine: Engine, clock: ManualClock) -> None:
    instance_id = dispatched(engine)
    clock.set(sh(2026, 3, 2, 12, 0))
    ask(engine, instance_id, "rep")
    assert tracking_tasks(engine, instance_id) == [("track_cargo", "cs_assistant", sh(2026, 3, 2, 16, 0))]
    assert fire(engine, clock, sh(2026, 3, 2, 15, 59), instance_id) == []
    assert fire(engine, clock, sh(2026, 3, 2, 16, 0), instance_id) == ["tracking_missed"]
    tasks = tracking_tasks(engine, instance_id)
    assert [(e, g) for e, g, _d in tasks] == [("escalate_tracking_missed", "cs_head"), ("track_cargo", "cs_assistant")]
    assert breaches(engine, instance_id) == [("cargo_tracking", "cs_assistant", sh(2026, 3, 2, 16, 0))]
    (escalation,) = [t for t in engine.tasks(instance_id=instance_id) if t.element_id == "escalate_tracking_missed"]
    assert escalation.form_key == "order_tracking_escalation"
    engine.complete(escalation.id, {"late_cause": "sick leave", "action_taken": "rep2 covers"}, "head")
    # Recorded late, at 16:30: the window of the next check (due 11:00 tomorrow) is already open.
    clock.set(sh(2026, 3, 2, 16, 30))
    record(engine, instance_id)
    assert tracking_tasks(engine, instance_id) == [("track_cargo", "cs_assistant", sh(2026, 3, 3, 11, 0))]


def test_arrival_while_waiting_for_the_next_check_ends_the_tracking(engine: Engine, clock: ManualClock) -> None:
    instance_id = dispatched(engine)
    clock.set(sh(2026, 3, 3, 11, 30))
    ask(engine, instance_id)
    clock.set(sh(2026, 3, 3, 12, 0))
    record(engine, instance_id)  # the 16:00 check: the next window opens at 16:00
    report_arrival(engine, clock, instance_id, sh(2026, 3, 3, 15, 30))
    assert tracking_tasks(engine, instance_id) == []
    assert fire(engine, clock, sh(2026, 3, 3, 16, 0), instance_id) == []
    assert tracking_tasks(engine, instance_id) == []


def test_an_inquiry_after_arrival_starts_no_tracking(engine: Engine, clock: ManualClock) -> None:
    instance_id = dispatched(engine)
    report_arrival(engine, clock, instance_id, sh(2026, 3, 3, 15, 30))
    clock.set(sh(2026, 3, 3, 15, 45))
    ask(engine, instance_id)
    assert tracking_tasks(engine, instance_id) == []
    assert [t.element_id for t in engine.tasks(instance_id=instance_id)] == ["confirm_with_consignee"]


def test_a_second_inquiry_while_tracking_starts_no_second_tracking(engine: Engine, clock: ManualClock) -> None:
    instance_id = dispatched(engine)
    clock.set(sh(2026, 3, 2, 9, 30))
    ask(engine, instance_id)
    clock.set(sh(2026, 3, 2, 9, 40))
    ask(engine, instance_id, "rep")
    assert tracking_tasks(engine, instance_id) == [("track_cargo", "cs_assistant", sh(2026, 3, 2, 11, 0))]
    assert [e for e, _k, _d in timers(engine, instance_id)].count("tracking_missed") == 1


def test_a_withdrawn_order_is_not_tracked_any_more(engine: Engine, clock: ManualClock) -> None:
    from tests.processes.test_order_plan import start

    instance_id = start(engine)
    (check,) = engine.tasks(instance_id=instance_id)
    engine.complete(check.id, {"in_scope": False, "data_complete": True}, "assistant")
    clock.set(sh(2026, 3, 2, 9, 30))
    ask(engine, instance_id)
    assert tracking_tasks(engine, instance_id) == [("track_cargo", "cs_assistant", sh(2026, 3, 2, 11, 0))]
    (clarify,) = [t for t in engine.tasks(instance_id=instance_id) if t.element_id == "clarify_with_customer"]
    engine.complete(clarify.id, {"clarification_outcome": "withdrawn", "customer_reply": "cancelled"}, "assistant")
    assert engine.tasks(instance_id=instance_id) == [] and timers(engine, instance_id) == []
    assert engine.instance(instance_id).status == "completed"


def test_the_inquiry_as_a_message_correlated_by_order_no(engine: Engine, clock: ManualClock) -> None:
    instance_id = dispatched(engine)
    clock.set(sh(2026, 3, 2, 13, 0))
    assert engine.message("cargo_inquiry", {"business_key": "SO-7781"}, INQUIRY, actor="rep") == [instance_id]
    assert tracking_tasks(engine, instance_id) == [("track_cargo", "cs_assistant", sh(2026, 3, 2, 16, 0))]
    data = engine.instance(instance_id).data
    assert data is not None and data["inquiry_note"] == INQUIRY["inquiry_note"] and data["tracking_slots"] == [
        "11:00", "16:00"]
