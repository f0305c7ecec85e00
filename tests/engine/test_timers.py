"""Every timer kind, driven by moving the injected clock (never by sleeping)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from engine import Engine
from tests.conftest import deploy_fixture

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def fired_events(engine: Engine, instance_id: int) -> list[dict]:
    return [e.data for e in engine.history(instance_id) if e.type == "timer_fired"]


def test_data_driven_intermediate_timer(engine: Engine, clock) -> None:
    deploy_fixture(engine, "timers.bpmn")
    inst = engine.start("wait_until", {"promised_date": "2026-03-05"})
    [timer] = engine.timers(instance_id=inst.id)
    assert (timer.element_id, timer.kind) == ("wait", "intermediate")
    assert timer.due_at == local(2026, 3, 6, 0, 0)  # a date without offset is read in Asia/Shanghai
    clock.set(local(2026, 3, 5, 23, 59))
    assert engine.fire_due_timers() == []
    clock.set(local(2026, 3, 6, 0, 0, 5))
    [result] = engine.fire_due_timers()
    assert result.outcome == "fired"
    assert [t.element_id for t in engine.tasks(instance_id=inst.id)] == ["follow_up"]
    [event] = fired_events(engine, inst.id)
    assert event["element_id"] == "wait" and event["lag_s"] == 5.0
    assert engine.fire_due_timers() == []  # exactly once


def test_working_day_deadline_across_a_weekend(engine: Engine, clock) -> None:
    deploy_fixture(engine, "timers.bpmn")
    clock.set(local(2026, 3, 5, 16, 0))  # Thursday
    inst = engine.start("working_days")
    [timer] = engine.timers(instance_id=inst.id)
    assert timer.due_at == local(2026, 3, 9, 16, 0)  # Monday, not Saturday
    clock.set(local(2026, 3, 7, 16, 0))
    assert engine.fire_due_timers() == []
    clock.set(local(2026, 3, 9, 16, 0))
    assert [r.outcome for r in engine.fire_due_timers()] == ["fired"]
    assert sorted(t.element_id for t in engine.tasks(instance_id=inst.id)) == ["late_report", "report"]


def test_working_day_deadline_across_spring_festival_with_makeup_saturday(engine: Engine, clock) -> None:
    deploy_fixture(engine, "timers.bpmn")
    clock.set(local(2026, 2, 13, 10, 0))  # Friday before the Feb 14 make-up Saturday and the holiday
    inst = engine.start("working_days")
    [timer] = engine.timers(instance_id=inst.id)
    assert timer.due_at == local(2026, 2, 24, 10, 0)  # Sat 14 (worked), then Tue 24 after Feb 15–23


def test_cycle_fires_missed_occurrences_once_and_stops_after_its_repetitions(engine: Engine, clock) -> None:
    deploy_fixture(engine, "timers.bpmn")
    start = clock.now()
    inst = engine.start("reminders")
    [timer] = engine.timers(instance_id=inst.id)
    assert timer.due_at == start + timedelta(minutes=10) and timer.kind == "boundary_non_interrupting"
    clock.advance(minutes=35)  # three occurrences missed while "down"
    assert [r.outcome for r in engine.fire_due_timers()] == ["fired"]
    assert len(fired_events(engine, inst.id)) == 1
    [timer] = engine.timers(instance_id=inst.id)
    assert timer.due_at == start + timedelta(minutes=40)
    clock.advance(minutes=10)
    engine.fire_due_timers()
    clock.advance(minutes=10)
    engine.fire_due_timers()
    assert len(fired_events(engine, inst.id)) == 3
    assert engine.timers(instance_id=inst.id) == []  # R3: done, no runaway
    assert [t.element_id for t in engine.tasks(instance_id=inst.id)] == ["work"]


def test_timer_start_event_every_working_day(engine: Engine, clock) -> None:
    clock.set(local(2026, 4, 30, 12, 0))  # Thursday before Labour Day (May 1–5), make-up Saturday May 9
    deploy_fixture(engine, "daily_start.bpmn")
    [timer] = engine.timers()
    assert (timer.kind, timer.due_at) == ("start", local(2026, 4, 30, 17, 30))
    starts = []
    for day in [(4, 30), (5, 6), (5, 7), (5, 8), (5, 9)]:
        due = engine.timers()[0].due_at
        assert due == local(2026, day[0], day[1], 17, 30)
        clock.set(due + timedelta(seconds=1))
        results = engine.fire_due_timers()
        assert [r.outcome for r in results] == ["fired"]
        assert engine.fire_due_timers() == []  # once per occurrence
        starts.append(results[0].instance_id)
    assert len(set(starts)) == 5
    assert engine.timers()[0].due_at == local(2026, 5, 11, 17, 30)
    task = engine.tasks(instance_id=starts[0])[0]
    assert (task.element_id, task.group) == ("summarise", "cs_assistant")


def test_redeploy_replaces_the_start_schedule_and_undeploy_removes_it(engine: Engine, clock, tmp_path) -> None:
    from tests.conftest import BPMN_DIR

    clock.set(local(2026, 3, 2, 12, 0))
    path = tmp_path / "daily_start.bpmn"
    path.write_text((BPMN_DIR / "daily_start.bpmn").read_text())
    engine.deploy([path])
    path.write_text(path.read_text().replace('every_working_day("17:30")', 'every_working_day("18:00")'))
    engine.deploy([path])
    assert [(t.kind, t.due_at) for t in engine.timers()] == [("start", local(2026, 3, 2, 18, 0))]
    from engine.services.definitions import undeploy

    with engine.transaction() as session:
        undeploy(session, "daily_summary_test", "admin")
    assert engine.timers() == []


def test_bare_iso_from_a_camunda_modeler(engine: Engine, clock) -> None:
    clock.set(local(2026, 3, 2, 8, 0))
    deploy_fixture(engine, "iso_start.bpmn")
    [start] = engine.timers()
    assert start.due_at == local(2026, 3, 2, 10, 0)
    clock.set(local(2026, 3, 2, 10, 0))
    [result] = engine.fire_due_timers()
    inst = result.instance_id
    [deadline] = engine.timers(instance_id=inst)
    assert (deadline.kind, deadline.due_at) == ("boundary_interrupting", local(2026, 3, 2, 10, 30))
    [next_start] = [t for t in engine.timers() if t.kind == "start"]
    assert next_start.due_at == local(2026, 3, 3, 10, 0)
    clock.set(local(2026, 3, 2, 10, 31))
    engine.fire_due_timers()
    assert engine.instance(inst).status == "completed"


@pytest.mark.parametrize("expression, value", [
    ("PT2H", timedelta(hours=2)), ("P3D", timedelta(days=3)), ("PT30M", timedelta(minutes=30)),
])
def test_bare_iso_durations(engine: Engine, clock, tmp_path, expression: str, value: timedelta) -> None:
    from tests.conftest import BPMN_DIR

    path = tmp_path / "boundary.bpmn"
    path.write_text((BPMN_DIR / "boundary.bpmn").read_text().replace(">PT2H<", f">{expression}<"))
    engine.deploy([path])
    inst = engine.start("boundary")
    due = {t.element_id: t.due_at for t in engine.timers(instance_id=inst.id)}
    assert due["give_up"] == clock.now() + value


def test_failing_timer_retries_then_incident_then_fixed_and_fired(engine: Engine, clock) -> None:
    from engine.scheduling import fire_one
    from engine.services.timers import list_incidents, retry_incident

    deploy_fixture(engine, "failing_timer.bpmn")
    inst = engine.start("failing_timer", {"total": 100, "parties": 0})
    [timer] = engine.timers(instance_id=inst.id)
    due = timer.due_at
    outcomes = []
    for backoff in (0, 10, 60, 300):  # first try, then the default 10 s / 1 min / 5 min retries
        clock.set(due + timedelta(seconds=sum((0, 10, 60, 300)[: (0, 10, 60, 300).index(backoff) + 1])))
        [result] = engine.fire_due_timers()
        outcomes.append(result.outcome)
        assert "split_cost" in (result.error or "") and "ZeroDivisionError" in (result.error or "")
        if result.outcome == "retry":
            assert engine.fire_due_timers() == []  # nothing before the backoff has passed
    assert outcomes == ["retry", "retry", "retry", "incident"]
    types = [e.type for e in engine.history(inst.id)]
    assert types.count("timer_retry_scheduled") == 3 and types.count("incident_raised") == 1
    assert engine.instance(inst.id).tasks == []  # the failed fires changed nothing
    with engine.transaction() as session:
        [incident] = list_incidents(session)
        incident_id, timer_id = incident.id, incident.timer_id
    clock.advance(hours=1)
    assert engine.fire_due_timers() == []  # an incident is not retried on its own

    engine.set_data(inst.id, {"parties": 4}, "admin")
    with engine.transaction() as session:
        retry_incident(session, incident_id, "admin")
    result = fire_one(engine.session, timer_id, None)
    assert result.outcome == "fired"
    view = engine.instance(inst.id)
    assert view.data["share"] == 25 and [t.element_id for t in view.tasks] == ["review"]
    assert engine.timers(instance_id=inst.id) == []
    assert "incident_retried" in [e.type for e in engine.history(inst.id)]
