"""第七条: missed calls are logged and returned (missed_call_return), and the 接通率 ≥ 95 % KPI (#17).

The clock is the ManualClock (Monday 2026-03-02 09:00 Shanghai); time moves only with ``clock.set``.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from engine import Engine, ManualClock
from engine.errors import InvalidInput
from engine.services.calls import list_calls, record_call
from engine.services.reports.calls import answer_rate
from engine.services.reports.common import Period
from tests.processes.test_daily import check_diagram, check_forms, deploy, validate_like_cli

SH = ZoneInfo("Asia/Shanghai")


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def post(engine: Engine, actor: str = "assistant", **data):
    with engine.transaction() as session:
        view, _new = record_call(session, data, actor)
    return view


def test_file_validates_with_full_diagram_and_forms() -> None:
    assert validate_like_cli("missed_call_return.bpmn") == ["missed_call_return"]
    check_diagram("missed_call_return.bpmn")
    check_forms("missed_call_return.bpmn")


def test_a_missed_call_gets_a_call_back_task_due_in_30_working_minutes(engine: Engine, clock: ManualClock) -> None:
    deploy(engine, "missed_call_return")
    clock.set(sh(2026, 3, 2, 10, 5))
    call = post(engine, caller="13800001111", customer="ACME", at="2026-03-02T10:00:00+08:00", outcome="missed",
                agent="rep2")
    assert call.missed and call.return_instance_id is not None and call.return_status == "running"
    (task,) = engine.tasks(instance_id=call.return_instance_id)
    assert (task.element_id, task.group, task.form_key, task.due_at) == (
        "return_call", "cs_rep", "missed_call_return", sh(2026, 3, 2, 10, 30))
    data = engine.instance(call.return_instance_id).data
    assert (data["caller"], data["customer"], data["call_id"]) == ("13800001111", "ACME", call.id)
    clock.set(sh(2026, 3, 2, 10, 20))
    engine.claim(task.id, "rep")
    engine.complete(task.id, {"reached": True, "return_note": "asked for the POD of order 42"}, "rep")
    with engine.transaction() as session:
        (returned,) = list_calls(session)
    assert returned.return_status == "completed" and returned.returned_at == sh(2026, 3, 2, 10, 20)
    assert not [e for e in engine.history(call.return_instance_id) if e.type == "sla_breached"]


def test_a_call_missed_after_hours_is_due_30_minutes_into_the_next_working_day(engine: Engine, clock: ManualClock) -> None:
    deploy(engine, "missed_call_return")
    clock.set(sh(2026, 3, 2, 21, 0))
    call = post(engine, caller="021-5555", at="2026-03-02T20:40:00+08:00", outcome="missed")
    (task,) = engine.tasks(instance_id=call.return_instance_id)
    assert task.due_at == sh(2026, 3, 3, 9, 30)


def test_a_call_not_returned_in_time_is_a_breach_and_a_task_for_cs_head(engine: Engine, clock: ManualClock) -> None:
    deploy(engine, "missed_call_return")
    call = post(engine, caller="13800002222", at="2026-03-02T09:00:00+08:00", outcome="missed")
    clock.set(sh(2026, 3, 2, 9, 29))
    assert [r for r in engine.fire_due_timers() if r.instance_id == call.return_instance_id] == []
    clock.set(sh(2026, 3, 2, 9, 30))
    assert [(r.element_id, r.outcome) for r in engine.fire_due_timers() if r.instance_id == call.return_instance_id] == [
        ("return_overdue", "fired")]
    tasks = {t.element_id: t for t in engine.tasks(instance_id=call.return_instance_id)}
    assert set(tasks) == {"return_call", "escalate_late_return"}
    assert (tasks["escalate_late_return"].group, tasks["escalate_late_return"].form_key) == (
        "cs_head", "missed_call_escalation")
    breaches = [e.data for e in engine.history(call.return_instance_id) if e.type == "sla_breached"]
    assert [(b["step"], b["group"]) for b in breaches] == [("missed_call_return", "cs_rep")]
    engine.claim(tasks["return_call"].id, "rep")
    engine.complete(tasks["return_call"].id, {"reached": False, "return_note": "no answer, left a message"}, "rep")
    engine.complete(tasks["escalate_late_return"].id, {"late_cause": "queue", "action_taken": "returned"}, "head")
    assert engine.instance(call.return_instance_id).status == "completed"


def test_answer_rate_counts_answered_missed_and_returned_against_95_percent(engine: Engine, clock: ManualClock) -> None:
    deploy(engine, "missed_call_return")
    clock.set(sh(2026, 3, 2, 11, 5))
    for minute in range(19):
        post(engine, caller=f"1380000{minute:04d}", at=f"2026-03-02T10:{minute:02d}:00+08:00", outcome="answered",
             agent="rep", duration_s=60)
    missed = post(engine, caller="13900000000", at="2026-03-02T11:00:00+08:00", answered=False)
    post(engine, caller="13900000001", at="2026-03-01T11:00:00+08:00", outcome="missed")  # Sunday: another period
    period = Period(sh(2026, 3, 2), sh(2026, 3, 3))
    with engine.transaction() as session:
        stats = answer_rate(session, period)
    assert (stats.total, stats.answered, stats.missed, stats.returned, stats.rate, stats.target, stats.meets_target) == (
        20, 19, 1, 0, 0.95, 0.95, True)
    (task,) = engine.tasks(instance_id=missed.return_instance_id)  # due 11:30, not late yet
    engine.claim(task.id, "rep")
    engine.complete(task.id, {"reached": True, "return_note": "ok"}, "rep")
    post(engine, caller="13900000002", at="2026-03-02T11:02:00+08:00", outcome="missed")
    with engine.transaction() as session:
        stats = answer_rate(session, period)
        empty = answer_rate(session, Period(sh(2026, 2, 1), sh(2026, 2, 2)))
    assert (stats.total, stats.answered, stats.missed, stats.returned, stats.meets_target) == (21, 19, 2, 1, False)
    assert stats.rate == pytest.approx(19 / 21)
    assert (empty.total, empty.rate, empty.meets_target) == (0, None, None)


def test_the_same_phone_system_call_posted_twice_is_recorded_once(engine: Engine, clock: ManualClock) -> None:
    deploy(engine, "missed_call_return")
    first = post(engine, caller="13800003333", at="2026-03-02T08:50:00+08:00", outcome="missed", external_id="pbx-77")
    again = post(engine, caller="13800003333", at="2026-03-02T08:50:00+08:00", outcome="missed", external_id="pbx-77")
    assert again.id == first.id and len(engine.instances(process_key="missed_call_return")) == 1


@pytest.mark.parametrize(("data", "message"), [
    ({"at": "2026-03-02T08:00:00+08:00", "outcome": "missed"}, "caller is required"),
    ({"caller": "1", "outcome": "busy"}, "outcome must be answered or missed"),
    ({"caller": "1", "outcome": "answered"}, "names the agent"),
    ({"caller": "1", "outcome": "missed", "at": "yesterday"}, "ISO 8601"),
    ({"caller": "1", "outcome": "missed", "at": "2026-03-03T08:00:00+08:00"}, "in the future"),
    ({"caller": "1", "outcome": "answered", "agent": "rep", "duration_s": -5}, "duration_s"),
    ({"caller": "1", "outcome": "missed", "duration_s": 30}, "no duration"),
    ({"caller": "1", "answered": "yes"}, "true or false"),
])
def test_bad_calls_are_refused_with_the_reason(engine: Engine, data: dict, message: str) -> None:
    deploy(engine, "missed_call_return")
    with pytest.raises(InvalidInput, match=message), engine.transaction() as session:
        record_call(session, data, "assistant")
    with engine.transaction() as session:
        assert list_calls(session) == []


def test_a_missed_call_is_refused_while_nothing_could_return_it(engine: Engine) -> None:
    with pytest.raises(InvalidInput, match="missed_call_return is not deployed"), engine.transaction() as session:
        record_call(session, {"caller": "1", "outcome": "missed"}, "assistant")
    answered = post(engine, caller="2", outcome="answered", agent="rep")
    assert answered.return_instance_id is None
